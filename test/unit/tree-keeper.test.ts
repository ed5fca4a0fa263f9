// The tree keeper against a naive model: every tree's leaves recomputed here from a full
// scan (preference list per record, XOR of record hashes per leaf), on MemoryStorage and
// on LevelStorage in a temp dir. Incremental upkeep, restarts (load vs rebuild), builds
// racing writes, leaf repair, the periodic rebuild on injected timers.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { createClock } from '@sinonjs/fake-timers';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { recordHash } from '../../src/anti-entropy/version-hash.js';
import { leafSpan } from '../../src/anti-entropy/merkle-tree.js';
import { TreeKeeper, TreeUnavailableError, type TreeTimers } from '../../src/anti-entropy/tree-keeper.js';
import { treePrefix } from '../../src/anti-entropy/tree-layout.js';
import type { Sibling } from '../../src/clock/types.js';
import { Ring, splitmix64, type RingMember } from '../../src/ring/index.js';
import { metaPrefix, tokenOf } from '../../src/storage/keys.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { ScanPage, Storage } from '../../src/storage/storage.js';

const logger = pino({ level: 'silent' });
const self = 'n1';
const n = 3;

/** No periodic rebuild unless a test asks: a timer that never fires. */
const idleTimers: TreeTimers = { setTimeout: () => undefined, clearTimeout: () => {} };

function members(ids: readonly string[], seed: bigint, tokensEach = 8): RingMember[] {
  const random = splitmix64(seed);
  return ids.map((id) => ({ id, tokens: Array.from({ length: tokensEach }, random) }));
}

const ring4 = Ring.build(members(['n1', 'n2', 'n3', 'n4'], 7n), n);
/** ring4 with a fifth member: every replica set's share of the ring moves. */
const ring5 = Ring.build([...members(['n1', 'n2', 'n3', 'n4'], 7n), ...members(['n5'], 99n)], n);

// --- the model ----------------------------------------------------------------

/** Every tree's leaves (2 words each) as the definition says, from a full scan. */
async function modelTrees(storage: Storage, ring: Ring, leafBits: number): Promise<Map<string, Uint32Array>> {
  const trees = new Map<string, Uint32Array>();
  const digest = Buffer.alloc(8);
  const hash = new Uint32Array(2);
  for (let from = 0n; ; ) {
    const page = await storage.scan(from, 1000);
    for (const entry of page.entries) {
      const list = ring.preferenceListForToken(entry.token);
      if (list.length < 2 || !list.includes(self)) continue;
      const id = [...list].sort().join(',');
      let leaves = trees.get(id);
      if (leaves === undefined) trees.set(id, (leaves = new Uint32Array(2 << leafBits)));
      const leaf = Number(entry.token >> BigInt(64 - leafBits));
      digest.writeBigUInt64BE(entry.token);
      recordHash(digest, entry.siblings, hash);
      leaves[2 * leaf] ^= hash[0]!;
      leaves[2 * leaf + 1] ^= hash[1]!;
    }
    if (!page.more) return trees;
    from = page.entries[page.entries.length - 1]!.token + 1n;
  }
}

function keeperTrees(t: ExecutionContext, keeper: TreeKeeper, leafBits: number): Map<string, Uint32Array> {
  const trees = new Map<string, Uint32Array>();
  const hash = new Uint32Array(2);
  for (const id of keeper.treeIds()) {
    const tree = keeper.tree(id);
    if (tree === undefined) {
      t.fail(`tree ${id} not current`);
      continue;
    }
    const leaves = new Uint32Array(2 << leafBits);
    for (let leaf = 0; leaf < 1 << leafBits; leaf++) {
      tree.leafHash(leaf, hash);
      leaves[2 * leaf] = hash[0]!;
      leaves[2 * leaf + 1] = hash[1]!;
    }
    trees.set(id, leaves);
  }
  return trees;
}

/** Whether the keeper's trees are the model's (a tree absent from the model is all zero). */
async function matchesModel(t: ExecutionContext, keeper: TreeKeeper, storage: Storage, ring: Ring, leafBits: number): Promise<boolean> {
  const model = await modelTrees(storage, ring, leafBits);
  const kept = keeperTrees(t, keeper, leafBits);
  for (const id of model.keys()) if (!kept.has(id)) return false;
  for (const [id, leaves] of kept) {
    const expected = model.get(id) ?? new Uint32Array(leaves.length);
    if (!Buffer.from(leaves.buffer).equals(Buffer.from(expected.buffer))) return false;
  }
  return true;
}

// --- writes -------------------------------------------------------------------

type Op = { readonly key: number; readonly kind: 'put' | 'sibling' | 'tombstone' | 'delete' };

const opArb: fc.Arbitrary<Op> = fc.record({ key: fc.integer({ min: 0, max: 150 }), kind: fc.constantFrom('put', 'put', 'sibling', 'tombstone', 'delete') });

let counter = 0;
function applyOp(storage: Storage, op: Op): Promise<Sibling[]> {
  const key = Buffer.from(`key-${op.key}`);
  const dot = { actor: `a${op.key % 3}`, counter: ++counter };
  const sibling: Sibling = { value: Buffer.from(`v${counter}`), dot, past: [], timestamp: counter };
  return storage.update(key, tokenOf(key), (current) => {
    switch (op.kind) {
      case 'put':
        return [sibling];
      case 'sibling':
        return [...current, { ...sibling, dot: { actor: 'b', counter } }];
      case 'tombstone':
        return [{ ...sibling, value: Buffer.alloc(0), deleted: true }];
      case 'delete':
        return [];
    }
  });
}

// --- stores ---------------------------------------------------------------------

interface Store {
  storage: Storage;
  /** A restart on the same disk: LevelStorage closes and reopens, MemoryStorage crashes into its durable state. */
  restart(): Promise<Storage>;
  dispose(): Promise<void>;
}

async function openLevel(): Promise<Store> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-trees-'));
  const location = path.join(dir, 'records');
  const store: Store = {
    storage: await LevelStorage.open(location),
    async restart() {
      await store.storage.close();
      store.storage = await LevelStorage.open(location);
      return store.storage;
    },
    async dispose() {
      await store.storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return store;
}

async function openMemory(): Promise<Store> {
  const store: Store = {
    storage: new MemoryStorage(),
    async restart() {
      store.storage = (store.storage as MemoryStorage).crash();
      return store.storage;
    },
    dispose: () => store.storage.close(),
  };
  return store;
}

const stores = [
  { name: 'MemoryStorage', open: openMemory, runs: 25 },
  { name: 'LevelStorage', open: openLevel, runs: 8 },
];

function newKeeper(storage: Storage, leafBits: number, extra: Partial<ConstructorParameters<typeof TreeKeeper>[0]> = {}): TreeKeeper {
  return new TreeKeeper({ storage, selfId: self, logger, timers: idleTimers, leafBits, ...extra });
}

/** The store's methods, bound to it, with some replaced: a keeper sees the store through it. */
function wrapStorage(storage: Storage, overrides: Partial<Storage>): Storage {
  return {
    get: storage.get.bind(storage),
    update: storage.update.bind(storage),
    scan: storage.scan.bind(storage),
    scanSpan: storage.scanSpan.bind(storage),
    setObserver: storage.setObserver.bind(storage),
    metaEntries: storage.metaEntries.bind(storage),
    commitMetadata: storage.commitMetadata.bind(storage),
    recordCount: storage.recordCount.bind(storage),
    keyspace: storage.keyspace.bind(storage),
    clear: storage.clear.bind(storage),
    close: storage.close.bind(storage),
    ...overrides,
  };
}

/** Counts the span reads a keeper makes: a load makes none. */
function countingSpans(storage: Storage): { storage: Storage; spans: () => number } {
  let spans = 0;
  const counted = wrapStorage(storage, {
    scanSpan: (first, last, limit) => {
      spans++;
      return storage.scanSpan(first, last, limit);
    },
  });
  return { storage: counted, spans: () => spans };
}

// --- tests ------------------------------------------------------------------------

test('tree keeper › one tree per replica set holding self; none for a ring of one or no ring', async (t) => {
  const keeper = newKeeper(new MemoryStorage(), 8);
  keeper.setRing(ring4, n);
  await keeper.start();
  const ids = keeper.treeIds();
  t.true(ids.length > 0 && ids.length <= 3, ids.join(' '));
  for (const id of ids) {
    t.true(keeper.members(id).includes(self));
    t.is(keeper.members(id).length, n);
    t.not(keeper.tree(id), undefined);
  }
  const key = Buffer.from('k');
  const list = ring4.preferenceList(key);
  t.is(keeper.treeOfDigest(tokenOf(key)), list.includes(self) ? [...list].sort().join(',') : undefined);
  keeper.setRing(Ring.build(members(['n1'], 1n), 1), 1);
  t.deepEqual(keeper.treeIds(), []);
  keeper.setRing(undefined, n);
  t.deepEqual(keeper.treeIds(), []);
  await t.throwsAsync(() => keeper.leafEntries(ids[0]!, 0), { instanceOf: TreeUnavailableError });
  await keeper.stop();
});

for (const { name, open, runs } of stores) {
  test(`tree keeper › ${name} › incremental trees equal the model and a fresh rebuild after random writes and deletes`, async (t) => {
    const leafBits = 8; // many keys share a leaf: toggles must cancel exactly
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 120 }), async (ops) => {
        const store = await open();
        try {
          const keeper = newKeeper(store.storage, leafBits);
          keeper.setRing(ring4, n);
          await keeper.start();
          await Promise.all(ops.map((op) => applyOp(store.storage, op)));
          if (!(await matchesModel(t, keeper, store.storage, ring4, leafBits))) return false;
          await keeper.rebuild();
          const ok = await matchesModel(t, keeper, store.storage, ring4, leafBits);
          await keeper.stop();
          return ok && keeper.stats.builds === 2 * keeper.treeIds().length;
        } finally {
          await store.dispose();
        }
      }),
      { seed: 42, numRuns: runs },
    );
    t.pass();
  });

  test(`tree keeper › ${name} › a restart on the same ring loads the trees without a scan`, async (t) => {
    const leafBits = 16; // the default: 65,536 leaves per tree
    const store = await open();
    t.teardown(() => store.dispose());
    const first = newKeeper(store.storage, leafBits);
    first.setRing(ring4, n);
    await first.start();
    t.is(first.stats.builds, first.treeIds().length);
    for (let i = 0; i < 300; i++) await applyOp(store.storage, { key: i % 150, kind: i % 7 === 0 ? 'delete' : 'put' });
    // Not awaited: the keeper's stop writes it out with its leaves.
    void applyOp(store.storage, { key: 3, kind: 'sibling' });
    await first.stop();
    const storage = await store.restart();
    const counted = countingSpans(storage);
    const second = newKeeper(counted.storage, leafBits);
    second.setRing(ring4, n);
    const starting = second.start();
    // Writes while the leaves are being read: caught, not a reason to rebuild.
    const early = Array.from({ length: 20 }, (_, i) => applyOp(storage, { key: i, kind: i % 2 === 0 ? 'sibling' : 'delete' }));
    await starting;
    await Promise.all(early);
    t.is(second.stats.loads, second.treeIds().length);
    t.is(second.stats.builds, 0);
    t.is(counted.spans(), 0, 'no record was read');
    t.true(await matchesModel(t, second, storage, ring4, leafBits));
    await second.stop();
    // The leaves those writes changed were written out after the load, with the fingerprint.
    const third = newKeeper(await store.restart(), leafBits);
    third.setRing(ring4, n);
    await third.start();
    t.is(third.stats.builds, 0);
    t.true(await matchesModel(t, third, store.storage, ring4, leafBits));
    for (let i = 0; i < 50; i++) await applyOp(store.storage, { key: i, kind: 'sibling' });
    await third.rebuild();
    t.true(await matchesModel(t, third, store.storage, ring4, leafBits));
    await third.stop();
  });

  test(`tree keeper › ${name} › a crash between leaf flushes leaves no fingerprint: the next start rebuilds from the records`, async (t) => {
    const leafBits = 8;
    const store = await open();
    t.teardown(() => store.dispose());
    const first = newKeeper(store.storage, leafBits);
    first.setRing(ring4, n);
    await first.start();
    for (let i = 0; i < 200; i++) await applyOp(store.storage, { key: i % 90, kind: i % 5 === 0 ? 'delete' : 'put' });
    // No stop: the leaves these writes changed are not on disk (leafFlushIntervalMs has not passed).
    const storage = await store.restart();
    const second = newKeeper(storage, leafBits);
    second.setRing(ring4, n);
    await second.start();
    t.is(second.stats.loads, 0, 'nothing vouches for the leaves on disk');
    t.is(second.stats.builds, second.treeIds().length);
    t.true(await matchesModel(t, second, storage, ring4, leafBits));
    await second.stop();
    await first.stop().catch(() => undefined);
  });

  test(`tree keeper › ${name} › a restart on another ring rebuilds, and the dropped trees' leaves are deleted`, async (t) => {
    const leafBits = 8;
    const store = await open();
    t.teardown(() => store.dispose());
    const first = newKeeper(store.storage, leafBits);
    first.setRing(ring5, n);
    await first.start();
    for (let i = 0; i < 200; i++) await applyOp(store.storage, { key: i % 150, kind: 'put' });
    await first.stop();
    const storage = await store.restart();
    const second = newKeeper(storage, leafBits);
    second.setRing(ring4, n);
    await second.start();
    t.is(second.stats.loads, 0);
    t.is(second.stats.builds, second.treeIds().length);
    t.true(await matchesModel(t, second, storage, ring4, leafBits));
    const dropped = first.treeIds().filter((id) => !second.treeIds().includes(id));
    t.true(dropped.length > 0);
    for (let attempt = 0; attempt < 100; attempt++) {
      const left = await Promise.all(dropped.map((id) => storage.metaEntries(treePrefix(id))));
      if (left.every((entries) => entries.length === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const id of dropped) t.deepEqual(await storage.metaEntries(treePrefix(id)), [], `leaves of ${id}`);
    // The ring changes while running: new trees are built, and a restart on it loads them.
    second.setRing(ring5, n);
    t.deepEqual(second.treeIds(), first.treeIds());
    await second.rebuild();
    for (let i = 0; i < 20; i++) await applyOp(storage, { key: i, kind: 'tombstone' });
    t.true(await matchesModel(t, second, storage, ring5, leafBits));
    await second.stop();
    const again = newKeeper(await store.restart(), leafBits);
    again.setRing(ring5, n);
    await again.start();
    t.is(again.stats.builds, 0);
    t.true(await matchesModel(t, again, store.storage, ring5, leafBits));
    await again.stop();
  });

  test(`tree keeper › ${name} › writes during a build still end equal to a fresh build`, async (t) => {
    const leafBits = 12; // 16 segments: writes land behind the scan, in the span being read, and ahead of it
    const store = await open();
    t.teardown(() => store.dispose());
    for (let i = 0; i < 400; i++) await applyOp(store.storage, { key: i % 150, kind: 'put' });
    const random = splitmix64(5n);
    const pick = (): Op => ({ key: Number(random() % 150n), kind: (['put', 'sibling', 'tombstone', 'delete'] as const)[Number(random() % 4n)]! });
    const writes: Promise<unknown>[] = [];
    // Writes just before each span read, and after it was read but before the keeper sees the page.
    let racingOn = true;
    const racing = wrapStorage(store.storage, { scanSpan: racingSpan });
    async function racingSpan(first: bigint, last: bigint, limit: number): Promise<ScanPage> {
      if (racingOn) for (let i = 0; i < 2; i++) writes.push(applyOp(store.storage, pick()));
      const page = await store.storage.scanSpan(first, last, limit);
      if (racingOn) {
        // One write inside the segment just read, so its leaf must be read again (not inside a
        // single leaf's reread: a leaf written on every read is given up on, by design).
        const segment = last - first > 1n << BigInt(64 - leafBits);
        const inside = [...Array(150).keys()].find((k) => {
          const token = tokenOf(Buffer.from(`key-${k}`)).readBigUInt64BE(0);
          return token >= first && token <= last;
        });
        if (segment && inside !== undefined) writes.push(applyOp(store.storage, { key: inside, kind: 'sibling' }));
        for (let i = 0; i < 2; i++) writes.push(applyOp(store.storage, pick()));
      }
      return page;
    }
    const keeper = newKeeper(racing, leafBits);
    keeper.setRing(ring4, n);
    await keeper.start();
    racingOn = false;
    await Promise.all(writes);
    t.true(writes.length > 50, `${writes.length} racing writes`);
    t.is(keeper.stats.leavesUnsettled, 0);
    t.true(keeper.stats.leafRereads > 0);
    t.true(await matchesModel(t, keeper, store.storage, ring4, leafBits));
    racingOn = true;
    await keeper.rebuild(); // the same race with the old trees still current
    racingOn = false;
    await Promise.all(writes);
    t.true(await matchesModel(t, keeper, store.storage, ring4, leafBits));
    await keeper.stop();
  });

  test(`tree keeper › ${name} › leafEntries lists a leaf's records and mends a corrupted leaf`, async (t) => {
    const leafBits = 8;
    const store = await open();
    t.teardown(() => store.dispose());
    const keeper = newKeeper(store.storage, leafBits);
    keeper.setRing(ring4, n);
    await keeper.start();
    for (let i = 0; i < 150; i++) await applyOp(store.storage, { key: i, kind: 'put' });
    const model = await modelTrees(store.storage, ring4, leafBits);
    const [id, leaves] = [...model.entries()][0]!;
    let leaf = 0;
    while (leaves[2 * leaf] === 0 && leaves[2 * leaf + 1] === 0) leaf++;
    const listed = await keeper.leafEntries(id, leaf);
    t.true(listed.length > 0);
    const { first, last } = leafSpan(leaf, leafBits);
    for (const entry of listed) {
      const token = tokenOf(entry.key).readBigUInt64BE(0);
      t.true(token >= first && token <= last);
      t.is(keeper.treeOfDigest(tokenOf(entry.key)), id);
    }
    let hi = 0;
    let lo = 0;
    for (const entry of listed) {
      hi ^= entry.hi;
      lo ^= entry.lo;
    }
    t.deepEqual([hi >>> 0, lo >>> 0], [leaves[2 * leaf], leaves[2 * leaf + 1]]);
    t.is(keeper.stats.leafRepairs, 0);
    // Corrupt the leaf (as a lost batch or a bad disk would) and an empty one.
    const tree = keeper.tree(id)!;
    tree.setLeaf(leaf, 12345, 678);
    let empty = 0;
    while (leaves[2 * empty] !== 0 || leaves[2 * empty + 1] !== 0) empty++;
    tree.setLeaf(empty, 1, 1);
    t.false(await matchesModel(t, keeper, store.storage, ring4, leafBits));
    t.deepEqual((await keeper.leafEntries(id, leaf)).length, listed.length);
    t.deepEqual(await keeper.leafEntries(id, empty), []);
    t.is(keeper.stats.leafRepairs, 2);
    t.true(await matchesModel(t, keeper, store.storage, ring4, leafBits));
    await keeper.leafEntries(id, leaf);
    t.is(keeper.stats.leafRepairs, 2, 'a sound leaf is left alone');
    // The mended leaves are persisted: a restart loads them.
    await keeper.stop();
    const again = newKeeper(await store.restart(), leafBits);
    again.setRing(ring4, n);
    await again.start();
    t.is(again.stats.builds, 0);
    t.true(await matchesModel(t, again, store.storage, ring4, leafBits));
    await again.stop();
  });

  test(`tree keeper › ${name} › clear empties the trees, durably`, async (t) => {
    const leafBits = 8;
    const store = await open();
    t.teardown(() => store.dispose());
    const keeper = newKeeper(store.storage, leafBits);
    keeper.setRing(ring4, n);
    await keeper.start();
    for (let i = 0; i < 100; i++) await applyOp(store.storage, { key: i, kind: 'put' });
    await store.storage.clear();
    for (const id of keeper.treeIds()) t.true(keeper.tree(id)!.isEmpty());
    await keeper.stop();
    const storage = await store.restart();
    t.deepEqual(await storage.metaEntries(Buffer.from([metaPrefix, 0x54])), [], 'no leaf left on disk');
    const again = newKeeper(storage, leafBits);
    again.setRing(ring4, n);
    await again.start();
    t.is(again.stats.builds, 0);
    for (const id of again.treeIds()) t.true(again.tree(id)!.isEmpty());
    await again.stop();
  });
}

test('tree keeper › LevelStorage › writes from other turns during a build end equal to the model', async (t) => {
  const leafBits = 12;
  const store = await openLevel();
  t.teardown(() => store.dispose());
  for (let i = 0; i < 2000; i++) void applyOp(store.storage, { key: i % 150, kind: 'put' });
  await applyOp(store.storage, { key: 0, kind: 'put' });
  const keeper = newKeeper(store.storage, leafBits);
  keeper.setRing(ring4, n);
  let stop = false;
  let writes = 0;
  const random = splitmix64(9n);
  const writer = (async () => {
    while (!stop) {
      await applyOp(store.storage, { key: Number(random() % 150n), kind: random() % 5n === 0n ? 'delete' : 'put' });
      writes++;
    }
  })();
  await keeper.start();
  await keeper.rebuild();
  stop = true;
  await writer;
  t.true(writes > 0);
  t.true(await matchesModel(t, keeper, store.storage, ring4, leafBits));
  await keeper.stop();
});

test('tree keeper › the periodic rebuild runs on the injected clock, and stop cancels a rebuild in progress', async (t) => {
  const clock = createClock(1_000_000);
  const timers: TreeTimers = { setTimeout: (callback, ms) => clock.setTimeout(callback, ms), clearTimeout: (handle) => clock.clearTimeout(handle as number) };
  const storage = new MemoryStorage();
  let gate: Promise<void> | undefined;
  const gated = wrapStorage(storage, {
    scanSpan: async (first, last, limit) => {
      if (gate !== undefined) await gate;
      return storage.scanSpan(first, last, limit);
    },
  });
  const keeper = new TreeKeeper({ storage: gated, selfId: self, logger, now: () => clock.now, timers, leafBits: 8, rebuildIntervalMs: 60_000 });
  keeper.setRing(ring4, n);
  await keeper.start();
  const trees = keeper.treeIds().length;
  t.is(keeper.stats.builds, trees);
  t.deepEqual(Object.values(keeper.stats.builtAtMs), Array(trees).fill(1_000_000));
  clock.tick(59_999);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(keeper.stats.builds, trees);
  clock.tick(1);
  for (let i = 0; i < 50 && keeper.stats.builds < 2 * trees; i++) await new Promise((resolve) => setImmediate(resolve));
  t.is(keeper.stats.builds, 2 * trees);
  t.deepEqual(Object.values(keeper.stats.builtAtMs), Array(trees).fill(1_060_000));
  // A rebuild held at its first read, then stopped: it ends without replacing a tree.
  let release!: () => void;
  gate = new Promise((resolve) => (release = resolve));
  const before = keeper.treeIds().map((id) => keeper.tree(id));
  const rebuilding = keeper.rebuild();
  t.true(keeper.stats.working);
  const stopping = keeper.stop();
  release();
  await rebuilding;
  await stopping;
  t.is(keeper.stats.builds, 2 * trees);
  t.deepEqual(keeper.treeIds().map((id) => keeper.tree(id)), before);
  t.is(clock.countTimers(), 0, 'no timer left behind');
});

test('tree keeper › MemoryStorage › trees are written out in bounded batches (whole segments), then load', async (t) => {
  const leafBits = 16;
  let storage: Storage = new MemoryStorage();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 60_000; i++) {
    const key = Buffer.from(`many-${i}`);
    writes.push(storage.update(key, tokenOf(key), () => [{ value: Buffer.from('v'), dot: { actor: 'a', counter: i + 1 }, past: [], timestamp: 1 }]));
  }
  await Promise.all(writes);
  const persists: number[] = [];
  const keeper = newKeeper(storage, leafBits);
  const observe = storage.setObserver.bind(storage);
  storage.setObserver = (observer) => {
    // Count the metadata writes per batch.
    observe(
      observer === undefined
        ? undefined
        : {
            changed: observer.changed.bind(observer),
            persist(batch) {
              let count = 0;
              observer.persist!({ put: (key, value) => (count++, batch.put(key, value)), del: (key) => (count++, batch.del(key)) });
              persists.push(count);
            },
          },
    );
  };
  keeper.setRing(ring4, n);
  await keeper.start();
  await keeper.stop();
  const total = persists.reduce((sum, count) => sum + count, 0);
  t.true(total > 100, `writes per batch: ${persists.join(' ')}`);
  // At most segmentWritesPerBatchMax segments a batch, plus the names and the fingerprint records.
  t.true(Math.max(...persists) <= 256 + 2, `writes per batch: ${persists.join(' ')}`);
  storage = (storage as MemoryStorage).crash();
  const again = newKeeper(storage, leafBits);
  again.setRing(ring4, n);
  await again.start();
  t.is(again.stats.builds, 0);
  t.true(await matchesModel(t, again, storage, ring4, leafBits));
  await again.stop();
});
