// One conformance suite for every HintStore (as storage.test.ts does for
// records): the same scenarios run against LevelHintStore in a temp dir and
// against MemoryHintStore, so the simulation's hints cannot drift from the
// ones nodes keep. Then what only one of them has: reopening LevelDB, a
// corrupt value, and MemoryHintStore's simulated crash.
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { reconcile, sameVersions } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { encodeHintValue, hintBytes, hintKey, targetPrefix } from '../../src/hints/hint-layout.js';
import { HintError, type Hint, type HintStore, type HintStoreOptions } from '../../src/hints/hint-store.js';
import { LevelHintStore } from '../../src/hints/level-hint-store.js';
import { MemoryHintStore } from '../../src/hints/memory-hint-store.js';

interface Handle {
  store: HintStore;
  /** Durable stores only: closes the store and opens the same hints again. */
  reopen?: () => Promise<HintStore>;
  dispose(): Promise<void>;
}

interface HintStoreFactory {
  readonly name: string;
  open(options?: HintStoreOptions): Promise<Handle>;
}

const levelFactory: HintStoreFactory = {
  name: 'LevelHintStore',
  async open(options = {}) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-hints-'));
    const location = path.join(dir, 'hints');
    let store = await LevelHintStore.open(location, options);
    const handle: Handle = {
      store,
      reopen: async () => {
        await store.close();
        store = await LevelHintStore.open(location, options);
        handle.store = store;
        return store;
      },
      dispose: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return handle;
  },
};

const memoryFactory: HintStoreFactory = {
  name: 'MemoryHintStore',
  async open(options = {}) {
    const store = new MemoryHintStore(options);
    return { store, dispose: () => store.close() };
  },
};

/** A version written by `actor` as its event `counter`, over `past` (by default the actor's earlier events). */
function v(value: string, actor: string, counter: number, past?: Sibling['past'], timestamp = 1_000 + counter): Sibling {
  return { value: Buffer.from(value), dot: { actor, counter }, past: past ?? (counter > 1 ? [{ actor, counter: counter - 1 }] : []), timestamp };
}

const k = (s: string) => Buffer.from(s);
const values = (siblings: readonly Sibling[]) => siblings.map((s) => s.value.toString()).sort();
const keysOf = (hints: readonly Hint[]) => hints.map((h) => h.key.toString('latin1'));

async function pageAll(store: HintStore, target: string, limit: number, bytesMax?: number): Promise<Hint[][]> {
  const pages: Hint[][] = [];
  let after: Buffer | undefined;
  for (;;) {
    const page = await store.page(target, after, limit, bytesMax);
    if (page.length === 0) return pages;
    pages.push(page);
    after = page[page.length - 1]!.key;
  }
}

function hintStoreSuite(factory: HintStoreFactory): void {
  const name = (scenario: string) => `hint store › ${factory.name} › ${scenario}`;
  const withStore = async (fn: (store: HintStore, handle: Handle) => Promise<void>, options?: HintStoreOptions) => {
    const handle = await factory.open(options);
    try {
      await fn(handle.store, handle);
    } finally {
      await handle.dispose();
    }
  };

  test(name('an add is paged back with its target, key, record and stored time, and counted'), async (t) => {
    await withStore(async (s) => {
      t.deepEqual(s.pending(), new Map());
      const record = [v('x', 'a', 1), { ...v('y', 'b', 3), expiresAt: 9_999_999 }, { ...v('', 'c', 2), deleted: true }];
      await s.add('node-b', k('user:1'), record, 5_000);
      const [hint, ...rest] = await s.page('node-b', undefined, 10);
      t.deepEqual(rest, []);
      t.is(hint!.target, 'node-b');
      t.deepEqual(hint!.key, k('user:1'));
      t.true(sameVersions(hint!.siblings, record));
      t.deepEqual(hint!.siblings, reconcile(record), 'every field survives, in the merge order');
      t.is(hint!.storedAtMs, 5_000);
      const stored = hintKey(targetPrefix('node-b'), k('user:1'));
      t.is(hint!.bytes, hintBytes(stored, encodeHintValue(5_000, reconcile(record))));
      t.deepEqual(s.pending(), new Map([['node-b', { count: 1, bytes: hint!.bytes }]]));
      t.is(s.stats.stored, 1);
    });
  });

  test(name('a newer version supersedes the hinted one; an older one arriving late changes nothing'), async (t) => {
    await withStore(async (s) => {
      const v1 = v('one', 'a', 1);
      const v2 = v('two', 'a', 2);
      await s.add('b', k('key'), [v1], 1_000);
      await s.add('b', k('key'), [v2], 2_000);
      t.deepEqual(values(s.versionsOf(k('key'))), ['two']);
      await s.add('b', k('key'), [v1], 3_000);
      const [hint] = await s.page('b', undefined, 10);
      t.deepEqual(values(hint!.siblings), ['two'], 'nothing would be sent twice');
      t.is(hint!.storedAtMs, 2_000, 'an add that changes nothing leaves the stored time');
      t.is(s.pending().get('b')!.count, 1);
    });
  });

  test(name('concurrent versions stay as siblings, even when added in one turn'), async (t) => {
    await withStore(async (s) => {
      await Promise.all([s.add('b', k('key'), [v('left', 'a', 1)], 1_000), s.add('b', k('key'), [v('right', 'c', 1)], 1_000)]);
      t.deepEqual(values(s.versionsOf(k('key'))), ['left', 'right']);
      // A write that saw both supersedes both.
      await s.add('b', k('key'), [v('merged', 'a', 2, [{ actor: 'a', counter: 1 }, { actor: 'c', counter: 1 }])], 2_000);
      const [hint] = await s.page('b', undefined, 10);
      t.deepEqual(values(hint!.siblings), ['merged']);
    });
  });

  test(name('versionsOf reconciles every target\'s hint of the key and sees changes not yet durable'), async (t) => {
    await withStore(async (s) => {
      t.deepEqual(s.versionsOf(k('key')), []);
      await s.add('b', k('key'), [v('one', 'a', 1)], 1_000);
      await s.add('c', k('key'), [v('two', 'a', 2)], 1_000);
      await s.add('d', k('key'), [v('other', 'x', 1)], 1_000);
      await s.add('b', k('elsewhere'), [v('far', 'y', 1)], 1_000);
      t.deepEqual(values(s.versionsOf(k('key'))), ['other', 'two'], 'one superseded by two (from another target), other concurrent');
      t.deepEqual(s.versionsOf(k('missing')), []);
      const pending = s.add('b', k('fresh'), [v('new', 'z', 1)], 1_000);
      t.deepEqual(values(s.versionsOf(k('fresh'))), ['new'], 'before the add is durable');
      await pending;
    });
  });

  test(name('page: key order, after a key (exclusive), limits, and only the target\'s own hints'), async (t) => {
    await withStore(async (s) => {
      const keys = ['m', 'a', '', 'zz', 'b\u00ff', 'b', 'ab', 'z'];
      // 'n' and 'no' share a prefix; 'node' and 'n' would collide without the length byte.
      for (const key of keys) await s.add('n', k(key), [v(key, 'a', 1)], 1_000);
      for (const key of ['a', 'q']) await s.add('no', k(key), [v(key, 'a', 1)], 1_000);
      await s.add('n\u0001a', k('x'), [v('x', 'a', 1)], 1_000);
      const sorted = keys.map((x) => k(x)).sort(Buffer.compare).map((b) => b.toString('latin1'));
      const pages = await pageAll(s, 'n', 3);
      t.deepEqual(pages.map((p) => p.length), [3, 3, 2]);
      t.deepEqual(pages.flatMap(keysOf), sorted);
      t.deepEqual(keysOf(await s.page('n', k('b'), 2)), sorted.slice(sorted.indexOf(k('b').toString('latin1')) + 1).slice(0, 2));
      t.deepEqual(keysOf(await s.page('n', k('zzz'), 5)), []);
      t.deepEqual(keysOf(await s.page('n', k('c'), 5)), ['m', 'z', 'zz'], 'after a key that is not hinted');
      t.deepEqual(keysOf(await s.page('no', undefined, 10)), ['a', 'q']);
      t.deepEqual(await s.page('nobody', undefined, 10), []);
      t.deepEqual(await s.page('n', undefined, 0), []);
    });
  });

  test(name('page stops at bytesMax, always with at least one hint'), async (t) => {
    await withStore(async (s) => {
      for (const key of ['a', 'b', 'c', 'd']) await s.add('t', k(key), [v('x'.repeat(100), 'a', 1)], 1_000);
      const [one] = await s.page('t', undefined, 10);
      t.deepEqual(keysOf(await s.page('t', undefined, 10, 1)), ['a']);
      t.deepEqual(keysOf(await s.page('t', undefined, 10, one!.bytes * 2)), ['a', 'b']);
      t.deepEqual(keysOf(await s.page('t', undefined, 10, one!.bytes * 2 + 1)), ['a', 'b', 'c']);
    });
  });

  test(name('pages cut by bytes, over durable hints and hints not yet durable, skip nothing'), async (t) => {
    await withStore(async (s) => {
      for (const key of ['a', 'c', 'e', 'g']) await s.add('t', k(key), [v(key.repeat(50), 'x', 1)], 1_000);
      const unwritten = ['b', 'd', 'f', 'h'].map((key) => s.add('t', k(key), [v(key.repeat(50), 'x', 1)], 1_000));
      for (const bytesMax of [0, 1, 150, 300, Infinity]) {
        for (const limit of [1, 2, 3, 100]) {
          const pages = await pageAll(s, 't', limit, bytesMax);
          t.deepEqual(pages.flatMap(keysOf), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], `limit ${limit}, bytesMax ${bytesMax}`);
          t.true(pages.every((p) => p.length <= limit));
        }
      }
      await Promise.all(unwritten);
    });
  });

  test(name('page sees adds and removes not yet durable'), async (t) => {
    await withStore(async (s) => {
      await s.add('t', k('a'), [v('a', 'x', 1)], 1_000);
      await s.add('t', k('c'), [v('c', 'x', 1)], 1_000);
      const writes = [s.add('t', k('b'), [v('b', 'x', 1)], 1_000), s.remove('t', k('a'), [v('a', 'x', 1)]), s.add('t', k('c'), [v('c2', 'x', 2)], 1_000)];
      const page = await s.page('t', undefined, 10);
      t.deepEqual(keysOf(page), ['b', 'c']);
      t.deepEqual(values(page[1]!.siblings), ['c2']);
      t.deepEqual(await Promise.all(writes), [undefined, true, undefined]);
      t.deepEqual(keysOf(await s.page('t', undefined, 1)), ['b'], 'a limit counts only hints that exist');
    });
  });

  test(name('remove deletes only a hint still holding exactly the delivered versions'), async (t) => {
    await withStore(async (s) => {
      const v1 = v('one', 'a', 1);
      const v2 = v('two', 'a', 2);
      const other = v('other', 'b', 1);
      await s.add('t', k('key'), [v1], 1_000);
      const [delivered] = await s.page('t', undefined, 1);
      await s.add('t', k('key'), [v2], 2_000); // arrives during the delivery of v1
      t.false(await s.remove('t', k('key'), delivered!.siblings));
      t.deepEqual(values(s.versionsOf(k('key'))), ['two'], 'the newer version stays, to be delivered later');
      await s.add('t', k('key'), [other], 2_000);
      t.false(await s.remove('t', k('key'), [v2]), 'a subset of the hint');
      t.false(await s.remove('t', k('key'), [v2, other, v('three', 'c', 1)]), 'a superset of the hint');
      t.false(await s.remove('u', k('key'), [v2, other]), 'another target');
      t.false(await s.remove('t', k('nope'), [v2]), 'no such hint');
      t.is(s.stats.delivered, 0);
      t.true(await s.remove('t', k('key'), [other, v2]), 'the same versions, in any order');
      t.deepEqual(s.versionsOf(k('key')), []);
      t.deepEqual(s.pending(), new Map());
      t.is(s.stats.delivered, 1);
      t.false(await s.remove('t', k('key'), [other, v2]), 'already removed');
    });
  });

  test(name('expire drops a target\'s hints stored before the cutoff; a hint is as old as its oldest version'), async (t) => {
    await withStore(async (s) => {
      await s.add('t', k('old'), [v('old', 'a', 1)], 1_000);
      await s.add('t', k('refreshed'), [v('r1', 'b', 1)], 1_000);
      await s.add('t', k('refreshed'), [v('r2', 'b', 2)], 4_000); // supersedes r1: the hint is new again
      // A concurrent version joins an old one: the hint keeps the old one's age, so the window bounds how old a version it delivers.
      await s.add('t', k('kept-old'), [v('k1', 'e', 1)], 1_000);
      await s.add('t', k('kept-old'), [v('k2', 'f', 1)], 4_000);
      await s.add('t', k('new'), [v('new', 'c', 1)], 5_000);
      await s.add('u', k('old'), [v('theirs', 'd', 1)], 1_000);
      t.is(await s.expire('t', 3_000), 2);
      t.deepEqual(keysOf(await s.page('t', undefined, 10)), ['new', 'refreshed']);
      t.is(s.pending().get('t')!.count, 2);
      t.is(s.pending().get('u')!.count, 1, 'another target is untouched');
      t.deepEqual(values(s.versionsOf(k('old'))), ['theirs']);
      t.is(s.stats.expired, 2);
      t.is(await s.expire('t', 5_000), 1, 'the cutoff is exclusive');
      t.is(await s.expire('t', 5_001), 1);
      t.is(await s.expire('nobody', 1e15), 0);
      t.deepEqual([...s.pending().keys()], ['u']);
      t.is(s.stats.expired, 4);
    });
  });

  test(name('expire sees hints not yet durable'), async (t) => {
    await withStore(async (s) => {
      const added = s.add('t', k('a'), [v('a', 'x', 1)], 1_000);
      t.is(await s.expire('t', 2_000), 1);
      await added;
      t.deepEqual(await s.page('t', undefined, 10), []);
      t.deepEqual(s.pending(), new Map());
    });
  });

  test(name('the bytes bound refuses an add, counts it dropped and changes nothing; other targets and shrinking still go'), async (t) => {
    const bound = 400;
    await withStore(async (s) => {
      const value = 'x'.repeat(60);
      let accepted = 0;
      let refusal: unknown;
      for (let i = 0; i < 20 && refusal === undefined; i++) {
        try {
          await s.add('t', k(`key${i}`), [v(value, 'a', i + 1, [])], 1_000);
          accepted++;
        } catch (err) {
          refusal = err;
        }
      }
      t.true(refusal instanceof HintError);
      t.is((refusal as HintError).code, 'HINT_WINDOW_FULL');
      t.true(accepted >= 2, `${accepted} accepted`);
      const before = s.pending().get('t')!;
      t.is(before.count, accepted);
      t.true(before.bytes <= bound);
      t.is(s.stats.dropped, 1);
      t.deepEqual(s.versionsOf(k(`key${accepted}`)), [], 'the refused hint is not stored');
      // A growing update of a stored hint is refused too, and leaves the hint as it was.
      const grow = v('z'.repeat(bound), 'z', 1);
      await t.throwsAsync(s.add('t', k('key0'), [grow], 2_000), { instanceOf: HintError, code: 'HINT_WINDOW_FULL' } as never);
      t.deepEqual(values(s.versionsOf(k('key0'))), [value]);
      t.deepEqual(s.pending().get('t'), before);
      t.is(s.stats.dropped, 2);
      // Same size (a newer version of the same shape) fits; another target has its own bound.
      await s.add('t', k('key0'), [v(value.replace('x', 'y'), 'a', 99, [{ actor: 'a', counter: 1 }])], 2_000);
      await s.add('other', k('key0'), [v(value, 'a', 1)], 1_000);
      // Delivering one makes room again.
      const [first] = await s.page('t', undefined, 1);
      t.true(await s.remove('t', first!.key, first!.siblings));
      await s.add('t', k(`key${accepted}`), [v(value, 'a', 50, [])], 3_000);
      t.is(s.pending().get('t')!.count, accepted);
    }, { hintBytesPerTargetMax: bound });
  });

  test(name('counts and bytes follow every change'), async (t) => {
    await withStore(async (s) => {
      await s.add('t', k('a'), [v('a', 'x', 1)], 1_000);
      await s.add('t', k('b'), [v('b', 'x', 1)], 1_000);
      await s.add('t', k('a'), [v('a-longer-value', 'x', 2)], 1_000);
      await s.add('u', k('a'), [v('a', 'x', 1)], 1_000);
      const pages = (await pageAll(s, 't', 10)).flat();
      t.deepEqual(s.pending().get('t'), { count: 2, bytes: pages.reduce((sum, h) => sum + h.bytes, 0) });
      await s.remove('t', k('b'), pages[1]!.siblings);
      t.deepEqual(s.pending().get('t'), { count: 1, bytes: pages[0]!.bytes });
    });
  });

  test(name('a bad target is refused with a typed error'), async (t) => {
    await withStore(async (s) => {
      await t.throwsAsync(s.add('', k('a'), [v('a', 'x', 1)], 1_000), { instanceOf: HintError, code: 'HINT_TARGET_INVALID' } as never);
      await t.throwsAsync(s.add('n'.repeat(256), k('a'), [v('a', 'x', 1)], 1_000), { instanceOf: HintError, code: 'HINT_TARGET_INVALID' } as never);
      t.deepEqual(s.pending(), new Map());
    });
  });

  test(name('after close every call is refused with HINT_STORE_CLOSED'), async (t) => {
    const handle = await factory.open();
    const s = handle.store;
    await s.add('t', k('a'), [v('a', 'x', 1)], 1_000);
    await s.close();
    await s.close(); // twice is fine
    const closed = { instanceOf: HintError, code: 'HINT_STORE_CLOSED' } as never;
    await t.throwsAsync(s.add('t', k('b'), [v('b', 'x', 1)], 1_000), closed);
    await t.throwsAsync(s.page('t', undefined, 10), closed);
    await t.throwsAsync(s.remove('t', k('a'), [v('a', 'x', 1)]), closed);
    await t.throwsAsync(s.expire('t', 2_000), closed);
    t.throws(() => s.versionsOf(k('a')), closed);
    await handle.dispose();
  });

  test(name('close waits for adds in flight'), async (t) => {
    const handle = await factory.open();
    let durable = false;
    const added = handle.store.add('t', k('a'), [v('a', 'x', 1)], 1_000).then(() => (durable = true));
    await handle.store.close();
    t.true(durable);
    await added;
    await handle.dispose();
  });
}

hintStoreSuite(levelFactory);
hintStoreSuite(memoryFactory);

test('hint store › LevelHintStore › a reopened store holds every hint, with counts and bytes rebuilt', async (t) => {
  const handle = await levelFactory.open();
  try {
    let s = handle.store;
    for (let i = 0; i < 600; i++) await s.add(`n${i % 3}`, k(`key${i}`), [v(`value${i}`, 'a', i + 1, [])], 1_000 + i);
    await s.add('n0', k('key0'), [v('newer', 'a', 1_000, [{ actor: 'a', counter: 1 }])], 9_000);
    await s.add('n0', k('key0'), [v('concurrent', 'b', 1)], 9_000);
    const [gone] = await s.page('n1', undefined, 1);
    t.true(await s.remove('n1', gone!.key, gone!.siblings));
    const before = { pending: s.pending(), pages: new Map<string, Hint[]>() };
    for (const target of ['n0', 'n1', 'n2']) before.pages.set(target, (await pageAll(s, target, 64)).flat());
    // Writes not awaited before close are durable too: close drains them.
    void s.add('n2', k('last'), [v('last', 'c', 1)], 9_500);
    s = await handle.reopen!();
    const after = s.pending();
    t.deepEqual(after.get('n0'), before.pending.get('n0'));
    t.deepEqual(after.get('n1'), before.pending.get('n1'));
    t.is(after.get('n2')!.count, before.pending.get('n2')!.count + 1);
    for (const target of ['n0', 'n1']) t.deepEqual((await pageAll(s, target, 64)).flat(), before.pages.get(target));
    t.deepEqual(values(s.versionsOf(k('key0'))), ['concurrent', 'newer']);
    t.deepEqual(values(s.versionsOf(k('last'))), ['last']);
    t.deepEqual(s.versionsOf(gone!.key), []);
    t.is(s.stats.stored, 0, 'stats count this process\'s work');
  } finally {
    await handle.dispose();
  }
});

test('hint store › LevelHintStore › a hint that cannot be decoded is skipped, counted, replaced by an add and dropped by expire', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-hints-'));
  const location = path.join(dir, 'hints');
  try {
    let s = await LevelHintStore.open(location);
    await s.add('t', k('good'), [v('good', 'a', 1)], 1_000);
    await s.close();
    const raw = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const garbage = Buffer.concat([encodeHintValue(1_000, []).subarray(0, 8), Buffer.from([9, 9, 9])]);
    await raw.put(hintKey(targetPrefix('t'), k('bad')), garbage);
    await raw.put(hintKey(targetPrefix('t'), k('worse')), garbage);
    await raw.close();
    s = await LevelHintStore.open(location);
    t.is(s.pending().get('t')!.count, 3, 'counted: it is pending until expired');
    t.deepEqual(keysOf(await s.page('t', undefined, 10)), ['good']);
    t.deepEqual(keysOf(await s.page('t', undefined, 1)), ['good'], 'a skipped hint takes no room: the page is not empty while hints remain');
    const unwritten = s.add('t', k('c'), [v('c', 'a', 1)], 1_000);
    t.deepEqual(keysOf((await pageAll(s, 't', 1)).flat()), ['c', 'good']);
    await unwritten;
    t.true(await s.remove('t', k('c'), [v('c', 'a', 1)]));
    t.true(s.stats.undecodable >= 2);
    t.deepEqual(s.versionsOf(k('bad')), []);
    await s.add('t', k('bad'), [v('fresh', 'b', 1)], 2_000);
    t.deepEqual(values(s.versionsOf(k('bad'))), ['fresh']);
    t.is(await s.expire('t', 1_500), 2, 'the old good hint and the undecodable one');
    t.deepEqual(s.pending().get('t')!.count, 1);
    t.deepEqual(keysOf(await s.page('t', undefined, 10)), ['bad']);
    await s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hint store › MemoryHintStore › a crash keeps what was committed and loses the rest', async (t) => {
  const s = new MemoryHintStore();
  await s.add('t', k('kept'), [v('kept', 'a', 1)], 1_000);
  await s.add('t', k('changed'), [v('c1', 'a', 2, [])], 1_000);
  await s.add('u', k('removed'), [v('r', 'a', 3, [])], 1_000);
  void s.add('t', k('lost'), [v('lost', 'a', 4, [])], 1_000);
  void s.add('t', k('changed'), [v('c2', 'a', 5, [{ actor: 'a', counter: 2 }])], 1_000);
  void s.remove('u', k('removed'), [v('r', 'a', 3, [])]);
  const disk = s.crash();
  t.deepEqual(keysOf(await disk.page('t', undefined, 10)), ['changed', 'kept']);
  t.deepEqual(values(disk.versionsOf(k('changed'))), ['c1']);
  t.deepEqual(values(disk.versionsOf(k('removed'))), ['r']);
  t.deepEqual(disk.pending().get('t')!.count, 2);
  t.deepEqual(disk.pending().get('u')!.count, 1);
  await t.throwsAsync(s.add('t', k('x'), [v('x', 'a', 6)], 1_000), { code: 'HINT_STORE_CLOSED' } as never);
  await disk.close();
});

test('hint store › MemoryHintStore › values are copied, so a reused buffer does not change a hint', async (t) => {
  const s = new MemoryHintStore();
  const frame = Buffer.from('original');
  await s.add('t', k('a'), [{ ...v('', 'a', 1), value: frame.subarray(0, 8) }], 1_000);
  frame.write('CLOBBERED');
  t.deepEqual(values(s.versionsOf(k('a'))), ['original']);
  await s.close();
});
