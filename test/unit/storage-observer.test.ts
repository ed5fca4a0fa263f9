// The storage seam for state derived from the records (storage.ts StorageObserver): the
// same scenarios against LevelStorage in a temp dir and MemoryStorage. What the anti-entropy
// trees rely on: every change is heard in call order with its before and after, metadata
// lands in the batch of the records it was derived from, the two namespaces never mix, and
// a bounded span read includes every change made before it.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Sibling } from '../../src/clock/types.js';
import { metaPrefix, tokenMax, tokenOf } from '../../src/storage/keys.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { MetaBatch, Storage, StorageObserver } from '../../src/storage/storage.js';

interface Handle {
  readonly storage: Storage;
  /** What a restarted node finds: LevelStorage reopens its directory, MemoryStorage crashes into its "disk". */
  restart(): Promise<Storage>;
  dispose(): Promise<void>;
}

interface Factory {
  readonly name: string;
  open(): Promise<Handle>;
}

const levelFactory: Factory = {
  name: 'LevelStorage',
  async open() {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-observer-'));
    const location = path.join(dir, 'records');
    let storage = await LevelStorage.open(location);
    return {
      get storage() {
        return storage;
      },
      restart: async () => {
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

const memoryFactory: Factory = {
  name: 'MemoryStorage',
  async open() {
    let storage = new MemoryStorage();
    return {
      get storage() {
        return storage;
      },
      restart: async () => {
        storage = storage.crash();
        return storage;
      },
      dispose: () => storage.close(),
    };
  },
};

function sib(value: string, actor = 'a', counter = 1): Sibling {
  return { value: Buffer.from(value), dot: { actor, counter }, past: [], timestamp: 1_000 };
}

const k = (s: string) => Buffer.from(s);
const values = (siblings: readonly Sibling[]) => siblings.map((s) => s.value.toString());
const metaKey = (name: string) => Buffer.concat([Buffer.from([metaPrefix]), Buffer.from(name)]);

function tokenBuf(token: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(token);
  return out;
}

interface Change {
  readonly key: string;
  readonly digest: Buffer;
  readonly before: string[];
  readonly after: string[];
}

/**
 * Records every change, and at each persist writes `count` = the number of changes heard and
 * one `key:<k>` entry per key changed since the last persist: on disk, the metadata must
 * always agree with the records beside it.
 */
class Recorder implements StorageObserver {
  readonly changes: Change[] = [];
  persists = 0;
  clears = 0;
  private unpersisted = new Set<string>();

  changed(key: Buffer, digest: Buffer, before: readonly Sibling[], after: readonly Sibling[]): void {
    this.changes.push({ key: key.toString(), digest: Buffer.from(digest), before: values(before), after: values(after) });
    this.unpersisted.add(key.toString());
  }

  persist(batch: MetaBatch): void {
    this.persists++;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.changes.length);
    batch.put(metaKey('count'), count);
    for (const key of this.unpersisted) batch.put(metaKey(`key:${key}`), Buffer.from('seen'));
    this.unpersisted.clear();
  }

  cleared(): void {
    this.clears++;
  }
}

async function countOnDisk(storage: Storage): Promise<number | undefined> {
  const entries = await storage.metaEntries(metaKey('count'));
  return entries.length === 0 ? undefined : entries[0]![1].readUInt32BE(0);
}

function seamSuite(factory: Factory): void {
  const name = (scenario: string) => `storage observer › ${factory.name} › ${scenario}`;
  const withHandle = (fn: (h: Handle) => Promise<void>) => async () => {
    const handle = await factory.open();
    try {
      await fn(handle);
    } finally {
      await handle.dispose();
    }
  };

  test(name('hears every change in call order, with the record before and after and the key digest'), async (t) => {
    await withHandle(async ({ storage: s }) => {
      const observer = new Recorder();
      s.setObserver(observer);
      const a = k('a');
      const b = k('b');
      const forced = tokenBuf(0x1234n);
      await Promise.all([
        s.update(a, tokenOf(a), () => [sib('a1')]),
        s.update(a, undefined, (cur) => [...cur, sib('a2', 'b')]),
        s.update(b, forced, () => [sib('b1')]),
        s.update(a, tokenOf(a), () => []),
      ]);
      await s.update(b, forced, () => [sib('b2', 'a', 2)]);
      t.deepEqual(
        observer.changes.map((c) => [c.key, c.before, c.after]),
        [
          ['a', [], ['a1']],
          ['a', ['a1'], ['a1', 'a2']],
          ['b', [], ['b1']],
          ['a', ['a1', 'a2'], []],
          ['b', ['b1'], ['b2']],
        ],
      );
      t.deepEqual(observer.changes[0]!.digest, tokenOf(a));
      t.deepEqual(observer.changes[1]!.digest, tokenOf(a), 'a cached record reports the same digest');
      t.deepEqual(observer.changes[2]!.digest, forced, 'the digest the record is stored under');
      t.deepEqual(observer.changes[4]!.digest, forced);
    })();
  });

  test(name('a change that throws is not heard; without an observer nothing is'), async (t) => {
    await withHandle(async ({ storage: s }) => {
      const observer = new Recorder();
      s.setObserver(observer);
      const key = k('x');
      t.throws(() => {
        void s.update(key, tokenOf(key), () => {
          throw new Error('refused');
        });
      });
      t.is(observer.changes.length, 0);
      s.setObserver(undefined);
      await s.update(key, tokenOf(key), () => [sib('x')]);
      t.is(observer.changes.length, 0);
      t.is(observer.persists, 0);
    })();
  });

  test(name('metadata persisted for a batch is durable with its records'), async (t) => {
    await withHandle(async (h) => {
      const observer = new Recorder();
      h.storage.setObserver(observer);
      for (let i = 0; i < 5; i++) await h.storage.update(k(`k${i}`), undefined, () => [sib(`v${i}`)]);
      // Changed in one turn: one batch, one persist.
      const persistsBefore = observer.persists;
      await Promise.all([0, 1, 2].map((i) => h.storage.update(k(`t${i}`), undefined, () => [sib(`t${i}`)])));
      t.is(observer.persists, persistsBefore + 1);
      t.is(await countOnDisk(h.storage), 8);
      const restarted = await h.restart();
      t.is(restarted.recordCount(), 8);
      t.is(await countOnDisk(restarted), 8);
      const seen = (await restarted.metaEntries(metaKey('key:'))).map(([key]) => key.subarray(5).toString());
      t.deepEqual(seen.sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 't0', 't1', 't2']);
    })();
  });

  test(name('commitMetadata persists without any record change, after the changes before it'), async (t) => {
    await withHandle(async (h) => {
      const observer = new Recorder();
      h.storage.setObserver(observer);
      const pending = h.storage.update(k('late'), undefined, () => [sib('late')]);
      await h.storage.commitMetadata();
      t.is(await countOnDisk(h.storage), 1);
      await pending;
      const persists = observer.persists;
      await h.storage.commitMetadata();
      t.is(observer.persists, persists + 1);
      const restarted = await h.restart();
      t.is(await countOnDisk(restarted), 1);
      t.deepEqual(values(restarted.get(k('late'), undefined)), ['late']);
    })();
  });

  test(name('data reads and counts never see metadata; metaEntries never sees data'), async (t) => {
    await withHandle(async (h) => {
      const observer = new Recorder();
      h.storage.setObserver(observer);
      // A data key at the very top of the ring sorts just below the metadata namespace.
      await h.storage.update(k('top'), tokenBuf(tokenMax), () => [sib('top')]);
      await h.storage.update(k('low'), tokenBuf(0n), () => [sib('low')]);
      t.is(h.storage.recordCount(), 2);
      const scanned = await h.storage.scan(0n, 100);
      t.deepEqual(scanned.entries.map((e) => e.key.toString()), ['low', 'top']);
      t.false(scanned.more);
      const span = await h.storage.scanSpan(0n, tokenMax, 100);
      t.deepEqual(span.entries.map((e) => e.key.toString()), ['low', 'top']);
      const meta = await h.storage.metaEntries(Buffer.from([metaPrefix]));
      t.deepEqual(meta.map(([key]) => key.subarray(1).toString()).sort(), ['count', 'key:low', 'key:top']);
      const restarted = await h.restart();
      t.is(restarted.recordCount(), 2, 'a reopened store counts records only');
      t.is((await restarted.scan(0n, 100)).entries.length, 2);
    })();
  });

  test(name('scanSpan is inclusive at both ends and pages with more'), async (t) => {
    await withHandle(async ({ storage: s }) => {
      const placed: [string, bigint][] = [['a', 10n], ['b', 20n], ['c', 20n], ['d', 30n], ['e', 40n], ['z', tokenMax]];
      for (const [key, token] of placed) await s.update(k(key), tokenBuf(token), () => [sib(key)]);
      const keysOf = async (first: bigint, last: bigint, limit: number) => {
        const page = await s.scanSpan(first, last, limit);
        return { keys: page.entries.map((e) => e.key.toString()), more: page.more };
      };
      t.deepEqual(await keysOf(20n, 30n, 10), { keys: ['b', 'c', 'd'], more: false });
      t.deepEqual(await keysOf(21n, 29n, 10), { keys: [], more: false });
      t.deepEqual(await keysOf(10n, 10n, 10), { keys: ['a'], more: false });
      // A page ends on a token boundary: both keys at 20, then more.
      t.deepEqual(await keysOf(20n, 40n, 1), { keys: ['b', 'c'], more: true });
      t.deepEqual(await keysOf(31n, 40n, 1), { keys: ['e'], more: false });
      t.deepEqual(await keysOf(0n, 40n, 5), { keys: ['a', 'b', 'c', 'd', 'e'], more: false });
      t.deepEqual(await keysOf(41n, tokenMax, 10), { keys: ['z'], more: false });
      t.deepEqual(await keysOf(tokenMax, tokenMax, 10), { keys: ['z'], more: false });
    })();
  });

  test(name('scanSpan includes every change made before the call, durable or not'), async (t) => {
    await withHandle(async ({ storage: s }) => {
      await s.update(k('old'), tokenBuf(5n), () => [sib('old')]);
      await s.update(k('gone'), tokenBuf(6n), () => [sib('gone')]);
      const pending = [
        s.update(k('new'), tokenBuf(7n), () => [sib('new')]),
        s.update(k('old'), tokenBuf(5n), () => [sib('old2', 'b')]),
        s.update(k('gone'), tokenBuf(6n), () => []),
      ];
      const page = await s.scanSpan(0n, 100n, 10);
      t.deepEqual(page.entries.map((e) => [e.key.toString(), values(e.siblings)]), [['old', ['old2']], ['new', ['new']]]);
      await Promise.all(pending);
    })();
  });

  test(name('scanSpan answers while writes keep the write queue busy'), async (t) => {
    await withHandle(async ({ storage: s }) => {
      await s.update(k('steady'), tokenBuf(9n), () => [sib('steady')]);
      // A write queued on every turn: scanSpan waits for those before it, never for those after.
      let stopped = false;
      let completed = 0;
      let last: Promise<unknown> = Promise.resolve();
      const tick = (): void => {
        if (stopped) return;
        last = s.update(k('hot'), undefined, () => [sib(`v${completed}`, 'w', completed + 1)]).then(() => completed++);
        setImmediate(tick);
      };
      setImmediate(tick);
      try {
        while (completed < 10) await new Promise((resolve) => setImmediate(resolve));
        const start = completed;
        const page = await s.scanSpan(0n, 100n, 10);
        t.deepEqual(page.entries.map((e) => e.key.toString()), ['steady']);
        t.true(completed - start < 3000, `${completed - start} writes went through before the span was read`);
      } finally {
        stopped = true;
        await last;
      }
    })();
  });

  test(name('clear tells the observer, keeps metadata it did not rewrite, and persists at once'), async (t) => {
    await withHandle(async (h) => {
      const observer = new Recorder();
      h.storage.setObserver(observer);
      await h.storage.update(k('a'), undefined, () => [sib('a')]);
      const persists = observer.persists;
      await h.storage.clear();
      t.is(observer.clears, 1);
      t.is(observer.persists, persists + 1, 'the reset is committed by clear itself');
      t.is(observer.changes.length, 1, 'no change per record');
      t.is(h.storage.recordCount(), 0);
      t.deepEqual((await h.storage.metaEntries(metaKey('key:'))).map(([key]) => key.subarray(5).toString()), ['a']);
    })();
  });
}

seamSuite(levelFactory);
seamSuite(memoryFactory);

test('storage observer › MemoryStorage › a crash keeps the metadata of committed changes only', async (t) => {
  const storage = new MemoryStorage();
  const observer = new Recorder();
  storage.setObserver(observer);
  await storage.update(k('kept'), undefined, () => [sib('kept')]);
  void storage.update(k('lost'), undefined, () => [sib('lost')]);
  const disk = storage.crash();
  t.is(disk.recordCount(), 1);
  t.is(await countOnDisk(disk), 1);
  t.deepEqual((await disk.metaEntries(metaKey('key:'))).map(([key]) => key.subarray(5).toString()), ['kept']);
  await disk.close();
});

test('storage observer › a metadata key outside the namespace is refused', async (t) => {
  const storage = new MemoryStorage();
  await t.throwsAsync(() => storage.metaEntries(Buffer.from([0x01])));
  storage.setObserver({
    changed() {},
    persist(batch) {
      t.throws(() => batch.put(Buffer.from([0x01, 0]), Buffer.alloc(0)));
    },
  });
  await storage.update(k('a'), undefined, () => [sib('a')]);
  await storage.close();
});
