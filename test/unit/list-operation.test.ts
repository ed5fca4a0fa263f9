// The list glue (crdt/list-operation.ts): operations survive their wire
// bytes and malformed ones are refused; a writer told to start afresh claims
// only its dot, so its own earlier push survives; pushes on both sides of a
// partition are all kept, in the same order on every replica; pops on both
// sides may return the same element, which is gone after the heal; LSET's
// refusals are typed; a list emptied by a pop leaves no key.
import test from 'ava';
import fc from 'fast-check';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { TypeOperationError } from '../../src/crdt/operation.js';
import '../../src/crdt/types.js';
import { typedValue } from '../../src/crdt/view.js';
import { insert, listType, values } from '../../src/crdt/list.js';
import { applyListOperation, decodeListOperation, decodeListOutcome, encodeListOperation, type ListOperation } from '../../src/crdt/list-operation.js';
import type { Mutation } from '../../src/coordinator/versioning.js';
import { SimCluster } from '../helpers/sim.js';

const b = (s: string) => Buffer.from(s);
const arbBytes = fc.uint8Array({ maxLength: 6 }).map((u) => Buffer.from(u));
const arbEnd = fc.constantFrom('head' as const, 'tail' as const);
const arbOp: fc.Arbitrary<ListOperation> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), end: arbEnd, values: fc.array(arbBytes, { maxLength: 4 }), onlyIfExists: fc.boolean() }),
  fc.record({ kind: fc.constant('pop' as const), end: arbEnd, count: fc.nat(1000) }),
  fc.record({ kind: fc.constant('set' as const), index: arbBytes, value: arbBytes }),
  fc.record({ kind: fc.constant('remove' as const), count: fc.integer({ min: -1000, max: 1000 }), element: arbBytes }),
  fc.record({ kind: fc.constant('trim' as const), start: fc.integer({ min: -1e9, max: 1e9 }), stop: fc.integer({ min: -1e9, max: 1e9 }) }),
  fc.record({ kind: fc.constant('insert' as const), after: fc.boolean(), pivot: arbBytes, element: arbBytes }),
  fc.record({ kind: fc.constant('rotate' as const), from: arbEnd, to: arbEnd }),
);

test('list operation › an operation survives its wire encoding; unknown kinds and trailing bytes are BAD_OPERATION', (t) => {
  fc.assert(fc.property(arbOp, (op) => {
    t.deepEqual(encodeListOperation(decodeListOperation(encodeListOperation(op))), encodeListOperation(op));
  }));
  for (const bad of [Buffer.alloc(0), Buffer.of(99), Buffer.of(1, 7, 0), Buffer.concat([encodeListOperation({ kind: 'pop', end: 'head', count: 1 }), Buffer.of(0)])]) {
    const err = t.throws(() => decodeListOperation(bad), { instanceOf: TypeOperationError });
    t.is(err!.code, 'BAD_OPERATION');
  }
});

test('list operation › LSET refuses a missing key, a bad index and one out of range, in Redis\'s order', (t) => {
  const w = { dot: { actor: 'a#1', counter: 2 }, freshRun: false };
  const code = (f: () => unknown) => (t.throws(f, { instanceOf: TypeOperationError }) as TypeOperationError).code;
  t.is(code(() => applyListOperation(undefined, { kind: 'set', index: b('x'), value: b('v') }, w)), 'NO_SUCH_KEY');
  const state = insert(listType.empty(), 0, [b('a')], { actor: 'a#1', counter: 1 }).state;
  const v: Sibling = { value: listType.encode(state), dot: { actor: 'a#1', counter: 1 }, past: [{ actor: 'a#1', counter: 1 }], timestamp: 1, type: 'list' };
  const view = { winner: v, ofType: [v] };
  t.is(code(() => applyListOperation(view, { kind: 'set', index: b('x'), value: b('v') }, w)), 'NOT_INTEGER');
  t.is(code(() => applyListOperation(view, { kind: 'set', index: b('1'), value: b('v') }, w)), 'INDEX_OUT_OF_RANGE');
  t.is(code(() => applyListOperation(view, { kind: 'set', index: b('-2'), value: b('v') }, w)), 'INDEX_OUT_OF_RANGE');
  t.deepEqual(values(applyListOperation(view, { kind: 'set', index: b('-1'), value: b('v') }, w).state), [b('v')]);
});

test('list operation › a writer told to start afresh claims only its dot: its own earlier push, which its view lacks, survives the merge', (t) => {
  const earlier = insert(listType.empty(), 0, [b('x')], { actor: 'a#1', counter: 5 }).state;
  for (const freshRun of [true, false]) {
    const later = applyListOperation(undefined, { kind: 'push', end: 'tail', values: [b('y')], onlyIfExists: false }, { dot: { actor: 'a#1', counter: 9 }, freshRun }).state;
    const merged = listType.merge(listType.decode(listType.encode(earlier)), later);
    t.deepEqual(values(merged).map(String), freshRun ? ['x', 'y'] : ['y'], `freshRun ${freshRun}`);
  }
});

function op(o: ListOperation): Mutation {
  return { kind: 'operate', type: 'list', operation: encodeListOperation(o) };
}

function listOf(record: readonly Sibling[]): string[] {
  const current = typedValue(live(record, Date.now()));
  return current === undefined ? [] : values(listType.decode(current.value)).map(String);
}

test('list operation › pushes on both sides of a partition are all kept in one order; pops on both sides may return the same element', async (t) => {
  const cluster = await SimCluster.start({ nodes: 3, n: 3, seed: 13 });
  try {
    const key = Buffer.from('queue');
    await cluster.node('a').coordinator.put(key, op({ kind: 'push', end: 'tail', values: [b('first'), b('second')], onlyIfExists: false }), { w: 3 });
    cluster.partition(['a'], ['b', 'c']);
    const left = await cluster.node('a').coordinator.put(key, op({ kind: 'pop', end: 'head', count: 1 }), { w: 1 });
    const right = await cluster.node('b').coordinator.put(key, op({ kind: 'pop', end: 'head', count: 1 }), { w: 2 });
    t.deepEqual(decodeListOutcome(left.outcome!), { kind: 'elements', values: [b('first')] });
    t.deepEqual(decodeListOutcome(right.outcome!), { kind: 'elements', values: [b('first')] }, 'both sides pop the same element');
    await cluster.node('a').coordinator.put(key, op({ kind: 'push', end: 'tail', values: [b('L1'), b('L2')], onlyIfExists: false }), { w: 1 });
    await cluster.node('b').coordinator.put(key, op({ kind: 'push', end: 'tail', values: [b('R1')], onlyIfExists: false }), { w: 2 });
    await cluster.node('b').coordinator.put(key, op({ kind: 'push', end: 'head', values: [b('R0')], onlyIfExists: false }), { w: 2 });
    cluster.heal();
    const views = await Promise.all(['a', 'b', 'c'].map(async (id) => listOf(await cluster.get(id, 'queue', 3))));
    t.deepEqual(views[0], views[1]);
    t.deepEqual(views[1], views[2]);
    t.deepEqual([...views[0]!].sort(), ['L1', 'L2', 'R0', 'R1', 'second'], 'every push kept, the popped element gone');
    t.true(views[0]!.indexOf('L1') + 1 === views[0]!.indexOf('L2'), 'a push\'s run stays together');
    const drained = await cluster.node('c').coordinator.put(key, op({ kind: 'pop', end: 'tail', count: 10 }), { w: 3 });
    t.is((decodeListOutcome(drained.outcome!) as { values: readonly Buffer[] }).values.length, 5);
    const emptied = live(await cluster.get('a', 'queue', 3), Date.now());
    t.is(typedValue(emptied), undefined, 'the key reads as none once its last element goes');
    t.true(emptied.every((v) => v.type === 'list' && v.deleted !== true), 'an emptied list keeps its version: its context removes what it removed from concurrent ones');
  } finally {
    await cluster.stop();
  }
});
