// Payload codecs the peer layer owns: the generic control codec (gossip,
// scans, forwarded writes, error replies — msgpack via msgpackr: rare, shaped
// like objects, free to grow fields) and the one error every payload decoder
// throws. The replica messages, which carry records, live with the
// coordinator (coordinator/replica-messages.ts): peer/ carries frames and
// knows no records. A peer's bytes never crash a node: decoders validate and
// throw only CodecError ('CODEC_MALFORMED').

import { Packr } from 'msgpackr';

export class CodecError extends Error {
  readonly code = 'CODEC_MALFORMED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodecError';
  }
}

// useRecords: false keeps the wire plain msgpack (no shared structure state
// between peers); Buffers go out as bin and come back as Buffers.
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeControl(value: unknown): Buffer {
  return packr.pack(value);
}

/** The caller validates the shape; this guarantees well-formed msgpack, nothing trailing. */
export function decodeControl<T>(buf: Buffer): T {
  if (buf.length === 0) throw new CodecError('empty control payload');
  try {
    return packr.unpack(buf) as T;
  } catch (cause) {
    throw new CodecError(`malformed control payload: ${(cause as Error).message}`, { cause });
  }
}
