// The binary form of a record (a sibling set), shared by LevelDB values and
// the replica messages of the peer protocol, so a replica stores what it
// receives without re-encoding into another shape. Hand-written rather than
// msgpack: it sits on both hot paths (every write is encoded once, every read
// decoded once) and its fixed layout needs no field names.
//
// Layout (all integers big-endian):
//   u8  formatVersion (2)
//   u16 siblingCount
//   per sibling:
//     u8  flags            bit0 deleted, bit1 has expiresAt, bit2 typed,
//                          bit3 an emptied collection (only with bit2)
//     u8  type             only when flag bit2: typeCodes below
//     f64 timestamp        ms; doubles hold integers exactly up to 2^53
//     f64 expiresAt        only when flag bit1
//     dot: u8 actorBytes, actor (UTF-8), f64 counter
//     u16 pastEntryCount
//     per entry: u8 actorBytes, actor (UTF-8), f64 counter
//     u32 valueBytes, value
// A string version has no type byte, so every record stored before types
// existed decodes unchanged, as strings; a node that predates types refuses
// a typed version (unknown flag) rather than misread it.
// Format 1 (vector clocks with per-entry timestamps, before dotted versions)
// is still read: each version's dot is its clock's newest entry (the write
// that made it) and its past the rest of that clock.

import { ByteReader } from './byte-reader.js';
import { isCounter } from './vclock.js';
import type { ClockEntry, Sibling, Siblings } from './types.js';
import type { TypeName } from '../crdt/kind.js';

const formatVersion = 2;
const formatVersionClocks = 1;
const flagDeleted = 1;
const flagExpires = 2;
const flagTyped = 4;
const flagEmptied = 8;

type StoredType = Exclude<TypeName, 'string'>;
/** A version's type on disk and on the wire. ONLY APPEND: the numbers are part of the format. */
const typeCodes: Readonly<Record<StoredType, number>> = { counter: 1, hash: 2, set: 3, zset: 4, list: 5 };
const typesByCode: readonly (StoredType | undefined)[] = [undefined, 'counter', 'hash', 'set', 'zset', 'list'];

/** u16 counts: the sibling cap (commands/config) and vclock pruning keep both far below. */
export const siblingsPerRecordMax = 0xffff;
export const clockEntriesMax = 0xffff;
/** Actor ids (a node id and its storage epoch) are short names; one length byte. */
export const actorBytesMax = 255;

export class RecordCodecError extends Error {
  readonly code = 'RECORD_MALFORMED';
  constructor(message: string) {
    super(message);
    this.name = 'RecordCodecError';
  }
}

// Node ids repeat in every clock: keep their UTF-8 bytes instead of encoding
// them on every write. Bounded: cleared past a size no real cluster reaches.
const nodeIdBytesCache = new Map<string, Buffer>();
const nodeIdBytesCacheEntriesMax = 4096;

// A single writer's records name one actor over and over: the last one is
// compared before the Map is asked.
let lastNode: string | undefined;
let lastNodeBytes: Buffer = Buffer.alloc(0);

/**
 * `node`'s UTF-8 bytes, kept: shared by the record codec and the convergent
 * types' codec (crdt/codec.ts), which name the same actors. Undefined for an
 * id longer than actorBytesMax, which each codec refuses with its own error.
 */
export function actorIdBytes(node: string): Buffer | undefined {
  if (node === lastNode) return lastNodeBytes;
  let bytes = nodeIdBytesCache.get(node);
  if (bytes === undefined) {
    bytes = Buffer.from(node, 'utf8');
    if (bytes.length > actorBytesMax) return undefined;
    if (nodeIdBytesCache.size >= nodeIdBytesCacheEntriesMax) nodeIdBytesCache.clear();
    nodeIdBytesCache.set(node, bytes);
  }
  lastNode = node;
  lastNodeBytes = bytes;
  return bytes;
}

function nodeIdBytes(node: string): Buffer {
  const bytes = actorIdBytes(node);
  if (bytes === undefined) throw new RecordCodecError(`actor id longer than ${actorBytesMax} bytes`);
  return bytes;
}

// The encoding loops index their arrays: a for-of iterator that V8 has not
// optimized away yet allocates per step, and every write runs them.

export function encodedSize(siblings: Siblings, valueBytes: (s: Sibling) => number = ownLength): number {
  let size = 3;
  for (let i = 0; i < siblings.length; i++) {
    const s = siblings[i]!;
    size += 1 + (s.type !== undefined ? 1 : 0) + 8 + (s.expiresAt !== undefined ? 8 : 0) + 1 + nodeIdBytes(s.dot.actor).length + 8 + 2 + 4 + valueBytes(s);
    const past = s.past;
    for (let j = 0; j < past.length; j++) size += 1 + nodeIdBytes(past[j]!.actor).length + 8;
  }
  return size;
}

function ownLength(s: Sibling): number {
  return s.value.length;
}

/**
 * Writes the record at `offset` of `out` (which must have encodedSize bytes
 * free); returns the end offset. Every write encodes its record once, so the
 * bytes are stored by index rather than through Buffer's checked writers
 * (a call and a range check per field); a buffer too short is caught once,
 * at the end.
 */
export function writeSiblings(siblings: Siblings, out: Buffer, offset: number): number {
  if (siblings.length > siblingsPerRecordMax) throw new RecordCodecError('too many siblings');
  let o = offset;
  out[o++] = formatVersion;
  o = putU16(out, o, siblings.length);
  for (let i = 0; i < siblings.length; i++) {
    const s = siblings[i]!;
    const flags = (s.deleted ? flagDeleted : 0) | (s.expiresAt !== undefined ? flagExpires : 0) | (s.type !== undefined ? flagTyped : 0)
      | (s.emptied === true && s.type !== undefined ? flagEmptied : 0);
    out[o++] = flags;
    if (s.type !== undefined) out[o++] = typeCodes[s.type];
    o = putF64(out, o, s.timestamp);
    if (s.expiresAt !== undefined) o = putF64(out, o, s.expiresAt);
    o = writeEntry(s.dot, out, o);
    const past = s.past;
    if (past.length > clockEntriesMax) throw new RecordCodecError('too many clock entries');
    o = putU16(out, o, past.length);
    for (let j = 0; j < past.length; j++) o = writeEntry(past[j]!, out, o);
    const value = s.value;
    o = putU32(out, o, value.length);
    o = putBytes(out, o, value);
  }
  if (o > out.length) throw new RangeError(`record of ${o - offset} bytes written into ${out.length - offset}`);
  return o;
}

function writeEntry(e: ClockEntry, out: Buffer, offset: number): number {
  const id = nodeIdBytes(e.actor);
  out[offset] = id.length;
  return putF64(out, putBytes(out, offset + 1, id), e.counter);
}

function putU16(out: Buffer, o: number, value: number): number {
  out[o] = value >>> 8;
  out[o + 1] = value;
  return o + 2;
}

function putU32(out: Buffer, o: number, value: number): number {
  out[o] = value >>> 24;
  out[o + 1] = value >>> 16;
  out[o + 2] = value >>> 8;
  out[o + 3] = value;
  return o + 4;
}

// A double's bytes, through one shared scratch; big-endian on the wire whatever the host's order.
const f64Scratch = new Float64Array(1);
const f64Bytes = new Uint8Array(f64Scratch.buffer);
const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function putF64(out: Buffer, o: number, value: number): number {
  f64Scratch[0] = value;
  if (hostLittleEndian) {
    for (let i = 0; i < 8; i++) out[o + i] = f64Bytes[7 - i]!;
  } else {
    for (let i = 0; i < 8; i++) out[o + i] = f64Bytes[i]!;
  }
  return o + 8;
}

/** Below this many bytes a JS loop beats Buffer.copy's native call (ids, short values). */
const nativeCopyBytesMin = 32;

function putBytes(out: Buffer, o: number, bytes: Buffer): number {
  const length = bytes.length;
  if (length >= nativeCopyBytesMin) {
    // Not the count copy() returns, which a short `out` would cut: writeSiblings' end check must see the overrun.
    bytes.copy(out, o);
    return o + length;
  }
  for (let i = 0; i < length; i++) out[o + i] = bytes[i]!;
  return o + length;
}

export function encodeSiblings(siblings: Siblings): Buffer {
  const out = Buffer.allocUnsafe(encodedSize(siblings));
  const end = writeSiblings(siblings, out, 0);
  return end === out.length ? out : out.subarray(0, end);
}

type Reader = ByteReader;

function recordFlaw(message: string): RecordCodecError {
  return new RecordCodecError(message === 'truncated' ? 'record truncated' : message);
}

function readActor(r: Reader): string {
  const idLength = r.u8();
  if (idLength === 0) throw new RecordCodecError('empty actor id');
  // Lossy decoding would map different ids to one (and grow one past the encoder's limit): only exact UTF-8.
  return r.actorId(idLength, 'actor id');
}

function readEntry(r: Reader, previous: string | undefined): ClockEntry {
  const actor = readActor(r);
  if (previous !== undefined && !(previous < actor)) throw new RecordCodecError('clock entries not sorted');
  const counter = r.f64();
  if (!isCounter(counter)) throw new RecordCodecError('bad clock counter');
  return { actor, counter };
}

function readFlagsAndTimes(r: Reader, typed: boolean): { flags: number; type: StoredType | undefined; timestamp: number; expiresAt: number | undefined } {
  const flags = r.u8();
  if (flags & ~(flagDeleted | flagExpires | (typed ? flagTyped | flagEmptied : 0))) throw new RecordCodecError('unknown sibling flags');
  if ((flags & flagEmptied) !== 0 && (flags & flagTyped) === 0) throw new RecordCodecError('an emptied version without its type');
  let type: StoredType | undefined;
  if (flags & flagTyped) {
    type = typesByCode[r.u8()];
    if (type === undefined) throw new RecordCodecError('unknown value type');
    if (flags & flagDeleted) throw new RecordCodecError('typed tombstone');
  }
  const timestamp = r.f64();
  const expiresAt = flags & flagExpires ? r.f64() : undefined;
  if (!Number.isFinite(timestamp) || (expiresAt !== undefined && !Number.isFinite(expiresAt))) {
    throw new RecordCodecError('bad sibling timestamp');
  }
  return { flags, type, timestamp, expiresAt };
}

function makeSibling(value: Buffer, dot: ClockEntry, past: ClockEntry[], flags: number, timestamp: number, expiresAt: number | undefined, type?: StoredType): Sibling {
  if (past.some((e) => e.actor === dot.actor && e.counter >= dot.counter)) throw new RecordCodecError('version past covers its own dot');
  const sibling: Sibling = { value, dot, past, timestamp };
  if (expiresAt !== undefined) (sibling as { expiresAt?: number }).expiresAt = expiresAt;
  if (flags & flagDeleted) (sibling as { deleted?: boolean }).deleted = true;
  if (type !== undefined) (sibling as { type?: StoredType }).type = type;
  if (flags & flagEmptied) (sibling as { emptied?: true }).emptied = true;
  return sibling;
}

function readSibling(r: Reader): Sibling {
  const { flags, type, timestamp, expiresAt } = readFlagsAndTimes(r, true);
  const dot = readEntry(r, undefined);
  const entries = r.u16();
  const past: ClockEntry[] = new Array(entries);
  for (let i = 0; i < entries; i++) past[i] = readEntry(r, i > 0 ? past[i - 1]!.actor : undefined);
  return makeSibling(r.bytes(r.u32()), dot, past, flags, timestamp, expiresAt, type);
}

/** A format-1 version: its clock's newest entry is its dot, the rest (and the writer's earlier events) its past. */
function readClockSibling(r: Reader): Sibling {
  const { flags, timestamp, expiresAt } = readFlagsAndTimes(r, false);
  const entries = r.u16();
  if (entries === 0) throw new RecordCodecError('format-1 version without a clock');
  const clock: { actor: string; counter: number; at: number }[] = [];
  for (let i = 0; i < entries; i++) {
    const entry = readEntry(r, i > 0 ? clock[i - 1]!.actor : undefined);
    const at = r.f64();
    if (!Number.isFinite(at)) throw new RecordCodecError('bad clock timestamp');
    clock.push({ ...entry, at });
  }
  let writer = clock[0]!;
  for (const e of clock) if (e.at > writer.at || (e.at === writer.at && e.actor > writer.actor)) writer = e;
  const past: ClockEntry[] = [];
  for (const e of clock) {
    if (e !== writer) past.push({ actor: e.actor, counter: e.counter });
    else if (e.counter > 1) past.push({ actor: e.actor, counter: e.counter - 1 });
  }
  return makeSibling(r.bytes(r.u32()), { actor: writer.actor, counter: writer.counter }, past, flags, timestamp, expiresAt);
}

/**
 * Decodes a record from buf[start, end). Values are views into `buf` (no
 * copy): callers that keep them beyond the buffer's life must copy.
 */
export function readSiblings(buf: Buffer, start = 0, end = buf.length): Sibling[] {
  const r = new ByteReader(buf, start, end, recordFlaw);
  const version = r.u8();
  if (version !== formatVersion && version !== formatVersionClocks) throw new RecordCodecError(`unknown record format ${version}`);
  const read = version === formatVersion ? readSibling : readClockSibling;
  const count = r.u16();
  const siblings: Sibling[] = new Array(count);
  for (let i = 0; i < count; i++) siblings[i] = read(r);
  if (r.offset !== end) throw new RecordCodecError('trailing bytes after record');
  return siblings;
}

export function decodeSiblings(buf: Buffer): Sibling[] {
  return readSiblings(buf, 0, buf.length);
}
