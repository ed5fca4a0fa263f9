// The set type's glue (src/crdt/set-operations.ts): the operation codec
// (round trip; unknown or malformed bytes refused as BAD_OPERATION), what
// each operation does to the key's view and the outcome its reply is made
// from, WRONGTYPE over a string, an emptied collection read as no key, the
// no-gap claim of a writer that may have lost its own entries (freshRun),
// and the versioning rules the set leans on (a STORE drops the TTL; an
// operation that leaves a missing key empty writes a tombstone).
import test from 'ava';
import fc from 'fast-check';
import type { Dot, Sibling } from '../../src/clock/types.js';
import { live } from '../../src/clock/siblings.js';
import { TypeOperationError, type OperandView } from '../../src/crdt/operation.js';
import { add, emptySet, members, merge, setType, size, type SetState } from '../../src/crdt/set.js';
import {
  applySetOperation, decodeCountOutcome, decodeMembersOutcome, decodeSetOperation, encodeSetOperation, type SetOperation,
} from '../../src/crdt/set-operations.js';
import '../../src/crdt/types.js';
import { operandView, typedValue } from '../../src/crdt/view.js';
import { newVersion } from '../../src/coordinator/versioning.js';
import { MemoryActor } from '../../src/storage/actor.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const names = (state: SetState) => members(state).map((m) => m.toString('latin1'));
const writer = (actor: string, counter: number, freshRun = false) => ({ dot: { actor, counter }, freshRun });

/** As versioning.ts mints one: an empty state is flagged emptied. */
function setVersion(state: SetState, dot: Dot, extra: Partial<Sibling> = {}): Sibling {
  return { value: setType.encode(state), dot, past: [], timestamp: 1, type: 'set', ...(size(state) === 0 ? { emptied: true as const } : {}), ...extra };
}

function viewOf(...versions: Sibling[]): OperandView | undefined {
  return operandView(live(versions, 2));
}

const opArb: fc.Arbitrary<SetOperation> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), members: fc.array(fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a)), { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('remove' as const), members: fc.array(fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a)), { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('store' as const), members: fc.array(fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a)), { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('pop' as const), count: fc.nat({ max: 2 ** 40 }) }),
);

test('set operations › the codec round-trips every operation; unknown kinds, truncation and trailing bytes are BAD_OPERATION', (t) => {
  fc.assert(fc.property(opArb, (op) => {
    const bytes = encodeSetOperation(op);
    t.deepEqual(decodeSetOperation(bytes), op);
    for (let cut = 0; cut < bytes.length; cut++) {
      t.throws(() => decodeSetOperation(bytes.subarray(0, cut)), { instanceOf: TypeOperationError, message: /set operation/ });
    }
    t.throws(() => decodeSetOperation(Buffer.concat([bytes, Buffer.of(0)])), { instanceOf: TypeOperationError });
  }), { seed: 5, numRuns: 200 });
  for (const kind of [0, 5, 255]) {
    const error = t.throws(() => decodeSetOperation(Buffer.of(kind, 0)), { instanceOf: TypeOperationError });
    t.is(error.code, 'BAD_OPERATION');
  }
});

test('set operations › SADD and SREM answer how many members they added or removed, from the state they replaced', (t) => {
  const added = applySetOperation(undefined, { kind: 'add', members: [b('a'), b('b'), b('a')] }, writer('n1', 1));
  t.deepEqual(names(added.state), ['a', 'b']);
  t.is(decodeCountOutcome(added.outcome), 2);
  const view = viewOf(setVersion(added.state, { actor: 'n1', counter: 1 }));
  const again = applySetOperation(view, { kind: 'add', members: [b('b'), b('c')] }, writer('n1', 2));
  t.is(decodeCountOutcome(again.outcome), 1);
  const removed = applySetOperation(viewOf(setVersion(again.state, { actor: 'n1', counter: 2 })), { kind: 'remove', members: [b('a'), b('z'), b('a')] }, writer('n1', 3));
  t.is(decodeCountOutcome(removed.outcome), 1);
  t.deepEqual(names(removed.state), ['b', 'c']);
});

test('set operations › SPOP removes and returns distinct members it chose; all of them when asked for more; none of a missing key', (t) => {
  const start = add(emptySet(), ['a', 'b', 'c', 'd'].map(b), { actor: 'n1', counter: 1 }).state;
  const view = () => viewOf(setVersion(start, { actor: 'n1', counter: 1 }));
  const two = applySetOperation(view(), { kind: 'pop', count: 2 }, writer('n1', 2));
  const popped = decodeMembersOutcome(two.outcome).map((m) => m.toString('latin1'));
  t.is(new Set(popped).size, 2);
  t.deepEqual([...names(two.state), ...popped].sort(), ['a', 'b', 'c', 'd']);
  const all = applySetOperation(view(), { kind: 'pop', count: 10 }, writer('n1', 3));
  t.deepEqual(decodeMembersOutcome(all.outcome).map((m) => m.toString('latin1')).sort(), ['a', 'b', 'c', 'd']);
  t.deepEqual(names(all.state), []);
  t.deepEqual(decodeMembersOutcome(applySetOperation(undefined, { kind: 'pop', count: 1 }, writer('n1', 4)).outcome), []);
});

test('set operations › a set operation on a string is WRONGTYPE; on an emptied set (no key to Redis) or as a STORE destination it starts afresh', (t) => {
  const text: Sibling = { value: b('v'), dot: { actor: 'n1', counter: 1 }, past: [], timestamp: 1 };
  for (const op of [{ kind: 'add', members: [b('a')] }, { kind: 'remove', members: [b('a')] }, { kind: 'pop', count: 1 }] as SetOperation[]) {
    const error = t.throws(() => applySetOperation(viewOf(text), op, writer('n1', 2)), { instanceOf: TypeOperationError });
    t.is(error.code, 'WRONGTYPE');
  }
  const stored = applySetOperation(viewOf(text), { kind: 'store', members: [b('x')] }, writer('n1', 2));
  t.deepEqual(names(stored.state), ['x']);
  t.true(stored.replacesValue);
  // An emptied set reads as no key, and TYPE/GET see nothing.
  const emptied = applySetOperation(viewOf(setVersion(stored.state, { actor: 'n1', counter: 2 })), { kind: 'remove', members: [b('x')] }, writer('n1', 3));
  const emptiedVersion = setVersion(emptied.state, { actor: 'n1', counter: 3 });
  t.is(typedValue([emptiedVersion]), undefined);
  t.deepEqual(names(applySetOperation(viewOf(emptiedVersion), { kind: 'add', members: [b('y')] }, writer('n1', 4)).state), ['y']);
});

test('set operations › a writer that may have lost its own entries (freshRun) claims only its dot: its earlier add elsewhere survives the merge', (t) => {
  // n1 added x at counter 5; that version lives only on another replica now.
  const elsewhere = add(emptySet(), [b('x')], { actor: 'n1', counter: 5 }).state;
  // n1, coordinating as a fallback from a view that lacks it, adds y at counter 9 over B's set.
  const fromB = add(emptySet(), [b('z')], { actor: 'B', counter: 1 }).state;
  const view = viewOf(setVersion(fromB, { actor: 'B', counter: 1 }));
  const fresh = applySetOperation(view, { kind: 'add', members: [b('y')] }, writer('n1', 9, true)).state;
  t.deepEqual(names(merge(fresh, elsewhere)), ['x', 'y', 'z']);
  // With the gap claim, the same add would claim counter 5 seen and drop x: what freshRun avoids.
  const gapped = applySetOperation(viewOf(setVersion(fromB, { actor: 'B', counter: 1 })), { kind: 'add', members: [b('y')] }, writer('n1', 9, false)).state;
  t.deepEqual(names(merge(gapped, elsewhere)), ['y', 'z']);
});

test('set operations › versioning: an operation that leaves a missing key empty writes a tombstone; a STORE drops the key\'s TTL, other operations keep it', (t) => {
  const actor = new MemoryActor('n1#1');
  const srem = { kind: 'operate' as const, type: 'set' as const, operation: encodeSetOperation({ kind: 'remove', members: [b('a')] }) };
  t.true(newVersion([], srem, undefined, actor, 1).deleted);
  const withTtl = setVersion(add(emptySet(), [b('a'), b('b')], { actor: 'n0', counter: 1 }).state, { actor: 'n0', counter: 1 }, { expiresAt: 10_000 });
  t.is(newVersion([withTtl], srem, undefined, actor, 2).expiresAt, 10_000);
  const store = { kind: 'operate' as const, type: 'set' as const, operation: encodeSetOperation({ kind: 'store', members: [b('c')] }) };
  const replaced = newVersion([withTtl], store, undefined, actor, 3);
  t.is(replaced.expiresAt, undefined);
  t.deepEqual(names(setType.decode(replaced.value)), ['c']);
});
