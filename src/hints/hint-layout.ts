// How a hint is laid out as a key and a value, in LevelDB and (for the same
// sizes and order) in the memory store:
//   key   = u8 targetBytes ‖ target (UTF-8) ‖ user key
//   value = u64 storedAtMs (big-endian) ‖ record (clock/record-codec.ts)
// The length prefix makes each target's hints one contiguous range, in user
// key order, that no other target's range interleaves with (a target id is
// never a prefix-collision: the length comes first). The value reuses the
// record codec, so a hint is delivered as the bytes a replica would store.

import assert from 'node:assert';
import { RecordCodecError, decodeSiblings, encodedSize, writeSiblings } from '../clock/record-codec.js';
import type { Sibling } from '../clock/types.js';
import { HintError } from './hint-store.js';

/** One length byte; node ids are at most 64 characters (membership/node-id.ts), well inside it. */
export const targetBytesMax = 255;
const storedAtBytes = 8;

export function targetPrefix(target: string): Buffer {
  const id = Buffer.from(target, 'utf8');
  if (id.length === 0 || id.length > targetBytesMax) {
    throw new HintError('HINT_TARGET_INVALID', `hint target must be 1-${targetBytesMax} bytes, got ${id.length}`);
  }
  const out = Buffer.allocUnsafe(1 + id.length);
  out[0] = id.length;
  id.copy(out, 1);
  return out;
}

export function hintKey(prefix: Buffer, key: Buffer): Buffer {
  return Buffer.concat([prefix, key], prefix.length + key.length);
}

/** Just past every key that starts with `prefix` (the prefix's successor), for a range's exclusive end. */
export function prefixEnd(prefix: Buffer): Buffer {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  // A prefix starts with a length byte ≤ 255 followed by UTF-8, which never holds 0xff.
  assert.fail('a hint key prefix of 0xff bytes only');
}

/** The target and user key of a stored hint key; undefined when it is malformed. */
export function parseHintKey(storageKey: Buffer): { target: string; key: Buffer } | undefined {
  if (storageKey.length < 1) return undefined;
  const length = storageKey[0]!;
  if (length === 0 || storageKey.length < 1 + length) return undefined;
  return { target: storageKey.toString('utf8', 1, 1 + length), key: storageKey.subarray(1 + length) };
}

export function encodeHintValue(storedAtMs: number, siblings: readonly Sibling[]): Buffer {
  const out = Buffer.allocUnsafe(storedAtBytes + encodedSize(siblings));
  out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(storedAtMs))), 0);
  const end = writeSiblings(siblings, out, storedAtBytes);
  return end === out.length ? out : out.subarray(0, end);
}

/** The stored time alone: all `expire` needs. Undefined when the value is too short to hold one. */
export function storedAtOf(value: Buffer): number | undefined {
  if (value.length < storedAtBytes) return undefined;
  return Number(value.readBigUInt64BE(0));
}

/** Decodes a hint value; throws RecordCodecError when it is malformed. Values are views into `value`. */
export function decodeHintValue(value: Buffer): { storedAtMs: number; siblings: Sibling[] } {
  const storedAtMs = storedAtOf(value);
  if (storedAtMs === undefined) throw new RecordCodecError('hint value truncated');
  return { storedAtMs, siblings: decodeSiblings(value.subarray(storedAtBytes)) };
}

/** The size of `encodeHintValue(_, siblings)`, without encoding. */
export function hintValueBytes(siblings: readonly Sibling[]): number {
  return storedAtBytes + encodedSize(siblings);
}

/** What a hint costs against its target's bound: its key and value as stored. */
export function hintBytes(storageKey: Buffer, value: Buffer): number {
  return storageKey.length + value.length;
}
