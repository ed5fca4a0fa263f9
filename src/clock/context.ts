// The causal context as clients see it: the `VCLOCK key` reply and the
// argument of `SET key value VCLOCK ctx`. Opaque to clients, so a compact
// binary clock in base64url text (like Riak's X-Riak-Vclock header). A
// context comes back from outside, so the decoder defends itself: one format
// version byte, a tag of the key it was read from (a context pasted onto
// another key would silently supersede unrelated versions), bounded sizes,
// and strict checks that yield either a valid clock or a ContextError.
//
// Layout (varint = unsigned LEB128, minimal, at most 8 bytes, <= 2^53 - 1):
//   u8       contextVersion
//   4 bytes  key tag: the first bytes of xxhash64(key)
//   varint   entry count
//   per entry, sorted by node id:
//     varint node-id byte length, node id (UTF-8)
//     varint counter (>= 1)
//     f64 BE timestamp ms (finite)

import assert from 'node:assert/strict';
import xxhash from 'xxhash-addon';
import { nodeIdBytesMax } from './record-codec.js';
import { isValidClock } from './vclock.js';
import type { ClockEntry, VClock } from './types.js';

const { XXHash64 } = xxhash;

export type ContextErrorCode = 'CONTEXT_MALFORMED' | 'CONTEXT_FOREIGN';

export class ContextError extends Error {
  readonly code: ContextErrorCode;
  constructor(code: ContextErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContextError';
    this.code = code;
  }
}

/** The only format so far; bump (never reuse) when the layout changes. */
const contextVersion = 1;
/** 32 bits: a context from another key slips through one time in 4 billion. */
const keyTagBytes = 4;
/**
 * A clock has one entry per node that ever coordinated a write to the key, and
 * pruning caps each sibling's clock at bigVclock (50); 1024 leaves room for
 * merging many siblings while bounding a hostile context to ~380 KB of text.
 */
export const contextEntriesMax = 1024;
/** 2^53 - 1 needs 8 groups of 7 bits. */
const varintBytesMax = 8;
const timestampBytes = 8;
const headerBytesMax = 1 + keyTagBytes + varintBytesMax;
const entryBytesMax = varintBytesMax + nodeIdBytesMax + varintBytesMax + timestampBytes;
const contextBytesMax = headerBytesMax + contextEntriesMax * entryBytesMax;
/** Checked before decoding base64 so an absurd argument costs nothing. */
export const contextTextCharsMax = Math.ceil((contextBytesMax * 4) / 3);

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The context text for `clock` read from `key`. */
export function encodeContext(key: Buffer, clock: VClock): string {
  assert(isValidClock(clock), 'encodeContext needs a valid clock');
  assert(clock.length <= contextEntriesMax, 'clock has more entries than a context may carry');
  const nodeIds = clock.map(nodeIdUtf8);
  let size = 1 + keyTagBytes + varintBytes(clock.length);
  for (let i = 0; i < clock.length; i++) {
    size += varintBytes(nodeIds[i]!.length) + nodeIds[i]!.length + varintBytes(clock[i]!.counter) + timestampBytes;
  }
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt8(contextVersion, 0);
  o += keyTag(key).copy(out, o);
  o = writeVarint(out, o, clock.length);
  for (let i = 0; i < clock.length; i++) {
    o = writeVarint(out, o, nodeIds[i]!.length);
    o += nodeIds[i]!.copy(out, o);
    o = writeVarint(out, o, clock[i]!.counter);
    o = out.writeDoubleBE(clock[i]!.timestamp, o);
  }
  assert.equal(o, size);
  return out.toString('base64url');
}

/** The clock in a context given for `key`; throws ContextError for anything else. */
export function decodeContext(key: Buffer, text: string): VClock {
  if (text.length > contextTextCharsMax) throw malformed('context too long');
  const bytes = Buffer.from(text, 'base64url');
  // Buffer's decoder skips junk; only text it would produce itself is accepted.
  if (bytes.toString('base64url') !== text) throw malformed('context is not base64url');
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== contextVersion) throw malformed(`unknown context version ${version}`);
  if (!r.bytes(keyTagBytes).equals(keyTag(key))) {
    throw new ContextError('CONTEXT_FOREIGN', 'context was read from another key');
  }
  const count = r.varint();
  if (count > contextEntriesMax) throw malformed('context has too many entries');
  const clock: ClockEntry[] = [];
  for (let i = 0; i < count; i++) clock.push(readEntry(r, i > 0 ? clock[i - 1]!.node : undefined));
  if (r.offset !== bytes.length) throw malformed('trailing bytes after context');
  return clock;
}

function readEntry(r: Reader, previous: string | undefined): ClockEntry {
  const nodeBytes = r.varint();
  if (nodeBytes === 0 || nodeBytes > nodeIdBytesMax) throw malformed('bad node id length');
  const node = utf8Strict(r.bytes(nodeBytes));
  if (previous !== undefined && !(previous < node)) throw malformed('context entries not sorted');
  const counter = r.varint();
  if (counter < 1) throw malformed('clock counter must be positive');
  const timestamp = r.f64();
  if (!Number.isFinite(timestamp)) throw malformed('clock timestamp not finite');
  return { node, counter, timestamp };
}

/** Buffer's decoder turns bad UTF-8 into U+FFFD; only then is a re-encode needed to tell. */
function utf8Strict(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(bytes)) throw malformed('node id is not UTF-8');
  return text;
}

function malformed(message: string): ContextError {
  return new ContextError('CONTEXT_MALFORMED', message);
}

function keyTag(key: Buffer): Buffer {
  return XXHash64.hash(key).subarray(0, keyTagBytes);
}

function nodeIdUtf8(entry: ClockEntry): Buffer {
  assert(!loneSurrogate.test(entry.node), 'node id must be well-formed UTF-16');
  const bytes = Buffer.from(entry.node, 'utf8');
  assert(bytes.length <= nodeIdBytesMax, 'node id too long for a context');
  return bytes;
}

function varintBytes(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

// Arithmetic rather than bit operators: counters may exceed 32 bits.
function writeVarint(out: Buffer, offset: number, value: number): number {
  while (value >= 128) {
    out[offset++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

/** A bounds-checked cursor: every read fails with ContextError, never a RangeError. */
class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  private need(bytes: number): void {
    if (this.offset + bytes > this.buf.length) throw malformed('context truncated');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const view = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  f64(): number {
    this.need(timestampBytes);
    const value = this.buf.readDoubleBE(this.offset);
    this.offset += timestampBytes;
    return value;
  }

  /** Minimal LEB128 only, so each clock has exactly one encoding. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < varintBytesMax; i++) {
      const byte = this.u8();
      value += (byte & 127) * scale;
      if (byte < 128) {
        if (byte === 0 && i > 0) throw malformed('varint not minimal');
        if (!Number.isSafeInteger(value)) throw malformed('varint too large');
        return value;
      }
      scale *= 128;
    }
    throw malformed('varint too long');
  }
}
