// Sibling sets with dotted versions (src/clock/siblings.ts): each function
// against a naive model over arbitrary versions, then scenarios. The laws
// that need a causally consistent history (associativity, exactness of the
// causal context) are in dvv-laws.test.ts, where histories come from a
// simulation rather than from independent random versions.
import test from 'ava';
import fc from 'fast-check';
import {
  causalContext,
  ceiling,
  deadSinceMs,
  isLive,
  leavesNothingStale,
  live,
  reapable,
  reconcile,
  sameDot,
  sameVersions,
  supersedes,
  versionOrder,
  winner,
} from '../../src/clock/siblings.js';
import { counterOf, covers, descends, fresh, isValidClock, withDot } from '../../src/clock/vclock.js';
import type { Dot, Sibling, VClock } from '../../src/clock/types.js';

const runs = { seed: 42, numRuns: 300 };

const actors = ['a', 'b', 'c'];

// Few actors, counters and values, so shared dots, equal timestamps and equal
// values all collide often and every tie-break is exercised.
const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(fc.record({ actor: fc.constantFrom(...actors), counter: fc.integer({ min: 1, max: 3 }) }), {
    selector: (e) => e.actor,
    maxLength: actors.length,
  })
  .map((entries) => entries.sort((x, y) => (x.actor < y.actor ? -1 : 1)));

const dotArb: fc.Arbitrary<Dot> = fc.record({ actor: fc.constantFrom(...actors), counter: fc.integer({ min: 1, max: 3 }) });

/** `past` with the dot's own actor held below the dot: a past never covers its own dot. */
function pastBelow(past: VClock, dot: Dot): VClock {
  return past.flatMap((e) => (e.actor !== dot.actor ? [e] : e.counter < dot.counter ? [e] : dot.counter > 1 ? [{ actor: e.actor, counter: dot.counter - 1 }] : []));
}

const siblingArb: fc.Arbitrary<Sibling> = fc
  .record({
    value: fc.constantFrom('', 'x', 'y', 'yy').map((v) => Buffer.from(v)),
    dot: dotArb,
    past: clockArb,
    timestamp: fc.integer({ min: 0, max: 3 }),
    expiresAt: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    deleted: fc.boolean(),
  })
  .map(({ value, dot, past, timestamp, expiresAt, deleted }) => {
    const s: { -readonly [K in keyof Sibling]: Sibling[K] } = { value: deleted ? Buffer.alloc(0) : value, dot, past: pastBelow(past, dot), timestamp };
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

function clock(spec: Record<string, number>): VClock {
  return Object.keys(spec)
    .sort()
    .map((actor) => ({ actor, counter: spec[actor]! }));
}

/** A version written as `actor:counter` over `past`. */
function version(value: string, dot: string, past: Record<string, number>, timestamp: number, extra: Partial<Sibling> = {}): Sibling {
  const [actor, counter] = dot.split(':');
  return { value: Buffer.from(value), dot: { actor: actor!, counter: Number(counter) }, past: clock(past), timestamp, ...extra };
}

function tombstoneOf(dot: string, past: Record<string, number>, timestamp: number): Sibling {
  return version('', dot, past, timestamp, { deleted: true });
}

const dotsOf = (siblings: readonly Sibling[]) => siblings.map((s) => `${s.dot.actor}:${s.dot.counter}`).sort();

// Properties ---------------------------------------------------------------

// The naive model: a version stays unless some version's past has its dot;
// of several copies of one dot, the first in versionOrder stays.
function modelReconcile(all: readonly Sibling[]): Sibling[] {
  const kept: Sibling[] = [];
  for (const s of all) {
    if (all.some((t) => counterOf(t.past, s.dot.actor) >= s.dot.counter)) continue;
    const copies = all.filter((t) => t.dot.actor === s.dot.actor && t.dot.counter === s.dot.counter);
    const first = copies.reduce((best, t) => (versionOrder(t, best) < 0 ? t : best));
    if (first === s && !kept.includes(s)) kept.push(s);
  }
  return kept.sort(versionOrder);
}

test('siblings › reconcile keeps exactly the versions no past covers, one copy per dot, in versionOrder', (t) => {
  fc.assert(
    fc.property(siblingsArb, (all) => {
      const kept = reconcile(all);
      t.deepEqual(kept, modelReconcile(all));
      for (const k of kept) t.true(all.includes(k), 'keeps the given objects, never copies');
      for (let i = 1; i < kept.length; i++) t.true(versionOrder(kept[i - 1]!, kept[i]!) < 0);
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
      t.deepEqual(reconcile([...all, ...all]), once, 'duplicates change nothing');
    }),
    runs,
  );
});

test('siblings › supersedes is "the later past covers the earlier dot"; sameDot compares actor and counter', (t) => {
  fc.assert(
    fc.property(siblingArb, siblingArb, (a, b) => {
      t.is(supersedes(a, b), covers(a.past, b.dot));
      t.is(sameDot(a.dot, b.dot), a.dot.actor === b.dot.actor && a.dot.counter === b.dot.counter);
      t.false(supersedes(a, a), 'a version never supersedes itself');
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
      t.is(versionOrder(a, a), 0);
      if (versionOrder(a, b) <= 0 && versionOrder(b, c) <= 0) t.true(versionOrder(a, c) <= 0);
      if (versionOrder(a, b) === 0) t.deepEqual(a, b);
    }),
    runs,
  );
});

test('siblings › causalContext is the merge of every ceiling, tombstones included, and a version over it supersedes them all', (t) => {
  fc.assert(
    fc.property(siblingsArb, (all) => {
      const context = causalContext(all);
      t.true(isValidClock(context));
      for (const s of all) {
        t.true(descends(context, ceiling(s)));
        t.true(covers(context, s.dot));
      }
      // Least: every entry comes from some version's past or dot.
      for (const e of context) t.true(all.some((s) => counterOf(ceiling(s), e.actor) === e.counter));
      const next: Sibling = { value: Buffer.from('v'), dot: { actor: 'w', counter: 1 }, past: context, timestamp: 10 };
      t.deepEqual(reconcile([...all, next]), [next]);
    }),
    runs,
  );
});

test('siblings › ceiling is the past with the own dot', (t) => {
  fc.assert(
    fc.property(siblingArb, (s) => {
      t.deepEqual(ceiling(s), withDot(s.past, s.dot));
      t.false(covers(s.past, s.dot));
      t.true(covers(ceiling(s), s.dot));
    }),
    runs,
  );
});

test('siblings › live keeps exactly the readable versions and allocates nothing when all are', (t) => {
  fc.assert(
    fc.property(siblingsArb, fc.integer({ min: 0, max: 6 }), (all, now) => {
      const readable = live(all, now);
      t.deepEqual(readable, all.filter((s) => !s.deleted && (s.expiresAt === undefined || s.expiresAt > now)));
      for (const s of all) t.is(isLive(s, now), readable.includes(s));
      if (readable.length === all.length) t.is(readable, all);
    }),
    runs,
  );
});

test('siblings › reapable holds exactly when every version is dead for at least the grace period', (t) => {
  const graceMs = 3;
  fc.assert(
    fc.property(siblingsArb, fc.integer({ min: 0, max: 12 }), (all, now) => {
      const deadSince = (s: Sibling) => (s.deleted ? s.timestamp : s.expiresAt !== undefined && s.expiresAt <= now ? s.expiresAt : undefined);
      for (const s of all) t.is(deadSinceMs(s, now), deadSince(s));
      const model = all.length > 0 && all.every((s) => deadSince(s) !== undefined && now - deadSince(s)! >= graceMs);
      t.is(reapable(all, now, graceMs), model);
    }),
    runs,
  );
});

test('siblings › sameVersions compares the sets of dots, not the order', (t) => {
  fc.assert(
    fc.property(siblingsArb, fc.integer(), (all, seed) => {
      const record = reconcile(all);
      t.true(sameVersions(record, shuffled(record, seed)));
      if (record.length > 0) t.false(sameVersions(record, record.slice(1)));
      t.is(sameVersions(record, reconcile(all.slice(1))), dotsOf(record).join() === dotsOf(reconcile(all.slice(1))).join());
    }),
    runs,
  );
});

// Scenarios ----------------------------------------------------------------

test('siblings › concurrent writes are both kept, in the same order on every replica', (t) => {
  const left = version('left', 'a:2', { a: 1 }, 10);
  const right = version('right', 'b:1', { a: 1 }, 11);
  t.deepEqual(reconcile([left, right]), [right, left]);
  t.deepEqual(reconcile([right, left]), [right, left]);
});

test('siblings › a write whose past covers every stored dot replaces them', (t) => {
  const left = version('left', 'a:2', { a: 1 }, 10);
  const right = version('right', 'b:1', { a: 1 }, 10);
  const resolved = version('merged', 'a:3', { a: 2, b: 1 }, 20);
  t.deepEqual(reconcile([left, right, resolved]), [resolved]);
});

test('siblings › a write supersedes exactly what its past covers, even from the same actor', (t) => {
  // a:2 was written over a context that never saw a:1 (a stale client context): both stay.
  const first = version('v1', 'a:1', {}, 1);
  const stale = version('v2', 'a:2', {}, 2);
  t.deepEqual(dotsOf(reconcile([first, stale])), ['a:1', 'a:2']);
  t.false(supersedes(stale, first));
  // A later counter of the writer's actor alone never supersedes anything.
  const unrelated = version('v3', 'a:9', { b: 4 }, 3);
  t.deepEqual(dotsOf(reconcile([first, stale, unrelated])), ['a:1', 'a:2', 'a:9']);
});

test('siblings › a stale copy arriving late does not come back', (t) => {
  const old = version('old', 'a:1', {}, 1);
  const current = version('new', 'a:2', { a: 1 }, 10);
  t.deepEqual(reconcile([current, old]), [current]);
  t.deepEqual(reconcile([old, current]), [current]);
});

test('siblings › two copies of one dot collapse to the same one on every replica', (t) => {
  // Dots are unique, so real copies are identical; even if they were not, the choice is deterministic.
  const one = version('one', 'a:2', { a: 1 }, 10);
  const two = version('two', 'a:2', { a: 1 }, 10);
  t.deepEqual(reconcile([one, two]), [two]);
  t.deepEqual(reconcile([two, one]), [two]);
  const copy = version('one', 'a:2', { a: 1 }, 10);
  t.is(reconcile([one, copy]).length, 1);
});

test('siblings › winner prefers the newest timestamp, then the greatest actor, then value bytes', (t) => {
  const older = version('zzz', 'b:1', {}, 5);
  const newer = version('aaa', 'a:1', {}, 9);
  t.is(winner([older, newer]), newer);
  const byA = version('same', 'a:1', {}, 10);
  const byB = version('same', 'b:1', {}, 10);
  t.is(winner([byA, byB]), byB);
  const small = version('a', 'a:1', {}, 10);
  const large = version('b', 'a:2', {}, 10);
  t.is(winner([small, large]), large);
  t.is(winner([]), undefined);
});

test('siblings › versionOrder ties: live before tombstone, later expiry first, greater counter first, then the past', (t) => {
  const liveOne = version('', 'a:1', {}, 10);
  const dead = tombstoneOf('a:1', {}, 10);
  t.true(versionOrder(liveOne, dead) < 0);
  const forever = version('v', 'a:1', {}, 10);
  const later = version('v', 'a:1', {}, 10, { expiresAt: 99 });
  const sooner = version('v', 'a:1', {}, 10, { expiresAt: 50 });
  t.deepEqual([sooner, forever, later].sort(versionOrder), [forever, later, sooner]);
  const high = version('v', 'a:5', {}, 10);
  const low = version('v', 'a:4', {}, 10);
  t.true(versionOrder(high, low) < 0);
  const pastA = version('v', 'c:1', { a: 1 }, 10);
  const pastB = version('v', 'c:1', { b: 1 }, 10);
  t.true(versionOrder(pastA, pastB) < 0);
  t.true(versionOrder(version('v', 'c:1', { a: 1 }, 10), version('v', 'c:1', { a: 1, b: 1 }, 10)) < 0);
});

test('siblings › a tombstone beside a concurrent live sibling is kept, not reapable, and covers what it deleted', (t) => {
  const deleted = tombstoneOf('a:2', { a: 1 }, 10);
  const concurrent = version('v', 'b:1', { a: 1 }, 10);
  const record = reconcile([deleted, concurrent]);
  t.is(record.length, 2);
  t.false(reapable(record, 1_000_000, 100));
  t.deepEqual(live(record, 1_000_000), [concurrent]);
  t.deepEqual(reconcile([...record, version('stale', 'a:1', {}, 1)]), record);
});

test('siblings › the causal context of an empty record is fresh; of one version, its ceiling', (t) => {
  t.deepEqual(causalContext([]), fresh());
  t.deepEqual(reconcile([]), []);
  const one = version('v', 'b:3', { a: 2 }, 1);
  t.deepEqual(causalContext([one]), clock({ a: 2, b: 3 }));
  t.deepEqual(causalContext([one, version('w', 'a:3', { a: 2, c: 1 }, 1)]), clock({ a: 3, b: 3, c: 1 }));
});

// Reaping: reapable (this node's view) and leavesNothingStale (another replica's).

const graceMs = 100;

const reapableCases: [string, Sibling[], number, boolean][] = [
  ['an empty record (nothing to reap)', [], 10_000, false],
  ['a live version', [version('v', 'a:1', {}, 1000)], 10_000, false],
  ['a live version beside an old tombstone', [tombstoneOf('a:2', { a: 1 }, 1000), version('v', 'b:1', { a: 1 }, 1000)], 10_000, false],
  ['a tombstone younger than grace', [tombstoneOf('a:1', {}, 1000)], 1099, false],
  ['a tombstone exactly grace old', [tombstoneOf('a:1', {}, 1000)], 1100, true],
  ['a tombstone older than grace', [tombstoneOf('a:1', {}, 1000)], 5000, true],
  ['a tombstone dated in the future (clock skew)', [tombstoneOf('a:1', {}, 9000)], 5000, false],
  ['a value not yet expired', [version('v', 'a:1', {}, 10, { expiresAt: 500 })], 499, false],
  ['a value expired less than grace ago', [version('v', 'a:1', {}, 10, { expiresAt: 500 })], 599, false],
  ['a value expired grace ago', [version('v', 'a:1', {}, 10, { expiresAt: 500 })], 600, true],
  ['two tombstones, the later one younger than grace', [tombstoneOf('a:1', {}, 1000), tombstoneOf('b:1', {}, 2000)], 2050, false],
  ['two tombstones, both past grace', [tombstoneOf('a:1', {}, 1000), tombstoneOf('b:1', {}, 2000)], 2100, true],
];

for (const [name, record, now, expected] of reapableCases) {
  test(`siblings › reapable: ${name} → ${expected}`, (t) => {
    t.is(reapable(record, now, graceMs), expected);
  });
}

const older = version('old', 'a:1', {}, 10);
const concurrentOld = version('other', 'b:1', {}, 10);
const tomb = tombstoneOf('a:2', { a: 1 }, 20);
const newer = version('new', 'c:1', { a: 2 }, 30);

const staleCases: [string, Sibling[], Sibling[], boolean][] = [
  ['a replica holding nothing', [tomb], [], true],
  ['a replica holding the same tombstone', [tomb], [tomb], true],
  ['a replica holding a copy of the same tombstone', [tomb], [{ ...tomb, value: Buffer.alloc(0) }], true],
  ['a replica holding a newer version', [tomb], [newer], true],
  ['a replica holding a version the tombstone never saw', [tomb], [concurrentOld], true],
  ['a replica holding the older value the tombstone covers', [tomb], [older], false],
  ['a replica holding the covered value beside an unrelated one', [tomb], [concurrentOld, older], false],
  ['a replica holding an earlier tombstone the dead one covers', [tomb], [tombstoneOf('a:1', {}, 10)], false],
  ['two dead versions, the replica holds one of them', [tomb, tombstoneOf('b:2', { b: 1 }, 20)], [tomb], true],
  ['two dead versions, the replica holds what the second covers', [tomb, tombstoneOf('b:2', { b: 1 }, 20)], [concurrentOld], false],
];

for (const [name, dead, theirs, expected] of staleCases) {
  test(`siblings › leavesNothingStale: ${name} → ${expected ? 'fine' : 'stale'}`, (t) => {
    t.is(leavesNothingStale(dead, theirs), expected);
  });
}
