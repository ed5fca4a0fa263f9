// Peer frames: a fixed 20-byte header, then the payload. The header carries
// its own CRC32 so a receiver trusts the length before buffering the body
// (and refuses a 4 GiB "length" from garbage), and a CRC32 of the body so a
// corrupted payload is never handed to a decoder. Validation returns a reason
// instead of throwing: bad input is an operating event, not a bug.
// Reference: TigerBeetle src/vsr/message_header.zig (header checksum, body
// checksum, "invalid" returning a reason).
//
// Header layout (big-endian):
//   0  u32 frameBytes       header + payload
//   4  u8  version          protocolVersion
//   5  u8  type             a MessageType
//   6  u8  flags            exactly one kind: request | reply | reply+error
//   7  u8  reserved         zero
//   8  u32 correlationId    pairs a reply with its request on one connection
//  12  u32 bodyChecksum     CRC32 of the payload
//  16  u32 headerChecksum   CRC32 of bytes 0..15

import assert from 'node:assert';
import { crc32 } from 'node:zlib';

export const protocolVersion = 1;
export const frameHeaderBytes = 20;
/**
 * The largest frame, header included. Bounds what one connection may buffer
 * and how long one frame blocks the multiplexed connection (64 MiB is ~0.5 s
 * at 1 Gbit/s). A value whose ReplicaPut does not fit cannot be replicated:
 * the RESP edge must refuse larger values (with room for key and clocks).
 */
export const frameBytesMax = 64 * 1024 * 1024;
/** Before the handshake a peer is unauthenticated: it may not make us buffer more than this. */
export const handshakeFrameBytesMax = 4 * 1024;
/**
 * Bytes queued towards one peer (ours plus the socket's own buffer) beyond
 * which new requests fail fast with PEER_OVERLOADED: room for one maximal
 * frame in flight and one waiting, so the limit never blocks a legal frame.
 */
export const outboundQueueBytesMax = 2 * frameBytesMax;

/**
 * Below this many bytes a JS table CRC32 beats zlib's: the native call costs
 * ~0.5 µs, a table step ~7 ns/byte (measured, Node 20). Headers are 16 bytes.
 */
const checksumNativeBytesMin = 128;

assert(frameBytesMax <= 0xffff_ffff, 'frameBytes is a u32');
assert(outboundQueueBytesMax >= frameBytesMax, 'a legal frame must always be queueable');

export const FrameFlags = {
  Request: 0x01,
  Reply: 0x02,
  ErrorReply: 0x02 | 0x04,
} as const;

export type FrameFlag = (typeof FrameFlags)[keyof typeof FrameFlags];

export interface Frame {
  readonly type: number;
  readonly flags: FrameFlag;
  readonly correlationId: number;
  /** A view into the received bytes; copy it if kept for long next to little else. */
  readonly payload: Buffer;
}

export type FrameInvalidReason =
  | 'header-checksum'
  | 'version'
  | 'flags'
  | 'reserved'
  | 'length-short'
  | 'length-long'
  | 'body-checksum';

const crcTable = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  crcTable[n] = c;
}

/** CRC32 (the zlib polynomial) of buf[start, end). */
export function checksum(buf: Buffer, start: number, end: number): number {
  if (end - start >= checksumNativeBytesMin) return crc32(buf.subarray(start, end));
  let c = -1;
  for (let i = start; i < end; i++) c = crcTable[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function isFrameFlag(flags: number): flags is FrameFlag {
  return flags === FrameFlags.Request || flags === FrameFlags.Reply || flags === FrameFlags.ErrorReply;
}

/** Checks a header (the first frameHeaderBytes bytes) on its own; null = valid. */
export function validateHeader(header: Buffer, maxFrameBytes: number = frameBytesMax): FrameInvalidReason | null {
  assert(header.length >= frameHeaderBytes);
  if (checksum(header, 0, 16) !== header.readUInt32BE(16)) return 'header-checksum';
  if (header[4] !== protocolVersion) return 'version';
  if (!isFrameFlag(header[6]!)) return 'flags';
  if (header[7] !== 0) return 'reserved';
  const frameBytes = header.readUInt32BE(0);
  if (frameBytes < frameHeaderBytes) return 'length-short';
  if (frameBytes > maxFrameBytes) return 'length-long';
  return null;
}

/** Writes one frame's header at `offset` of `target`. */
export function writeHeader(target: Buffer, offset: number, type: number, flags: FrameFlag, correlationId: number, payload: Buffer): void {
  assert(Number.isInteger(type) && type >= 0 && type <= 0xff, 'type is a u8');
  assert(correlationId >>> 0 === correlationId, 'correlationId is a u32');
  target.writeUInt32BE(frameHeaderBytes + payload.length, offset);
  target[offset + 4] = protocolVersion;
  target[offset + 5] = type;
  target[offset + 6] = flags;
  target[offset + 7] = 0;
  target.writeUInt32BE(correlationId, offset + 8);
  target.writeUInt32BE(checksum(payload, 0, payload.length), offset + 12);
  target.writeUInt32BE(checksum(target, offset, offset + 16), offset + 16);
}

/** One whole frame as a fresh Buffer (tests, handshakes); the hot path uses FrameWriter. */
export function encodeFrame(type: number, flags: FrameFlag, correlationId: number, payload: Buffer): Buffer {
  assert(frameHeaderBytes + payload.length <= frameBytesMax, 'frame exceeds frameBytesMax');
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  writeHeader(frame, 0, type, flags, correlationId, payload);
  payload.copy(frame, frameHeaderBytes);
  return frame;
}

/**
 * Incremental decoder over socket chunks: frames split at any byte, many per
 * chunk. Chunks are kept in a list and joined once per frame, so a large frame
 * arriving in many chunks is copied once, not once per chunk.
 *
 *   decoder.push(chunk);
 *   for (let f = decoder.next(); f !== null; f = decoder.next()) handle(f);
 *   if (decoder.invalid !== null) drop the connection
 */
export class FrameDecoder {
  /** Why the stream was rejected; once set, the decoder yields nothing more. */
  invalid: FrameInvalidReason | null = null;
  /** The largest frame accepted; raised after a handshake. */
  maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private header: Buffer | null = null;

  constructor(maxFrameBytes: number = frameBytesMax) {
    assert(maxFrameBytes >= frameHeaderBytes && maxFrameBytes <= frameBytesMax);
    this.maxFrameBytes = maxFrameBytes;
  }

  push(chunk: Buffer): void {
    if (this.invalid !== null || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  next(): Frame | null {
    if (this.invalid !== null) return null;
    if (this.header === null) {
      if (this.bufferedBytes < frameHeaderBytes) return null;
      const header = this.take(frameHeaderBytes);
      const reason = validateHeader(header, this.maxFrameBytes);
      if (reason !== null) return this.reject(reason);
      this.header = header;
    }
    const header = this.header;
    const payloadBytes = header.readUInt32BE(0) - frameHeaderBytes;
    if (this.bufferedBytes < payloadBytes) return null;
    const payload = this.take(payloadBytes);
    if (checksum(payload, 0, payload.length) !== header.readUInt32BE(12)) return this.reject('body-checksum');
    this.header = null;
    return {
      type: header[5]!,
      flags: header[6] as FrameFlag,
      correlationId: header.readUInt32BE(8),
      payload,
    };
  }

  /** Bytes held for frames not yet complete. */
  get pendingBytes(): number {
    return this.bufferedBytes + (this.header === null ? 0 : frameHeaderBytes);
  }

  private reject(reason: FrameInvalidReason): null {
    this.invalid = reason;
    this.chunks = [];
    this.bufferedBytes = 0;
    this.header = null;
    return null;
  }

  /** Consumes `n` buffered bytes: a view when one chunk holds them, else one copy. */
  private take(n: number): Buffer {
    assert(n <= this.bufferedBytes);
    this.bufferedBytes -= n;
    const first = this.chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}

/** What a FrameWriter writes to: a net.Socket, or a fake in tests. */
export interface FrameSink {
  write(data: Buffer): boolean;
  readonly writableLength: number;
  /** A socket's: the writes between them go out as one writev. */
  cork?(): void;
  uncork?(): void;
}

/**
 * A payload this large is written as it is, after the frames coalesced
 * before it, instead of copied into the coalesced buffer: range pages,
 * anti-entropy's record lists and large values are hundreds of KiB to MiBs,
 * and each copy was that much more allocated and written on a node that is
 * streaming (external memory that brings on major GCs). A frame's header and
 * small payloads still coalesce.
 */
export const payloadCopyBytesMax = 64 * 1024;

/**
 * Coalesces the frames queued during one event-loop turn into ONE write:
 * the first enqueue schedules a flush on setImmediate, which lays every
 * header and payload into a single buffer. While `held` (handshake not done)
 * frames wait. Bounded: queued bytes plus the sink's own buffer stay under
 * `bytesMax` for bounded enqueues.
 */
export class FrameWriter {
  held: boolean;
  private types: number[] = [];
  private flagsList: FrameFlag[] = [];
  private correlationIds: number[] = [];
  private payloads: Buffer[] = [];
  private queuedBytes = 0;
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;

  constructor(private readonly sink: FrameSink, private readonly bytesMax: number = outboundQueueBytesMax, held = false) {
    this.held = held;
  }

  /** Bytes waiting here and in the sink. */
  get backlogBytes(): number {
    return this.queuedBytes + this.sink.writableLength;
  }

  /** Whether a frame with this payload fits under the bound now. */
  fits(payloadBytes: number): boolean {
    return this.backlogBytes + frameHeaderBytes + payloadBytes <= this.bytesMax;
  }

  /** Queues a frame regardless of the bound; callers check `fits` for requests. */
  enqueue(type: number, flags: FrameFlag, correlationId: number, payload: Buffer): void {
    assert(frameHeaderBytes + payload.length <= frameBytesMax, 'frame exceeds frameBytesMax');
    if (this.closed) return;
    this.types.push(type);
    this.flagsList.push(flags);
    this.correlationIds.push(correlationId);
    this.payloads.push(payload);
    this.queuedBytes += frameHeaderBytes + payload.length;
    this.schedule();
  }

  /** Lets held frames go (the handshake completed). */
  release(): void {
    this.held = false;
    this.schedule();
  }

  /**
   * Writes everything queued now: one sink.write, or, with large payloads
   * among the frames, the coalesced runs between them and each large payload
   * as it is, corked into one writev. Returns the sink's verdict.
   */
  flush(): boolean {
    this.immediate = null;
    if (this.closed || this.held || this.payloads.length === 0) return true;
    let copied = this.queuedBytes;
    let large = 0;
    for (const payload of this.payloads) {
      if (payload.length > payloadCopyBytesMax) {
        copied -= payload.length;
        large++;
      }
    }
    const out = Buffer.allocUnsafe(copied);
    const sink = this.sink;
    if (large > 0) sink.cork?.();
    let ok = true;
    let offset = 0;
    let runStart = 0;
    for (let i = 0; i < this.payloads.length; i++) {
      const payload = this.payloads[i]!;
      writeHeader(out, offset, this.types[i]!, this.flagsList[i]!, this.correlationIds[i]!, payload);
      offset += frameHeaderBytes;
      if (payload.length > payloadCopyBytesMax) {
        // The coalesced run up to this frame's header, then its payload uncopied (the caller does not reuse it).
        ok = sink.write(out.subarray(runStart, offset)) && ok;
        ok = sink.write(payload) && ok;
        runStart = offset;
      } else {
        payload.copy(out, offset);
        offset += payload.length;
      }
    }
    if (offset > runStart) ok = sink.write(runStart === 0 ? out : out.subarray(runStart, offset)) && ok;
    this.clearQueue();
    if (large > 0) sink.uncork?.();
    return ok;
  }

  close(): void {
    this.closed = true;
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    this.clearQueue();
  }

  private schedule(): void {
    if (this.immediate !== null || this.held || this.closed || this.payloads.length === 0) return;
    this.immediate = setImmediate(flushWriter, this);
  }

  private clearQueue(): void {
    this.types.length = 0;
    this.flagsList.length = 0;
    this.correlationIds.length = 0;
    this.payloads.length = 0;
    this.queuedBytes = 0;
  }
}

function flushWriter(writer: FrameWriter): void {
  writer.flush();
}
