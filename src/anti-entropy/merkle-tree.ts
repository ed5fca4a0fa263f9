// A Merkle tree over the 2^64 token space, for anti-entropy between the replicas of one
// replica set (Dynamo 2007 §4.7; riak_core's hashtree.erl). Leaves are contiguous token
// spans (a leaf's keys are one LevelDB range scan), so two replicas compare roots, descend
// only into the children that differ, and end with the few leaves whose keys need listing.
//
// A leaf's hash is the XOR of its records' hashes (version-hash.ts): XOR is its own inverse,
// so a write toggles the old record hash out and the new one in, and any order of toggles
// gives what a rebuild from scratch gives. An internal node is a mix of its 16 children's
// words in order; all-zero children give 0,0, so empty subtrees compare for free, and a
// non-zero set never gives 0,0. Internal hashes are recomputed lazily: a write only flags
// its leaf's path stale (stopping at the first flag already set), and a hash is refreshed
// when asked — a burst of writes costs one refresh per node, not one per write.
//
// Pure: plain numbers in, hashes out. Storage of leaves and the choice of what to compare
// are the tree keeper's and the exchange's (tree-keeper.ts, exchange.ts).

import assert from 'node:assert';
import { mixFinish, mixStart, mixWord } from './mix64.js';

/**
 * 65,536 leaves: a tree is 512 KiB of leaves (+35 KiB of internal nodes), and with a
 * million keys per replica set a leaf holds ~15 keys, so one differing key costs listing
 * ~15 keys on each side; four levels of 16 to descend.
 */
export const leafBits = 16;
/**
 * Fanout 16: four round trips from root to leaves at 2^16 leaves, and a differing node
 * costs only its 16 children's hashes (128 bytes) at the next level. A wider node cuts
 * round trips but sends more unchanged siblings per difference; a narrower one the reverse.
 */
export const fanoutBits = 4;
/** Fewest leaf bits: one level of 16 leaves under the root (tests and tiny rings). */
export const leafBitsMin = fanoutBits;
/** Most leaf bits: 2^20 leaves is 8 MiB per tree, the most a node keeping several trees should hold. */
export const leafBitsMax = 20;

const fanout = 1 << fanoutBits;
const digestBytes = 8;
const nodeHashBytes = 8;
/** Seed of the node mix, apart from the record hash's seeds. */
const nodeSeed = 0x6e_6f_64_31; // 'nod1'
/** What a non-empty child set that mixes to 0,0 hashes to instead (odds 2^-64; any non-zero value). */
const nonZeroHi = 0x85ebca6b;
const nonZeroLo = 0xc2b2ae35;

/** Scratch for comparisons: differingNodes and encodeNodeHashes run synchronously. */
const scratch = new Uint32Array(2);

export class MerkleTree {
  readonly leafBits: number;
  readonly leafCount: number;
  readonly depth: number;
  /** Leaf l's hash: hi at 2l, lo at 2l+1. */
  private readonly leaves: Uint32Array;
  /** levels[L] (L < depth) holds level L's node hashes, two words each; valid only where not stale. */
  private readonly levels: Uint32Array[];
  /** stale[L][i] = 1: node i of level L must be recomputed. A stale node's ancestors are all stale. */
  private readonly stale: Uint8Array[];
  /** One bit per leaf changed since takeDirtyLeaves, so each is listed once; dirtyList holds them. */
  private readonly dirtyBits: Uint32Array;
  private dirtyList: number[] = [];

  constructor(bits: number = leafBits) {
    checkLeafBits(bits);
    this.leafBits = bits;
    this.leafCount = 2 ** bits;
    this.depth = bits / fanoutBits;
    this.leaves = new Uint32Array(2 * this.leafCount);
    this.levels = [];
    this.stale = [];
    for (let level = 0; level < this.depth; level++) {
      this.levels.push(new Uint32Array(2 * nodesAt(level)));
      this.stale.push(new Uint8Array(nodesAt(level)));
    }
    this.dirtyBits = new Uint32Array(Math.ceil(this.leafCount / 32));
  }

  /** XORs a record hash into a leaf: in when a record appears, out when it goes, both for a change. */
  toggle(leaf: number, hi: number, lo: number): void {
    this.checkLeaf(leaf);
    checkWords(hi, lo);
    if ((hi | lo) === 0) return; // an absent record: nothing to toggle
    this.leaves[2 * leaf] ^= hi;
    this.leaves[2 * leaf + 1] ^= lo;
    this.changed(leaf);
  }

  /** Overwrites a leaf's hash (loading persisted leaves, repairing a leaf from a fresh listing). */
  setLeaf(leaf: number, hi: number, lo: number): void {
    this.checkLeaf(leaf);
    checkWords(hi, lo);
    if (this.leaves[2 * leaf] === hi && this.leaves[2 * leaf + 1] === lo) return;
    this.leaves[2 * leaf] = hi;
    this.leaves[2 * leaf + 1] = lo;
    this.changed(leaf);
  }

  leafHash(leaf: number, out: Uint32Array): void {
    this.checkLeaf(leaf);
    out[0] = this.leaves[2 * leaf]!;
    out[1] = this.leaves[2 * leaf + 1]!;
  }

  /** Node `index` of `level` (0 = root, depth = the leaves), refreshing it first if stale. */
  nodeHash(level: number, index: number, out: Uint32Array): void {
    if (!(Number.isInteger(level) && level >= 0 && level <= this.depth)) assert.fail(`level ${level} outside 0..${this.depth}`);
    if (level === this.depth) return this.leafHash(index, out);
    if (!(Number.isInteger(index) && index >= 0 && index < nodesAt(level))) assert.fail(`index ${index} outside level ${level}`);
    this.refresh(level, index);
    out[0] = this.levels[level]![2 * index]!;
    out[1] = this.levels[level]![2 * index + 1]!;
  }

  /** 8 bytes per index (hi then lo, big-endian), in order: what a TreeLevel reply carries. */
  encodeNodeHashes(level: number, indices: readonly number[]): Buffer {
    const out = Buffer.allocUnsafe(nodeHashBytes * indices.length);
    for (let k = 0; k < indices.length; k++) {
      this.nodeHash(level, indices[k]!, scratch);
      out.writeUInt32BE(scratch[0]!, nodeHashBytes * k);
      out.writeUInt32BE(scratch[1]!, nodeHashBytes * k + 4);
    }
    return out;
  }

  /** True when a leaf changed since the last takeDirtyLeaves. */
  hasDirtyLeaves(): boolean {
    return this.dirtyList.length > 0;
  }

  /** Leaves changed (toggle/setLeaf/clear) since the last call, each once, ascending; then forgotten. */
  takeDirtyLeaves(): number[] {
    const taken = this.dirtyList;
    this.dirtyList = [];
    // Clear only what was set: called once per storage batch, usually with a few leaves of 65,536.
    if (taken.length * 8 < this.dirtyBits.length) for (const leaf of taken) this.dirtyBits[leaf >>> 5] = 0;
    else this.dirtyBits.fill(0);
    return taken.sort((a, b) => a - b);
  }

  /** True when every leaf is 0,0 (the root is 0,0 exactly then). */
  isEmpty(): boolean {
    this.nodeHash(0, 0, scratch);
    return scratch[0] === 0 && scratch[1] === 0;
  }

  /** Empties the tree. Leaves that were non-zero count as changed, so their persisted copies get zeroed too. */
  clear(): void {
    for (let leaf = 0; leaf < this.leafCount; leaf++) {
      if ((this.leaves[2 * leaf]! | this.leaves[2 * leaf + 1]!) !== 0) this.markDirtyLeaf(leaf);
    }
    this.leaves.fill(0);
    for (let level = 0; level < this.depth; level++) {
      this.levels[level]!.fill(0); // all-zero children: every node is 0,0, none stale
      this.stale[level]!.fill(0);
    }
  }

  private changed(leaf: number): void {
    this.markDirtyLeaf(leaf);
    let index = leaf;
    for (let level = this.depth - 1; level >= 0; level--) {
      index >>>= fanoutBits;
      if (this.stale[level]![index] === 1) break; // its ancestors are stale already
      this.stale[level]![index] = 1;
    }
  }

  private markDirtyLeaf(leaf: number): void {
    const bit = 1 << (leaf & 31);
    if ((this.dirtyBits[leaf >>> 5]! & bit) !== 0) return;
    this.dirtyBits[leaf >>> 5]! |= bit;
    this.dirtyList.push(leaf);
  }

  /** Recomputes a stale node from its children, refreshing stale children first (≤ depth deep). */
  private refresh(level: number, index: number): void {
    if (this.stale[level]![index] === 0) return;
    const childLevel = level + 1;
    const first = index * fanout;
    if (childLevel < this.depth) {
      for (let child = first; child < first + fanout; child++) this.refresh(childLevel, child);
    }
    const children = childLevel === this.depth ? this.leaves : this.levels[childLevel]!;
    mixChildren(children, 2 * first, this.levels[level]!, 2 * index);
    this.stale[level]![index] = 0;
  }

  private checkLeaf(leaf: number): void {
    if (!(Number.isInteger(leaf) && leaf >= 0 && leaf < this.leafCount)) assert.fail(`leaf ${leaf} outside 0..${this.leafCount - 1}`);
  }
}

/** The 16 children's 32 words at `words[from…]` mixed into `out[at]`, `out[at + 1]`; 0,0 only for all-zero children. */
function mixChildren(words: Uint32Array, from: number, out: Uint32Array, at: number): void {
  let any = 0;
  for (let j = from; j < from + 2 * fanout; j++) any |= words[j]!;
  if (any === 0) {
    out[at] = 0;
    out[at + 1] = 0;
    return;
  }
  mixStart(nodeSeed);
  for (let j = from; j < from + 2 * fanout; j++) mixWord(words[j]!);
  mixFinish(out, at);
  if (out[at] === 0 && out[at + 1] === 0) {
    out[at] = nonZeroHi;
    out[at + 1] = nonZeroLo;
  }
}

/** The leaf a key's 8-byte digest (storage/keys.ts tokenOf) falls in: the digest's top `bits` bits. */
export function leafOfDigest(digest: Buffer, bits: number = leafBits): number {
  if (digest.length !== digestBytes) assert.fail(`digest must be ${digestBytes} bytes, got ${digest.length}`);
  checkLeafBits(bits);
  return digest.readUInt32BE(0) >>> (32 - bits);
}

/** The first and last token (inclusive, bigint) of a leaf's span. */
export function leafSpan(leaf: number, bits: number = leafBits): { first: bigint; last: bigint } {
  checkLeafBits(bits);
  assert(Number.isInteger(leaf) && leaf >= 0 && leaf < 2 ** bits, `leaf ${leaf} outside 0..${2 ** bits - 1}`);
  const shift = BigInt(64 - bits);
  const first = BigInt(leaf) << shift;
  return { first, last: first | ((1n << shift) - 1n) };
}

/** Of `indices` at `level`, those whose hash in `tree` differs from `theirs` (encodeNodeHashes layout). */
export function differingNodes(tree: MerkleTree, level: number, indices: readonly number[], theirs: Buffer): number[] {
  assert(theirs.length === nodeHashBytes * indices.length, `${theirs.length} bytes of hashes for ${indices.length} indices`);
  const differing: number[] = [];
  for (let k = 0; k < indices.length; k++) {
    tree.nodeHash(level, indices[k]!, scratch);
    if (scratch[0] !== theirs.readUInt32BE(nodeHashBytes * k) || scratch[1] !== theirs.readUInt32BE(nodeHashBytes * k + 4)) {
      differing.push(indices[k]!);
    }
  }
  return differing;
}

/** The children (one level down) of every node in `indices`, in order: where a descent goes next. */
export function childrenOf(indices: readonly number[]): number[] {
  const children: number[] = [];
  for (const index of indices) {
    if (!(Number.isInteger(index) && index >= 0 && index < 2 ** (leafBitsMax - fanoutBits))) assert.fail(`index ${index} has no children`);
    for (let child = index * fanout; child < index * fanout + fanout; child++) children.push(child);
  }
  return children;
}

function nodesAt(level: number): number {
  return 2 ** (fanoutBits * level);
}

function checkLeafBits(bits: number): void {
  if (!(Number.isInteger(bits) && bits % fanoutBits === 0 && bits >= leafBitsMin && bits <= leafBitsMax)) {
    assert.fail(`leafBits ${bits} must be a multiple of ${fanoutBits} in ${leafBitsMin}..${leafBitsMax}`);
  }
}

/** Record hashes are two uint32 words; `x >>> 0 === x` refuses fractions, negatives, NaN and ≥ 2^32. */
function checkWords(hi: number, lo: number): void {
  if (hi >>> 0 !== hi || lo >>> 0 !== lo) assert.fail(`hash words ${hi}, ${lo} must be uint32`);
}
