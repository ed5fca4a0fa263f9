// One conformance suite for every Storage implementation (abstract-level's
// test/index.js style): the same scenarios run against LevelStorage in a temp
// dir and against MemoryStorage, so the simulation's storage cannot drift
// from the one nodes run on.
import test from 'ava';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Sibling } from '../../src/clock/types.js';
import { dataKey, tokenOf } from '../../src/storage/keys.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { ScanEntry, Storage } from '../../src/storage/storage.js';

/** Opens a fresh, empty store; `reopen` (durable stores only) closes it and opens the same data again. */
interface StorageFactory {
  readonly name: string;
  readonly durable: boolean;
  open(): Promise<{ storage: Storage; reopen?: () => Promise<Storage>; dispose: () => Promise<void> }>;
}

const levelFactory: StorageFactory = {
  name: 'LevelStorage',
  durable: true,
  async open() {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-storage-'));
    const location = path.join(dir, 'records');
    let storage = await LevelStorage.open(location);
    return {
      storage,
      reopen: async () => {
        await storage.close();
        storage = await LevelStorage.open(location);
        return storage;
      },
      dispose: async () => {
        await storage.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

const memoryFactory: StorageFactory = {
  name: 'MemoryStorage',
  durable: false,
  async open() {
    const storage = new MemoryStorage();
    return { storage, dispose: () => storage.close() };
  },
};

/** A version written by `actor` as its event `counter`, over its own earlier events. */
function sib(value: string, actor = 'a', counter = 1, timestamp = 1_000): Sibling {
  return { value: Buffer.from(value), dot: { actor, counter }, past: counter > 1 ? [{ actor, counter: counter - 1 }] : [], timestamp };
}

/** A tombstone by `actor`, over the actor's earlier events and one of another actor's. */
function tombstone(actor = 'a', counter = 2, timestamp = 2_000): Sibling {
  return { value: Buffer.alloc(0), dot: { actor, counter }, past: [{ actor: '0', counter: 9 }, { actor, counter: counter - 1 }], timestamp, deleted: true };
}

const k = (s: string) => Buffer.from(s);
const values = (siblings: readonly Sibling[]) => siblings.map((s) => s.value.toString());

/** An 8-byte token buffer from a bigint, to force keys onto chosen (even shared) tokens. */
function tokenBuf(token: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(token);
  return out;
}

function compareEntries(a: { token: bigint; key: Buffer }, b: { token: bigint; key: Buffer }): number {
  return a.token < b.token ? -1 : a.token > b.token ? 1 : Buffer.compare(a.key, b.key);
}

/** Every page from token 0, following `more` with the token after each page's last. */
async function scanAll(storage: Storage, limit: number): Promise<ScanEntry[][]> {
  const pages: ScanEntry[][] = [];
  let from = 0n;
  for (;;) {
    const page = await storage.scan(from, limit);
    pages.push(page.entries);
    if (!page.more) return pages;
    from = page.entries[page.entries.length - 1]!.token + 1n;
  }
}

/**
 * Updates `key` once every event-loop turn until stopped, so the store's
 * write queue is never empty when a batch commits (a write is queued on every
 * turn in between): the steady load under which a scan once waited forever.
 */
function keepWriting(storage: Storage, key: Buffer): { completed(): number; reached(count: number): Promise<undefined>; stop(): Promise<void> } {
  let completed = 0;
  let issued = 0;
  let stopped = false;
  let last: Promise<unknown> = Promise.resolve();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const token = tokenOf(key);
  const tick = (): void => {
    if (stopped) return;
    issued++;
    last = storage.update(key, token, () => [sib(`v${issued}`, 'w', issued)]).then(() => {
      completed++;
      for (const w of waiters.filter((x) => completed >= x.count)) w.resolve();
    });
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    completed: () => completed,
    reached: (count) => new Promise<undefined>((resolve) => waiters.push({ count, resolve: () => resolve(undefined) })),
    stop: async () => {
      stopped = true;
      await last;
    },
  };
}

function storageSuite(factory: StorageFactory): void {
  const name = (scenario: string) => `storage › ${factory.name} › ${scenario}`;
  const withStorage = (fn: (storage: Storage, handle: Awaited<ReturnType<StorageFactory['open']>>) => Promise<void>) => async () => {
    const handle = await factory.open();
    try {
      await fn(handle.storage, handle);
    } finally {
      await handle.dispose();
    }
  };

  test(name('missing key reads as []'), async (t) => {
    await withStorage(async (s) => {
      t.deepEqual(s.get(k('nope'), tokenOf(k('nope'))), []);
      t.is(s.recordCount(), 0);
    })();
  });

  test(name('update then get round-trips siblings, tombstones and expiry'), async (t) => {
    await withStorage(async (s) => {
      const key = k('user:1');
      const token = tokenOf(key);
      const record: Sibling[] = [
        sib('left', 'a', 3, 1_111),
        { ...sib('right', 'b', 1, 2_222), expiresAt: 9_999_999 },
        tombstone('c', 7, 3_333),
      ];
      const stored = await s.update(key, token, (current) => {
        t.deepEqual(current, []);
        return record;
      });
      t.deepEqual(stored, record);
      t.deepEqual(s.get(key, token), record);
      t.is(s.recordCount(), 1);
    })();
  });

  test(name('changes to one key apply in call order within one turn'), async (t) => {
    await withStorage(async (s) => {
      const key = k('counter');
      const token = tokenOf(key);
      const seen: string[][] = [];
      const step = (v: string) => (current: Sibling[]) => {
        seen.push(values(current));
        return [...current, sib(v, v)];
      };
      const results = await Promise.all(['1', '2', '3'].map((v) => s.update(key, token, step(v))));
      t.deepEqual(seen, [[], ['1'], ['1', '2']]);
      t.deepEqual(results.map(values), [['1'], ['1', '2'], ['1', '2', '3']]);
      t.deepEqual(values(s.get(key, token)), ['1', '2', '3']);
    })();
  });

  test(name('get sees a change before its promise resolves'), async (t) => {
    await withStorage(async (s) => {
      const key = k('eager');
      const token = tokenOf(key);
      let resolved = false;
      const done = s.update(key, token, () => [sib('v')]).then(() => {
        resolved = true;
      });
      t.false(resolved);
      t.deepEqual(values(s.get(key, token)), ['v']);
      await done;
      t.true(resolved);
    })();
  });

  test(name('a change returning [] deletes the record'), async (t) => {
    await withStorage(async (s) => {
      const a = k('a');
      const b = k('b');
      await s.update(a, tokenOf(a), () => [sib('x')]);
      await s.update(b, tokenOf(b), () => [sib('y')]);
      t.is(s.recordCount(), 2);
      t.deepEqual(await s.update(a, tokenOf(a), () => []), []);
      t.is(s.recordCount(), 1);
      t.deepEqual(s.get(a, tokenOf(a)), []);
      const page = await s.scan(0n, 100);
      t.deepEqual(page.entries.map((e) => e.key.toString()), ['b']);
      await s.update(a, tokenOf(a), () => []);
      t.is(s.recordCount(), 1, 'deleting a missing key changes nothing');
    })();
  });

  test(name('scan returns records in token order from a token, with their tokens'), async (t) => {
    await withStorage(async (s) => {
      const keys = Array.from({ length: 50 }, (_, i) => k(`key-${i}`));
      await Promise.all(keys.map((key) => s.update(key, tokenOf(key), () => [sib(key.toString())])));
      const expected = keys
        .map((key) => ({ key, token: tokenOf(key).readBigUInt64BE(0) }))
        .sort(compareEntries);
      const all = await s.scan(0n, 1000);
      t.false(all.more);
      t.deepEqual(all.entries.map((e) => [e.key.toString(), e.token]), expected.map((e) => [e.key.toString(), e.token]));
      for (const e of all.entries) t.deepEqual(values(e.siblings), [e.key.toString()]);
      const middle = expected[20]!.token;
      const tail = await s.scan(middle, 1000);
      t.deepEqual(tail.entries.map((e) => e.key.toString()), expected.slice(20).map((e) => e.key.toString()));
      const limited = await s.scan(0n, 7);
      t.true(limited.more);
      t.is(limited.entries.length, 7);
    })();
  });

  test(name('paging visits every key once and ends pages on a token boundary'), async (t) => {
    const handle = await factory.open();
    t.teardown(() => handle.dispose());
    const s = handle.storage;
    // Few distinct tokens, so many keys share one: the boundary rule matters.
    const record = fc.record({
      keys: fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 12 })), {
        minLength: 0,
        maxLength: 60,
        selector: ([key]) => key,
      }),
      limit: fc.integer({ min: 1, max: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(record, async ({ keys, limit }) => {
        await s.clear();
        const stored = keys.map(([key, slot]) => ({ key: k(key), token: BigInt(slot) * 0x1111_1111_1111_111n }));
        for (const e of stored) await s.update(e.key, tokenBuf(e.token), () => [sib(e.key.toString())]);
        const pages = await scanAll(s, limit);
        const visited = pages.flat();
        const expected = stored.slice().sort(compareEntries);
        if (visited.length !== expected.length) return false;
        for (let i = 0; i < expected.length; i++) {
          if (!visited[i]!.key.equals(expected[i]!.key) || visited[i]!.token !== expected[i]!.token) return false;
        }
        for (const page of pages.slice(0, -1)) {
          if (page.length < limit) return false;
          // Past the limit a page only finishes the token it was on.
          const atLimit = page[limit - 1]!.token;
          if (page.slice(limit).some((e) => e.token !== atLimit)) return false;
        }
        return pages[pages.length - 1]!.length <= Math.max(limit, expected.length);
      }),
      { seed: 0x5eed, numRuns: 40 },
    );
    t.pass();
  });

  test(name('scan answers while writes keep the write queue busy'), async (t) => {
    await withStorage(async (s) => {
      const keys = Array.from({ length: 30 }, (_, i) => k(`steady-${i}`));
      await Promise.all(keys.map((key) => s.update(key, tokenOf(key), () => [sib(key.toString())])));
      const writer = keepWriting(s, k('hot'));
      try {
        await writer.reached(10);
        // Sustained writes (a new one every event-loop turn) must not hold a scan back:
        // it has to answer long before this many more writes have gone through.
        const writesMax = 3000;
        const first = await Promise.race([s.scan(0n, 1000).then((page) => ({ page })), writer.reached(writer.completed() + writesMax)]);
        t.not(first, undefined, `no scan page while ${writesMax} writes went through`);
        const keysSeen = first?.page.entries.map((e) => e.key.toString()) ?? [];
        for (const key of keys) t.true(keysSeen.includes(key.toString()), key.toString());
      } finally {
        await writer.stop();
      }
    })();
  });

  test(name('scan sees a value updated but not yet durable'), async (t) => {
    await withStorage(async (s) => {
      const key = k('changing');
      await s.update(key, tokenOf(key), () => [sib('old')]);
      const durable = s.update(key, tokenOf(key), () => [sib('new', 'b')]);
      const page = await s.scan(0n, 100);
      t.deepEqual(page.entries.map((e) => [e.key.toString(), values(e.siblings)]), [['changing', ['new']]]);
      await durable;
    })();
  });

  test(name('scan leaves out a key deleted but not yet durable'), async (t) => {
    await withStorage(async (s) => {
      const gone = k('going');
      const kept = k('staying');
      await s.update(gone, tokenOf(gone), () => [sib('x')]);
      await s.update(kept, tokenOf(kept), () => [sib('y')]);
      const durable = s.update(gone, tokenOf(gone), () => []);
      const page = await s.scan(0n, 100);
      t.deepEqual(page.entries.map((e) => e.key.toString()), ['staying']);
      await durable;
    })();
  });

  test(name('clear removes every record'), async (t) => {
    await withStorage(async (s) => {
      for (const name of ['p', 'q', 'r']) await s.update(k(name), tokenOf(k(name)), () => [sib(name)]);
      // One change still pending when clear is called.
      void s.update(k('s'), tokenOf(k('s')), () => [sib('s')]);
      await s.clear();
      t.is(s.recordCount(), 0);
      t.deepEqual(s.get(k('p'), tokenOf(k('p'))), []);
      t.deepEqual(s.get(k('s'), tokenOf(k('s'))), []);
      t.deepEqual((await s.scan(0n, 10)).entries, []);
      await s.update(k('p'), tokenOf(k('p')), () => [sib('again')]);
      t.deepEqual(values(s.get(k('p'), tokenOf(k('p')))), ['again']);
    })();
  });

  test(name('values given as views into a larger buffer are copied'), async (t) => {
    await withStorage(async (s) => {
      const chunk = Buffer.from('AAAABBBBCCCC');
      const key = k('view');
      const token = tokenOf(key);
      await s.update(key, token, () => [sib('x')].map((x) => ({ ...x, value: chunk.subarray(4, 8) })));
      const pending = s.update(k('view2'), tokenOf(k('view2')), () => [{ ...sib('y', 'b'), value: chunk.subarray(8, 12) }]);
      chunk.fill(0x5a); // the socket reuses its buffer
      await pending;
      t.deepEqual(values(s.get(key, token)), ['BBBB']);
      t.deepEqual(values(s.get(k('view2'), tokenOf(k('view2')))), ['CCCC']);
      const page = await s.scan(0n, 10);
      t.deepEqual(page.entries.map((e) => values(e.siblings)[0]).sort(), ['BBBB', 'CCCC']);
    })();
  });

  test(name('a change that throws leaves the record unchanged'), async (t) => {
    await withStorage(async (s) => {
      const key = k('safe');
      const token = tokenOf(key);
      await s.update(key, token, () => [sib('before')]);
      const boom = new Error('refused');
      let caught: unknown;
      try {
        // LevelStorage throws synchronously, as the change runs in the call; a rejection would do too.
        await s.update(key, token, () => {
          throw boom;
        });
      } catch (err) {
        caught = err;
      }
      t.is(caught, boom);
      t.deepEqual(values(s.get(key, token)), ['before']);
      t.is(s.recordCount(), 1);
      await s.update(key, token, (current) => [...current, sib('after', 'b')]);
      t.deepEqual(values(s.get(key, token)), ['before', 'after']);
    })();
  });

  if (factory.durable) {
    test(name('records survive close and reopen'), async (t) => {
      await withStorage(async (s, handle) => {
        const keys = Array.from({ length: 20 }, (_, i) => k(`durable-${i}`));
        for (const key of keys) await s.update(key, tokenOf(key), () => [sib(key.toString()), tombstone('z')]);
        await s.update(keys[0]!, tokenOf(keys[0]!), () => []);
        // Not awaited: close must flush what is queued.
        void s.update(keys[1]!, tokenOf(keys[1]!), () => [sib('last')]);
        const reopened = await handle.reopen!();
        t.is(reopened.recordCount(), 19);
        t.deepEqual(reopened.get(keys[0]!, tokenOf(keys[0]!)), []);
        t.deepEqual(values(reopened.get(keys[1]!, tokenOf(keys[1]!))), ['last']);
        t.deepEqual(reopened.get(keys[5]!, tokenOf(keys[5]!)), [sib('durable-5'), tombstone('z')]);
        t.is((await reopened.scan(0n, 100)).entries.length, 19);
      })();
    });
  }
}

storageSuite(levelFactory);
storageSuite(memoryFactory);

test('LevelStorage › a record that cannot be decoded is skipped and counted by scans, the rest still listed', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-storage-'));
  const location = path.join(dir, 'records');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let storage = await LevelStorage.open(location);
  for (const name of ['one', 'two']) await storage.update(Buffer.from(name), tokenOf(Buffer.from(name)), () => [sib(name)]);
  await storage.close();
  // Corrupt one record behind the store's back, as a bad disk or an old bug would.
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const bad = Buffer.from('bad');
  await db.put(dataKey(tokenOf(bad), bad), Buffer.from([2, 0, 1, 0xff]));
  await db.close();
  storage = await LevelStorage.open(location);
  t.teardown(() => storage.close());
  const page = await storage.scan(0n, 100);
  t.deepEqual(page.entries.map((e) => e.key.toString()).sort(), ['one', 'two']);
  t.is(page.undecodable, 1);
});

test('LevelStorage › the record cache stays within its budget once writes are durable, and evicted records read back from disk', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cacheBytesMax = 64 * 1024;
  const storage = await LevelStorage.open(path.join(dir, 'records'), cacheBytesMax);
  t.teardown(() => storage.close());
  const keys = Array.from({ length: 3000 }, (_, i) => Buffer.from(`cache:${i}`));
  for (let from = 0; from < keys.length; from += 100) {
    await Promise.all(keys.slice(from, from + 100).map((k) => storage.update(k, tokenOf(k), () => [sib(`v-${k.toString()}`)])));
  }
  const after = storage.cacheUsage();
  t.true(after.bytes <= cacheBytesMax, `cache ${after.bytes} B over its ${cacheBytesMax} B budget`);
  t.true(after.records < keys.length / 2, 'most records were evicted');
  for (const k of keys) t.is(storage.get(k, tokenOf(k))[0]?.value.toString(), `v-${k.toString()}`);
  t.true(storage.cacheUsage().bytes <= cacheBytesMax);
});

test('LevelStorage › a bulk write is read before it is durable and from disk after, and leaves the cache unless the key was cached or used meanwhile', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const storage = await LevelStorage.open(path.join(dir, 'records'));
  t.teardown(() => storage.close());
  const key = (name: string) => Buffer.from(name);
  const bulk = { bulk: true };
  const hot = key('hot');
  await storage.update(hot, undefined, () => [sib('h1')]);
  const before = storage.cacheUsage().records;
  const streamed = Array.from({ length: 50 }, (_, i) => key(`streamed:${i}`));
  const written = Promise.all(streamed.map((k, i) => storage.update(k, undefined, () => [sib(`s${i}`)], bulk)));
  t.is(storage.get(streamed[3]!, undefined)[0]?.value.toString(), 's3', 'a bulk write not yet durable is read from the cache');
  const bulkToHot = storage.update(hot, undefined, (current) => [...current, sib('h2', 'b', 1)], bulk);
  const readLater = key('read-later');
  const readLaterWrite = storage.update(readLater, undefined, () => [sib('r')], bulk);
  const rewritten = key('rewritten');
  const rewrittenWrites = Promise.all([storage.update(rewritten, undefined, () => [sib('w1')], bulk), storage.update(rewritten, undefined, () => [sib('w2', 'a', 2)])]);
  await Promise.all([written, bulkToHot, readLaterWrite, rewrittenWrites]);
  // streamed:3 was read while pending: kept, as any read record; the other 49 left once durable.
  t.is(storage.cacheUsage().records, before + 2, 'hot stays (cached before), streamed:3 (read) and rewritten (written normally) stay; read-later and the others left');
  for (const [i, k] of streamed.entries()) t.is(storage.get(k, undefined)[0]?.value.toString(), `s${i}`, 'read back from disk');
  t.deepEqual(storage.get(hot, undefined).map((v) => v.value.toString()), ['h1', 'h2']);
  t.is(storage.get(readLater, undefined)[0]?.value.toString(), 'r');
  t.is(storage.get(rewritten, undefined)[0]?.value.toString(), 'w2');
});

test('LevelStorage › INFO keyspace figures are kept by every change and rebuilt at open', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const location = path.join(dir, 'records');
  let storage = await LevelStorage.open(location);
  const put = (name: string, siblings: Sibling[]) => storage.update(Buffer.from(name), tokenOf(Buffer.from(name)), () => siblings);
  const expiring = (value: string, expiresAt: number): Sibling => ({ ...sib(value), expiresAt });
  await put('plain', [sib('p')]);
  await put('ttl1', [expiring('a', 1_000_000)]);
  await put('ttl2', [expiring('b', 3_000_000)]);
  await put('gone', [{ ...sib(''), deleted: true }]);
  t.deepEqual(storage.keyspace(0), { keys: 3, expires: 2, avgTtlMs: 2_000_000 });
  await put('ttl2', [sib('b2', 'a', 2)]);
  t.deepEqual(storage.keyspace(0), { keys: 3, expires: 1, avgTtlMs: 1_000_000 });
  await storage.close();
  storage = await LevelStorage.open(location);
  t.teardown(() => storage.close());
  t.deepEqual(storage.keyspace(0), { keys: 3, expires: 1, avgTtlMs: 1_000_000 });
  await storage.clear();
  t.deepEqual(storage.keyspace(0), { keys: 0, expires: 0, avgTtlMs: 0 });
});

test('LevelStorage › a key never held is not read from LevelDB, and a key on disk at open or written since always is', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const location = path.join(dir, 'records');
  // A tiny cache, so reads of written keys go past it to the filter and LevelDB.
  let storage = await LevelStorage.open(location, 4 * 1024);
  const keys = Array.from({ length: 500 }, (_, i) => Buffer.from(`filter:${i}`));
  await Promise.all(keys.slice(0, 250).map((k) => storage.update(k, tokenOf(k), () => [sib(`v-${k.toString()}`)])));
  await storage.close();
  storage = await LevelStorage.open(location, 4 * 1024);
  t.teardown(() => storage.close());
  // Written before the open: found by the filter built while counting.
  for (const k of keys.slice(0, 250)) t.is(storage.get(k, tokenOf(k))[0]?.value.toString(), `v-${k.toString()}`);
  const before = storage.filterUsage().readsSkipped;
  // Never held: an update folds into [] without a read, as the store does for most of a streamed span.
  await Promise.all(keys.slice(250).map((k) => storage.update(k, tokenOf(k), (current) => [...current, sib(`n-${k.toString()}`)])));
  t.true(storage.filterUsage().readsSkipped - before >= 240, 'almost every new key skipped its read');
  // Written since the open and evicted from the cache: read back from disk and merged, not overwritten.
  await Promise.all(keys.slice(250).map((k) => storage.update(k, tokenOf(k), (current) => [...current, sib(`m-${k.toString()}`, 'b')])));
  for (const k of keys.slice(250)) t.deepEqual(values(storage.get(k, tokenOf(k))), [`n-${k.toString()}`, `m-${k.toString()}`]);
  // Cleared: every key is absent again, and one written after the clear is found.
  await storage.clear();
  t.deepEqual(storage.get(keys[0]!, tokenOf(keys[0]!)), []);
  await storage.update(keys[0]!, tokenOf(keys[0]!), () => [sib('again')]);
  t.deepEqual(values(storage.get(keys[0]!, tokenOf(keys[0]!))), ['again']);
});
