// Hashes (src/crdt/hash.ts): the replica scenario of crdt-harness, a
// sequential model (a Map of strings with Redis's HINCRBY/HINCRBYFLOAT on
// decimal text), the counter law, field conflicts, observed reset, add-wins
// and corrupt input.
import test from 'ava';
import fc from 'fast-check';
import * as hash from '../../src/crdt/hash.js';
import type { HashState } from '../../src/crdt/hash.js';
import { decimalOfInteger, formatDecimal, parseDecimal } from '../../src/crdt/decimal.js';
import { checkCorruption, checkRun, runs, runSteps, stepsArb, type UnderTest } from './crdt-harness.js';

type Op =
  | { readonly kind: 'set'; readonly pairs: [string, string][] }
  | { readonly kind: 'del'; readonly fields: string[] }
  | { readonly kind: 'incr'; readonly field: string; readonly by: string };

const fieldArb = fc.constantFrom('f', 'g', 'h', '\u00ff');
const valueArb = fc.oneof(fc.constantFrom('x', '', 'abc'), fc.integer({ min: -50, max: 50 }).map(String), fc.constantFrom('1.5', '-0.25', '2.10'));
const byArb = fc.oneof(fc.integer({ min: -1000, max: 1000 }).map(String), fc.constantFrom('0.1', '0.2', '-1.75', '3.05', '1e2'));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), pairs: fc.array(fc.tuple(fieldArb, valueArb), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('del' as const), fields: fc.array(fieldArb, { minLength: 1, maxLength: 2 }) }),
  fc.record({ kind: fc.constant('incr' as const), field: fieldArb, by: byArb }),
);

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function apply(s: HashState, op: Op, dot: { actor: string; counter: number }) {
  if (op.kind === 'set') return hash.setFields(s, op.pairs.map(([f, v]) => [b(f), b(v)] as const), dot);
  if (op.kind === 'del') return hash.removeFields(s, op.fields.map(b));
  // As the command layer will: an increment of a field that does not read as a number is refused (no write).
  if (hash.fieldNumber(s, b(op.field)) === undefined) return { state: s, delta: hash.emptyHash() };
  return hash.incrementField(s, b(op.field), parseDecimal(op.by)!, dot);
}

const underTest: UnderTest<HashState, Op> = {
  type: hash.hashType,
  clone: hash.cloneHash,
  op: opArb,
  apply,
  read: (s) => hash.entries(s).map(([f, v]) => [f.toString('latin1'), v.toString('latin1')]),
};

test('crdt hash › replicas converge, deltas obey the delta law, joins are lawful and states survive the codec', (t) => {
  fc.assert(
    fc.property(stepsArb(opArb), (steps) => checkRun(t, underTest as UnderTest<HashState, unknown>, runSteps(t, underTest, steps))),
    runs,
  );
});

// Redis-like model: strings; HINCRBY/HINCRBYFLOAT parse the text, add exactly
// (all values here have at most 2 decimals, where Redis's long double gives
// exact digits), print without trailing zeros.
function hundredths(text: string): bigint | undefined {
  const d = parseDecimal(text);
  if (d === undefined || d.e > 2) return undefined;
  return d.m * 10n ** BigInt(2 - d.e);
}
function printHundredths(n: bigint): string {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  const text = frac.length > 0 ? `${whole}.${frac}` : `${whole}`;
  return neg && text !== '0' ? `-${text}` : text;
}

test('crdt hash › one replica gives exactly what a Redis-like map of strings gives', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      let s = hash.emptyHash();
      const model = new Map<string, string>();
      let counter = 0;
      for (const op of ops) {
        counter += 3;
        s = apply(s, op, { actor: 'a#1', counter }).state;
        if (op.kind === 'set') for (const [f, v] of op.pairs) model.set(f, v);
        else if (op.kind === 'del') for (const f of op.fields) model.delete(f);
        else {
          const current = model.has(op.field) ? hundredths(model.get(op.field)!) : 0n;
          if (current !== undefined) model.set(op.field, printHundredths(current + hundredths(op.by)!));
        }
        t.deepEqual(underTest.read(s), [...model.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
        t.is(hash.fieldCount(s), model.size);
      }
    }),
    runs,
  );
});

test('crdt hash › counter law: every increment of every actor counts exactly once, whatever the merge order or duplication', (t) => {
  const incr = fc.record({ replica: fc.integer({ min: 0, max: 2 }), by: fc.integer({ min: -1e6, max: 1e6 }) });
  fc.assert(
    fc.property(fc.array(incr, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 60 }), (incrs, deliveries) => {
      const field = b('n');
      const base = hash.setFields(hash.emptyHash(), [[field, b('100')]], { actor: 'z#0', counter: 1 }).state;
      const states = [0, 1, 2].map(() => hash.cloneHash(base));
      const deltas: HashState[] = [];
      let total = 100n;
      incrs.forEach(({ replica, by }, i) => {
        const up = hash.incrementField(states[replica]!, field, decimalOfInteger(by), { actor: `r${replica}`, counter: 10 + i });
        deltas.push(up.delta);
        total += BigInt(by);
        // Random (duplicated, out-of-order) deliveries in between.
        for (const d of deliveries.slice(i * 2, i * 2 + 2)) states[d % 3] = hash.merge(states[d % 3]!, deltas[d % deltas.length]!);
      });
      const all = states.reduce((x, y) => hash.merge(x, y));
      for (const s of states) t.is(hash.getField(hash.merge(s, all), field)!.toString(), total.toString());
      const byDeltas = [...deltas, ...deltas.slice(0, 3)].reverse().reduce((x, d) => hash.merge(x, d), base);
      t.is(hash.getField(byDeltas, field)!.toString(), total.toString());
    }),
    runs,
  );
});

test('crdt hash › concurrent sets of one field keep both values, show the greatest dot and resolve with a later set', (t) => {
  const f = b('f');
  const base = hash.emptyHash();
  const left = hash.setFields(hash.cloneHash(base), [[f, b('left')]], { actor: 'a#1', counter: 7 });
  const right = hash.setFields(hash.cloneHash(base), [[f, b('right')]], { actor: 'b#2', counter: 5 });
  const merged = hash.merge(left.state, right.state);
  t.is(hash.getField(merged, f)!.toString(), 'left'); // counter 7 > 5
  t.deepEqual(hash.fieldConflict(merged, f)!.values.map(String), ['right', 'left']);
  const resolved = hash.setFields(hash.cloneHash(merged), [[f, b('both')]], { actor: 'b#2', counter: 9 });
  t.deepEqual(hash.fieldConflict(hash.merge(left.state, resolved.delta), f)!.values.map(String), ['both']);
  // Different fields written concurrently both survive.
  const g = hash.setFields(hash.cloneHash(base), [[b('g'), b('1')]], { actor: 'c#3', counter: 2 });
  t.deepEqual(underTest.read(hash.merge(merged, g.state)), [['f', 'left'], ['g', '1']]);
});

test('crdt hash › observed reset: a set replaces the increments it saw, an increment concurrent with a set adds to it', (t) => {
  const f = b('n');
  const s0 = hash.setFields(hash.emptyHash(), [[f, b('5')]], { actor: 'a#1', counter: 1 }).state;
  const s1 = hash.incrementField(hash.cloneHash(s0), f, decimalOfInteger(1), { actor: 'a#1', counter: 2 }); // operations change the state they are given
  t.is(s1.value.toString(), '6');
  const other = hash.merge(hash.emptyHash(), s1.state);
  const set10 = hash.setFields(hash.cloneHash(s1.state), [[f, b('10')]], { actor: 'a#1', counter: 3 });
  t.is(hash.getField(set10.state, f)!.toString(), '10');
  const concurrent = hash.incrementField(other, f, decimalOfInteger(4), { actor: 'b#2', counter: 3 });
  t.is(hash.getField(hash.merge(set10.state, concurrent.state), f)!.toString(), '14');
  // HINCRBYFLOAT, then back to an integer: Redis prints 5.5 then 5.
  const fl = hash.incrementField(hash.cloneHash(s0), f, parseDecimal('0.5')!, { actor: 'a#1', counter: 4 });
  t.is(fl.value.toString(), '5.5');
  t.is(formatDecimal(hash.fieldNumber(fl.state, f)!), '5.5');
  const back = hash.incrementField(fl.state, f, parseDecimal('-0.5')!, { actor: 'a#1', counter: 5 });
  t.is(back.value.toString(), '5');
  // A non-numeric register hides the counter until a set resets it.
  const text = hash.setFields(hash.merge(hash.emptyHash(), s0), [[f, b('abc')]], { actor: 'c#3', counter: 9 });
  const mixed = hash.merge(text.state, s1.state);
  t.is(hash.getField(mixed, f)!.toString(), 'abc');
  t.is(hash.fieldNumber(mixed, f), undefined);
});

test('crdt hash › HDEL loses to a concurrent HSET or HINCRBY of the field (add-wins)', (t) => {
  const f = b('f');
  const base = hash.setFields(hash.emptyHash(), [[f, b('1')]], { actor: 'a#1', counter: 1 }).state;
  const del = hash.removeFields(hash.cloneHash(base), [f]);
  const set = hash.setFields(hash.cloneHash(base), [[f, b('2')]], { actor: 'b#2', counter: 4 });
  const inc = hash.incrementField(hash.cloneHash(base), f, decimalOfInteger(3), { actor: 'c#3', counter: 4 });
  t.is(hash.getField(hash.merge(del.state, set.state), f)!.toString(), '2');
  // The increment saw "1"; the delete removed that "1", the increment's own +3 survives.
  t.is(hash.getField(hash.merge(del.state, inc.state), f)!.toString(), '3');
  t.false(hash.hasField(hash.merge(base, del.delta), f));
});

test('crdt hash › truncated or corrupt bytes are refused with CrdtCodecError only', (t) => {
  let s = hash.setFields(hash.emptyHash(), [[b('f'), b('v')], [b('n'), b('7')]], { actor: 'a#1', counter: 2 }).state;
  s = hash.incrementField(s, b('n'), parseDecimal('1.25')!, { actor: 'a#1', counter: 3 }).state;
  s = hash.merge(s, hash.setFields(hash.emptyHash(), [[b('f'), b('w')]], { actor: 'b#2', counter: 1 }).state);
  checkCorruption(t, hash.hashType, hash.encode(s), Array.from({ length: 300 }, (_, i) => [i * 5, 1 + (i % 255)] as const));
});
