// One (key, record) entry as the peer protocol's record lists carry it —
// hand-off of ranges (hints/range-messages.ts) and anti-entropy's RecordsPut
// (anti-entropy/messages.ts) — so both lists share one layout and one
// decoder's checks:
//   u32 keyBytes, key, u32 recordBytes, record (record-codec.ts)
// Each list keeps its own count field and limits.

import assert from 'node:assert/strict';
import type { ByteReader } from './byte-reader.js';
import { encodedSize, readSiblings, writeSiblings } from './record-codec.js';
import type { Sibling, Siblings } from './types.js';

/** The two length words: the least an entry takes, for checking a count against the bytes present. */
export const recordEntryBytesMin = 8;

/** Bytes one entry takes; `recordBytes` when the caller has the record's encoded size already. */
export function recordEntryBytes(key: Buffer, siblings: Siblings, recordBytes = encodedSize(siblings)): number {
  return recordEntryBytesMin + key.length + recordBytes;
}

/** Writes one entry at `offset`; `recordBytes` is encodedSize(siblings). Returns the offset after it. */
export function writeRecordEntry(out: Buffer, offset: number, key: Buffer, siblings: Siblings, recordBytes: number): number {
  let o = out.writeUInt32BE(key.length, offset);
  o += key.copy(out, o);
  o = out.writeUInt32BE(recordBytes, o);
  const end = writeSiblings(siblings, out, o);
  assert(end === o + recordBytes);
  return end;
}

/** Writes one entry whose record is already encoded (`record`, as record-codec.ts writes it). Returns the offset after it. */
export function writeEncodedRecordEntry(out: Buffer, offset: number, key: Buffer, record: Buffer): number {
  let o = out.writeUInt32BE(key.length, offset);
  o += key.copy(out, o);
  o = out.writeUInt32BE(record.length, o);
  return o + record.copy(out, o);
}

/**
 * Reads one entry from `r` over `buf`: the key and the values are views into
 * `buf`. A record that does not decode is reported through `malformed`, which
 * makes the caller's codec error.
 */
export function readRecordEntry(buf: Buffer, r: ByteReader, malformed: (cause: Error) => Error): { key: Buffer; siblings: Sibling[] } {
  const key = r.bytes(r.u32());
  const size = r.u32();
  const start = r.offset;
  r.bytes(size);
  try {
    return { key, siblings: readSiblings(buf, start, start + size) };
  } catch (cause) {
    throw malformed(cause as Error);
  }
}
