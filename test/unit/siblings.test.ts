import test from 'ava';
import fc from 'fast-check';
import {
  causalContext,
  collectGarbage,
  isLive,
  live,
  reconcile,
  versionOrder,
  winner,
  writerOf,
} from '../../src/clock/siblings.js';
import { compare, descends, dominates, fresh, increment, merge } from '../../src/clock/vclock.js';
import type { Sibling, VClock } from '../../src/clock/types.js';

const runs = { seed: 42, numRuns: 300 };

const nodes = ['a', 'b', 'c'];

// Few nodes, counters and values, so equal clocks, equal timestamps and
// equal values all collide often and every tie-break is exercised.
const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(
    fc.record({
      node: fc.constantFrom(...nodes),
      counter: fc.integer({ min: 1, max: 3 }),
      timestamp: fc.integer({ min: 0, max: 3 }),
    }),
    { selector: (e) => e.node, maxLength: nodes.length },
  )
  .map((entries) => entries.sort((x, y) => (x.node < y.node ? -1 : 1)));

const siblingArb: fc.Arbitrary<Sibling> = fc
  .record({
    value: fc.constantFrom('', 'x', 'y', 'yy').map((v) => Buffer.from(v)),
    clock: clockArb,
    timestamp: fc.integer({ min: 0, max: 3 }),
    expiresAt: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    deleted: fc.boolean(),
  })
  .map(({ value, clock, timestamp, expiresAt, deleted }) => {
    const s: { -readonly [K in keyof Sibling]: Sibling[K] } = { value: deleted ? Buffer.alloc(0) : value, clock, timestamp };
    if (expiresAt !== undefined) s.expiresAt = expiresAt;
    if (deleted) s.deleted = true;
    return s;
  });

const siblingsArb = fc.array(siblingArb, { maxLength: 7 });

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function version(value: string, clock: VClock, timestamp: number, extra: Partial<Sibling> = {}): Sibling {
  return { value: Buffer.from(value), clock, timestamp, ...extra };
}

// Properties ---------------------------------------------------------------

test('siblings › reconcile keeps exactly the undominated versions, one per clock', (t) => {
  fc.assert(
    fc.property(siblingsArb, (all) => {
      const kept = reconcile(all);
      for (const s of all) {
        const dominated = all.some((o) => dominates(o.clock, s.clock));
        const represented = kept.some((k) => compare(k.clock, s.clock) === 'equal');
        t.is(represented, !dominated);
      }
      for (const a of kept) for (const b of kept) if (a !== b) t.is(compare(a.clock, b.clock), 'concurrent');
      for (const k of kept) t.true(all.includes(k));
    }),
    runs,
  );
});

test('siblings › reconcile is order-insensitive and idempotent', (t) => {
  fc.assert(
    fc.property(siblingsArb, fc.integer(), (all, seed) => {
      const once = reconcile(all);
      t.deepEqual(reconcile(shuffled(all, seed)), once);
      t.deepEqual(reconcile(once), once);
    }),
    runs,
  );
});

test('siblings › reconciling two reconciled halves equals reconciling the whole', (t) => {
  fc.assert(
    fc.property(siblingsArb, siblingsArb, (a, b) => {
      t.deepEqual(reconcile([...reconcile(a), ...reconcile(b)]), reconcile([...a, ...b]));
    }),
    runs,
  );
});

test('siblings › winner is deterministic under permutation and is first in versionOrder', (t) => {
  fc.assert(
    fc.property(siblingsArb, fc.integer(), (all, seed) => {
      const w = winner(all);
      t.deepEqual(winner(shuffled(all, seed)), w);
      for (const s of all) t.true(versionOrder(w!, s) <= 0);
    }),
    runs,
  );
});

test('siblings › versionOrder is a total order: antisymmetric, transitive, zero only for identical content', (t) => {
  fc.assert(
    fc.property(siblingArb, siblingArb, siblingArb, (a, b, c) => {
      t.is(Math.sign(versionOrder(a, b)) + Math.sign(versionOrder(b, a)), 0);
      if (versionOrder(a, b) <= 0 && versionOrder(b, c) <= 0) t.true(versionOrder(a, c) <= 0);
      if (versionOrder(a, b) === 0) t.deepEqual(a, b);
    }),
    runs,
  );
});

test('siblings › causalContext descends every version, tombstones included', (t) => {
  fc.assert(
    fc.property(siblingsArb, (all) => {
      const context = causalContext(all);
      for (const s of all) t.true(descends(context, s.clock));
      const next = version('v', increment(context, 'a', 10), 10);
      t.deepEqual(reconcile([...all, next]), [next]);
    }),
    runs,
  );
});

test('siblings › live keeps exactly the readable versions and allocates nothing when all are', (t) => {
  fc.assert(
    fc.property(siblingsArb, fc.integer({ min: 0, max: 6 }), (all, now) => {
      const readable = live(all, now);
      t.deepEqual(readable, all.filter((s) => !s.deleted && (s.expiresAt === undefined || s.expiresAt > now)));
      if (readable.length === all.length) t.is(readable, all);
    }),
    runs,
  );
});

test('siblings › collectGarbage drops a record only when all of it is dead and past grace', (t) => {
  const graceMs = 3;
  fc.assert(
    fc.property(siblingsArb, fc.integer({ min: 0, max: 12 }), (all, now) => {
      const out = collectGarbage(all, now, graceMs);
      const deadSince = (s: Sibling) => (s.deleted ? s.timestamp : s.expiresAt!);
      const collectable = all.every((s) => !isLive(s, now) && now - deadSince(s) >= graceMs);
      if (collectable) t.deepEqual(out, []);
      else t.is(out, all);
    }),
    runs,
  );
});

// Scenarios ----------------------------------------------------------------

const base = increment(fresh(), 'a', 1);
const fromA = increment(base, 'a', 10);
const fromB = increment(base, 'b', 10);

test('siblings › concurrent writes are both kept', (t) => {
  const left = version('left', fromA, 10);
  const right = version('right', fromB, 11);
  t.deepEqual(reconcile([left, right]), [right, left]);
  t.deepEqual(reconcile([right, left]), [right, left]);
});

test('siblings › a write that descends every stored version replaces them', (t) => {
  const left = version('left', fromA, 10);
  const right = version('right', fromB, 10);
  const resolved = version('merged', increment(merge([fromA, fromB]), 'a', 20), 20);
  t.deepEqual(reconcile([left, right, resolved]), [resolved]);
});

test('siblings › a stale copy arriving late does not come back', (t) => {
  const old = version('old', base, 1);
  const current = version('new', fromA, 10);
  t.deepEqual(reconcile([current, old]), [current]);
});

test('siblings › equal clocks with different values collapse to the same one on every replica', (t) => {
  const one = version('one', fromA, 10);
  const two = version('two', fromA, 10);
  t.deepEqual(reconcile([one, two]), [two]);
  t.deepEqual(reconcile([two, one]), [two]);
});

test('siblings › winner prefers the newest timestamp, then the writer node id, then value bytes', (t) => {
  const older = version('zzz', fromB, 5);
  const newer = version('aaa', fromA, 9);
  t.is(winner([older, newer]), newer);
  const byA = version('same', fromA, 10);
  const byB = version('same', fromB, 10);
  t.is(writerOf(fromB), 'b');
  t.is(winner([byA, byB]), byB);
  const small = version('a', fromA, 10);
  const large = version('b', fromA, 10);
  t.is(winner([small, large]), large);
  t.is(winner([]), undefined);
});

test('siblings › a tombstone beside a concurrent live sibling is kept, and covers what it deleted', (t) => {
  const deleted = version('', fromA, 10, { deleted: true });
  const concurrent = version('v', fromB, 10);
  const record = reconcile([deleted, concurrent]);
  t.is(record.length, 2);
  t.is(collectGarbage(record, 1_000_000, 100), record);
  t.deepEqual(live(record, 1_000_000), [concurrent]);
  t.deepEqual(reconcile([...record, version('stale', base, 1)]), record);
});

test('siblings › a deleted key is collected only after the tombstone grace period', (t) => {
  const tombstone = version('', fromA, 1000, { deleted: true });
  t.is(collectGarbage([tombstone], 1050, 100).length, 1);
  t.deepEqual(collectGarbage([tombstone], 1100, 100), []);
});

test('siblings › an expired value is collected only after grace past its expiry', (t) => {
  const expiring = version('v', fromA, 10, { expiresAt: 500 });
  t.deepEqual(live([expiring], 499), [expiring]);
  t.deepEqual(live([expiring], 500), []);
  t.is(collectGarbage([expiring], 599, 100).length, 1);
  t.deepEqual(collectGarbage([expiring], 600, 100), []);
});

test('siblings › two dead siblings leave together, once the later one is past grace', (t) => {
  const first = version('', fromA, 1000, { deleted: true });
  const second = version('', fromB, 2000, { deleted: true });
  t.is(collectGarbage([first, second], 2050, 100).length, 2);
  t.deepEqual(collectGarbage([first, second], 2100, 100), []);
});

test('siblings › the causal context of an empty record is fresh', (t) => {
  t.deepEqual(causalContext([]), fresh());
  t.deepEqual(reconcile([]), []);
});
