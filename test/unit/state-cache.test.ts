// Decoded states kept between operations (crdt/state-cache.ts): a large
// collection's coordinator applies each operation to the state the previous
// one left instead of decoding the stored value. Whatever the cache does,
// every stored value must decode to exactly what a model of the commands
// says, and a state must never be handed out twice.
import test from 'ava';
import fc from 'fast-check';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import type { Mutation } from '../../src/coordinator/versioning.js';
import { decodeListOutcome, encodeListOperation } from '../../src/crdt/list-operation.js';
import { listType, values } from '../../src/crdt/list.js';
import { decodeMembersOutcome, encodeSetOperation } from '../../src/crdt/set-operations.js';
import { memberKeys, setType } from '../../src/crdt/set.js';
import { decodedStateBytesMin, decodedStatesBytesMax, keepState, keptStates, takeKeptState, takeState } from '../../src/crdt/state-cache.js';
import '../../src/crdt/types.js';
import { withStateOf } from '../../src/crdt/view.js';
import { SimCluster } from '../helpers/sim.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const pad = 'x'.repeat(40);

test('state cache › a kept state is handed out once; a version without one is decoded', (t) => {
  const state = setType.decode(setType.encode(setType.empty()));
  const version: Sibling = { value: Buffer.alloc(decodedStateBytesMin), dot: { actor: 'a', counter: 1 }, past: [], timestamp: 1, type: 'set' };
  const before = keptStates().states;
  keepState(version, state);
  t.is(keptStates().states, before + 1);
  t.is(takeState(version, setType), state);
  t.is(keptStates().states, before);
  const small: Sibling = { ...version, value: setType.encode(setType.empty()) };
  keepState(small, state);
  t.not(takeState(small, setType), state, 'a small value is not worth keeping: decoded afresh');
});

test('state cache › one state as large as the whole budget is kept; a larger one is not', (t) => {
  const state = setType.decode(setType.encode(setType.empty()));
  // A value's bytes are only measured here: a state the cache keeps is the caller's, never decoded from them.
  const version = (bytes: number): Sibling => ({ value: Buffer.alloc(bytes), dot: { actor: 'a', counter: bytes }, past: [], timestamp: 1, type: 'set' });
  const whole = version(decodedStatesBytesMax);
  keepState(whole, state);
  t.is(takeState(whole, setType), state, 'a hot collection of a quarter of the budget or more is not decoded per operation');
  const over = version(decodedStatesBytesMax + 1);
  const before = keptStates().states;
  keepState(over, state);
  t.is(keptStates().states, before);
});

test('state cache › past the budget the least recently kept state goes first, whichever key is hot', (t) => {
  // Four states of a third of the budget and a little more: keeping a third pushes out one. Their bytes are only
  // measured (takeKeptState never decodes), so they need not be a set's encoding.
  const third = Math.floor(decodedStatesBytesMax / 3) + 1;
  const version = (counter: number): Sibling => ({ value: Buffer.alloc(third), dot: { actor: 'lru', counter }, past: [], timestamp: 1, type: 'set' });
  const [a, b2, c, d] = [1, 2, 3, 4].map(version) as [Sibling, Sibling, Sibling, Sibling];
  const states = new Map([a, b2, c, d].map((v) => [v, { of: v.dot.counter }]));
  const keep = (v: Sibling) => keepState(v, states.get(v));
  keep(a);
  keep(b2);
  keep(c); // over the budget: a, the oldest, goes
  t.is(takeKeptState(a), undefined);
  t.is(takeKeptState(b2), states.get(b2), 'taken from behind the most recent one');
  keep(b2); // kept again: now the most recent, c the oldest
  keep(d); // c goes, b2 stays
  t.is(takeKeptState(c), undefined);
  t.is(takeKeptState(b2), states.get(b2));
  t.is(takeKeptState(d), states.get(d));
  t.is(takeKeptState(d), undefined, 'handed out once');
});

test('state cache › a read in one step is lent the state a write left; without one it gets a decoded state', (t) => {
  const state = setType.decode(setType.encode(setType.empty()));
  const version: Sibling = { value: Buffer.alloc(decodedStateBytesMin), dot: { actor: 'lent', counter: 1 }, past: [], timestamp: 1, type: 'set' };
  keepState(version, state);
  t.is(withStateOf(version, setType, (s) => s), state, 'lent, not decoded');
  t.is(takeState(version, setType), state, 'lending leaves it kept for the next operation');
  const plain: Sibling = { ...version, dot: { actor: 'lent', counter: 2 }, value: setType.encode(setType.empty()) };
  t.not(withStateOf(plain, setType, (s) => s), state);
});

const setOp = (op: Parameters<typeof encodeSetOperation>[0]): Mutation => ({ kind: 'operate', type: 'set', operation: encodeSetOperation(op) });
const listOp = (op: Parameters<typeof encodeListOperation>[0]): Mutation => ({ kind: 'operate', type: 'list', operation: encodeListOperation(op) });

function storedValue(sim: SimCluster, key: string): Sibling {
  const versions = live(sim.local('a', key), Date.now());
  if (versions.length !== 1) throw new Error(`expected one version, found ${versions.length}`);
  return versions[0]!;
}

test('state cache › a large set\'s stored value after every operation is the model\'s set (property)', async (t) => {
  const sim = await SimCluster.start({ nodes: 1, n: 1, seed: 11 });
  t.teardown(() => sim.stop());
  let round = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(fc.oneof(
      fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant('remove' as const), n: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant('pop' as const), n: fc.integer({ min: 1, max: 3 }) }),
    ), { minLength: 5, maxLength: 40 }),
    async (ops) => {
      const key = Buffer.from(`s${round++}`);
      const model = new Set<string>();
      // Past the cache's minimum size from the start.
      const seed = Array.from({ length: 200 }, (_, i) => `${pad}${i}`);
      await sim.node('a').coordinator.put(key, setOp({ kind: 'add', members: seed.map(b) }), { w: 1 });
      for (const m of seed) model.add(m);
      for (const op of ops) {
        const member = `${pad}${op.n}`;
        if (op.kind === 'add') {
          await sim.node('a').coordinator.put(key, setOp({ kind: 'add', members: [b(member)] }), { w: 1 });
          model.add(member);
        } else if (op.kind === 'remove') {
          await sim.node('a').coordinator.put(key, setOp({ kind: 'remove', members: [b(member)] }), { w: 1 });
          model.delete(member);
        } else {
          const popped = await sim.node('a').coordinator.put(key, setOp({ kind: 'pop', count: op.n }), { w: 1 });
          for (const m of decodeMembersOutcome(popped.outcome)) t.true(model.delete(m.toString('latin1')), 'a pop returns members the set held');
        }
        const version = storedValue(sim, key.toString('latin1'));
        if (version.emptied === true) t.is(model.size, 0);
        else t.deepEqual(memberKeys(setType.decode(version.value)), [...model].sort());
      }
      t.true(model.size === 0 || keptStates().states > 0, 'the large set\'s state is kept between operations');
    },
  ), { seed: 5, numRuns: 25 });
  t.pass();
});

test('state cache › a large list keeps its order through pushes and pops at both ends (property)', async (t) => {
  const sim = await SimCluster.start({ nodes: 1, n: 1, seed: 12 });
  t.teardown(() => sim.stop());
  let round = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(fc.constantFrom('lpush', 'rpush', 'lpop', 'rpop'), { minLength: 5, maxLength: 60 }),
    async (ops) => {
      const key = Buffer.from(`l${round++}`);
      const model = Array.from({ length: 150 }, (_, i) => `${pad}${i}`);
      await sim.node('a').coordinator.put(key, listOp({ kind: 'push', end: 'tail', values: model.map(b), onlyIfExists: false }), { w: 1 });
      let next = model.length;
      for (const op of ops) {
        if (op === 'lpush' || op === 'rpush') {
          const element = `${pad}${next++}`;
          await sim.node('a').coordinator.put(key, listOp({ kind: 'push', end: op === 'lpush' ? 'head' : 'tail', values: [b(element)], onlyIfExists: false }), { w: 1 });
          if (op === 'lpush') model.unshift(element);
          else model.push(element);
        } else {
          const popped = await sim.node('a').coordinator.put(key, listOp({ kind: 'pop', end: op === 'lpop' ? 'head' : 'tail', count: 1 }), { w: 1 });
          const answer = decodeListOutcome(popped.outcome!);
          const expected = op === 'lpop' ? model.shift() : model.pop();
          t.deepEqual(answer.kind === 'elements' ? answer.values?.map((v) => v.toString('latin1')) : undefined, expected === undefined ? undefined : [expected]);
        }
        t.deepEqual(values(listType.decode(storedValue(sim, key.toString('latin1')).value)).map((v) => v.toString('latin1')), model);
      }
    },
  ), { seed: 6, numRuns: 25 });
  t.pass();
});
