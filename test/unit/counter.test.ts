// The counter CRDT (src/crdt/counter.ts): the join laws over arbitrary
// states, every increment counted exactly once whatever order replicas merge
// in (with duplicates and writers that start fresh runs), the base-from-a-
// string rule, Redis's errors, and the state codec (round trip, and any
// corrupt bytes refused with CrdtCodecError, never a broken state).
import test from 'ava';
import fc from 'fast-check';
import type { Dot, Sibling } from '../../src/clock/types.js';
import {
  applyCounterOperation, counterText, counterType, counterValue, decodeCounterOperation, encodeCounterOperation,
  type CounterOperation, type CounterState,
} from '../../src/crdt/counter.js';
import { decimalOf, formatDecimal, decimalOfInteger, parseCanonicalDecimal, parseCanonicalDecimalBytes, type Decimal } from '../../src/crdt/decimal.js';
import { CrdtCodecError } from '../../src/crdt/kind.js';
import { TypeOperationError, type OperandView } from '../../src/crdt/operation.js';

const runs = { seed: 12, numRuns: 300 };
const actors = ['a#1', 'b#1', 'c#2'];

const decimalArb: fc.Arbitrary<Decimal> = fc.tuple(fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }), fc.integer({ min: 0, max: 20 }))
  .map(([n, scale]) => decimalOf(n, scale));

const dotArb: fc.Arbitrary<Dot> = fc.record({ actor: fc.constantFrom(...actors), counter: fc.integer({ min: 1, max: 6 }) });

const stateArb: fc.Arbitrary<CounterState> = fc.record({
  base: fc.option(fc.record({ dot: dotArb, value: decimalArb }), { nil: undefined }),
  runs: fc.uniqueArray(
    fc.record({ actor: fc.constantFrom(...actors), start: fc.integer({ min: 1, max: 4 }), extra: fc.integer({ min: 0, max: 3 }), total: decimalArb }),
    { selector: (r) => `${r.actor}/${r.start}`, maxLength: 6 },
  ),
}).map(({ base, runs: entries }) => {
  const sorted = entries
    .map((r) => ({ actor: r.actor, start: r.start, counter: r.start + r.extra, total: r.total }))
    .sort((x, y) => (x.actor !== y.actor ? (x.actor < y.actor ? -1 : 1) : x.start - y.start));
  return base === undefined ? { runs: sorted } : { base, runs: sorted };
});

const { merge, equals, encode, decode } = counterType;

test('counter › merge is commutative, associative and idempotent, and empty is its identity', (t) => {
  fc.assert(fc.property(stateArb, stateArb, stateArb, (a, b, c) => {
    t.true(equals(merge(a, b), merge(b, a)));
    t.true(equals(merge(merge(a, b), c), merge(a, merge(b, c))));
    t.true(equals(merge(a, a), a));
    t.true(equals(merge(a, counterType.empty()), a));
  }), runs);
  t.pass();
});

test('counter › a state encodes to bytes that decode to an equal state, and equal states encode alike', (t) => {
  fc.assert(fc.property(stateArb, stateArb, (a, b) => {
    const bytes = encode(a);
    t.true(equals(decode(bytes), a));
    t.is(equals(a, b), encode(a).equals(encode(b)));
  }), runs);
  t.pass();
});

test('counter › corrupt bytes are refused with CrdtCodecError or decode to a state that encodes back to them', (t) => {
  let refused = 0;
  fc.assert(fc.property(stateArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (state, at, byte, cut) => {
    const bytes = Buffer.from(encode(state));
    if (bytes.length > 0) bytes[at % bytes.length] = byte;
    for (const input of [bytes, bytes.subarray(0, cut % (bytes.length + 1)), Buffer.concat([bytes, Buffer.of(byte)])]) {
      try {
        const decoded = decode(input);
        t.true(encode(decoded).equals(input));
      } catch (err) {
        t.true(err instanceof CrdtCodecError, String(err));
        refused++;
      }
    }
  }), { ...runs, numRuns: 500 });
  t.true(refused > 100);
});

// --- operations through replicas ------------------------------------------------

interface Replica {
  readonly actor: string;
  state: CounterState;
  nextCounter: number;
}

function viewOf(state: CounterState): OperandView | undefined {
  if (state.base === undefined && state.runs.length === 0) return undefined;
  const sibling: Sibling = { value: encode(state), dot: { actor: 'view', counter: 1 }, past: [], timestamp: 1, type: 'counter' };
  return { winner: sibling, ofType: [sibling] };
}

function increment(replica: Replica, amount: bigint, freshRun: boolean): void {
  const dot = { actor: replica.actor, counter: replica.nextCounter++ };
  replica.state = applyCounterOperation(viewOf(replica.state), { kind: 'by', increment: amount }, { dot, freshRun });
}

type Step =
  | { kind: 'incr'; replica: number; amount: bigint; fresh: boolean }
  | { kind: 'merge'; from: number; to: number }
  | { kind: 'forget'; replica: number; version: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('incr' as const), replica: fc.integer({ min: 0, max: 2 }), amount: fc.bigInt({ min: -1000n, max: 1000n }), fresh: fc.boolean() }),
  fc.record({ kind: fc.constant('merge' as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('forget' as const), replica: fc.integer({ min: 0, max: 2 }), version: fc.nat() }),
);

test('counter › every increment from every replica counts exactly once, whatever the merges, their order and their repeats', (t) => {
  fc.assert(fc.property(fc.array(stepArb, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 9 }), (steps, finalOrder) => {
    const replicas: Replica[] = actors.map((actor) => ({ actor, state: counterType.empty(), nextCounter: 1 }));
    // Every version ever made, as a replica might receive it again later (duplication, reordering).
    const made: CounterState[] = [];
    // Replicas whose state may lack their own latest run: their next increment starts a fresh run.
    const forgotten = new Set<number>();
    let sum = 0n;
    for (const step of steps) {
      if (step.kind === 'incr') {
        const replica = replicas[step.replica]!;
        // A replica that forgot its own latest run must start afresh (a fallback's hints): the writer is told so.
        increment(replica, step.amount, step.fresh || forgotten.has(step.replica));
        forgotten.delete(step.replica);
        sum += step.amount;
        made.push(replica.state);
      } else if (step.kind === 'merge') {
        replicas[step.to]!.state = merge(replicas[step.to]!.state, replicas[step.from]!.state);
      } else {
        // The replica's state is replaced by some earlier version it once had or could receive: it may lack its own latest run.
        const own = made.filter((m) => m.runs.some((r) => r.actor === replicas[step.replica]!.actor));
        replicas[step.replica]!.state = own.length === 0 ? counterType.empty() : own[step.version % own.length]!;
        forgotten.add(step.replica);
      }
    }
    let end = counterType.empty();
    for (const i of finalOrder) end = merge(end, replicas[i]!.state);
    for (const version of made) end = merge(version, end);
    t.is(counterValue(end).m, sum);
    t.is(counterValue(end).e, 0);
  }), runs);
  t.pass();
});

test('counter › two counters started from one string on both sides of a partition count its value once', (t) => {
  const string: Sibling = { value: Buffer.from('10'), dot: { actor: 'a#1', counter: 7 }, past: [], timestamp: 1 };
  const view = { winner: string, ofType: [string] };
  const left = applyCounterOperation(view, { kind: 'by', increment: 1n }, { dot: { actor: 'a#1', counter: 8 }, freshRun: false });
  const right = applyCounterOperation(view, { kind: 'by', increment: 1n }, { dot: { actor: 'b#1', counter: 3 }, freshRun: false });
  t.is(counterText(left), '11');
  t.is(counterText(right), '11');
  t.is(counterText(merge(left, right)), '12');
});

test('counter › counters from different strings keep one base deterministically, and every run counts', (t) => {
  const s1: Sibling = { value: Buffer.from('10'), dot: { actor: 'a#1', counter: 7 }, past: [], timestamp: 1 };
  const s2: Sibling = { value: Buffer.from('100'), dot: { actor: 'b#1', counter: 2 }, past: [], timestamp: 2 };
  const x = applyCounterOperation({ winner: s1, ofType: [s1] }, { kind: 'by', increment: 1n }, { dot: { actor: 'a#1', counter: 8 }, freshRun: false });
  const y = applyCounterOperation({ winner: s2, ofType: [s2] }, { kind: 'by', increment: 2n }, { dot: { actor: 'b#1', counter: 3 }, freshRun: false });
  t.is(counterText(merge(x, y)), counterText(merge(y, x)));
  t.is(counterText(merge(x, y)), '103');
});

function apply(start: string | CounterState | undefined, op: CounterOperation): CounterState {
  let view: OperandView | undefined;
  if (typeof start === 'string') {
    const s: Sibling = { value: Buffer.from(start, 'latin1'), dot: { actor: 'z#1', counter: 1 }, past: [], timestamp: 1 };
    view = { winner: s, ofType: [s] };
  } else if (start !== undefined) view = viewOf(start);
  return applyCounterOperation(view, op, { dot: { actor: 'a#1', counter: 100 }, freshRun: false });
}

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!(err instanceof TypeOperationError)) throw err;
    return err.code;
  }
}

test('counter › Redis\'s errors: not an integer, overflow, not a float, NaN or infinity, and another type', (t) => {
  const by = (n: bigint): CounterOperation => ({ kind: 'by', increment: n });
  const float = (s: string): CounterOperation => ({ kind: 'float', increment: Buffer.from(s, 'latin1') });
  t.is(refusal(() => apply('abc', by(1n))), 'NOT_INTEGER');
  t.is(refusal(() => apply('007', by(1n))), 'NOT_INTEGER');
  t.is(refusal(() => apply('1.5', by(1n))), 'NOT_INTEGER');
  t.is(refusal(() => apply('9223372036854775807', by(1n))), 'OVERFLOW');
  t.is(refusal(() => apply('-9223372036854775808', by(-1n))), 'OVERFLOW');
  t.is(refusal(() => apply(apply('10', float('0.5')), by(1n))), 'NOT_INTEGER');
  t.is(refusal(() => apply('abc', float('1'))), 'NOT_FLOAT');
  t.is(refusal(() => apply('1', float('x'))), 'NOT_FLOAT');
  t.is(refusal(() => apply(undefined, float(' 1'))), 'NOT_FLOAT');
  t.is(refusal(() => apply(undefined, float('inf'))), 'NAN_OR_INFINITY');
  t.is(refusal(() => apply('inf', float('1'))), 'NAN_OR_INFINITY');
  t.is(refusal(() => apply('1e-5000', float('1'))), 'NOT_FLOAT');
  const other: Sibling = { value: Buffer.alloc(0), dot: { actor: 'z#1', counter: 1 }, past: [], timestamp: 1, type: 'set' };
  t.is(refusal(() => applyCounterOperation({ winner: other, ofType: [other] }, by(1n), { dot: { actor: 'a#1', counter: 2 }, freshRun: false })), 'WRONGTYPE');
  // INCR after a float that came back to an integer works, as in Redis ("5000" is a long).
  t.is(counterText(apply(apply('5.0e3', float('0')), by(1n))), '5001');
  t.is(counterText(apply(undefined, by(-5n))), '-5');
});

test('counter › INCRBYFLOAT prints Redis\'s digits (vectors from redis-server 7.0)', (t) => {
  const vectors: [string, string, string][] = [
    ['0.1', '0.2', '0.3'],
    ['10.5', '0.1', '10.6'],
    ['5.0e3', '0', '5000'],
    ['1000', '0.1', '1000.09999999999999998'],
    ['3', '0', '3'],
    ['-1.5', '0.25', '-1.25'],
    ['123456789.123456789', '0.000000001', '123456789.12345678999554366'],
    ['1e20', '0.1', '100000000000000000000'],
    ['0x1p-3', '1', '1.125'],
    ['2.5', '-2.5', '0'],
    ['9223372036854775807', '1', '9223372036854775808'],
    ['0.3', '-0.1', '0.2'],
    ['-0.0000001', '0.00000005', '-0.00000005'],
    ['1e-20', '1e-20', '0'],
    ['-1e-20', '0', '0'],
    ['99999999999999999999', '1', '100000000000000000000'],
    ['1e-4940', '0', '0'],
    ['1', '1.', '2'],
    ['1', '.5', '1.5'],
    ['1', '+1', '2'],
    ['1', '1E2', '101'],
  ];
  for (const [value, increment, expected] of vectors) {
    const state = apply(value, { kind: 'float', increment: Buffer.from(increment, 'latin1') });
    t.is(counterText(state), expected, `${value} + ${increment}`);
  }
  const huge = counterText(apply('1.7976931348623157e308', { kind: 'float', increment: Buffer.from('1e308') }));
  t.true(huge.startsWith('2797693134862315700023522404413500787892999291796199340039876956176933709188303646840149442210420509873411557103615441716861480292765053071387772623218771298880360'), huge.slice(0, 80));
  t.is(huge.length, 309);
});

test('counter › an operation survives its wire encoding; malformed ones are refused', (t) => {
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.uint8Array({ maxLength: 30 }), (n, bytes) => {
    t.deepEqual(decodeCounterOperation(encodeCounterOperation({ kind: 'by', increment: n })), { kind: 'by', increment: n });
    const float = decodeCounterOperation(encodeCounterOperation({ kind: 'float', increment: Buffer.from(bytes) }));
    t.true(float.kind === 'float' && float.increment.equals(Buffer.from(bytes)));
  }), runs);
  for (const bad of [Buffer.alloc(0), Buffer.of(9, 0x31), Buffer.of(1), Buffer.from('\x01007', 'latin1'), Buffer.from('\x019223372036854775808', 'latin1')]) {
    t.is(refusal(() => decodeCounterOperation(bad)), 'BAD_OPERATION');
  }
});

test('counter › a writer continues its own run; one told to start afresh adds a run; neither counts anything twice', (t) => {
  let state = apply(undefined, { kind: 'by', increment: 3n });
  state = applyCounterOperation(viewOf(state), { kind: 'by', increment: 4n }, { dot: { actor: 'a#1', counter: 101 }, freshRun: false });
  t.is(state.runs.length, 1);
  t.is(formatDecimal(state.runs[0]!.total), '7');
  const fresh = applyCounterOperation(viewOf(state), { kind: 'by', increment: 5n }, { dot: { actor: 'a#1', counter: 102 }, freshRun: true });
  t.is(fresh.runs.length, 2);
  t.deepEqual(counterValue(merge(fresh, state)), decimalOfInteger(12n));
});

test('parseCanonicalDecimalBytes reads exactly what parseCanonicalDecimal reads from the same text', (t) => {
  const edges = ['', '-', '0', '-0', '00', '01', '-01', '1', '-1', '9', '+1', ' 1', '1 ', '1.5', '-1.50', '1.', '.5',
    '999999999999999', '-999999999999999', '1000000000000000', '9007199254740993', '-9223372036854775808', '12a', 'a12'];
  for (const text of edges) t.deepEqual(parseCanonicalDecimalBytes(Buffer.from(text, 'latin1')), parseCanonicalDecimal(text), text);
  const text = fc.oneof(
    fc.stringMatching(/^-?[0-9]{0,18}(\.[0-9]{0,4})?$/),
    decimalArb.map(formatDecimal),
    fc.string({ maxLength: 20 }),
  );
  fc.assert(fc.property(text, (s) => {
    const bytes = Buffer.from(s, 'latin1');
    const a = parseCanonicalDecimalBytes(bytes);
    const b = parseCanonicalDecimal(bytes.toString('latin1'));
    return a === undefined ? b === undefined : b !== undefined && a.m === b.m && a.e === b.e;
  }), { seed: 11, numRuns: 2000 });
});

test('INCR\'s and DECR\'s operations, encoded once, decode as they were built, as any other increment\'s', (t) => {
  t.deepEqual(decodeCounterOperation(encodeCounterOperation({ kind: 'by', increment: 1n })), { kind: 'by', increment: 1n });
  t.deepEqual(decodeCounterOperation(encodeCounterOperation({ kind: 'by', increment: -1n })), { kind: 'by', increment: -1n });
  t.deepEqual(decodeCounterOperation(encodeCounterOperation({ kind: 'by', increment: 7n })), { kind: 'by', increment: 7n });
});
