// Lists (src/crdt/list.ts): the replica scenario of crdt-harness, a
// sequential model (a plain array with Redis's push, pop, insert, set and
// remove), concurrent pushes all kept in one order on every replica, LSET
// against a concurrent removal, and corrupt input.
import test from 'ava';
import fc from 'fast-check';
import * as list from '../../src/crdt/list.js';
import type { ListState } from '../../src/crdt/list.js';
import { checkCorruption, checkRun, runs, runSteps, stepsArb, type UnderTest } from './crdt-harness.js';

type Op =
  | { readonly kind: 'lpush' | 'rpush'; readonly values: string[] }
  | { readonly kind: 'insert'; readonly at: number; readonly value: string }
  | { readonly kind: 'lpop' | 'rpop'; readonly count: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: string }
  | { readonly kind: 'remove'; readonly at: number[] };

const valueArb = fc.constantFrom('x', 'y', 'z', '', '\u00ff');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('lpush' as const, 'rpush' as const), values: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('lpop' as const, 'rpop' as const), count: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), at: fc.uniqueArray(fc.nat({ max: 8 }), { maxLength: 3 }) }) },
);

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function apply(s: ListState, op: Op, dot: { actor: string; counter: number }) {
  const n = list.length(s);
  switch (op.kind) {
    case 'lpush':
      return list.insert(s, 0, op.values.map(b).reverse(), dot);
    case 'rpush':
      return list.insert(s, n, op.values.map(b), dot);
    case 'insert':
      return list.insert(s, op.at % (n + 1), [b(op.value)], dot);
    case 'lpop':
      return list.popEnd(s, 'head', op.count);
    case 'rpop':
      return list.popEnd(s, 'tail', op.count);
    case 'set':
      return n === 0 ? { state: s, delta: list.emptyList() } : list.setAt(s, op.at % n, b(op.value), dot);
    case 'remove':
      return list.removeAt(s, op.at.filter((i) => i < n));
  }
}

const read = (s: ListState): string[] => list.values(s).map((v) => v.toString('latin1'));

const underTest: UnderTest<ListState, Op> = { type: list.listType, clone: list.cloneList, op: opArb, apply, read };

test('crdt list › replicas converge, deltas obey the delta law, joins are lawful and states survive the codec', (t) => {
  fc.assert(
    fc.property(stepsArb(opArb), (steps) => checkRun(t, underTest as UnderTest<ListState, unknown>, runSteps(t, underTest, steps))),
    runs,
  );
});

test('crdt list › one replica gives exactly what a plain array gives', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      let s = list.emptyList();
      const model: string[] = [];
      let counter = 0;
      for (const op of ops) {
        counter += 5;
        const n = model.length;
        s = apply(s, op, { actor: 'a#1', counter }).state;
        if (op.kind === 'lpush') for (const v of op.values) model.unshift(v);
        else if (op.kind === 'rpush') model.push(...op.values);
        else if (op.kind === 'insert') model.splice(op.at % (n + 1), 0, op.value);
        else if (op.kind === 'lpop') model.splice(0, op.count);
        else if (op.kind === 'rpop') model.splice(Math.max(0, n - op.count), op.count);
        else if (op.kind === 'set') {
          if (n > 0) model[op.at % n] = op.value;
        } else if (op.kind === 'remove') {
          const doomed = new Set(op.at.filter((i) => i < n));
          const kept = model.filter((_, i) => !doomed.has(i));
          model.length = 0;
          model.push(...kept);
        }
        t.deepEqual(read(s), model);
        t.is(list.length(s), model.length);
        t.deepEqual(list.slice(s, 1, 3).map((v) => v.toString('latin1')), model.slice(1, 3));
        if (model.length > 0) t.is(list.at(s, model.length - 1)!.toString('latin1'), model[model.length - 1]);
      }
      // A fresh decode orders the same way.
      t.deepEqual(read(list.decode(list.encode(s))), model);
    }),
    runs,
  );
});

test('crdt list › concurrent pushes are all kept, each write contiguous, in the same order on every replica', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ replica: fc.integer({ min: 0, max: 2 }), tail: fc.boolean(), values: fc.array(fc.string({ maxLength: 2 }), { minLength: 1, maxLength: 3 }) }), { maxLength: 12 }),
      (pushes) => {
        const base = list.insert(list.emptyList(), 0, [b('base')], { actor: 'z#0', counter: 1 }).state;
        const states = [0, 1, 2].map(() => list.cloneList(base));
        const written: string[][] = [];
        pushes.forEach(({ replica, tail, values }, i) => {
          const s = states[replica]!;
          list.insert(s, tail ? list.length(s) : 0, values.map(b), { actor: `r${replica}`, counter: 10 + i });
          written.push(values);
        });
        const orders = [
          [0, 1, 2],
          [2, 1, 0],
          [1, 2, 0],
        ].map((o) => read(o.map((i) => states[i]!).reduce((x, y) => list.merge(x, y))));
        t.deepEqual(orders[1], orders[0]);
        t.deepEqual(orders[2], orders[0]);
        const final = orders[0]!;
        t.is(final.length, 1 + written.reduce((n, w) => n + w.length, 0));
        // Every write's values appear together and in their order.
        const joined = `\u0001${final.join('\u0001')}\u0001`;
        for (const w of written) t.true(joined.includes(`\u0001${w.join('\u0001')}\u0001`));
      },
    ),
    runs,
  );
});

test('crdt list › LSET concurrent with the element\'s removal leaves it removed; concurrent LSETs show the greatest dot', (t) => {
  const base = list.insert(list.emptyList(), 0, [b('a'), b('b')], { actor: 'a#1', counter: 1 }).state;
  const set = list.setAt(list.cloneList(base), 1, b('B'), { actor: 'b#2', counter: 4 });
  const rem = list.removeAt(list.cloneList(base), [1]);
  const merged = list.merge(set.state, rem.state);
  t.deepEqual(read(merged), ['a']);
  t.is(merged.overlays.size, 0);
  const other = list.setAt(list.cloneList(base), 1, b('C'), { actor: 'c#3', counter: 6 });
  t.deepEqual(read(list.merge(set.state, other.state)), ['a', 'C']);
  t.deepEqual(read(list.merge(base, set.delta)), ['a', 'B']);
});

test('crdt list › concurrent pops of one end may both take the same element', (t) => {
  const base = list.insert(list.emptyList(), 0, [b('a'), b('b'), b('c')], { actor: 'a#1', counter: 1 }).state;
  const left = list.popEnd(list.cloneList(base), 'head', 1);
  const right = list.popEnd(list.cloneList(base), 'head', 1);
  t.deepEqual(left.values.map(String), ['a']);
  t.deepEqual(right.values.map(String), ['a']);
  t.deepEqual(read(list.merge(left.state, right.state)), ['b', 'c']);
});

test('crdt list › identifiers stay shallow under repeated inserts into one gap', (t) => {
  let s = list.insert(list.emptyList(), 0, [b('a'), b('z')], { actor: 'a#1', counter: 1 }).state;
  let counter = 1;
  for (let i = 0; i < 200; i++) s = list.insert(s, 1 + (i % 2 === 0 ? 0 : list.length(s) - 2), [b(String(i))], { actor: 'a#1', counter: ++counter }).state;
  const depth = Math.max(...[...s.chunks.values()].map((c) => c.pos.path.length + 1));
  t.true(depth <= 3, `depth ${depth}`);
  t.is(list.length(s), 202);
});

test('crdt list › truncated or corrupt bytes are refused with CrdtCodecError only', (t) => {
  let s = list.insert(list.emptyList(), 0, [b('a'), b('b'), b('c')], { actor: 'a#1', counter: 2 }).state;
  s = list.insert(s, 1, [b('m')], { actor: 'a#1', counter: 3 }).state;
  s = list.setAt(s, 0, b('A'), { actor: 'a#1', counter: 4 }).state;
  s = list.removeAt(s, [2]).state;
  checkCorruption(t, list.listType, list.encode(s), Array.from({ length: 300 }, (_, i) => [i * 3, 1 + (i % 255)] as const));
});
