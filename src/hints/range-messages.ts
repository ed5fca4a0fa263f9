// The peer messages that move token ranges when the ring changes (a node
// joining pulls the spans it gains; a node leaving, or one that holds spans it
// no longer owns, pushes them): a page of whole records in ring order, in the
// record codec's own bytes, so the receiver folds them through the one merge
// like any replica write.
//
// Layouts (big-endian):
//   RangeRecords       u16 spanCount, (u64 first, u64 last) × spanCount (ascending, disjoint),
//                      u16 fromSpan, u64 fromToken, u32 bytesMax
//   RangeRecordsReply  u8 done, u16 nextSpan, u64 nextToken, load, entries
//   RangePut           entries
//   RangePutAck        u32 count folded, load
//   load               u32 delayUs, u32 baselineUs: the answering node's (load-monitor.ts), which the
//                      node driving the stream paces by
//   entries            u32 count, per entry: u32 keyBytes, key, u32 recordBytes, record
// Every decoder checks counts against the bytes present and throws only CodecError.

import assert from 'node:assert/strict';
import { ByteReader } from '../clock/byte-reader.js';
import { encodedSize } from '../clock/record-codec.js';
import { readRecordEntry, recordEntryBytes, recordEntryBytesMin, writeEncodedRecordEntry, writeRecordEntry } from '../clock/record-entries.js';
import type { Sibling } from '../clock/types.js';
import { CodecError } from '../peer/codec.js';
import type { LoadReport } from './load-monitor.js';

export interface RecordEntry {
  readonly key: Buffer;
  readonly siblings: readonly Sibling[];
  /** The siblings' encoding as storage held it (storage.ts ScanEntry.encoded): copied instead of encoding them again. */
  readonly encoded?: Buffer | undefined;
}

/** Spans per RangeRecords request: a whole vnode share of one source (1024 vnodes) in a handful of requests, 4 KiB of request. */
export const rangeSpansMax = 256;
/**
 * The reply's byte budget: 256 KiB of records per round trip. A page's
 * records and their decoded versions stay alive from the source's read to
 * the joiner's last fold, through the young generation's collections: at
 * 1 MiB pages the two nodes' scavenges ran 10-60 ms during a stream and the
 * workload's p99 rose ×2.1-6.1; at 256 KiB, ×1.6-2.4 at the same 21-23 MB/s
 * (bench:stream, two nodes, unpaced; the joiner reads one page ahead, so
 * the shorter round trip costs no throughput).
 */
export const rangePageBytesDefault = 256 * 1024;
/** A page ends at a token boundary past the budget; one token holding more than this many bytes of records is a bug or an attack. */
export const rangePageBytesMax = 64 * 1024 * 1024;

const tokenLimit = 1n << 64n;

export interface TokenSpan {
  readonly first: bigint;
  readonly last: bigint;
}

export interface RangeRecordsRequest {
  readonly spans: readonly TokenSpan[];
  /** Resume here: the index into `spans` and the first token still wanted in it. */
  readonly fromSpan: number;
  readonly fromToken: bigint;
  readonly bytesMax: number;
}

export interface RangeRecordsReply {
  readonly entries: RecordEntry[];
  /** No record of any span remains after this page. */
  readonly done: boolean;
  readonly nextSpan: number;
  readonly nextToken: bigint;
  /** The source's load as it served the page. */
  readonly load: LoadReport;
}

export interface RangePutAck {
  readonly folded: number;
  /** The receiver's load as it folded the page. */
  readonly load: LoadReport;
}

/** A load's bytes on the wire: two u32 of microseconds. */
const loadBytes = 8;
/** Microseconds a u32 holds: a delay past ~71 minutes is reported as that. */
const loadUsMax = 0xffff_ffff;

export function encodeRangeRecords(request: RangeRecordsRequest): Buffer {
  const { spans } = request;
  assert(spans.length > 0 && spans.length <= rangeSpansMax, 'span count out of range');
  assert(request.fromSpan >= 0 && request.fromSpan < spans.length, 'fromSpan out of range');
  const out = Buffer.allocUnsafe(2 + spans.length * 16 + 2 + 8 + 4);
  let o = out.writeUInt16BE(spans.length, 0);
  for (const s of spans) {
    o = out.writeBigUInt64BE(s.first, o);
    o = out.writeBigUInt64BE(s.last, o);
  }
  o = out.writeUInt16BE(request.fromSpan, o);
  o = out.writeBigUInt64BE(request.fromToken, o);
  out.writeUInt32BE(request.bytesMax, o);
  return out;
}

export function decodeRangeRecords(buf: Buffer): RangeRecordsRequest {
  const what = 'RangeRecords';
  const r = reader(buf, what);
  const count = r.u16();
  if (count === 0 || count > rangeSpansMax) throw new CodecError(`${what}: ${count} spans, want 1..${rangeSpansMax}`);
  if (count * 16 > r.remaining) throw new CodecError(`${what}: ${count} spans cannot fit`);
  const spans: TokenSpan[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const first = u64(r);
    const last = u64(r);
    if (first > last) throw new CodecError(`${what}: span ${i} ends before it starts`);
    if (i > 0 && first <= spans[i - 1]!.last) throw new CodecError(`${what}: spans not ascending and disjoint`);
    spans[i] = { first, last };
  }
  const fromSpan = r.u16();
  if (fromSpan >= count) throw new CodecError(`${what}: fromSpan ${fromSpan} of ${count}`);
  const fromToken = u64(r);
  const bytesMax = r.u32();
  if (bytesMax === 0 || bytesMax > rangePageBytesMax) throw new CodecError(`${what}: bytesMax ${bytesMax} out of range`);
  if (r.remaining !== 0) throw new CodecError(`${what}: ${r.remaining} trailing bytes`);
  return { spans, fromSpan, fromToken, bytesMax };
}

export function encodeRangeRecordsReply(reply: RangeRecordsReply): Buffer {
  // The entries go after the head in one buffer: a concat would copy the page again.
  const out = encodeEntries(reply.entries, 11 + loadBytes);
  out.writeUInt8(reply.done ? 1 : 0, 0);
  out.writeUInt16BE(reply.nextSpan, 1);
  out.writeBigUInt64BE(reply.nextToken, 3);
  writeLoad(out, 11, reply.load);
  return out;
}

export function decodeRangeRecordsReply(buf: Buffer): RangeRecordsReply {
  const what = 'RangeRecordsReply';
  const r = reader(buf, what);
  const flag = r.u8();
  if (flag > 1) throw new CodecError(`${what}: bad done flag ${flag}`);
  const nextSpan = r.u16();
  const nextToken = u64(r);
  const load = readLoad(r);
  const entries = readEntries(buf, r, what);
  return { done: flag === 1, nextSpan, nextToken, load, entries };
}

/** A RangePut: records to fold into the receiver's own. */
export function encodeRangePut(entries: readonly RecordEntry[]): Buffer {
  return encodeEntries(entries);
}

export function decodeRangePut(buf: Buffer): RecordEntry[] {
  return readEntries(buf, reader(buf, 'RangePut'), 'RangePut');
}

export function encodeRangePutAck(ack: RangePutAck): Buffer {
  const out = Buffer.allocUnsafe(4 + loadBytes);
  out.writeUInt32BE(ack.folded, 0);
  writeLoad(out, 4, ack.load);
  return out;
}

export function decodeRangePutAck(buf: Buffer): RangePutAck {
  const r = reader(buf, 'RangePutAck');
  const folded = r.u32();
  const load = readLoad(r);
  if (r.remaining !== 0) throw new CodecError('RangePutAck: trailing bytes');
  return { folded, load };
}

function writeLoad(out: Buffer, offset: number, load: LoadReport): void {
  out.writeUInt32BE(loadUs(load.delayMs), offset);
  out.writeUInt32BE(loadUs(load.baselineMs), offset + 4);
}

function loadUs(ms: number): number {
  assert(ms >= 0, 'a load is never negative');
  return Math.min(loadUsMax, Math.round(ms * 1000));
}

function readLoad(r: ByteReader): LoadReport {
  const delayMs = r.u32() / 1000;
  const baselineMs = r.u32() / 1000;
  return { delayMs, baselineMs };
}

/** Bytes an entry adds to a page. */
export function entryBytes(entry: RecordEntry): number {
  return recordEntryBytes(entry.key, entry.siblings, entry.encoded?.length);
}

/** The entries, after `headBytes` left for the caller to fill. */
function encodeEntries(entries: readonly RecordEntry[], headBytes = 0): Buffer {
  const sizes = entries.map((e) => e.encoded?.length ?? encodedSize(e.siblings));
  let bytes = headBytes + 4;
  for (let i = 0; i < entries.length; i++) bytes += recordEntryBytes(entries[i]!.key, entries[i]!.siblings, sizes[i]!);
  const out = Buffer.allocUnsafe(bytes);
  let o = out.writeUInt32BE(entries.length, headBytes);
  for (let i = 0; i < entries.length; i++) {
    const { key, siblings, encoded } = entries[i]!;
    o = encoded === undefined ? writeRecordEntry(out, o, key, siblings, sizes[i]!) : writeEncodedRecordEntry(out, o, key, encoded);
  }
  assert(o === bytes);
  return out;
}

/** Keys and values are views into `buf`. */
function readEntries(buf: Buffer, r: ByteReader, what: string): RecordEntry[] {
  const count = r.u32();
  // Refuse a count the bytes cannot hold before allocating.
  if (count * recordEntryBytesMin > r.remaining) throw new CodecError(`${what}: ${count} entries cannot fit`);
  const malformed = (cause: Error) => new CodecError(`${what}: malformed record: ${cause.message}`, { cause });
  const entries: RecordEntry[] = new Array(count);
  for (let i = 0; i < count; i++) entries[i] = readRecordEntry(buf, r, malformed);
  if (r.remaining !== 0) throw new CodecError(`${what}: ${r.remaining} trailing bytes`);
  return entries;
}

function reader(buf: Buffer, what: string): ByteReader {
  return new ByteReader(buf, 0, buf.length, (message) => new CodecError(`${what}: ${message}`));
}

function u64(r: ByteReader): bigint {
  const hi = BigInt(r.u32());
  const lo = BigInt(r.u32());
  const v = (hi << 32n) | lo;
  assert(v < tokenLimit);
  return v;
}
