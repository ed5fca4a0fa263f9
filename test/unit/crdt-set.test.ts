// The add-wins set (src/crdt/set.ts): the replica scenario of crdt-harness
// (delta law, convergence, join laws, codec) beside a textbook AWSet with
// explicit tags and explicit seen sets (no ranges, no gap claims, no
// compaction), which every replica must read alike at every step; a
// sequential model (a plain Set); add-wins; and corrupt input.
import test from 'ava';
import fc from 'fast-check';
import * as set from '../../src/crdt/set.js';
import type { SetState } from '../../src/crdt/set.js';
import { actors, checkCorruption, checkRun, runs, runSteps, stepsArb, type UnderTest } from './crdt-harness.js';

type Op = { readonly kind: 'add'; readonly members: string[] } | { readonly kind: 'remove'; readonly members: string[] };

const memberArb = fc.constantFrom('a', 'b', 'c', 'd', '', '\u00ff\u0000');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), members: fc.array(memberArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('remove' as const), members: fc.array(memberArb, { minLength: 1, maxLength: 3 }) }),
);

const bytes = (ms: readonly string[]): Buffer[] => ms.map((m) => Buffer.from(m, 'latin1'));

const underTest: UnderTest<SetState, Op> = {
  type: set.setType,
  clone: set.cloneSet,
  op: opArb,
  apply: (s, op, dot) => (op.kind === 'add' ? set.add(s, bytes(op.members), dot) : set.remove(s, bytes(op.members))),
  read: (s) => set.members(s).map((m) => m.toString('latin1')),
};

// The textbook AWSet: tags are "op|member", seen is every tag ever known.
interface Naive {
  alive: Set<string>;
  seen: Set<string>;
}
const naiveEmpty = (): Naive => ({ alive: new Set(), seen: new Set() });
const memberOfTag = (tag: string): string => tag.slice(tag.indexOf('|') + 1);
function naiveMerge(a: Naive, b: Naive): Naive {
  const alive = new Set<string>();
  for (const t of a.alive) if (b.alive.has(t) || !b.seen.has(t)) alive.add(t);
  for (const t of b.alive) if (!a.seen.has(t)) alive.add(t);
  return { alive, seen: new Set([...a.seen, ...b.seen]) };
}
function naiveApply(s: Naive, op: Op, id: string): { state: Naive; delta: Naive } {
  const delta = naiveEmpty();
  const state: Naive = { alive: new Set(s.alive), seen: new Set(s.seen) };
  for (const m of op.members) {
    for (const t of [...state.alive]) {
      if (memberOfTag(t) === m) {
        state.alive.delete(t);
        delta.seen.add(t);
      }
    }
    if (op.kind === 'add') {
      const tag = `${id}|${m}`;
      state.alive.add(tag);
      state.seen.add(tag);
      delta.alive.add(tag);
      delta.seen.add(tag);
    }
  }
  return { state, delta };
}
const naiveRead = (s: Naive): string[] => [...new Set([...s.alive].map(memberOfTag))].sort();

test('crdt set › replicas converge, deltas obey the delta law, joins are lawful, states survive the codec, and every read matches the textbook AWSet', (t) => {
  fc.assert(
    fc.property(stepsArb(opArb), (steps) => {
      // The textbook runs the same steps beside the implementation.
      const naive = actors.map(naiveEmpty);
      const naiveDeltas: Naive[] = [];
      let opId = 0;
      const run = runSteps(t, underTest, steps, undefined);
      // Replay for the textbook (runSteps is deterministic in the steps).
      const states = actors.map(() => set.emptySet());
      const counters = actors.map(() => 0);
      const deltas: SetState[] = [];
      for (const step of steps) {
        if (step.kind === 'op') {
          counters[step.replica]! += 1 + step.gap;
          const up = underTest.apply(states[step.replica]!, step.op, { actor: actors[step.replica]!, counter: counters[step.replica]! });
          deltas.push(up.delta);
          const n = naiveApply(naive[step.replica]!, step.op, String(opId++));
          naive[step.replica] = n.state;
          naiveDeltas.push(n.delta);
        } else if (step.kind === 'deliver') {
          if (deltas.length === 0) continue;
          const i = step.message % deltas.length;
          states[step.to] = set.merge(states[step.to]!, deltas[i]!);
          naive[step.to] = naiveMerge(naive[step.to]!, naiveDeltas[i]!);
        } else {
          states[step.to] = set.merge(states[step.to]!, states[step.from]!);
          naive[step.to] = naiveMerge(naive[step.to]!, naive[step.from]!);
        }
        for (let r = 0; r < actors.length; r++) t.deepEqual(underTest.read(states[r]!), naiveRead(naive[r]!));
      }
      checkRun(t, underTest as UnderTest<SetState, unknown>, run);
    }),
    runs,
  );
});

test('crdt set › one replica gives exactly what a plain Set gives', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      let s = set.emptySet();
      const model = new Set<string>();
      let counter = 0;
      for (const op of ops) {
        counter += 7; // node-wide counters skip
        s = underTest.apply(s, op, { actor: 'a#1', counter }).state;
        for (const m of op.members) op.kind === 'add' ? model.add(m) : model.delete(m);
        t.deepEqual(underTest.read(s), [...model].sort());
        t.is(set.size(s), model.size);
        for (const m of ['a', 'b', 'zz']) t.is(set.has(s, Buffer.from(m)), model.has(m));
      }
    }),
    runs,
  );
});

test('crdt set › add wins over a concurrent remove, and a remove wins over the adds it saw', (t) => {
  const a = Buffer.from('x');
  const base = set.add(set.emptySet(), [a], { actor: 'a#1', counter: 1 }).state;
  const left = set.cloneSet(base);
  const right = set.cloneSet(base);
  const removed = set.remove(left, [a]);
  const readded = set.add(right, [a], { actor: 'b#2', counter: 5 });
  t.true(set.has(set.merge(removed.state, readded.state), a));
  t.true(set.has(set.merge(set.merge(base, readded.delta), removed.delta), a));
  t.false(set.has(set.merge(base, removed.delta), a));
  // A remove that saw both adds removes the member everywhere.
  const both = set.merge(removed.state, readded.state);
  const gone = set.remove(set.cloneSet(both), [a]);
  t.false(set.has(set.merge(readded.state, gone.delta), a));
  t.false(set.has(set.merge(removed.state, gone.state), a));
});

test('crdt set › one write adding several members can lose one of them alone', (t) => {
  const s = set.add(set.emptySet(), bytes(['a', 'b', 'c']), { actor: 'a#1', counter: 3 }).state;
  const other = set.merge(set.emptySet(), s);
  const r = set.remove(s, bytes(['b']));
  t.deepEqual(underTest.read(set.merge(other, r.delta)), ['a', 'c']);
  // The removal's delta alone, merged before the add arrives, still removes only b.
  t.deepEqual(underTest.read(set.merge(set.merge(set.emptySet(), r.delta), other)), ['a', 'c']);
});

test('crdt set › a context of sparse node-wide counters stays one range per actor', (t) => {
  let s = set.emptySet();
  let counter = 0;
  for (let i = 0; i < 200; i++) {
    counter += 1 + (i % 13);
    s = set.add(s, [Buffer.from(String(i % 10))], { actor: 'a#1', counter }).state;
    if (i % 3 === 0) s = set.remove(s, [Buffer.from(String(i % 7))]).state;
  }
  t.deepEqual(s.ctx.ops.get('a#1'), [1, counter]);
  t.is(s.ctx.items.size, 0);
});

test('crdt set › truncated or corrupt bytes are refused with CrdtCodecError only', (t) => {
  let s = set.emptySet();
  s = set.add(s, bytes(['a', 'bb', '\u00ff']), { actor: 'a#1', counter: 4 }).state;
  s = set.merge(s, set.add(set.emptySet(), bytes(['bb', 'c']), { actor: 'b#2', counter: 9 }).state);
  s = set.merge(s, set.remove(set.cloneSet(s), bytes(['c'])).delta);
  const encoded = set.encode(s);
  checkCorruption(t, set.setType, encoded, Array.from({ length: 300 }, (_, i) => [i * 7, 1 + (i % 255)] as const));
  t.throws(() => set.decode(Buffer.from('garbage')), { code: 'CRDT_CORRUPT' });
  t.throws(() => set.decode(Buffer.alloc(0)), { code: 'CRDT_CORRUPT' });
  t.throws(() => set.decode('x' as unknown as Buffer), { code: 'CRDT_CORRUPT' });
});

test('crdt set › a state naming more actors than a writer lists (then indexes) survives the codec, and an actor id over 255 bytes is refused', (t) => {
  // Members added by 40 actors in an order that revisits them, so the encoder meets each actor again past its list.
  let state = set.emptySet();
  for (let i = 0; i < 200; i++) state = set.add(state, [Buffer.from(`m${i}`)], { actor: `node-${(i * 7) % 40}#1`, counter: i + 1 }).state;
  const bytes = set.encode(state);
  const back = set.decode(bytes);
  t.true(set.equals(back, state));
  t.true(set.encode(back).equals(bytes), 'the same bytes again');
  const long = { actor: 'a'.repeat(256), counter: 1 };
  for (let i = 0; i < 2; i++) t.throws(() => set.encode(set.add(set.emptySet(), [Buffer.from('x')], long).state), { message: /actor id longer than 255 bytes/ });
});
