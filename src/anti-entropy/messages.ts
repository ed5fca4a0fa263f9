// The anti-entropy messages of the peer protocol (one exchange compares two
// replicas' Merkle trees, then moves only the records that differ): tree
// levels, the entries of differing leaves, and whole records both ways.
// Hand-written like coordinator/replica-messages.ts, not msgpack: a leaf
// reply carries thousands of (key, hash) entries and a records message
// hundreds of records, and the records travel in the record codec's own bytes
// (clock/record-codec.ts), so a replica folds what it receives without another
// shape in between. Every decoder checks every count and bound below against
// the bytes actually present and throws only CodecError: a peer's bytes never
// crash a node nor make it allocate more than the frame it sent.
// Reference: riak_kv's index_hashtree exchange (riak_core/hashtree.erl
// compare/4: levels, then segments, then keys).
//
// Layouts (all integers big-endian; `tree` = u8 idBytes, tree id in ASCII):
//   TreeLevel          tree, u8 level, u16 count, u32 index × count (ascending)
//   TreeLevelReply     u8 found (0|1); found: 8 bytes per requested index, exactly
//                      (MerkleTree.encodeNodeHashes: hi then lo)
//   LeafEntries        tree, u16 count, u32 leaf × count (ascending)
//   LeafEntriesReply   u8 flags (bit0 found, bit1 truncated), u16 leafCount,
//                      per leaf: u32 leaf, u32 entryCount,
//                        per entry: u32 keyBytes, key, u32 hi, u32 lo
//                      the leaves are a prefix of those asked, each whole;
//                      truncated: it stopped after its last leaf
//   RecordsGet         u16 count, per key: u32 keyBytes, key
//   RecordsGetReply    u16 count, per record: u32 recordBytes, record
//                      the records of a prefix of the keys asked ([] = none)
//   RecordsPut         u16 count, per entry: u32 keyBytes, key, u32 recordBytes, record
//   RecordsPutAck      u16 count folded

import assert from 'node:assert/strict';
import { encodedSize, readSiblings, writeSiblings } from '../clock/record-codec.js';
import { readRecordEntry, recordEntryBytes, writeRecordEntry } from '../clock/record-entries.js';
import { ByteReader } from '../clock/byte-reader.js';
import type { Sibling, Siblings } from '../clock/types.js';
import { isNodeId } from '../membership/node-id.js';
import { CodecError } from '../peer/codec.js';
import type { LeafEntry } from './exchange.js';
import { fanoutBits, leafBitsMax } from './merkle-tree.js';

/** Tree ids are persisted behind one length byte (tree-keeper.ts), so they travel behind one too. */
export const treeIdBytesMax = 255;
/**
 * The deepest level a tree may have: MerkleTree takes leafBits up to
 * leafBitsMax (20) in steps of fanoutBits (4), so depth ≤ 5 and a leaf index
 * < 2^20. The responder checks against its own tree's depth and leaf count.
 */
export const treeLevelMax = leafBitsMax / fanoutBits;
export const leafIndexLimit = 2 ** leafBitsMax;
/**
 * Node indices per TreeLevel request: 16^3, every node of the level above the
 * leaves of a 16-bit tree in one round trip, 32 KiB of hashes in the reply.
 */
export const treeLevelIndicesMax = 4096;
/**
 * Leaves per LeafEntries request: one batch of differing leaves, which the
 * initiator holds in memory (its own entries and the peer's) while it
 * repairs them. 256 leaves of a 16-bit tree are 1/256 of its keys: ~40k keys
 * of a 10M-key tree, a few MiB at most, and the responder's 256 range scans.
 */
export const leafEntriesLeavesMax = 256;
/**
 * A LeafEntriesReply stops adding leaves past this many bytes (each leaf goes
 * whole, at least one): ~1/8 s at the default exchange rate, so one reply
 * neither pins much memory nor holds the multiplexed connection for long.
 */
export const leafEntriesReplyBytesTarget = 1024 * 1024;
/**
 * Keys per RecordsGet and entries per RecordsPut: with small records ~512
 * fit the bytes target below; the count bounds the per-key work (and the
 * arrays allocated) a request may ask of a responder.
 */
export const recordsKeysMax = 512;
/**
 * A RecordsGet reply, a RecordsPut and the keys of a RecordsGet stop past
 * this many bytes (at least one record, so a record larger than this still
 * moves, alone in its frame): same reasoning as leafEntriesReplyBytesTarget.
 */
export const recordsBytesTarget = 1024 * 1024;

/** Bytes an entry takes at least on the wire (an empty key): bounds a count against what is left. */
const leafEntryBytesMin = 4 + 8;
const keyBytesMin = 4;
const recordBytesMin = 4 + 3;

const flagFound = 1;
const flagTruncated = 2;

export interface TreeLevelRequest {
  readonly tree: string;
  readonly level: number;
  readonly indices: readonly number[];
}

export interface TreeLevelReply {
  /** False when the responder keeps no such tree (ring views differ, or it is being built). */
  readonly found: boolean;
  /** 8 bytes per requested index (hi then lo), empty when not found. A view into the payload. */
  readonly hashes: Buffer;
}

export interface LeafEntriesRequest {
  readonly tree: string;
  readonly leaves: readonly number[];
}

export interface LeafListing {
  readonly leaf: number;
  readonly entries: readonly LeafEntry[];
}

export interface LeafEntriesReply {
  readonly found: boolean;
  /** A prefix of the leaves asked, in order, each with all its entries. */
  readonly leaves: readonly LeafListing[];
  /** Set when the reply stopped early (its bytes bound): the last leaf it lists. */
  readonly truncatedAfterLeaf?: number;
}

export interface RecordEntry {
  readonly key: Buffer;
  readonly siblings: readonly Sibling[];
}

/** A tree id: the replica set's node ids, sorted (code-unit order), distinct, joined with ','. */
export function isTreeId(value: string): boolean {
  if (value.length === 0 || value.length > treeIdBytesMax) return false;
  const ids = value.split(',');
  for (let i = 0; i < ids.length; i++) {
    if (!isNodeId(ids[i]) || (i > 0 && !(ids[i - 1]! < ids[i]!))) return false;
  }
  return true;
}

/** Nodes at `level` of a tree: 16^level. */
export function nodesAtLevel(level: number): number {
  return 2 ** (fanoutBits * level);
}

function reader(buf: Buffer, what: string): ByteReader {
  return new ByteReader(buf, 0, buf.length, (message) => new CodecError(`${what}: ${message}`));
}

function readTree(r: ByteReader, what: string): string {
  const tree = r.utf8(r.u8(), 'tree id');
  if (!isTreeId(tree)) throw new CodecError(`${what}: malformed tree id`);
  return tree;
}

function writeTree(out: Buffer, offset: number, tree: string): number {
  const o = out.writeUInt8(tree.length, offset);
  return o + out.write(tree, o, 'latin1');
}

/** `count` u32s, each below `limit`, strictly ascending (no index asked twice). */
function readAscending(r: ByteReader, count: number, limit: number, what: string): number[] {
  const out: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const v = r.u32();
    if (v >= limit) throw new CodecError(`${what}: index ${v} out of range`);
    if (i > 0 && v <= out[i - 1]!) throw new CodecError(`${what}: indices not ascending`);
    out[i] = v;
  }
  return out;
}

function checkCount(count: number, max: number, what: string): void {
  if (count === 0 || count > max) throw new CodecError(`${what}: count ${count} outside 1..${max}`);
}

function done(r: ByteReader, what: string): void {
  if (r.remaining !== 0) throw new CodecError(`${what}: trailing bytes`);
}

function checkAscending(values: readonly number[], limit: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    assert(Number.isInteger(v) && v >= 0 && v < limit && (i === 0 || v > values[i - 1]!), 'indices must be ascending and in range');
  }
}

// ---- TreeLevel ----

export function encodeTreeLevel(request: TreeLevelRequest): Buffer {
  const { tree, level, indices } = request;
  assert(isTreeId(tree) && Number.isInteger(level) && level >= 0 && level <= treeLevelMax);
  assert(indices.length > 0 && indices.length <= treeLevelIndicesMax);
  checkAscending(indices, nodesAtLevel(level));
  const out = Buffer.allocUnsafe(1 + tree.length + 1 + 2 + 4 * indices.length);
  let o = writeTree(out, 0, tree);
  o = out.writeUInt8(level, o);
  o = out.writeUInt16BE(indices.length, o);
  for (const i of indices) o = out.writeUInt32BE(i, o);
  return out;
}

export function decodeTreeLevel(buf: Buffer): TreeLevelRequest {
  const what = 'TreeLevel';
  const r = reader(buf, what);
  const tree = readTree(r, what);
  const level = r.u8();
  if (level > treeLevelMax) throw new CodecError(`${what}: level ${level} above ${treeLevelMax}`);
  const count = r.u16();
  checkCount(count, treeLevelIndicesMax, what);
  if (r.remaining !== 4 * count) throw new CodecError(`${what}: ${count} indices need ${4 * count} bytes, got ${r.remaining}`);
  const indices = readAscending(r, count, nodesAtLevel(level), what);
  return { tree, level, indices };
}

/** `hashes`: MerkleTree.encodeNodeHashes of the requested indices, or undefined when the tree is missing. */
export function encodeTreeLevelReply(hashes: Buffer | undefined): Buffer {
  if (hashes === undefined) return Buffer.from([0]);
  assert(hashes.length > 0 && hashes.length % 8 === 0 && hashes.length <= 8 * treeLevelIndicesMax);
  const out = Buffer.allocUnsafe(1 + hashes.length);
  out[0] = 1;
  hashes.copy(out, 1);
  return out;
}

/** `count`: the indices the request asked for; a reply with another number of hashes is malformed. */
export function decodeTreeLevelReply(buf: Buffer, count: number): TreeLevelReply {
  const what = 'TreeLevelReply';
  assert(Number.isInteger(count) && count > 0 && count <= treeLevelIndicesMax);
  const r = reader(buf, what);
  const found = r.u8();
  if (found > 1) throw new CodecError(`${what}: bad found byte`);
  if (found === 0) {
    done(r, what);
    return { found: false, hashes: Buffer.alloc(0) };
  }
  if (r.remaining !== 8 * count) throw new CodecError(`${what}: ${r.remaining} bytes of hashes for ${count} indices`);
  return { found: true, hashes: r.bytes(8 * count) };
}

// ---- LeafEntries ----

export function encodeLeafEntries(request: LeafEntriesRequest): Buffer {
  const { tree, leaves } = request;
  assert(isTreeId(tree) && leaves.length > 0 && leaves.length <= leafEntriesLeavesMax);
  checkAscending(leaves, leafIndexLimit);
  const out = Buffer.allocUnsafe(1 + tree.length + 2 + 4 * leaves.length);
  let o = writeTree(out, 0, tree);
  o = out.writeUInt16BE(leaves.length, o);
  for (const leaf of leaves) o = out.writeUInt32BE(leaf, o);
  return out;
}

export function decodeLeafEntries(buf: Buffer): LeafEntriesRequest {
  const what = 'LeafEntries';
  const r = reader(buf, what);
  const tree = readTree(r, what);
  const count = r.u16();
  checkCount(count, leafEntriesLeavesMax, what);
  if (r.remaining !== 4 * count) throw new CodecError(`${what}: ${count} leaves need ${4 * count} bytes, got ${r.remaining}`);
  return { tree, leaves: readAscending(r, count, leafIndexLimit, what) };
}

/** Bytes one leaf's listing takes in a LeafEntriesReply. */
export function leafListingBytes(entries: readonly LeafEntry[]): number {
  let bytes = 4 + 4;
  for (const e of entries) bytes += leafEntryBytesMin + e.key.length;
  return bytes;
}

export function encodeLeafEntriesReply(reply: LeafEntriesReply): Buffer {
  const { found, leaves, truncatedAfterLeaf } = reply;
  assert(found || (leaves.length === 0 && truncatedAfterLeaf === undefined));
  assert(leaves.length <= leafEntriesLeavesMax);
  assert(truncatedAfterLeaf === undefined || (leaves.length > 0 && leaves[leaves.length - 1]!.leaf === truncatedAfterLeaf));
  checkAscending(leaves.map((l) => l.leaf), leafIndexLimit);
  let bytes = 1 + 2;
  for (const l of leaves) bytes += leafListingBytes(l.entries);
  const out = Buffer.allocUnsafe(bytes);
  let o = out.writeUInt8((found ? flagFound : 0) | (truncatedAfterLeaf !== undefined ? flagTruncated : 0), 0);
  o = out.writeUInt16BE(leaves.length, o);
  for (const { leaf, entries } of leaves) {
    o = out.writeUInt32BE(leaf, o);
    o = out.writeUInt32BE(entries.length, o);
    for (const e of entries) {
      o = out.writeUInt32BE(e.key.length, o);
      o += e.key.copy(out, o);
      o = out.writeUInt32BE(e.hi >>> 0, o);
      o = out.writeUInt32BE(e.lo >>> 0, o);
    }
  }
  assert(o === bytes);
  return out;
}

/** Keys are views into `buf`. */
export function decodeLeafEntriesReply(buf: Buffer): LeafEntriesReply {
  const what = 'LeafEntriesReply';
  const r = reader(buf, what);
  const flags = r.u8();
  if (flags & ~(flagFound | flagTruncated)) throw new CodecError(`${what}: unknown flags`);
  const count = r.u16();
  if (count > leafEntriesLeavesMax) throw new CodecError(`${what}: ${count} leaves, over ${leafEntriesLeavesMax}`);
  const found = (flags & flagFound) !== 0;
  const truncated = (flags & flagTruncated) !== 0;
  if (!found && (count > 0 || truncated)) throw new CodecError(`${what}: leaves of a tree not found`);
  if (truncated && count === 0) throw new CodecError(`${what}: truncated before its first leaf`);
  const leaves: LeafListing[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const leaf = r.u32();
    if (leaf >= leafIndexLimit) throw new CodecError(`${what}: leaf ${leaf} out of range`);
    if (i > 0 && leaf <= leaves[i - 1]!.leaf) throw new CodecError(`${what}: leaves not ascending`);
    leaves[i] = { leaf, entries: readLeafEntryList(r, what) };
  }
  done(r, what);
  return truncated ? { found, leaves, truncatedAfterLeaf: leaves[count - 1]!.leaf } : { found, leaves };
}

function readLeafEntryList(r: ByteReader, what: string): LeafEntry[] {
  const count = r.u32();
  // Refuse a count the remaining bytes cannot hold before allocating for it.
  if (count * leafEntryBytesMin > r.remaining) throw new CodecError(`${what}: ${count} entries cannot fit`);
  const entries: LeafEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const key = r.bytes(r.u32());
    entries[i] = { key, hi: r.u32(), lo: r.u32() };
  }
  return entries;
}

// ---- RecordsGet ----

export function encodeRecordsGet(keys: readonly Buffer[]): Buffer {
  assert(keys.length > 0 && keys.length <= recordsKeysMax);
  let bytes = 2;
  for (const k of keys) bytes += keyBytesMin + k.length;
  const out = Buffer.allocUnsafe(bytes);
  let o = out.writeUInt16BE(keys.length, 0);
  for (const k of keys) o = writeKey(out, o, k);
  return out;
}

/** Keys are views into `buf`. */
export function decodeRecordsGet(buf: Buffer): Buffer[] {
  const what = 'RecordsGet';
  const r = reader(buf, what);
  const count = r.u16();
  checkCount(count, recordsKeysMax, what);
  if (count * keyBytesMin > r.remaining) throw new CodecError(`${what}: ${count} keys cannot fit`);
  const keys: Buffer[] = new Array(count);
  for (let i = 0; i < count; i++) keys[i] = r.bytes(r.u32());
  done(r, what);
  return keys;
}

/** The records of the first `records.length` keys asked, in order ([] for a key not held). */
export function encodeRecordsGetReply(records: readonly Siblings[]): Buffer {
  assert(records.length <= recordsKeysMax);
  const sizes = records.map((record) => encodedSize(record));
  let bytes = 2;
  for (const s of sizes) bytes += 4 + s;
  const out = Buffer.allocUnsafe(bytes);
  let o = out.writeUInt16BE(records.length, 0);
  for (let i = 0; i < records.length; i++) o = writeRecord(out, o, records[i]!, sizes[i]!);
  return out;
}

/** Values are views into `buf`. */
export function decodeRecordsGetReply(buf: Buffer): Sibling[][] {
  const what = 'RecordsGetReply';
  const r = reader(buf, what);
  const count = r.u16();
  if (count > recordsKeysMax) throw new CodecError(`${what}: ${count} records, over ${recordsKeysMax}`);
  if (count * recordBytesMin > r.remaining) throw new CodecError(`${what}: ${count} records cannot fit`);
  const records: Sibling[][] = new Array(count);
  for (let i = 0; i < count; i++) records[i] = readRecord(buf, r, what);
  done(r, what);
  return records;
}

// ---- RecordsPut ----

export function encodeRecordsPut(entries: readonly RecordEntry[]): Buffer {
  assert(entries.length > 0 && entries.length <= recordsKeysMax);
  const sizes = entries.map((e) => encodedSize(e.siblings));
  let bytes = 2;
  for (let i = 0; i < entries.length; i++) bytes += recordEntryBytes(entries[i]!.key, entries[i]!.siblings, sizes[i]!);
  const out = Buffer.allocUnsafe(bytes);
  let o = out.writeUInt16BE(entries.length, 0);
  for (let i = 0; i < entries.length; i++) o = writeRecordEntry(out, o, entries[i]!.key, entries[i]!.siblings, sizes[i]!);
  assert(o === bytes);
  return out;
}

/** Keys and values are views into `buf`. */
export function decodeRecordsPut(buf: Buffer): RecordEntry[] {
  const what = 'RecordsPut';
  const r = reader(buf, what);
  const count = r.u16();
  checkCount(count, recordsKeysMax, what);
  if (count * (keyBytesMin + recordBytesMin) > r.remaining) throw new CodecError(`${what}: ${count} entries cannot fit`);
  const malformed = (cause: Error) => new CodecError(`${what}: malformed record: ${cause.message}`, { cause });
  const entries: RecordEntry[] = new Array(count);
  for (let i = 0; i < count; i++) entries[i] = readRecordEntry(buf, r, malformed);
  done(r, what);
  return entries;
}

export function encodeRecordsPutAck(folded: number): Buffer {
  assert(Number.isInteger(folded) && folded >= 0 && folded <= recordsKeysMax);
  const out = Buffer.allocUnsafe(2);
  out.writeUInt16BE(folded, 0);
  return out;
}

export function decodeRecordsPutAck(buf: Buffer): number {
  const what = 'RecordsPutAck';
  const r = reader(buf, what);
  const folded = r.u16();
  if (folded > recordsKeysMax) throw new CodecError(`${what}: ${folded} records, over ${recordsKeysMax}`);
  done(r, what);
  return folded;
}

// ---- shared pieces ----

function writeKey(out: Buffer, offset: number, key: Buffer): number {
  const o = out.writeUInt32BE(key.length, offset);
  return o + key.copy(out, o);
}

function writeRecord(out: Buffer, offset: number, siblings: Siblings, size: number): number {
  const o = out.writeUInt32BE(size, offset);
  const end = writeSiblings(siblings, out, o);
  assert(end === o + size);
  return end;
}

function readRecord(buf: Buffer, r: ByteReader, what: string): Sibling[] {
  const bytes = r.u32();
  const start = r.offset;
  r.bytes(bytes);
  try {
    return readSiblings(buf, start, start + bytes);
  } catch (cause) {
    throw new CodecError(`${what}: malformed record: ${(cause as Error).message}`, { cause });
  }
}
