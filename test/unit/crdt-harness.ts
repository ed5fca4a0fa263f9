// The replica scenario every convergent type is checked with: three replicas,
// each with its own actor whose counters are node-wide (random gaps stand
// for writes to other keys), run random operations; deltas and whole states
// travel late, out of order, duplicated or never. At every operation the
// delta law is checked; at the end every replica merges everything and all
// must be equal, the join laws must hold on the replicas' states, and every
// state seen must survive its codec.
import fc from 'fast-check';
import type { ExecutionContext } from 'ava';
import type { Dot } from '../../src/clock/types.js';
import type { Convergent, Update } from '../../src/crdt/kind.js';

export interface UnderTest<S, Op> {
  readonly type: Convergent<S>;
  clone(s: S): S;
  readonly op: fc.Arbitrary<Op>;
  /** Applies `op` in place (ops may ignore arguments that do not fit the state, e.g. an index past the end). */
  apply(s: S, op: Op, dot: Dot): Update<S>;
  /** The value a client reads, comparable with deepEqual. */
  read(s: S): unknown;
}

export type Step<Op> =
  | { readonly kind: 'op'; readonly replica: number; readonly op: Op; readonly gap: number }
  | { readonly kind: 'deliver'; readonly to: number; readonly message: number }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number };

export const actors = ['a#1', 'b#2', 'c#3'];

export function stepsArb<Op>(op: fc.Arbitrary<Op>, maxLength = 40): fc.Arbitrary<Step<Op>[]> {
  const replica = fc.integer({ min: 0, max: actors.length - 1 });
  return fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('op' as const), replica, op, gap: fc.integer({ min: 0, max: 3 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), to: replica, message: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replica, to: replica }) },
    ),
    { maxLength },
  );
}

export interface Run<S> {
  readonly states: S[];
  readonly deltas: S[];
  readonly seen: S[];
}

/** Runs `steps`, checking the delta law at each operation. */
export function runSteps<S, Op>(t: ExecutionContext, u: UnderTest<S, Op>, steps: readonly Step<Op>[], observe?: (replica: number, s: S) => void): Run<S> {
  const states = actors.map(() => u.type.empty());
  const counters = actors.map(() => 0);
  const deltas: S[] = [];
  const seen: S[] = [];
  for (const step of steps) {
    if (step.kind === 'op') {
      const r = step.replica;
      const base = u.clone(states[r]!);
      counters[r]! += 1 + step.gap;
      const dot = { actor: actors[r]!, counter: counters[r]! };
      const { state, delta } = u.apply(states[r]!, step.op, dot);
      states[r] = state;
      deltas.push(delta);
      seen.push(delta);
      // The delta law: any state that includes the op's base reaches the same by the delta as by the whole new state.
      for (const other of states) {
        const x = u.type.merge(base, other === state ? base : other);
        if (!u.type.equals(u.type.merge(x, delta), u.type.merge(x, state))) {
          t.fail(`delta law broken by ${JSON.stringify(step.op, bufferJson)}`);
        }
      }
    } else if (step.kind === 'deliver') {
      if (deltas.length === 0) continue;
      states[step.to] = u.type.merge(states[step.to]!, deltas[step.message % deltas.length]!);
    } else {
      states[step.to] = u.type.merge(states[step.to]!, states[step.from]!);
    }
    seen.push(states[step.kind === 'op' ? step.replica : step.to]!);
    if (observe !== undefined) for (let r = 0; r < states.length; r++) observe(r, states[r]!);
  }
  return { states, deltas, seen };
}

/** Convergence, the join laws and the codec over a finished run. */
export function checkRun<S>(t: ExecutionContext, u: UnderTest<S, unknown>, run: Run<S>): void {
  const { merge, equals, encode, decode, empty } = u.type;
  const [a, b, c] = run.states as [S, S, S];
  const same = (x: S, y: S, what: string): void => {
    if (!equals(x, y)) t.fail(`${what}: states differ`);
    t.deepEqual(u.read(x), u.read(y), what);
  };
  same(merge(a, b), merge(b, a), 'commutative');
  same(merge(merge(a, b), c), merge(a, merge(b, c)), 'associative');
  same(merge(a, a), a, 'idempotent');
  same(merge(a, empty()), a, 'empty is the identity');
  same(merge(merge(a, b), b), merge(a, b), 'absorbs');
  // Every replica, merging everything the others hold, reaches one state.
  const all = merge(merge(a, b), c);
  for (const s of run.states) same(merge(merge(merge(s, c), b), a), all, 'converges');
  // The deltas alone carry every operation: merged in any order they give the same state as the replicas.
  if (run.deltas.length > 0) {
    const forward = run.deltas.reduce((acc, d) => merge(acc, d), empty());
    const backward = [...run.deltas].reverse().reduce((acc, d) => merge(acc, d), empty());
    same(forward, all, 'deltas carry everything');
    same(backward, all, 'deltas in reverse');
  }
  for (const s of [...run.seen, all]) {
    const bytes = encode(s);
    const back = decode(bytes);
    if (!equals(back, s)) t.fail('codec round trip changed the state');
    t.deepEqual(u.read(back), u.read(s));
    t.true(encode(back).equals(bytes), 'codec round trip changed the bytes');
  }
}

/** Every truncation of `bytes`, and every single-byte change, decodes to a state or a CrdtCodecError, never anything else. */
export function checkCorruption<S>(t: ExecutionContext, type: Convergent<S>, bytes: Buffer, flips: readonly (readonly [number, number])[]): void {
  for (let end = 0; end < bytes.length; end++) {
    t.throws(() => type.decode(bytes.subarray(0, end)), { code: 'CRDT_CORRUPT' } as never, `truncated at ${end}`);
  }
  for (const [at, xor] of flips) {
    if (bytes.length === 0) break;
    const copy = Buffer.from(bytes);
    copy[at % copy.length] ^= xor;
    try {
      const s = type.decode(copy);
      type.encode(s);
    } catch (err) {
      if ((err as { code?: string }).code !== 'CRDT_CORRUPT') t.fail(`corrupt byte ${at % copy.length} threw ${String(err)}`);
    }
  }
  t.throws(() => type.decode(Buffer.concat([bytes, Buffer.of(0)])), { code: 'CRDT_CORRUPT' } as never, 'trailing byte');
}

export function bufferJson(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') return Buffer.from((value as { data: number[] }).data).toString('latin1');
  return value;
}

export const runs = { seed: 1212, numRuns: 150 };
