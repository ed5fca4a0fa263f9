import test from 'ava';
import fc from 'fast-check';
import {
  compare,
  defaultPruneLimits,
  descends,
  dominates,
  equal,
  fresh,
  increment,
  isValidClock,
  merge,
  prune,
  type ClockOrder,
  type PruneLimits,
} from '../../src/clock/vclock.js';
import type { ClockEntry, VClock } from '../../src/clock/types.js';

const runs = { seed: 42, numRuns: 300 };

const nodes = ['a', 'b', 'c', 'd', 'e'];

// Few nodes and small counters, so equal, descending and concurrent pairs all come up often.
const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(
    fc.record({
      node: fc.constantFrom(...nodes),
      counter: fc.integer({ min: 1, max: 4 }),
      timestamp: fc.integer({ min: 0, max: 1000 }),
    }),
    { selector: (e) => e.node, maxLength: nodes.length },
  )
  .map((entries) => entries.sort((x, y) => (x.node < y.node ? -1 : 1)));

function clock(spec: Record<string, number>, timestamp = 0): VClock {
  return Object.keys(spec)
    .sort()
    .map((node) => ({ node, counter: spec[node]!, timestamp }));
}

function counters(c: VClock): Map<string, number> {
  return new Map(c.map((e) => [e.node, e.counter]));
}

// The naive model: compare counters node by node through Maps.
function modelCompare(a: VClock, b: VClock): ClockOrder {
  const ma = counters(a);
  const mb = counters(b);
  let aAhead = false;
  let bAhead = false;
  for (const node of new Set([...ma.keys(), ...mb.keys()])) {
    const ca = ma.get(node) ?? 0;
    const cb = mb.get(node) ?? 0;
    if (ca > cb) aAhead = true;
    if (cb > ca) bAhead = true;
  }
  if (aAhead && bAhead) return 'concurrent';
  return aAhead ? 'after' : bAhead ? 'before' : 'equal';
}

test('vclock › compare, descends, dominates and equal agree with a Map model', (t) => {
  fc.assert(
    fc.property(clockArb, clockArb, (a, b) => {
      const expected = modelCompare(a, b);
      return (
        compare(a, b) === expected &&
        descends(a, b) === (expected === 'after' || expected === 'equal') &&
        dominates(a, b) === (expected === 'after') &&
        equal(a, b) === (expected === 'equal')
      );
    }),
    runs,
  );
  t.pass();
});

test('vclock › merge is commutative, associative and idempotent', (t) => {
  fc.assert(
    fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
      t.deepEqual(merge([a, b]), merge([b, a]));
      t.deepEqual(merge([merge([a, b]), c]), merge([a, merge([b, c])]));
      t.deepEqual(merge([a, a]), a);
      t.deepEqual(merge([a, b, c]), merge([c, a, b]));
    }),
    runs,
  );
});

test('vclock › merge descends each input and is the least such clock', (t) => {
  fc.assert(
    fc.property(clockArb, clockArb, (a, b) => {
      const m = merge([a, b]);
      t.true(isValidClock(m));
      t.true(descends(m, a) && descends(m, b));
      const model = counters(a);
      for (const [node, counter] of counters(b)) model.set(node, Math.max(model.get(node) ?? 0, counter));
      t.deepEqual([...counters(m)].sort(), [...model].sort());
    }),
    runs,
  );
});

test('vclock › descends is reflexive, antisymmetric and transitive', (t) => {
  fc.assert(
    fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
      t.true(descends(a, a));
      t.true(descends(a, fresh()));
      if (descends(a, b) && descends(b, a)) t.true(equal(a, b));
      if (descends(a, b) && descends(b, c)) t.true(descends(a, c));
    }),
    runs,
  );
});

test('vclock › increment dominates the clock it started from', (t) => {
  fc.assert(
    fc.property(clockArb, fc.constantFrom(...nodes, 'z'), fc.integer({ min: 0, max: 2000 }), (c, node, now) => {
      const next = increment(c, node, now);
      t.true(isValidClock(next));
      t.true(dominates(next, c));
      t.is(compare(c, next), 'before');
      t.is(counters(next).get(node), (counters(c).get(node) ?? 0) + 1);
    }),
    runs,
  );
});

test('vclock › increment stamps its entry after every entry seen, even from a node whose clock runs ahead', (t) => {
  const ahead: VClock = [{ node: 'n', counter: 1, timestamp: 200 }];
  const next = increment(ahead, 'c', 100);
  t.deepEqual(next, [
    { node: 'c', counter: 1, timestamp: 201 },
    { node: 'n', counter: 1, timestamp: 200 },
  ]);
  t.deepEqual(increment(fresh(), 'c', 100), [{ node: 'c', counter: 1, timestamp: 100 }]);
});

test('vclock › concurrent writes from two nodes compare concurrent, and their merge dominates both', (t) => {
  const base = increment(fresh(), 'a', 1);
  const left = increment(base, 'a', 2);
  const right = increment(base, 'b', 2);
  t.is(compare(left, right), 'concurrent');
  t.false(descends(left, right));
  const resolved = increment(merge([left, right]), 'a', 3);
  t.true(dominates(resolved, left) && dominates(resolved, right));
});

test('vclock › clocks with equal counters but different timestamps are equal and neither dominates', (t) => {
  const a = clock({ x: 1, y: 2 }, 10);
  const b = clock({ x: 1, y: 2 }, 99);
  t.true(equal(a, b));
  t.is(compare(a, b), 'equal');
  t.false(dominates(a, b) || dominates(b, a));
  t.is(merge([a, b])[0]!.timestamp, 99);
});

test('vclock › merge of nothing is fresh, of one clock is that clock', (t) => {
  const a = clock({ x: 1 });
  t.deepEqual(merge([]), fresh());
  t.is(merge([a]), a);
  t.is(merge([a, fresh()]), a);
});

// Prune -------------------------------------------------------------------

const limitsArb: fc.Arbitrary<PruneLimits> = fc
  .record({
    small: fc.integer({ min: 1, max: 6 }),
    extra: fc.integer({ min: 0, max: 4 }),
    young: fc.integer({ min: 0, max: 500 }),
    span: fc.integer({ min: 0, max: 500 }),
  })
  .map(({ small, extra, young, span }) => ({
    smallVclock: small,
    bigVclock: small + extra,
    youngVclockMs: young,
    oldVclockMs: young + span,
  }));

const wideClockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(
    fc.record({
      node: fc.string({ minLength: 1, maxLength: 3 }),
      counter: fc.integer({ min: 1, max: 9 }),
      timestamp: fc.integer({ min: 0, max: 1000 }),
    }),
    { selector: (e) => e.node, maxLength: 14 },
  )
  .map((entries) => entries.sort((x, y) => (x.node < y.node ? -1 : 1)));

function olderFirst(a: ClockEntry, b: ClockEntry): number {
  return a.timestamp - b.timestamp || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}

test('vclock › prune respects its limits and drops oldest entries first', (t) => {
  fc.assert(
    fc.property(wideClockArb, limitsArb, fc.integer({ min: 0, max: 2000 }), (c, limits, now) => {
      const kept = prune(c, now, limits);
      t.true(isValidClock(kept));
      const dropped = c.filter((e) => !kept.includes(e));
      t.is(kept.length + dropped.length, c.length);
      t.true(kept.length >= Math.min(c.length, limits.smallVclock), 'never below small');
      for (const e of dropped) t.true(now - e.timestamp >= limits.youngVclockMs, 'never a young entry');
      for (const d of dropped) for (const k of kept) t.true(olderFirst(d, k) < 0, 'oldest first');
      // Stopping is justified: small reached, the oldest left is young, or it is neither big nor old.
      const oldestLeft = kept.slice().sort(olderFirst)[0];
      if (oldestLeft !== undefined && kept.length > limits.smallVclock) {
        const ageMs = now - oldestLeft.timestamp;
        t.true(ageMs < limits.youngVclockMs || (kept.length <= limits.bigVclock && ageMs <= limits.oldVclockMs));
      }
    }),
    runs,
  );
});

test('vclock › prune leaves a clock at or below smallVclock untouched', (t) => {
  const c = clock({ a: 1, b: 1 }, 0);
  t.is(prune(c, 1e12, { smallVclock: 2, bigVclock: 2, youngVclockMs: 0, oldVclockMs: 0 }), c);
  t.is(prune(c, 1e12), c, 'Riak defaults: small clusters never prune');
});

test('vclock › prune always trims a clock past bigVclock down to big, oldest first', (t) => {
  const c: VClock = ['a', 'b', 'c', 'd'].map((node, i) => ({ node, counter: 1, timestamp: 100 - i }));
  const limits = { smallVclock: 1, bigVclock: 2, youngVclockMs: 10, oldVclockMs: 1000 };
  t.deepEqual(
    prune(c, 200, limits).map((e) => e.node),
    ['a', 'b'],
  );
  t.is(prune(c, 105, limits), c, 'entries younger than youngVclockMs are kept past big');
});

test('vclock › pruning can turn a descendant into a spurious sibling', (t) => {
  const older = merge([increment(fresh(), 'x', 1), increment(fresh(), 'y', 1)]);
  const newer = increment(older, 'x', 100);
  t.true(dominates(newer, older));
  const pruned = prune(newer, 1000, { smallVclock: 1, bigVclock: 1, youngVclockMs: 0, oldVclockMs: 0 });
  t.deepEqual(
    pruned.map((e) => e.node),
    ['x'],
  );
  t.is(compare(pruned, older), 'concurrent');
});

// A random history: each write merges some earlier versions with the writer's
// own latest one (a node never reuses a counter) and increments on a clock
// skewed by up to ±500 ms per node. Any version's clock may be pruned at any
// time. No pruning of a newer version may let an older one dominate it.
test('vclock › pruning never makes an older version look newer, whatever the clock skew', (t) => {
  const writeArb = fc.record({
    node: fc.nat({ max: 5 }),
    parents: fc.array(fc.nat(), { maxLength: 3 }),
    pruneAt: fc.option(fc.integer({ min: 0, max: 5000 })),
  });
  const historyArb = fc.record({
    skewsMs: fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 6, maxLength: 6 }),
    writes: fc.array(writeArb, { minLength: 2, maxLength: 30 }),
    limits: limitsArb,
  });
  fc.assert(
    fc.property(historyArb, ({ skewsMs, writes, limits }) => {
      const versions: { clock: VClock; past: Set<number> }[] = [];
      const latestBy = new Map<number, number>();
      writes.forEach((w, index) => {
        const parentIds = new Set(index === 0 ? [] : w.parents.map((p) => p % index));
        const own = latestBy.get(w.node);
        if (own !== undefined) parentIds.add(own);
        const parents = [...parentIds];
        const past = new Set(parents);
        for (const p of parents) for (const q of versions[p]!.past) past.add(q);
        const nowMs = 1000 + index * 10 + skewsMs[w.node]!;
        let next = increment(merge(parents.map((p) => versions[p]!.clock)), `n${w.node}`, nowMs);
        if (w.pruneAt !== null) next = prune(next, nowMs + w.pruneAt, limits);
        versions.push({ clock: next, past });
        latestBy.set(w.node, index);
      });
      const pruneLater = (c: VClock) => prune(c, 100_000, limits);
      for (const newer of versions) {
        for (const p of newer.past) {
          const older = versions[p]!.clock;
          t.false(descends(older, newer.clock) && !equal(older, newer.clock), 'older dominates newer');
          t.false(dominates(pruneLater(older), pruneLater(newer.clock)), 'older dominates newer after prune');
          t.false(dominates(older, pruneLater(newer.clock)));
        }
      }
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('vclock › defaults are Riak’s', (t) => {
  t.deepEqual(defaultPruneLimits, { smallVclock: 50, bigVclock: 50, youngVclockMs: 20_000, oldVclockMs: 86_400_000 });
});
