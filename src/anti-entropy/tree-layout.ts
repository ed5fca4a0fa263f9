// Which trees a node keeps for a ring, and how they lie on disk: the pure half of the tree
// keeper (tree-keeper.ts). A tree covers the keys whose replica set (the preference list,
// order ignored) is one set of nodes, so the ring maps each token index to a tree or to
// none (riak_kv_index_hashtree keeps one tree per index_n for the same reason).
//
// On disk, under the metadata namespace (storage/keys.ts metaPrefix), written in the same
// batches as the records:
//   0x02 'T' u8 nameLength name u16 leaf → 8 bytes (hi, lo big-endian); an all-zero leaf is deleted
//   0x02 'F' → the fingerprint of the ring the leaves were built for, and when they were built
//   0x02 'N' → the names of the trees that may have leaves on disk, so a restart finds and
//              deletes the leaves of trees the ring no longer has
// A tree's name is its id (sorted member ids joined by ','), or, when that is longer than
// a length byte can say (--n is up to 15 and node ids up to 64 bytes), '#' and the id's
// SHA-256: node ids never hold '#', so the two kinds of name cannot meet.

import assert from 'node:assert';
import { createHash } from 'node:crypto';
import type { Ring } from '../ring/ring.js';
import { metaPrefix } from '../storage/keys.js';

const treeLeafTag = 0x54; // 'T'
const fingerprintTag = 0x46; // 'F'
const namesTag = 0x4e; // 'N'
/** Bumped when what a tree covers, how a leaf is hashed or how leaves are stored changes: persisted trees of another version are rebuilt. */
const layoutVersion = 2;
/** Leaves are numbered with a u16 on disk: at most 2^16 of them (merkle-tree.ts leafBits). */
export const persistedLeafBitsMax = 16;
/** A name's length is one byte. */
const nameBytesMax = 255;
const leafValueBytes = 8;
const fingerprintBytes = 16;

export const fingerprintKey = Buffer.from([metaPrefix, fingerprintTag]);
export const namesKey = Buffer.from([metaPrefix, namesTag]);

export interface PlannedTree {
  /** The replica set's node ids, sorted (code-unit order) and joined with ','. */
  readonly id: string;
  readonly members: readonly string[];
  /** Its leaves' key prefix: 0x02 'T' u8 nameLength name. */
  readonly prefix: Buffer;
}

export interface RingPlan {
  /** For every ring token index, its tree's index in `trees`, or -1 (self is not a replica there, or the set is one node). */
  readonly table: Int32Array;
  readonly trees: readonly PlannedTree[];
}

/**
 * The trees `selfId` keeps for `ring`: one per replica set it belongs to, sorted by id.
 * A set of one node has no tree (nobody to compare it with): a ring of one has none.
 */
export function planTrees(ring: Ring, selfId: string): RingPlan {
  const table = new Int32Array(ring.tokenCount).fill(-1);
  // Preference lists are interned (one frozen array per distinct list): resolve each once.
  const byList = new Map<readonly string[], string | undefined>();
  const idsAt: (string | undefined)[] = new Array(ring.tokenCount);
  const ids = new Set<string>();
  for (let i = 0; i < ring.tokenCount; i++) {
    const list = ring.preferenceListAt(i);
    let id = byList.get(list);
    if (!byList.has(list)) {
      id = list.length >= 2 && list.includes(selfId) ? treeIdOf(list) : undefined;
      byList.set(list, id);
    }
    idsAt[i] = id;
    if (id !== undefined) ids.add(id);
  }
  const sorted = [...ids].sort(compareStrings);
  const indexOf = new Map(sorted.map((id, index) => [id, index]));
  for (let i = 0; i < ring.tokenCount; i++) {
    const id = idsAt[i];
    if (id !== undefined) table[i] = indexOf.get(id)!;
  }
  const trees = sorted.map((id) => ({ id, members: Object.freeze(id.split(',')), prefix: treePrefix(id) }));
  return { table, trees };
}

export function treeIdOf(members: readonly string[]): string {
  return [...members].sort(compareStrings).join(',');
}

/** 0x02 'T' u8 nameLength name: every leaf of the tree `id` starts with it. */
export function treePrefix(id: string): Buffer {
  let name = Buffer.from(id, 'utf8');
  if (name.length > nameBytesMax) name = Buffer.from(`#${createHash('sha256').update(id).digest('hex')}`, 'latin1');
  return Buffer.concat([Buffer.from([metaPrefix, treeLeafTag, name.length]), name]);
}

/**
 * Leaves are stored 2^8 to a value (a *segment*, 2 KiB at 8 bytes a leaf): with 2^16
 * leaves per tree, random writes dirty nearly every leaf between two flushes, and one
 * LevelDB entry per leaf made a flush 65,536 puts per tree (measured: the 3-node cluster's
 * pipelined SET at 0.82× of the same without trees); per segment it is 256.
 */
export const persistedSegmentLeafBits = 8;

/** Leaves per persisted segment for a tree of 2^leafBits leaves. */
export function leavesPerSegment(leafBits: number): number {
  return 2 ** Math.min(persistedSegmentLeafBits, leafBits);
}

export function segmentKey(prefix: Buffer, segment: number): Buffer {
  const key = Buffer.allocUnsafe(prefix.length + 2);
  prefix.copy(key);
  key.writeUInt16BE(segment, prefix.length);
  return key;
}

/** The segment a key under `prefix` names, or undefined if the entry is not one of that tree's segments (a corrupt disk). */
export function segmentOfEntry(prefix: Buffer, key: Buffer, value: Buffer, leaves: number): number | undefined {
  if (key.length !== prefix.length + 2 || value.length !== leaves * leafValueBytes) return undefined;
  return key.readUInt16BE(prefix.length);
}

/** A segment's leaves (hi, lo big-endian each, in leaf order), or undefined when all are 0,0 (stored as no entry). */
export function segmentValue(leafHash: (leaf: number, out: Uint32Array) => void, segment: number, leaves: number): Buffer | undefined {
  const value = Buffer.allocUnsafe(leaves * leafValueBytes);
  const out = new Uint32Array(2);
  let any = 0;
  for (let i = 0; i < leaves; i++) {
    leafHash(segment * leaves + i, out);
    value.writeUInt32BE(out[0]!, i * leafValueBytes);
    value.writeUInt32BE(out[1]!, i * leafValueBytes + 4);
    any |= out[0]! | out[1]!;
  }
  return any === 0 ? undefined : value;
}

/**
 * What the persisted trees depend on: the layout version, the leaf count, who self is, N,
 * and every token with its owner (the ring is a pure function of those).
 */
export function ringFingerprint(ring: Ring, n: number, selfId: string, leafBits: number): Buffer {
  const hash = createHash('sha256');
  hash.update(`ringkv-trees ${layoutVersion} ${leafBits} ${n} ${selfId} ${ring.tokenCount}\n`);
  const token = Buffer.allocUnsafe(8);
  for (let i = 0; i < ring.tokenCount; i++) {
    token.writeBigUInt64BE(ring.tokenAt(i));
    hash.update(token);
    hash.update(ring.ownerAt(i));
    hash.update('\n');
  }
  return hash.digest().subarray(0, fingerprintBytes);
}

/** The fingerprint record: the ring's fingerprint, then when the oldest tree was built (ms, a float64). */
export function encodeFingerprint(fingerprint: Buffer, builtAtMs: number): Buffer {
  const value = Buffer.allocUnsafe(fingerprintBytes + 8);
  fingerprint.copy(value, 0, 0, fingerprintBytes);
  value.writeDoubleBE(builtAtMs, fingerprintBytes);
  return value;
}

export function decodeFingerprint(value: Buffer): { fingerprint: Buffer; builtAtMs: number } | undefined {
  if (value.length !== fingerprintBytes + 8) return undefined;
  const builtAtMs = value.readDoubleBE(fingerprintBytes);
  if (!Number.isFinite(builtAtMs)) return undefined;
  return { fingerprint: value.subarray(0, fingerprintBytes), builtAtMs };
}

/** Tree prefixes as u16 length ‖ prefix, one after another. */
export function encodePrefixes(prefixes: Iterable<Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const prefix of prefixes) {
    assert(prefix.length <= 0xffff, 'a tree prefix fits a u16 length');
    const length = Buffer.allocUnsafe(2);
    length.writeUInt16BE(prefix.length);
    parts.push(length, prefix);
  }
  return Buffer.concat(parts);
}

/** The prefixes in a names record; a truncated or foreign entry ends the list (what it held is left on disk). */
export function decodePrefixes(value: Buffer): Buffer[] {
  const prefixes: Buffer[] = [];
  for (let at = 0; at + 2 <= value.length; ) {
    const length = value.readUInt16BE(at);
    const prefix = value.subarray(at + 2, at + 2 + length);
    if (prefix.length !== length || length < 3 || prefix[0] !== metaPrefix || prefix[1] !== treeLeafTag) break;
    prefixes.push(Buffer.from(prefix));
    at += 2 + length;
  }
  return prefixes;
}

/** Code-unit order: locale-independent, so every node names a set alike. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
