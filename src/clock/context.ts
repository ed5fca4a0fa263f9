// The causal context as clients see it: the `VCLOCK key` reply and the
// argument of `SET key value VCLOCK ctx`. Opaque to clients, so a compact
// binary clock in base64url text (like Riak's X-Riak-Vclock header). A
// context comes back from outside, so the decoder defends itself: one format
// version byte, a tag of the key it was read from (a context pasted onto
// another key would silently supersede unrelated versions), bounded sizes,
// and strict checks that yield either a valid clock or a ContextError.
//
// Layout (varint = unsigned LEB128, minimal, at most 8 bytes):
//   u8       contextVersion (2; 1 carried vector clocks before dotted versions)
//   4 bytes  key tag: the first bytes of xxhash64(key)
//   varint   entry count
//   per entry, sorted by actor id:
//     varint actor-id byte length, actor id (UTF-8)
//     varint counter (1 ..= counterMax)

import assert from 'node:assert/strict';
import xxhash from 'xxhash-addon';
import { ByteReader } from './byte-reader.js';
import { actorBytesMax } from './record-codec.js';
import { counterMax, isValidClock } from './vclock.js';
import type { ClockEntry, VClock } from './types.js';

const { XXHash64 } = xxhash;

export type ContextErrorCode =
  | 'CONTEXT_MALFORMED'    // not a context this format can hold
  | 'CONTEXT_FOREIGN'      // read from another key
  | 'CONTEXT_IMPLAUSIBLE'  // claims writes far beyond any the key has seen (a forgery)
  | 'CONTEXT_TOO_LARGE';   // a version or record would need more entries than a context may carry

export class ContextError extends Error {
  readonly code: ContextErrorCode;
  constructor(code: ContextErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContextError';
    this.code = code;
  }
}

/** Bump (never reuse) when the layout changes; a context of another version is refused. */
const contextVersion = 2;
/** 32 bits: a context from another key slips through one time in 4 billion. */
const keyTagBytes = 4;
/**
 * A context has one entry per actor (node storage epoch) that ever wrote the
 * key: tens in practice; 1024 leaves room for long-lived keys on changing
 * clusters while bounding a hostile context to ~380 KB of text.
 */
export const contextEntriesMax = 1024;
/**
 * The largest counter a client's context may claim beyond what the
 * coordinator's record already mentions (versioning.ts checkContext). A
 * context's counters raise the counter the coordinator mints next (a new
 * version must not be covered by its own past), so a forged one could push
 * a node toward `counterMax`; 2^50 (35 years of a million writes a second)
 * leaves 3·2^50 writes of headroom after any forgery. The decoder itself
 * accepts every counter up to counterMax, so a context the node gave out is
 * always accepted back.
 */
export const contextCounterMax = 2 ** 50;
/** 2^53 - 1 needs 8 groups of 7 bits. */
const varintBytesMax = 8;
const headerBytesMax = 1 + keyTagBytes + varintBytesMax;
const entryBytesMax = varintBytesMax + actorBytesMax + varintBytesMax;
const contextBytesMax = headerBytesMax + contextEntriesMax * entryBytesMax;
/** Checked before decoding base64 so an absurd argument costs nothing. */
export const contextTextCharsMax = Math.ceil((contextBytesMax * 4) / 3);

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The context text for `clock` read from `key`. */
export function encodeContext(key: Buffer, clock: VClock): string {
  assert(isValidClock(clock), 'encodeContext needs a valid clock');
  // Reachable through merges of many siblings' histories: an error reply, not a crash.
  if (clock.length > contextEntriesMax) throw new ContextError('CONTEXT_TOO_LARGE', `the key's context has ${clock.length} entries, over ${contextEntriesMax}`);
  const actorIds = clock.map(actorUtf8);
  let size = 1 + keyTagBytes + varintBytes(clock.length);
  for (let i = 0; i < clock.length; i++) {
    size += varintBytes(actorIds[i]!.length) + actorIds[i]!.length + varintBytes(clock[i]!.counter);
  }
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt8(contextVersion, 0);
  o += keyTag(key).copy(out, o);
  o = writeVarint(out, o, clock.length);
  for (let i = 0; i < clock.length; i++) {
    o = writeVarint(out, o, actorIds[i]!.length);
    o += actorIds[i]!.copy(out, o);
    o = writeVarint(out, o, clock[i]!.counter);
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
  const r = new ByteReader(bytes, 0, bytes.length, contextFlaw);
  const version = r.u8();
  if (version !== contextVersion) throw malformed(`unknown context version ${version}: read the key again`);
  if (!r.bytes(keyTagBytes).equals(keyTag(key))) {
    throw new ContextError('CONTEXT_FOREIGN', 'context was read from another key');
  }
  const count = r.varint(varintBytesMax);
  if (count > contextEntriesMax) throw malformed('context has too many entries');
  const clock: ClockEntry[] = [];
  for (let i = 0; i < count; i++) clock.push(readEntry(r, i > 0 ? clock[i - 1]!.actor : undefined));
  if (r.offset !== bytes.length) throw malformed('trailing bytes after context');
  return clock;
}

function readEntry(r: ByteReader, previous: string | undefined): ClockEntry {
  const actorBytes = r.varint(varintBytesMax);
  if (actorBytes === 0 || actorBytes > actorBytesMax) throw malformed('bad actor id length');
  const actor = r.actorId(actorBytes, 'actor id');
  if (previous !== undefined && !(previous < actor)) throw malformed('context entries not sorted');
  const counter = r.varint(varintBytesMax);
  if (counter < 1) throw malformed('clock counter must be positive');
  if (counter > counterMax) throw malformed('clock counter too large');
  return { actor, counter };
}

function contextFlaw(message: string): ContextError {
  return malformed(message === 'truncated' ? 'context truncated' : message);
}

function malformed(message: string): ContextError {
  return new ContextError('CONTEXT_MALFORMED', message);
}

function keyTag(key: Buffer): Buffer {
  return XXHash64.hash(key).subarray(0, keyTagBytes);
}

function actorUtf8(entry: ClockEntry): Buffer {
  assert(!loneSurrogate.test(entry.actor), 'actor id must be well-formed UTF-16');
  const bytes = Buffer.from(entry.actor, 'utf8');
  assert(bytes.length <= actorBytesMax, 'actor id too long for a context');
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
