// The binary form of a record (a sibling set), shared by LevelDB values and
// the replica messages of the peer protocol, so a replica stores what it
// receives without re-encoding into another shape. Hand-written rather than
// msgpack: it sits on both hot paths (every write is encoded once, every read
// decoded once) and its fixed layout needs no field names.
//
// Layout (all integers big-endian):
//   u8  formatVersion (1)
//   u16 siblingCount
//   per sibling:
//     u8  flags            bit0 deleted, bit1 has expiresAt
//     f64 timestamp        ms; doubles hold integers exactly up to 2^53
//     f64 expiresAt        only when flag bit1
//     u16 clockEntryCount
//     per entry: u8 nodeIdBytes, nodeId (UTF-8), f64 counter, f64 timestamp
//     u32 valueBytes, value

import type { ClockEntry, Sibling, Siblings } from './types.js';

const formatVersion = 1;
const flagDeleted = 1;
const flagExpires = 2;

/** u16 counts: the sibling cap (commands/config) and vclock pruning keep both far below. */
export const siblingsPerRecordMax = 0xffff;
export const clockEntriesMax = 0xffff;
/** Node ids are short names; one length byte. */
export const nodeIdBytesMax = 255;

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

function nodeIdBytes(node: string): Buffer {
  let bytes = nodeIdBytesCache.get(node);
  if (bytes === undefined) {
    bytes = Buffer.from(node, 'utf8');
    if (bytes.length > nodeIdBytesMax) throw new RecordCodecError(`node id longer than ${nodeIdBytesMax} bytes`);
    if (nodeIdBytesCache.size >= nodeIdBytesCacheEntriesMax) nodeIdBytesCache.clear();
    nodeIdBytesCache.set(node, bytes);
  }
  return bytes;
}

export function encodedSize(siblings: Siblings): number {
  let size = 3;
  for (const s of siblings) {
    size += 1 + 8 + (s.expiresAt !== undefined ? 8 : 0) + 2 + 4 + s.value.length;
    for (const e of s.clock) size += 1 + nodeIdBytes(e.node).length + 16;
  }
  return size;
}

/** Writes the record at `offset` of `out` (which must have encodedSize bytes free); returns the end offset. */
export function writeSiblings(siblings: Siblings, out: Buffer, offset: number): number {
  if (siblings.length > siblingsPerRecordMax) throw new RecordCodecError('too many siblings');
  let o = out.writeUInt8(formatVersion, offset);
  o = out.writeUInt16BE(siblings.length, o);
  for (const s of siblings) {
    const flags = (s.deleted ? flagDeleted : 0) | (s.expiresAt !== undefined ? flagExpires : 0);
    o = out.writeUInt8(flags, o);
    o = out.writeDoubleBE(s.timestamp, o);
    if (s.expiresAt !== undefined) o = out.writeDoubleBE(s.expiresAt, o);
    if (s.clock.length > clockEntriesMax) throw new RecordCodecError('too many clock entries');
    o = out.writeUInt16BE(s.clock.length, o);
    for (const e of s.clock) {
      const id = nodeIdBytes(e.node);
      o = out.writeUInt8(id.length, o);
      o += id.copy(out, o);
      o = out.writeDoubleBE(e.counter, o);
      o = out.writeDoubleBE(e.timestamp, o);
    }
    o = out.writeUInt32BE(s.value.length, o);
    o += s.value.copy(out, o);
  }
  return o;
}

export function encodeSiblings(siblings: Siblings): Buffer {
  const out = Buffer.allocUnsafe(encodedSize(siblings));
  const end = writeSiblings(siblings, out, 0);
  return end === out.length ? out : out.subarray(0, end);
}

/** A bounds-checked cursor: every read fails with RecordCodecError instead of a RangeError. */
class Reader {
  offset: number;
  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.offset = start;
  }
  need(bytes: number): void {
    if (this.offset + bytes > this.end) throw new RecordCodecError('record truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }
  bytes(length: number): Buffer {
    this.need(length);
    const v = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return v;
  }
}

function readEntry(r: Reader, previous: string | undefined): ClockEntry {
  const idLength = r.u8();
  if (idLength === 0) throw new RecordCodecError('empty node id');
  const node = r.bytes(idLength).toString('utf8');
  if (previous !== undefined && !(previous < node)) throw new RecordCodecError('clock entries not sorted');
  const counter = r.f64();
  const timestamp = r.f64();
  if (!Number.isSafeInteger(counter) || counter < 1) throw new RecordCodecError('bad clock counter');
  if (!Number.isFinite(timestamp)) throw new RecordCodecError('bad clock timestamp');
  return { node, counter, timestamp };
}

function readSibling(r: Reader): Sibling {
  const flags = r.u8();
  if (flags & ~(flagDeleted | flagExpires)) throw new RecordCodecError('unknown sibling flags');
  const timestamp = r.f64();
  const expiresAt = flags & flagExpires ? r.f64() : undefined;
  if (!Number.isFinite(timestamp) || (expiresAt !== undefined && !Number.isFinite(expiresAt))) {
    throw new RecordCodecError('bad sibling timestamp');
  }
  const entries = r.u16();
  const clock: ClockEntry[] = new Array(entries);
  for (let i = 0; i < entries; i++) clock[i] = readEntry(r, i > 0 ? clock[i - 1]!.node : undefined);
  const value = r.bytes(r.u32());
  const sibling: Sibling = { value, clock, timestamp };
  if (expiresAt !== undefined) (sibling as { expiresAt?: number }).expiresAt = expiresAt;
  if (flags & flagDeleted) (sibling as { deleted?: boolean }).deleted = true;
  return sibling;
}

/**
 * Decodes a record from buf[start, end). Values are views into `buf` (no
 * copy): callers that keep them beyond the buffer's life must copy.
 */
export function readSiblings(buf: Buffer, start = 0, end = buf.length): Sibling[] {
  const r = new Reader(buf, start, end);
  const version = r.u8();
  if (version !== formatVersion) throw new RecordCodecError(`unknown record format ${version}`);
  const count = r.u16();
  const siblings: Sibling[] = new Array(count);
  for (let i = 0; i < count; i++) siblings[i] = readSibling(r);
  if (r.offset !== end) throw new RecordCodecError('trailing bytes after record');
  return siblings;
}

export function decodeSiblings(buf: Buffer): Sibling[] {
  return readSiblings(buf, 0, buf.length);
}
