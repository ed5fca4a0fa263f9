// The Merkle tree against a naive model: a store is a map of keys to their dots, and the
// model of a tree is the multiset of (leaf, record hash) pairs its records make. Properties:
// two trees agree at the root and at every node exactly when those multisets are equal;
// toggles in any order, with hashes read between them (so lazy refresh runs on partly stale
// paths), give what a build from scratch gives; a record toggled again leaves no trace;
// a descent from the root through differingNodes ends at exactly the differing leaves;
// leafOfDigest and leafSpan agree and tile the token space.

import test from 'ava';
import fc from 'fast-check';
import type { Dot, Sibling } from '../../src/clock/types.js';
import { keyToken, tokenOf, tokenSpace } from '../../src/ring/tokens.js';
import { recordHash } from '../../src/anti-entropy/version-hash.js';
import {
  MerkleTree,
  childrenOf,
  differingNodes,
  fanoutBits,
  leafBits,
  leafBitsMax,
  leafBitsMin,
  leafOfDigest,
  leafSpan,
} from '../../src/anti-entropy/merkle-tree.js';

const runs = { seed: 16, numRuns: 200 };
const allowedBits = [4, 8, 12, 16, 20];

// --- the model -----------------------------------------------------------------

/** A store: key → the dots of its siblings. Record hashes come from the real recordHash, so they look random. */
type Store = Map<string, readonly Dot[]>;

interface Entry {
  readonly leaf: number;
  readonly hi: number;
  readonly lo: number;
}

const keyArb = fc.string({ maxLength: 10 });
const dotArb: fc.Arbitrary<Dot> = fc.record({ actor: fc.constantFrom('a', 'b', 'c'), counter: fc.integer({ min: 1, max: 50 }) });
const dotsArb = fc.uniqueArray(dotArb, { minLength: 1, maxLength: 3, selector: (d) => `${d.actor}/${d.counter}` });
const storeArb: fc.Arbitrary<Store> = fc
  .uniqueArray(fc.tuple(keyArb, dotsArb), { maxLength: 80, size: 'max', selector: ([key]) => key })
  .map((pairs) => new Map(pairs));

type Edit = { kind: 'drop' | 'bump'; at: number } | { kind: 'add'; key: string; dots: Dot[] };
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('bump' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), key: keyArb, dots: dotsArb }),
);

/** Another replica's store: `base` with edits applied (none, often: then the two are equal). */
function edited(base: Store, edits: readonly Edit[]): Store {
  const store = new Map(base);
  for (const edit of edits) {
    const keys = [...store.keys()];
    if (edit.kind === 'add') store.set(edit.key, edit.dots);
    else if (keys.length === 0) continue;
    else if (edit.kind === 'drop') store.delete(keys[edit.at % keys.length]!);
    else {
      const key = keys[edit.at % keys.length]!;
      store.set(key, store.get(key)!.map((d, i) => (i === 0 ? { actor: d.actor, counter: d.counter + 1 } : d)));
    }
  }
  return store;
}

function sibling(dot: Dot): Sibling {
  return { value: Buffer.alloc(0), dot, past: [], timestamp: 0 };
}

function entryOf(key: string, dots: readonly Dot[], bits: number): Entry {
  const digest = tokenOf(Buffer.from(key));
  const out = new Uint32Array(2);
  recordHash(digest, dots.map(sibling), out);
  return { leaf: leafOfDigest(digest, bits), hi: out[0]!, lo: out[1]! };
}

function entriesOf(store: Store, bits: number): Entry[] {
  return [...store].map(([key, dots]) => entryOf(key, dots, bits));
}

/** The model's view of a store: the multiset of (leaf, hash), as sorted strings. */
function multiset(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.leaf}:${e.hi}:${e.lo}`).sort();
}

function treeOf(entries: readonly Entry[], bits: number): MerkleTree {
  const tree = new MerkleTree(bits);
  for (const e of entries) tree.toggle(e.leaf, e.hi, e.lo);
  return tree;
}

/** A build from scratch: each leaf's XOR computed here, then set once. */
function builtFromScratch(entries: readonly Entry[], bits: number): MerkleTree {
  const leaves = new Map<number, [number, number]>();
  for (const e of entries) {
    const [hi, lo] = leaves.get(e.leaf) ?? [0, 0];
    leaves.set(e.leaf, [(hi ^ e.hi) >>> 0, (lo ^ e.lo) >>> 0]);
  }
  const tree = new MerkleTree(bits);
  for (const [leaf, [hi, lo]] of leaves) tree.setLeaf(leaf, hi, lo);
  return tree;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** Every node's hash, level by level, root first. */
function allNodes(tree: MerkleTree): Buffer[] {
  return range(tree.depth + 1).map((level) => tree.encodeNodeHashes(level, range(2 ** (fanoutBits * level))));
}

/**
 * True when every internal node is the mix of its 16 children: the root of a one-level tree
 * (leafBits 4) over them, where no laziness can go wrong. With the leaves right, this pins
 * every node, independently of how the stale flags were walked.
 */
function consistent(tree: MerkleTree): boolean {
  for (let level = 0; level < tree.depth; level++) {
    for (let index = 0; index < 2 ** (fanoutBits * level); index++) {
      const oneLevel = new MerkleTree(fanoutBits);
      for (let child = 0; child < 16; child++) oneLevel.setLeaf(child, ...hashAt(tree, level + 1, index * 16 + child));
      if (hashAt(oneLevel, 0, 0).join() !== hashAt(tree, level, index).join()) return false;
    }
  }
  return true;
}

function hashAt(tree: MerkleTree, level: number, index: number): [number, number] {
  const out = new Uint32Array(2);
  tree.nodeHash(level, index, out);
  return [out[0]!, out[1]!];
}

// --- properties ------------------------------------------------------------------

test('merkle tree › two trees agree at the root and at every node exactly when their (leaf, record hash) multisets are equal', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(4, 8), storeArb, fc.array(editArb, { maxLength: 3 }), (bits, base, edits) => {
      const ours = entriesOf(base, bits);
      const theirs = entriesOf(edited(base, edits), bits);
      const a = treeOf(ours, bits);
      const b = treeOf([...theirs].reverse(), bits);
      const same = multiset(ours).join() === multiset(theirs).join();
      t.is(hashAt(a, 0, 0).join() === hashAt(b, 0, 0).join(), same, 'root');
      const nodesA = allNodes(a);
      const nodesB = allNodes(b);
      t.is(nodesA.every((level, i) => level.equals(nodesB[i]!)), same, 'every node');
      t.is(a.isEmpty(), ours.length === 0);
    }),
    runs,
  );
});

test('merkle tree › toggles in any order, with hashes read between them, equal a build from scratch, every node the mix of its children', (t) => {
  const readArb = fc.tuple(fc.nat(), fc.nat());
  fc.assert(
    fc.property(
      fc.constantFrom(4, 8, 12),
      storeArb.chain((store) => fc.tuple(fc.constant(store), fc.shuffledSubarray([...store], { minLength: store.size }))),
      fc.array(fc.option(readArb, { nil: undefined }), { maxLength: 80 }),
      (bits, [store, shuffled], reads) => {
        const tree = new MerkleTree(bits);
        shuffled.forEach(([key, dots], i) => {
          const e = entryOf(key, dots, bits);
          tree.toggle(e.leaf, e.hi, e.lo);
          const read = reads[i];
          if (read !== undefined) {
            const level = read[0] % (tree.depth + 1);
            hashAt(tree, level, read[1] % 2 ** (fanoutBits * level)); // refreshes part of the tree, leaves the rest stale
          }
        });
        t.deepEqual(allNodes(tree), allNodes(builtFromScratch(entriesOf(store, bits), bits)));
        t.true(consistent(tree));
      },
    ),
    runs,
  );
});

test('merkle tree › toggling a record again removes it and restores the prior tree', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(4, 8), storeArb, keyArb, dotsArb, fc.boolean(), (bits, store, key, dots, readBetween) => {
      const tree = treeOf(entriesOf(store, bits), bits);
      const before = allNodes(tree);
      tree.takeDirtyLeaves();
      const e = entryOf(key, dots, bits);
      const leafBefore = hashAt(tree, tree.depth, e.leaf);
      tree.toggle(e.leaf, e.hi, e.lo);
      t.notDeepEqual(hashAt(tree, tree.depth, e.leaf), leafBefore);
      if (readBetween) t.notDeepEqual(allNodes(tree), before); // refreshes every node with the record in
      tree.toggle(e.leaf, e.hi, e.lo);
      t.deepEqual(allNodes(tree), before);
      t.deepEqual(tree.takeDirtyLeaves(), [e.leaf]);
    }),
    runs,
  );
});

test('merkle tree › descending from the root through differingNodes ends at exactly the differing leaves', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(4, 8, 12), storeArb, fc.array(editArb, { maxLength: 6 }), (bits, base, edits) => {
      const a = treeOf(entriesOf(base, bits), bits);
      const b = treeOf(entriesOf(edited(base, edits), bits), bits);
      let indices = [0];
      for (let level = 0; level <= a.depth; level++) {
        const differing = differingNodes(a, level, indices, b.encodeNodeHashes(level, indices));
        if (level === a.depth) indices = differing;
        else {
          const children = childrenOf(differing);
          t.is(children.length, 16 * differing.length); // only differing nodes are opened
          indices = children;
        }
      }
      const expected = range(a.leafCount).filter((leaf) => hashAt(a, a.depth, leaf).join() !== hashAt(b, b.depth, leaf).join());
      t.deepEqual(indices, expected);
    }),
    runs,
  );
});

test('merkle tree › a node hashes to 0,0 exactly when every leaf under it is 0,0', (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.nat({ max: 255 }), { maxLength: 20 }), (leaves) => {
      const tree = new MerkleTree(8);
      for (const leaf of leaves) tree.toggle(leaf, 0, leaf + 1); // one word zero: still a present record
      for (let level = 0; level <= tree.depth; level++) {
        const span = 2 ** (fanoutBits * (tree.depth - level)); // leaves under one node at this level
        for (let index = 0; index < 2 ** (fanoutBits * level); index++) {
          const empty = !leaves.some((leaf) => Math.floor(leaf / span) === index);
          t.is(hashAt(tree, level, index).join() === '0,0', empty, `level ${level} index ${index}`);
        }
      }
    }),
    { seed: 3, numRuns: 100 },
  );
});

test('merkle tree › takeDirtyLeaves lists each changed leaf once, ascending, then forgets them', (t) => {
  const opArb = fc.tuple(fc.boolean(), fc.nat({ max: 255 }), fc.constantFrom(0, 1, 0xffffffff), fc.constantFrom(0, 7));
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const tree = new MerkleTree(8);
      const model = new Map<number, string>();
      const changed = new Set<number>();
      for (const [set, leaf, hi, lo] of ops) {
        const old = model.get(leaf) ?? '0,0';
        const now = set ? `${hi},${lo}` : old.split(',').map((w, i) => ((Number(w) ^ (i === 0 ? hi : lo)) >>> 0)).join();
        if (set) tree.setLeaf(leaf, hi, lo);
        else tree.toggle(leaf, hi, lo);
        if (now !== old) changed.add(leaf);
        model.set(leaf, now);
      }
      t.deepEqual(tree.takeDirtyLeaves(), [...changed].sort((x, y) => x - y));
      t.deepEqual(tree.takeDirtyLeaves(), []);
    }),
    runs,
  );
});

test('merkle tree › clear empties the tree and lists the leaves it zeroed as changed', (t) => {
  const tree = new MerkleTree(8);
  tree.toggle(3, 1, 2);
  tree.setLeaf(200, 5, 0);
  tree.toggle(9, 4, 4);
  tree.toggle(9, 4, 4); // back to 0,0
  tree.takeDirtyLeaves();
  t.false(tree.isEmpty());
  tree.clear();
  t.true(tree.isEmpty());
  t.deepEqual(tree.takeDirtyLeaves(), [3, 200]);
  t.deepEqual(allNodes(tree), allNodes(new MerkleTree(8)));
  tree.toggle(3, 1, 2); // still usable: paths go stale and refresh as before
  t.deepEqual(allNodes(tree), allNodes(builtFromScratch([{ leaf: 3, hi: 1, lo: 2 }], 8)));
});

test('merkle tree › encodeNodeHashes is 8 bytes per index, hi then lo big-endian, in the order asked', (t) => {
  const tree = new MerkleTree(8);
  tree.setLeaf(0x12, 0x01020304, 0xa0b0c0d0);
  t.deepEqual(tree.encodeNodeHashes(2, [0x13, 0x12]), Buffer.from('0000000000000000' + '01020304a0b0c0d0', 'hex'));
  const [hi, lo] = hashAt(tree, 1, 1);
  const encoded = tree.encodeNodeHashes(1, [1, 0, 1]);
  t.is(encoded.length, 24);
  t.is(encoded.readUInt32BE(0), hi);
  t.is(encoded.readUInt32BE(4), lo);
  t.deepEqual(encoded.subarray(8, 16), Buffer.alloc(8));
  t.deepEqual(encoded.subarray(16), encoded.subarray(0, 8));
  t.deepEqual(tree.encodeNodeHashes(0, []), Buffer.alloc(0));
});

test('merkle tree › known answer for the node mix (a change here breaks exchanges with peers of other builds)', (t) => {
  const tree = new MerkleTree(4);
  tree.setLeaf(0, 1, 2);
  tree.setLeaf(15, 0xffffffff, 0);
  t.is(tree.encodeNodeHashes(0, [0]).toString('hex'), '7189bfc460a1a695');
});

test('merkle tree › leafOfDigest and leafSpan agree: every token of a span maps to its leaf, and the spans tile [0, 2^64)', (t) => {
  const tokenAt = (token: bigint) => {
    const digest = Buffer.alloc(8);
    digest.writeBigUInt64BE(token);
    return digest;
  };
  fc.assert(
    fc.property(fc.constantFrom(...allowedBits), fc.nat(), fc.bigInt({ min: 0n, max: tokenSpace - 1n }), fc.string(), (bits, pick, offset, key) => {
      const count = 2 ** bits;
      const leaf = pick % count;
      const { first, last } = leafSpan(leaf, bits);
      t.is(last - first + 1n, tokenSpace / BigInt(count));
      for (const token of [first, last, first + (offset % (last - first + 1n))]) t.is(leafOfDigest(tokenAt(token), bits), leaf);
      if (leaf > 0) t.is(leafSpan(leaf - 1, bits).last + 1n, first);
      if (leaf < count - 1) t.is(leafSpan(leaf + 1, bits).first, last + 1n);
      t.is(leafSpan(0, bits).first, 0n);
      t.is(leafSpan(count - 1, bits).last, tokenSpace - 1n);
      // A key's digest lands in the leaf whose span holds its ring token.
      const span = leafSpan(leafOfDigest(tokenOf(Buffer.from(key)), bits), bits);
      const token = keyToken(Buffer.from(key));
      t.true(span.first <= token && token <= span.last);
    }),
    runs,
  );
});

// --- shape and arguments ----------------------------------------------------------

test('merkle tree › shape for every allowed leafBits; the default is 2^16 leaves four levels down', (t) => {
  for (const bits of allowedBits) {
    const tree = new MerkleTree(bits);
    t.is(tree.leafBits, bits);
    t.is(tree.leafCount, 2 ** bits);
    t.is(tree.depth, bits / fanoutBits);
    t.true(tree.isEmpty());
  }
  const tree = new MerkleTree();
  t.is(tree.leafBits, leafBits);
  t.is(tree.leafCount, 65_536);
  t.is(tree.depth, 4);
  tree.toggle(65_535, 1, 1);
  t.false(tree.isEmpty());
  t.deepEqual(differingNodes(tree, 0, [0], new MerkleTree().encodeNodeHashes(0, [0])), [0]);
  t.deepEqual(differingNodes(tree, 3, [4095, 0], new MerkleTree().encodeNodeHashes(3, [4095, 0])), [4095]);
});

test('merkle tree › refuses bad arguments (programming errors)', (t) => {
  const assertion = { code: 'ERR_ASSERTION' };
  for (const bits of [0, 3, 5, leafBitsMin - fanoutBits, leafBitsMax + fanoutBits, 1.5, NaN]) {
    t.throws(() => new MerkleTree(bits), assertion, `leafBits ${bits}`);
    t.throws(() => leafOfDigest(Buffer.alloc(8), bits), assertion);
    t.throws(() => leafSpan(0, bits), assertion);
  }
  const tree = new MerkleTree(8);
  for (const leaf of [-1, 256, 1.5, NaN]) {
    t.throws(() => tree.toggle(leaf, 1, 1), assertion, `leaf ${leaf}`);
    t.throws(() => tree.setLeaf(leaf, 1, 1), assertion);
    t.throws(() => tree.leafHash(leaf, new Uint32Array(2)), assertion);
    t.throws(() => leafSpan(leaf, 8), assertion);
  }
  for (const word of [-1, 2 ** 32, 0.5, NaN]) {
    t.throws(() => tree.toggle(0, word, 0), assertion, `word ${word}`);
    t.throws(() => tree.setLeaf(0, 0, word), assertion);
  }
  t.throws(() => tree.nodeHash(3, 0, new Uint32Array(2)), assertion);
  t.throws(() => tree.nodeHash(-1, 0, new Uint32Array(2)), assertion);
  t.throws(() => tree.nodeHash(1, 16, new Uint32Array(2)), assertion);
  t.throws(() => tree.encodeNodeHashes(0, [1]), assertion);
  t.throws(() => differingNodes(tree, 1, [0, 1], Buffer.alloc(8)), assertion);
  t.throws(() => childrenOf([-1]), assertion);
  t.throws(() => leafOfDigest(Buffer.alloc(7)), assertion);
  t.deepEqual(tree.takeDirtyLeaves(), [], 'refused calls change nothing');
});
