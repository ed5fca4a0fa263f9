// Version vectors (src/clock/vclock.ts) against a naive Map model, in the
// manner of riak_core's eqc/vclock_qc.erl: every verb is checked against the
// obvious per-actor computation. The join laws of `merge` are in
// dvv-laws.test.ts, with the laws of the sibling sets built on it.
import test from 'ava';
import fc from 'fast-check';
import { counterMax, counterOf, covers, descends, equal, fresh, isCounter, isValidClock, merge, withDot } from '../../src/clock/vclock.js';
import type { Dot, VClock } from '../../src/clock/types.js';

const runs = { seed: 42, numRuns: 300 };

const actors = ['a', 'b', 'c', 'd', 'e'];

// Few actors and small counters, so equal, descending and concurrent pairs all come up often.
const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(fc.record({ actor: fc.constantFrom(...actors), counter: fc.integer({ min: 1, max: 4 }) }), {
    selector: (e) => e.actor,
    maxLength: actors.length,
  })
  .map((entries) => entries.sort((x, y) => (x.actor < y.actor ? -1 : 1)));

const dotArb: fc.Arbitrary<Dot> = fc.record({ actor: fc.constantFrom(...actors, 'z'), counter: fc.integer({ min: 1, max: 5 }) });

function clock(spec: Record<string, number>): VClock {
  return Object.keys(spec)
    .sort()
    .map((actor) => ({ actor, counter: spec[actor]! }));
}

// The naive model: a Map from actor to counter, absent = 0.
function counters(c: VClock): Map<string, number> {
  return new Map(c.map((e) => [e.actor, e.counter]));
}

function modelDescends(a: VClock, b: VClock): boolean {
  const ma = counters(a);
  for (const [actor, counter] of counters(b)) if ((ma.get(actor) ?? 0) < counter) return false;
  return true;
}

test('vclock › descends, equal, covers and counterOf agree with a Map model', (t) => {
  fc.assert(
    fc.property(clockArb, clockArb, dotArb, (a, b, dot) => {
      t.is(descends(a, b), modelDescends(a, b));
      t.is(equal(a, b), modelDescends(a, b) && modelDescends(b, a));
      t.is(counterOf(a, dot.actor), counters(a).get(dot.actor) ?? 0);
      t.is(covers(a, dot), (counters(a).get(dot.actor) ?? 0) >= dot.counter);
    }),
    runs,
  );
});

test('vclock › descends is reflexive, antisymmetric and transitive, and everything descends fresh', (t) => {
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

test('vclock › withDot covers the dot, keeps everything else, and is merge with a one-entry clock', (t) => {
  fc.assert(
    fc.property(clockArb, dotArb, (c, dot) => {
      const next = withDot(c, dot);
      t.true(isValidClock(next));
      t.true(covers(next, dot));
      t.true(descends(next, c));
      t.deepEqual(next, merge([c, [dot]]));
      const model = counters(c);
      model.set(dot.actor, Math.max(model.get(dot.actor) ?? 0, dot.counter));
      t.deepEqual([...counters(next)].sort(), [...model].sort());
      // A dot already covered changes nothing: the same clock comes back.
      if (covers(c, dot)) t.is(next, c);
    }),
    runs,
  );
});

test('vclock › covers is downward closed: covering a dot covers every earlier dot of its actor', (t) => {
  fc.assert(
    fc.property(clockArb, dotArb, (c, dot) => {
      if (!covers(c, dot)) return;
      for (let k = 1; k <= dot.counter; k++) t.true(covers(c, { actor: dot.actor, counter: k }));
    }),
    runs,
  );
});

test('vclock › merge of nothing is fresh, of one clock is that clock, and returns an input that descends the rest', (t) => {
  const a = clock({ x: 2, y: 1 });
  t.deepEqual(merge([]), fresh());
  t.is(merge([a]), a);
  t.is(merge([a, fresh()]), a);
  t.is(merge([fresh(), a]), a);
  t.is(merge([a, clock({ x: 1 })]), a, 'no allocation when one input already descends the other');
  t.deepEqual(merge([clock({ x: 1, z: 3 }), clock({ x: 2, y: 1 })]), clock({ x: 2, y: 1, z: 3 }));
});

test('vclock › fresh is empty, frozen and shared', (t) => {
  t.deepEqual(fresh(), []);
  t.is(fresh(), fresh());
  t.true(Object.isFrozen(fresh()));
});

test('vclock › concurrent clocks descend neither way, and their merge descends both', (t) => {
  const left = clock({ a: 2, b: 1 });
  const right = clock({ a: 1, b: 2 });
  t.false(descends(left, right));
  t.false(descends(right, left));
  const joined = merge([left, right]);
  t.deepEqual(joined, clock({ a: 2, b: 2 }));
  t.true(descends(joined, left) && descends(joined, right));
});

test('vclock › isCounter accepts exactly the safe integers 1..counterMax', (t) => {
  for (const ok of [1, 2, 1000, 2 ** 40, counterMax]) t.true(isCounter(ok), String(ok));
  for (const bad of [0, -1, 1.5, counterMax + 1, Number.MAX_SAFE_INTEGER, NaN, Infinity]) t.false(isCounter(bad), String(bad));
  t.is(counterMax, 2 ** 52);
  t.true(Number.isSafeInteger(counterMax + 1), 'the counter minted after counterMax is still exact');
});

test('vclock › isValidClock keeps the invariants: sorted, no duplicates, non-empty actors, counters in range', (t) => {
  t.true(isValidClock(fresh()));
  t.true(isValidClock(clock({ a: 1, b: counterMax })));
  const bad: [string, VClock][] = [
    ['unsorted', [{ actor: 'b', counter: 1 }, { actor: 'a', counter: 1 }]],
    ['duplicate actor', [{ actor: 'a', counter: 1 }, { actor: 'a', counter: 2 }]],
    ['empty actor', [{ actor: '', counter: 1 }]],
    ['zero counter', [{ actor: 'a', counter: 0 }]],
    ['fractional counter', [{ actor: 'a', counter: 1.5 }]],
    ['counter beyond counterMax', [{ actor: 'a', counter: counterMax + 1 }]],
  ];
  for (const [name, c] of bad) t.false(isValidClock(c), name);
});

test('vclock › every clock the generators and merge produce is valid', (t) => {
  fc.assert(
    fc.property(fc.array(clockArb, { maxLength: 5 }), (clocks) => {
      for (const c of clocks) t.true(isValidClock(c));
      t.true(isValidClock(merge(clocks)));
    }),
    runs,
  );
});

test('vclock › actors order by plain code units, as the codecs expect', (t) => {
  // 'B' < 'a' < 'é' in code units; a locale-aware sort would disagree.
  const c = merge([[{ actor: 'é', counter: 1 }], [{ actor: 'a', counter: 1 }], [{ actor: 'B', counter: 1 }]]);
  t.deepEqual(
    c.map((e) => e.actor),
    ['B', 'a', 'é'],
  );
  t.true(isValidClock(c));
});
