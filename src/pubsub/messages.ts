// The peer messages of cluster-wide Pub/Sub. A Publish carries one message
// to another node's subscribers and is answered with how many received it;
// it is binary (a length-prefixed channel, then the message as the rest of
// the payload), as it is the hot one and its bytes are the client's. A
// PubsubQuery asks for what PUBSUB CHANNELS, NUMSUB and NUMPAT report, in the
// control codec (msgpack), as it is rare and shaped like an object.
//
// Layouts (big-endian):
//   Publish           u32 channelBytes, channel, message (the rest)
//   PublishReply      u32 receivers
//   PubsubQuery       msgpack { kind: 'channels', pattern?: bin } | { kind: 'numsub', channels: bin[] } | { kind: 'numpat' }
//   PubsubQueryReply  msgpack { names?: bin[], counts?: uint[], tooLarge?: true }
// Every decoder checks what it reads and throws only CodecError.

import { ByteReader } from '../clock/byte-reader.js';
import { CodecError, decodeControl, encodeControl } from '../peer/codec.js';
import { frameBytesMax, frameHeaderBytes } from '../peer/frame.js';

/** The most a Publish payload may hold: one peer frame, less its header. */
export const publishPayloadBytesMax = frameBytesMax - frameHeaderBytes;
/** Bytes a Publish adds to its channel and message. */
export const publishOverheadBytes = 4;
/**
 * A query reply past this many bytes of names answers tooLarge instead: a
 * node with millions of channels must not build a frame-sized reply for one
 * PUBSUB CHANNELS, and 8 MiB of names is far more than a person reads.
 */
export const queryReplyBytesMax = 8 * 1024 * 1024;
/** What a name costs a query reply beyond its bytes (msgpack's bin header, at most 5). */
export const queryNameOverheadBytes = 8;

export interface PublishRequest {
  readonly channel: Buffer;
  readonly message: Buffer;
}

export type PubsubQuery =
  | { readonly kind: 'channels'; readonly pattern: Buffer | undefined }
  | { readonly kind: 'numsub'; readonly channels: readonly Buffer[] }
  | { readonly kind: 'numpat' };

/** Channel names (channels), pattern names (numpat) or counts per channel asked (numsub); tooLarge: over queryReplyBytesMax. */
export type PubsubQueryReply =
  | { readonly names: readonly Buffer[] }
  | { readonly counts: readonly number[] }
  | { readonly tooLarge: true };

export function encodePublish(request: PublishRequest): Buffer {
  const out = Buffer.allocUnsafe(publishOverheadBytes + request.channel.length + request.message.length);
  out.writeUInt32BE(request.channel.length, 0);
  request.channel.copy(out, publishOverheadBytes);
  request.message.copy(out, publishOverheadBytes + request.channel.length);
  return out;
}

/** The channel and message are views into `buf`. */
export function decodePublish(buf: Buffer): PublishRequest {
  const r = new ByteReader(buf, 0, buf.length, (message) => new CodecError(`Publish: ${message}`));
  const channel = r.bytes(r.u32());
  return { channel, message: buf.subarray(r.offset) };
}

export function encodePublishReply(receivers: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(receivers, 0);
  return out;
}

export function decodePublishReply(buf: Buffer): number {
  if (buf.length !== 4) throw new CodecError(`PublishReply: ${buf.length} bytes, want 4`);
  return buf.readUInt32BE(0);
}

export function encodePubsubQuery(query: PubsubQuery): Buffer {
  if (query.kind === 'channels') return encodeControl(query.pattern === undefined ? { kind: 'channels' } : { kind: 'channels', pattern: query.pattern });
  if (query.kind === 'numsub') return encodeControl({ kind: 'numsub', channels: query.channels });
  return encodeControl({ kind: 'numpat' });
}

export function decodePubsubQuery(buf: Buffer): PubsubQuery {
  const value = decodeControl<{ kind?: unknown; pattern?: unknown; channels?: unknown }>(buf);
  if (value === null || typeof value !== 'object') throw new CodecError('PubsubQuery: not a map');
  switch (value.kind) {
    case 'channels':
      if (value.pattern !== undefined && !Buffer.isBuffer(value.pattern)) throw new CodecError('PubsubQuery: pattern is not bytes');
      return { kind: 'channels', pattern: value.pattern };
    case 'numsub':
      if (!isBufferList(value.channels)) throw new CodecError('PubsubQuery: channels is not a list of bytes');
      return { kind: 'numsub', channels: value.channels };
    case 'numpat':
      return { kind: 'numpat' };
    default:
      throw new CodecError(`PubsubQuery: unknown kind ${String(value.kind)}`);
  }
}

export function encodePubsubQueryReply(reply: PubsubQueryReply): Buffer {
  return encodeControl(reply);
}

export function decodePubsubQueryReply(buf: Buffer): PubsubQueryReply {
  const value = decodeControl<{ names?: unknown; counts?: unknown; tooLarge?: unknown }>(buf);
  if (value === null || typeof value !== 'object') throw new CodecError('PubsubQueryReply: not a map');
  if (value.tooLarge === true) return { tooLarge: true };
  if (value.names !== undefined) {
    if (!isBufferList(value.names)) throw new CodecError('PubsubQueryReply: names is not a list of bytes');
    return { names: value.names };
  }
  if (Array.isArray(value.counts) && value.counts.every((c) => Number.isSafeInteger(c) && (c as number) >= 0)) {
    return { counts: value.counts as number[] };
  }
  throw new CodecError('PubsubQueryReply: neither names nor counts');
}

function isBufferList(value: unknown): value is Buffer[] {
  return Array.isArray(value) && value.every((item) => Buffer.isBuffer(item));
}
