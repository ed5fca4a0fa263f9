// The hash type's glue (src/crdt/hash-operations.ts): the operation codec
// (round trip; unknown or malformed bytes refused as BAD_OPERATION), the
// counts the replies are made from, HSETNX judged at the coordinator, Redis's
// number rules and errors for HINCRBY and HINCRBYFLOAT (digits as Redis
// prints them), increments on both sides of a partition that all count, a
// field conflict as a client sees it and its resolution, and the no-gap claim
// of a writer that may have lost its own entries (freshRun).
import test from 'ava';
import fc from 'fast-check';
import type { Dot, Sibling } from '../../src/clock/types.js';
import { live } from '../../src/clock/siblings.js';
import { TypeOperationError, type OperandView } from '../../src/crdt/operation.js';
import { entries, fieldConflict, getField, hashType, merge, type HashState } from '../../src/crdt/hash.js';
import { applyHashOperation, decodeHashCountOutcome, decodeHashOperation, encodeHashOperation, type HashOperation } from '../../src/crdt/hash-operations.js';
import '../../src/crdt/types.js';
import { operandView } from '../../src/crdt/view.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const writer = (actor: string, counter: number, freshRun = false) => ({ dot: { actor, counter }, freshRun });
const shown = (state: HashState) => Object.fromEntries(entries(state).map(([f, v]) => [f.toString('latin1'), v.toString('latin1')]));

function hashVersion(state: HashState, dot: Dot): Sibling {
  return { value: hashType.encode(state), dot, past: [], timestamp: 1, type: 'hash' };
}

function viewOf(...versions: Sibling[]): OperandView | undefined {
  return operandView(live(versions, 2));
}

/** Applies `ops` in turn at one coordinator (each over the stored version of the last), as a key's writes go. */
function run(ops: HashOperation[], actor = 'n1', start = 1, from?: HashState): { state: HashState; outcomes: (Buffer | undefined)[] } {
  let state = from;
  let counter = start;
  const outcomes: (Buffer | undefined)[] = [];
  for (const op of ops) {
    const view = state === undefined ? undefined : viewOf(hashVersion(state, { actor, counter: counter - 1 }));
    const applied = applyHashOperation(view, op, writer(actor, counter++));
    state = applied.state;
    outcomes.push(applied.outcome);
  }
  return { state: state!, outcomes };
}

const bytesArb = fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a));
const opArb: fc.Arbitrary<HashOperation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), pairs: fc.array(fc.tuple(bytesArb, bytesArb), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('setnx' as const), field: bytesArb, value: bytesArb }),
  fc.record({ kind: fc.constant('del' as const), fields: fc.array(bytesArb, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('incrby' as const), field: bytesArb, increment: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) }),
  fc.record({ kind: fc.constant('incrbyfloat' as const), field: bytesArb, increment: bytesArb }),
);

test('hash operations › the codec round-trips every operation; unknown kinds, truncation and trailing bytes are BAD_OPERATION', (t) => {
  fc.assert(fc.property(opArb, (op) => {
    const bytes = encodeHashOperation(op);
    t.deepEqual(decodeHashOperation(bytes), op);
    for (let cut = 0; cut < bytes.length; cut++) t.throws(() => decodeHashOperation(bytes.subarray(0, cut)), { instanceOf: TypeOperationError });
    t.throws(() => decodeHashOperation(Buffer.concat([bytes, Buffer.of(0)])), { instanceOf: TypeOperationError });
  }), { seed: 7, numRuns: 200 });
  for (const kind of [0, 6, 255]) t.is(t.throws(() => decodeHashOperation(Buffer.of(kind, 0)), { instanceOf: TypeOperationError }).code, 'BAD_OPERATION');
  const badIncrement = Buffer.concat([Buffer.of(4, 1, 0x66, 3), b('1.5')]);
  t.is(t.throws(() => decodeHashOperation(badIncrement), { instanceOf: TypeOperationError }).code, 'BAD_OPERATION');
});

test('hash operations › HSET counts new fields, HSETNX sets only a missing field, HDEL counts removed ones', (t) => {
  const { state, outcomes } = run([
    { kind: 'set', pairs: [[b('a'), b('1')], [b('b'), b('2')], [b('a'), b('3')]] },
    { kind: 'set', pairs: [[b('b'), b('x')], [b('c'), b('y')]] },
    { kind: 'setnx', field: b('a'), value: b('no') },
    { kind: 'setnx', field: b('d'), value: b('yes') },
    { kind: 'del', fields: [b('c'), b('z'), b('c')] },
  ]);
  t.deepEqual(outcomes.map((o) => decodeHashCountOutcome(o)), [2, 1, 0, 1, 1]);
  t.deepEqual(shown(state), { a: '3', b: 'x', d: 'yes' });
});

test('hash operations › HINCRBY and HINCRBYFLOAT follow Redis: strict integers, overflow, strtold floats, Redis\'s digits and errors', (t) => {
  const { state, outcomes } = run([
    { kind: 'incrby', field: b('n'), increment: 5n },
    { kind: 'incrby', field: b('n'), increment: -7n },
    { kind: 'incrbyfloat', field: b('n'), increment: b('0.1') },
    { kind: 'incrbyfloat', field: b('n'), increment: b('1.0e2') },
    { kind: 'set', pairs: [[b('hex'), b('0x10')], [b('s'), b(' 1')], [b('big'), b('9223372036854775807')], [b('inf'), b('inf')]] },
    { kind: 'incrbyfloat', field: b('hex'), increment: b('1') },
  ]);
  t.deepEqual(outcomes.filter((_, i) => i !== 4).map((o) => o!.toString('latin1')), ['5', '-2', '-1.9', '98.1', '17']);
  const refused = (op: HashOperation) => t.throws(() => run([op], 'n1', 100, state), { instanceOf: TypeOperationError }).code;
  t.is(refused({ kind: 'incrby', field: b('n'), increment: 1n }), 'HASH_NOT_INTEGER');
  t.is(refused({ kind: 'incrby', field: b('s'), increment: 1n }), 'HASH_NOT_INTEGER');
  t.is(refused({ kind: 'incrby', field: b('big'), increment: 1n }), 'OVERFLOW');
  t.is(refused({ kind: 'incrbyfloat', field: b('s'), increment: b('1') }), 'HASH_NOT_FLOAT');
  t.is(refused({ kind: 'incrbyfloat', field: b('inf'), increment: b('1') }), 'NAN_OR_INFINITY');
  const text: Sibling = { value: b('v'), dot: { actor: 'n1', counter: 1 }, past: [], timestamp: 1 };
  t.is(t.throws(() => applyHashOperation(viewOf(text), { kind: 'set', pairs: [[b('a'), b('1')]] }, writer('n1', 2)), { instanceOf: TypeOperationError }).code, 'WRONGTYPE');
});

test('hash operations › increments of one field through two coordinators of a partition all count; a concurrent HSET of the field shows beside them', (t) => {
  const base = run([{ kind: 'set', pairs: [[b('n'), b('10')], [b('f'), b('v0')]] }], 'n1', 1).state;
  const cloneOf = () => hashType.decode(hashType.encode(base));
  const left = run([{ kind: 'incrby', field: b('n'), increment: 3n }, { kind: 'set', pairs: [[b('f'), b('left')]] }], 'n1', 2, cloneOf()).state;
  const right = run([{ kind: 'incrby', field: b('n'), increment: 4n }, { kind: 'incrbyfloat', field: b('n'), increment: b('0.5') }, { kind: 'set', pairs: [[b('f'), b('right')]] }], 'n2', 2, cloneOf()).state;
  const healed = merge(left, right);
  t.is(getField(healed, b('n'))!.toString(), '17.5');
  t.true(hashType.equals(healed, merge(right, left)));
  // The field conflict: both values stay, the greatest dot shows (n2's counter 4 > n1's 3), and HSIBLINGS lists both, the shown one last.
  t.deepEqual(fieldConflict(healed, b('f'))!.values.map((v) => v.toString()), ['left', 'right']);
  t.is(getField(healed, b('f'))!.toString(), 'right');
  // An HSET of the field over the merged view resolves it.
  const resolved = run([{ kind: 'set', pairs: [[b('f'), b('chosen')]] }], 'n1', 10, healed).state;
  t.deepEqual(fieldConflict(resolved, b('f'))!.values.map((v) => v.toString()), ['chosen']);
});

test('hash operations › a writer that may have lost its own entries (freshRun) claims only its dot: its earlier HSET elsewhere survives', (t) => {
  const elsewhere = run([{ kind: 'set', pairs: [[b('x'), b('1')]] }], 'n1', 5).state;
  const fromB = run([{ kind: 'set', pairs: [[b('z'), b('2')]] }], 'B', 1).state;
  const fresh = applyHashOperation(viewOf(hashVersion(fromB, { actor: 'B', counter: 1 })), { kind: 'set', pairs: [[b('y'), b('3')]] }, writer('n1', 9, true)).state;
  t.deepEqual(shown(merge(fresh, elsewhere)), { x: '1', y: '3', z: '2' });
  const fromB2 = run([{ kind: 'set', pairs: [[b('z'), b('2')]] }], 'B', 1).state;
  const gapped = applyHashOperation(viewOf(hashVersion(fromB2, { actor: 'B', counter: 1 })), { kind: 'set', pairs: [[b('y'), b('3')]] }, writer('n1', 9, false)).state;
  t.deepEqual(shown(merge(gapped, elsewhere)), { y: '3', z: '2' }, 'the gap claim would drop x: what freshRun avoids');
});
