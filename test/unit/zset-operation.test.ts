// The sorted-set glue (crdt/zset-operation.ts, the coordinator's outcome
// channel): operations survive their wire bytes and malformed ones are
// refused; ZADD's flags and ZINCRBY judge the coordinator's merged view and
// answer Redis's counts and scores; a writer told to start afresh (a
// fallback's view) claims only its own dot, so its earlier adds survive;
// adds and increments on both sides of a partition all survive the heal;
// a forwarded operation's outcome comes back with its version; a sorted set
// whose last member goes becomes a tombstone (the key is gone, as in Redis).
import test from 'ava';
import fc from 'fast-check';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { TypeOperationError, type OperandView } from '../../src/crdt/operation.js';
import '../../src/crdt/types.js';
import { typedValue } from '../../src/crdt/view.js';
import { addScores, memberBytes, ordered, score, zsetType, type ZsetState } from '../../src/crdt/zset.js';
import {
  applyZsetOperation, decodeZsetOperation, decodeZsetOutcome, encodeZsetOperation, type ZaddFlags, type ZsetOperation, type ZsetOutcome,
} from '../../src/crdt/zset-operation.js';
import type { Mutation } from '../../src/coordinator/versioning.js';
import { SimCluster } from '../helpers/sim.js';

const noFlags: ZaddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };
const b = (s: string) => Buffer.from(s);

function version(state: ZsetState, actor: string, counter: number): Sibling {
  return { value: zsetType.encode(state), dot: { actor, counter }, past: [{ actor, counter }], timestamp: counter, type: 'zset' };
}

function viewOf(state: ZsetState | undefined, actor = 'a#1', counter = 1): OperandView | undefined {
  if (state === undefined) return undefined;
  const v = version(state, actor, counter);
  return { winner: v, ofType: [v] };
}

function apply(state: ZsetState | undefined, op: ZsetOperation, counter: number, freshRun = false): { state: ZsetState; outcome: ZsetOutcome } {
  const r = applyZsetOperation(viewOf(state), decodeZsetOperation(encodeZsetOperation(op)), { dot: { actor: 'a#1', counter }, freshRun });
  return { state: r.state, outcome: decodeZsetOutcome(r.outcome!) };
}

const arbPair = fc.tuple(fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, 1, -1, Infinity, -Infinity)), fc.uint8Array({ maxLength: 6 }).map((u) => Buffer.from(u)));
const arbOp: fc.Arbitrary<ZsetOperation> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), flags: fc.record({ nx: fc.boolean(), xx: fc.boolean(), gt: fc.boolean(), lt: fc.boolean(), ch: fc.boolean(), incr: fc.boolean() }), pairs: fc.array(arbPair, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('remove' as const), members: fc.array(fc.uint8Array({ maxLength: 5 }).map((u) => Buffer.from(u)), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('pop' as const), end: fc.constantFrom('min' as const, 'max' as const), count: fc.nat(1000) }),
  fc.record({ kind: fc.constant('replace' as const), pairs: fc.array(arbPair, { maxLength: 4 }) }),
);

test('zset operation › an operation survives its wire encoding; unknown kinds, flags and trailing bytes are BAD_OPERATION', (t) => {
  fc.assert(fc.property(arbOp, (op) => {
    const again = decodeZsetOperation(encodeZsetOperation(op));
    t.deepEqual(encodeZsetOperation(again), encodeZsetOperation(op));
  }));
  for (const bad of [Buffer.alloc(0), Buffer.of(9), Buffer.of(1, 0x80, 0), Buffer.concat([encodeZsetOperation({ kind: 'pop', end: 'min', count: 1 }), Buffer.of(0)]), Buffer.of(3, 2, 1)]) {
    const err = t.throws(() => decodeZsetOperation(bad), { instanceOf: TypeOperationError });
    t.is(err!.code, 'BAD_OPERATION');
  }
});

test('zset operation › ZADD counts added (or changed with CH), NX/XX/GT/LT judge the score as earlier pairs left it, INCR answers the new score or nil', (t) => {
  let s = apply(undefined, { kind: 'add', flags: noFlags, pairs: [[1, b('a')], [2, b('b')], [3, b('a')]] }, 1);
  t.deepEqual(s.outcome, { kind: 'count', count: 2 });
  t.is(score(s.state, b('a')), 3);
  s = apply(s.state, { kind: 'add', flags: { ...noFlags, gt: true, ch: true }, pairs: [[1, b('a')], [5, b('b')], [7, b('c')]] }, 2);
  t.deepEqual(s.outcome, { kind: 'count', count: 2 }, 'b raised, c added; a not lowered');
  s = apply(s.state, { kind: 'add', flags: { ...noFlags, xx: true }, pairs: [[9, b('new')], [0, b('a')]] }, 3);
  t.deepEqual(s.outcome, { kind: 'count', count: 0 });
  t.is(score(s.state, b('new')), undefined);
  t.is(score(s.state, b('a')), 0);
  s = apply(s.state, { kind: 'add', flags: { ...noFlags, incr: true, nx: true }, pairs: [[1, b('a')]] }, 4);
  t.deepEqual(s.outcome, { kind: 'nil' });
  s = apply(s.state, { kind: 'add', flags: { ...noFlags, incr: true }, pairs: [[0.2, b('z')]] }, 5);
  s = apply(s.state, { kind: 'add', flags: { ...noFlags, incr: true }, pairs: [[0.1, b('z')]] }, 6);
  t.deepEqual(s.outcome, { kind: 'score', score: 0.2 + 0.1 });
  s = apply(s.state, { kind: 'add', flags: { ...noFlags, incr: true }, pairs: [[Infinity, b('y')]] }, 7);
  const err = t.throws(() => apply(s.state, { kind: 'add', flags: { ...noFlags, incr: true }, pairs: [[-Infinity, b('y')]] }, 8), { instanceOf: TypeOperationError });
  t.is(err!.code, 'SCORE_NAN');
  const popped = apply(s.state, { kind: 'pop', end: 'max', count: 2 }, 9);
  t.deepEqual(popped.outcome, { kind: 'pairs', pairs: [[b('y'), Infinity], [b('c'), 7]] });
  t.deepEqual(ordered(popped.state).map((e) => e.key), ['a', 'z', 'b']);
});

test('zset operation › another type\'s winner is WRONGTYPE, except for ZRANGESTORE\'s replacement, which also drops the expiry', (t) => {
  const text: Sibling = { value: b('v'), dot: { actor: 'a#1', counter: 1 }, past: [{ actor: 'a#1', counter: 1 }], timestamp: 1 };
  const view = { winner: text, ofType: [text] };
  const err = t.throws(() => applyZsetOperation(view, { kind: 'remove', members: [b('x')] }, { dot: { actor: 'a#1', counter: 2 }, freshRun: false }), { instanceOf: TypeOperationError });
  t.is(err!.code, 'WRONGTYPE');
  const replaced = applyZsetOperation(view, { kind: 'replace', pairs: [[1, b('x')]] }, { dot: { actor: 'a#1', counter: 2 }, freshRun: false });
  t.true(replaced.replacesValue);
  t.deepEqual(decodeZsetOutcome(replaced.outcome!), { kind: 'count', count: 1 });
});

test('zset operation › a writer told to start afresh claims only its dot: its own earlier add, which its view lacks, survives the merge', (t) => {
  // a#1 added x at counter 5 (a version this fallback no longer holds), then writes y at counter 9 from a view without it.
  const earlier = addScores(zsetType.empty(), [[b('x'), 1]], { actor: 'a#1', counter: 5 }).state;
  for (const freshRun of [true, false]) {
    const later = applyZsetOperation(undefined, { kind: 'add', flags: noFlags, pairs: [[2, b('y')]] }, { dot: { actor: 'a#1', counter: 9 }, freshRun }).state;
    const merged = zsetType.merge(zsetType.decode(zsetType.encode(earlier)), later);
    // With the gap claimed, counter 5 counts as seen by the later write and x is (wrongly) removed.
    t.is(score(merged, b('x')), freshRun ? 1 : undefined, `freshRun ${freshRun}`);
    t.is(score(merged, b('y')), 2);
  }
});

function zadd(pairs: [number, string][], flags: Partial<ZaddFlags> = {}): Mutation {
  return { kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'add', flags: { ...noFlags, ...flags }, pairs: pairs.map(([s, m]) => [s, b(m)]) }) };
}

function zsetOf(record: readonly Sibling[]): Map<string, number> {
  const current = typedValue(live(record, Date.now()));
  if (current === undefined) return new Map();
  return new Map(ordered(zsetType.decode(current.value)).map((e) => [e.key, e.score]));
}

test('zset operation › adds and ZINCRBYs on both sides of a partition all survive the heal; a removal drops only what it saw', async (t) => {
  const cluster = await SimCluster.start({ nodes: 3, n: 3, seed: 11 });
  try {
    const key = Buffer.from('board');
    await cluster.node('a').coordinator.put(key, zadd([[1, 'shared'], [5, 'gone']]), { w: 3 });
    cluster.partition(['a'], ['b', 'c']);
    await cluster.node('a').coordinator.put(key, zadd([[1, 'left']]), { w: 1 });
    await cluster.node('a').coordinator.put(key, zadd([[2, 'shared']], { incr: true }), { w: 1 });
    const removal = await cluster.node('a').coordinator.put(key, { kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'remove', members: [b('gone')] }) }, { w: 1 });
    t.deepEqual(decodeZsetOutcome(removal.outcome!), { kind: 'count', count: 1 });
    await cluster.node('b').coordinator.put(key, zadd([[2, 'right']]), { w: 2 });
    const right = await cluster.node('b').coordinator.put(key, zadd([[3, 'shared']], { incr: true }), { w: 2 });
    t.deepEqual(decodeZsetOutcome(right.outcome!), { kind: 'score', score: 4 });
    // A concurrent ZADD of 'gone' on the right keeps it (add-wins).
    await cluster.node('b').coordinator.put(key, zadd([[6, 'gone']]), { w: 2 });
    cluster.heal();
    const healed = zsetOf(await cluster.get('c', 'board', 3));
    t.deepEqual([...healed], [['left', 1], ['right', 2], ['gone', 6], ['shared', 6]], 'both increments count: 1 + 2 + 3');
  } finally {
    await cluster.stop();
  }
});

test('zset operation › +inf and -inf increments on the two sides of a partition meet as 0, never NaN: the order holds and later increments store', async (t) => {
  const cluster = await SimCluster.start({ nodes: 3, n: 3, seed: 17 });
  try {
    const key = Buffer.from('inf');
    await cluster.node('a').coordinator.put(key, zadd([[1, 'm'], [-5, 'low'], [5, 'high']]), { w: 3 });
    cluster.partition(['a'], ['b', 'c']);
    await cluster.node('a').coordinator.put(key, zadd([[Infinity, 'm']], { incr: true }), { w: 1 });
    await cluster.node('b').coordinator.put(key, zadd([[-Infinity, 'm']], { incr: true }), { w: 2 });
    cluster.heal();
    // Redis never holds a NaN score (ZINCRBY refuses one); merged increments that would sum to it cancel to 0.
    const record = await cluster.get('c', 'inf', 3);
    t.deepEqual([...zsetOf(record)], [['low', -5], ['m', 0], ['high', 5]]);
    for (const id of ['a', 'b', 'c']) await cluster.node(id).coordinator.applyLocal(key, undefined, record); // as read repair would
    // The actor that added +inf adds -inf again over the merged 0: its own running sum would be NaN, and a NaN
    // in a stored state is a value no replica can decode.
    const again = await cluster.node('a').coordinator.put(key, zadd([[-Infinity, 'm']], { incr: true }), { w: 3 });
    t.deepEqual(decodeZsetOutcome(again.outcome!), { kind: 'score', score: -Infinity });
    const after = zsetOf(await cluster.get('b', 'inf', 3));
    t.deepEqual([...after], [['m', -Infinity], ['low', -5], ['high', 5]]);
    const more = await cluster.node('c').coordinator.put(key, zadd([[7, 'm']], { incr: true }), { w: 3 });
    t.false(Number.isNaN((decodeZsetOutcome(more.outcome!) as { score: number }).score));
    for (const id of ['a', 'b', 'c']) t.notThrows(() => zsetOf(cluster.node(id).coordinator.storage.get(key, undefined)), `${id} decodes what it stores`);
  } finally {
    await cluster.stop();
  }
});

test('zset operation › a forwarded operation\'s outcome comes back with its version; popping the last member leaves no key to read', async (t) => {
  const cluster = await SimCluster.start({ nodes: 5, n: 3, seed: 3 });
  try {
    const key = cluster.findKey('fwd', (replicas) => !replicas.includes('a'));
    const added = await cluster.node('a').coordinator.put(Buffer.from(key), zadd([[1, 'x'], [2, 'y']]), { w: 2 });
    t.deepEqual(decodeZsetOutcome(added.outcome!), { kind: 'count', count: 2 });
    const pop = { kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'pop', end: 'min', count: 5 }) } as const;
    const popped = await cluster.node('a').coordinator.put(Buffer.from(key), pop, { w: 2 });
    t.deepEqual(decodeZsetOutcome(popped.outcome!), { kind: 'pairs', pairs: [[b('x'), 1], [b('y'), 2]] });
    t.not(popped.version.deleted, true, 'an emptied sorted set keeps its version: its context removes what it removed from concurrent ones');
    t.is(typedValue(live(await cluster.get('b', key, 3), Date.now())), undefined, 'and reads as no key');
    t.deepEqual(memberBytes('x'), b('x'));
  } finally {
    await cluster.stop();
  }
});
