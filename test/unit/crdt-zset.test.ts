// Sorted sets (src/crdt/zset.ts): the replica scenario of crdt-harness, a
// sequential model (a Map of doubles, ZINCRBY adding as Redis does, order by
// score then member bytes), the counter law, observed reset, add-wins and
// corrupt input.
import test from 'ava';
import fc from 'fast-check';
import * as zset from '../../src/crdt/zset.js';
import type { ZsetState } from '../../src/crdt/zset.js';
import { checkCorruption, checkRun, runs, runSteps, stepsArb, type UnderTest } from './crdt-harness.js';

type Op =
  | { readonly kind: 'add'; readonly pairs: [string, number][] }
  | { readonly kind: 'rem'; readonly members: string[] }
  | { readonly kind: 'incr'; readonly member: string; readonly by: number }
  | { readonly kind: 'popmin' };

const memberArb = fc.constantFrom('a', 'b', 'c', 'd', '\u00ff');
const scoreArb = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(0.1, 0.2, 1.1, 2.2, 3.3, -0.7, 1e16, Infinity));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), pairs: fc.array(fc.tuple(memberArb, scoreArb), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('rem' as const), members: fc.array(memberArb, { minLength: 1, maxLength: 2 }) }),
  fc.record({ kind: fc.constant('incr' as const), member: memberArb, by: fc.constantFrom(0.1, 0.2, 1, -3, 3.3, 1e16) }),
  fc.record({ kind: fc.constant('popmin' as const) }),
);

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function apply(s: ZsetState, op: Op, dot: { actor: string; counter: number }) {
  if (op.kind === 'add') return zset.addScores(s, op.pairs.map(([m, v]) => [b(m), v] as const), dot);
  if (op.kind === 'rem') return zset.removeMembers(s, op.members.map(b));
  if (op.kind === 'incr') {
    // As the command layer will: an increment giving NaN is refused (no write).
    if (Number.isNaN((zset.score(s, b(op.member)) ?? 0) + op.by)) return { state: s, delta: zset.emptyZset() };
    return zset.incrementScore(s, b(op.member), op.by, dot);
  }
  const first = zset.ordered(s)[0];
  return zset.removeMembers(s, first === undefined ? [] : [zset.memberBytes(first.key)]);
}

const read = (s: ZsetState): [string, number][] => zset.ordered(s).map((e) => [e.key, e.score]);

const underTest: UnderTest<ZsetState, Op> = { type: zset.zsetType, clone: zset.cloneZset, op: opArb, apply, read };

test('crdt zset › replicas converge, deltas obey the delta law, joins are lawful and states survive the codec', (t) => {
  fc.assert(
    fc.property(stepsArb(opArb), (steps) => checkRun(t, underTest as UnderTest<ZsetState, unknown>, runSteps(t, underTest, steps))),
    runs,
  );
});

test('crdt zset › one replica gives exactly what a Redis-like sorted set of doubles gives', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      let s = zset.emptyZset();
      const model = new Map<string, number>();
      let counter = 0;
      const sorted = (): [string, number][] => [...model.entries()].sort(([ka, a], [kb, bb]) => (a !== bb ? (a < bb ? -1 : 1) : ka < kb ? -1 : ka > kb ? 1 : 0));
      for (const op of ops) {
        counter += 2;
        s = apply(s, op, { actor: 'a#1', counter }).state;
        if (op.kind === 'add') for (const [m, v] of op.pairs) model.set(m, v);
        else if (op.kind === 'rem') for (const m of op.members) model.delete(m);
        else if (op.kind === 'incr') {
          const next = (model.get(op.member) ?? 0) + op.by;
          if (!Number.isNaN(next)) model.set(op.member, next);
        } else if (model.size > 0) model.delete(sorted()[0]![0]);
        const expected = sorted();
        t.deepEqual(read(s), expected);
        t.is(zset.card(s), model.size);
        expected.forEach(([m, v], i) => {
          t.is(zset.rank(s, b(m)), i);
          t.is(zset.score(s, b(m)), v);
        });
      }
    }),
    runs,
  );
});

test('crdt zset › counter law: concurrent ZINCRBYs all count, once each', (t) => {
  const incr = fc.record({ replica: fc.integer({ min: 0, max: 2 }), by: fc.integer({ min: -1000, max: 1000 }) });
  fc.assert(
    fc.property(fc.array(incr, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 60 }), (incrs, deliveries) => {
      const m = b('m');
      const base = zset.addScores(zset.emptyZset(), [[m, 10]], { actor: 'z#0', counter: 1 }).state;
      const states = [0, 1, 2].map(() => zset.cloneZset(base));
      const deltas: ZsetState[] = [];
      let total = 10;
      incrs.forEach(({ replica, by }, i) => {
        deltas.push(zset.incrementScore(states[replica]!, m, by, { actor: `r${replica}`, counter: 10 + i }).delta);
        total += by;
        for (const d of deliveries.slice(i * 2, i * 2 + 2)) states[d % 3] = zset.merge(states[d % 3]!, deltas[d % deltas.length]!);
      });
      const all = states.reduce((x, y) => zset.merge(x, y));
      for (const s of states) t.is(zset.score(zset.merge(s, all), m), total);
      t.is(zset.score([...deltas, ...deltas].reverse().reduce((x, d) => zset.merge(x, d), base), m), total);
    }),
    runs,
  );
});

test('crdt zset › a ZADD resets the increments it saw; ZINCRBY concurrent with ZADD adds on top; ZREM loses to a concurrent ZADD', (t) => {
  const m = b('m');
  const base = zset.addScores(zset.emptyZset(), [[m, 1]], { actor: 'a#1', counter: 1 }).state;
  const inc = zset.incrementScore(zset.cloneZset(base), m, 2, { actor: 'a#1', counter: 2 });
  t.is(inc.score, 3);
  const reset = zset.addScores(zset.cloneZset(inc.state), [[m, 100]], { actor: 'a#1', counter: 3 });
  const concurrent = zset.incrementScore(zset.cloneZset(inc.state), m, 5, { actor: 'b#2', counter: 3 });
  t.is(zset.score(zset.merge(reset.state, concurrent.state), m), 105);
  const rem = zset.removeMembers(zset.cloneZset(base), [m]);
  const readd = zset.addScores(zset.cloneZset(base), [[m, 7]], { actor: 'b#2', counter: 4 });
  t.is(zset.score(zset.merge(rem.state, readd.state), m), 7);
  t.is(zset.score(zset.merge(base, rem.delta), m), undefined);
  // Concurrent ZADDs: both scores kept, the greater dot counts.
  const x = zset.addScores(zset.cloneZset(base), [[m, 50]], { actor: 'c#3', counter: 9 });
  const both = zset.merge(x.state, readd.state);
  t.is(zset.score(both, m), 50);
  t.deepEqual(zset.scoreConflict(both, m)!.scores, [7, 50]);
});

test('crdt zset › score and lex bounds find the first member at or past a bound', (t) => {
  let s = zset.emptyZset();
  s = zset.addScores(s, [[b('a'), 1], [b('b'), 2], [b('c'), 2], [b('d'), 3]], { actor: 'a#1', counter: 1 }).state;
  t.is(zset.firstAtScore(s, 2, false), 1);
  t.is(zset.firstAtScore(s, 2, true), 3);
  t.is(zset.firstAtScore(s, 9, false), 4);
  t.is(zset.firstAtMember(s, b('b'), false), 1);
  t.is(zset.firstAtMember(s, b('b'), true), 2);
});

test('crdt zset › truncated or corrupt bytes are refused with CrdtCodecError only', (t) => {
  let s = zset.addScores(zset.emptyZset(), [[b('a'), 1.5], [b('b'), -2]], { actor: 'a#1', counter: 2 }).state;
  s = zset.incrementScore(s, b('a'), 0.25, { actor: 'a#1', counter: 3 }).state;
  checkCorruption(t, zset.zsetType, zset.encode(s), Array.from({ length: 300 }, (_, i) => [i * 3, 1 + (i % 255)] as const));
});

test('crdt zset › the cached order follows ZADD, ZINCRBY and ZREM as a fresh sort would (property)', (t) => {
  const member = fc.integer({ min: 0, max: 40 }).map((i) => Buffer.from(`m${i}`));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), pairs: fc.array(fc.tuple(member, fc.integer({ min: -5, max: 5 })), { minLength: 1, maxLength: 20 }) }),
    fc.record({ kind: fc.constant('incr' as const), member, by: fc.integer({ min: -3, max: 3 }) }),
    fc.record({ kind: fc.constant('rem' as const), members: fc.array(member, { minLength: 1, maxLength: 3 }) }),
  );
  // `check` false skips the read after an operation: writes pile up moves in the kept order until one is read
  // (past orderMovesMax it is dropped and sorted afresh).
  fc.assert(fc.property(fc.array(fc.tuple(op, fc.boolean()), { maxLength: 60 }), fc.boolean(), (steps, readBetween) => {
    let state = zset.emptyZset();
    let counter = 0;
    for (const [o, check] of steps) {
      // Reading builds the cached order, which the next operation then keeps in step (or drops).
      if (readBetween) zset.ordered(state);
      const dot = { actor: 'a', counter: ++counter };
      if (o.kind === 'add') state = zset.addScores(state, o.pairs.map(([m, s]) => [m, s] as const), dot).state;
      else if (o.kind === 'incr') state = zset.incrementScore(state, o.member, o.by, dot).state;
      else state = zset.removeMembers(state, o.members).state;
      if (!check) continue;
      const fresh = zset.ordered(zset.decode(zset.encode(state)));
      const cached = zset.ordered(state);
      if (JSON.stringify(cached) !== JSON.stringify(fresh)) return false;
    }
    return JSON.stringify(zset.ordered(state)) === JSON.stringify(zset.ordered(zset.decode(zset.encode(state))));
  }), { numRuns: 400 });
  t.pass();
});
