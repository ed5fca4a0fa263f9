// Minting versions and folding them (src/coordinator/versioning.ts): the dot
// a coordinator's actor mints, the past it gives the version, and the one
// fold every path uses. Histories across replicas are in dvv-laws.test.ts.
import test from 'ava';
import fc from 'fast-check';
import { causalContext, reconcile, supersedes } from '../../src/clock/siblings.js';
import { counterOf, covers, descends } from '../../src/clock/vclock.js';
import type { Sibling, VClock } from '../../src/clock/types.js';
import { foldVersions, newVersion, type Mutation } from '../../src/coordinator/versioning.js';
import { MemoryActor } from '../../src/storage/actor.js';

const value = (text: string, expiresAt?: number): Mutation =>
  expiresAt === undefined ? { kind: 'value', value: Buffer.from(text) } : { kind: 'value', value: Buffer.from(text), expiresAt };
const del: Mutation = { kind: 'delete' };

/** Mints a version at `actor` over `stored` and folds it in, as a coordinator's local write does. */
function write(stored: Sibling[], text: string, actor: MemoryActor, now: number, context?: VClock): Sibling[] {
  return foldVersions(stored, [newVersion(stored, value(text), context, actor, now)]);
}

const texts = (record: readonly Sibling[]) => record.map((s) => s.value.toString()).sort();

test('versioning › a plain write supersedes everything the coordinator stores', (t) => {
  const a = new MemoryActor('A#1');
  const b = new MemoryActor('B#1');
  let record = write([], 'x', a, 1);
  record = foldVersions(record, write([], 'y', b, 2));
  t.deepEqual(texts(record), ['x', 'y'], 'writes that never saw each other are siblings');
  const next = newVersion(record, value('z'), undefined, a, 4);
  for (const s of record) t.true(supersedes(next, s));
  t.true(descends(next.past, causalContext(record)));
  record = foldVersions(record, [next]);
  t.deepEqual(texts(record), ['z']);
});

test('versioning › a write with a context keeps what the context does not cover', (t) => {
  const a = new MemoryActor('A#1');
  const b = new MemoryActor('B#1');
  const s1 = write([], 'one', a, 1);
  const context = causalContext(s1);
  const both = foldVersions(s1, write([], 'two', b, 2));
  const resolved = write(both, 'merged', a, 4, context);
  t.deepEqual(texts(resolved), ['merged', 'two']);
});

test('versioning › a stale context does not supersede a version it did not see, but supersedes what it saw', (t) => {
  const a = new MemoryActor('A#1');
  const first = write([], 'v1', a, 1);
  const staleContext = causalContext(first);
  const second = write(first, 'v2', a, 2);
  const v2 = second[0]!;
  const v3 = newVersion(second, value('v3'), staleContext, a, 3);
  t.deepEqual(v3.past, staleContext, 'the past is exactly the context given');
  t.true(v3.dot.counter > v2.dot.counter, 'the dot is above every counter of the actor in the record');
  t.false(supersedes(v3, v2), 'v2 was not in the context');
  t.true(supersedes(v3, first[0]!), 'v1 was');
  const third = foldVersions(second, [v3]);
  t.deepEqual(texts(third), ['v2', 'v3']);
  // v1 arriving late from a stale replica stays gone: v2 and v3 both saw it.
  t.deepEqual(texts(foldVersions(third, first)), ['v2', 'v3']);
  // Two writes with the same stale context stay distinct versions too.
  const fourth = write(third, 'v4', a, 4, staleContext);
  t.deepEqual(texts(fourth), ['v2', 'v3', 'v4']);
  // A context read now covers all three, so a write over it resolves them.
  t.deepEqual(texts(write(fourth, 'resolved', a, 5, causalContext(fourth))), ['resolved']);
});

test('versioning › a stale context at another coordinator does not supersede what it did not see either', (t) => {
  const a = new MemoryActor('A#1');
  const b = new MemoryActor('B#1');
  const first = write([], 'v1', a, 1);
  const staleContext = causalContext(first);
  const second = write(first, 'v2', a, 2);
  // B holds what A holds (replicated) and coordinates a client write with the stale context.
  const atB = write(second, 'from-b', b, 3, staleContext);
  t.deepEqual(texts(atB), ['from-b', 'v2']);
});

test('versioning › counters strictly increase per actor across keys, whatever the contexts', (t) => {
  const opArb = fc.record({
    key: fc.constantFrom(0, 1),
    kind: fc.constantFrom<'plain' | 'context' | 'delete' | 'forged'>('plain', 'context', 'delete', 'forged'),
    pick: fc.nat(),
    forged: fc.integer({ min: 1, max: 1000 }),
  });
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'medium' }), (ops) => {
      const actor = new MemoryActor('A#1');
      const records: Sibling[][] = [[], []];
      const contexts: VClock[][] = [[[]], [[]]];
      let last = 0;
      let now = 0;
      for (const op of ops) {
        const stored = records[op.key]!;
        const seen = contexts[op.key]!;
        const context =
          op.kind === 'context' ? seen[op.pick % seen.length]! : op.kind === 'forged' ? [{ actor: actor.id, counter: op.forged }] : undefined;
        const v = newVersion(stored, op.kind === 'delete' ? del : value(`v${now}`), context, actor, ++now);
        if (!(v.dot.counter > last)) return false;
        if (v.dot.actor !== actor.id) return false;
        if (covers(v.past, v.dot)) return false; // never covered by its own past
        if (context !== undefined && v.dot.counter <= counterOf(context, actor.id)) return false;
        last = v.dot.counter;
        records[op.key] = foldVersions(stored, [v]);
        seen.push(causalContext(records[op.key]!));
      }
      return true;
    }),
    { seed: 7, numRuns: 300 },
  );
  t.pass();
});

test('versioning › a context claiming a higher counter of this actor (another key, a forged one) pushes the dot above it', (t) => {
  const a = new MemoryActor('A#1');
  const v = newVersion([], value('x'), [{ actor: 'A#1', counter: 100 }], a, 1);
  t.deepEqual(v.dot, { actor: 'A#1', counter: 101 });
  t.deepEqual(v.past, [{ actor: 'A#1', counter: 100 }]);
  t.is(newVersion([], value('y'), undefined, a, 2).dot.counter, 102, 'the actor never goes back');
});

test('versioning › a plain write over nothing still covers the actor\u2019s earlier events', (t) => {
  const a = new MemoryActor('A#1');
  const first = newVersion([], value('x'), undefined, a, 1);
  t.deepEqual(first.dot, { actor: 'A#1', counter: 1 });
  t.deepEqual(first.past, [], 'the very first event has an empty past');
  a.next(0); // a write to another key
  const later = newVersion([], value('y'), undefined, a, 2);
  t.deepEqual(later.dot, { actor: 'A#1', counter: 3 });
  t.deepEqual(later.past, [{ actor: 'A#1', counter: 2 }]);
  t.true(supersedes(later, first));
});

test('versioning › a value whose expiry is at or before now is a tombstone; a future one keeps its value and expiry', (t) => {
  const a = new MemoryActor('A#1');
  const stored = write([], 'v', a, 1);
  for (const expiresAt of [1, 999, 1000]) {
    const v = newVersion(stored, value('gone', expiresAt), undefined, a, 1000);
    t.true(v.deleted, `expiresAt ${expiresAt}`);
    t.is(v.value.length, 0);
    t.is(v.expiresAt, undefined);
    t.is(v.timestamp, 1000);
    t.true(supersedes(v, stored[0]!), 'it deletes what it covers');
  }
  const kept = newVersion(stored, value('later', 1001), undefined, a, 1000);
  t.falsy(kept.deleted);
  t.is(kept.expiresAt, 1001);
  t.is(kept.value.toString(), 'later');
});

test('versioning › a delete makes a tombstone that beats the value it covers, and folding never collects it', (t) => {
  const a = new MemoryActor('A#1');
  const stored = write([], 'v', a, 1);
  const tombstone = newVersion(stored, del, undefined, a, 2);
  t.true(tombstone.deleted);
  t.is(tombstone.timestamp, 2);
  const deleted = foldVersions(stored, [tombstone]);
  t.deepEqual(deleted, [tombstone]);
  // A stale replica's old value folds in and stays dead.
  t.deepEqual(foldVersions(deleted, stored), [tombstone]);
  // Nothing is collected by a fold, however old the tombstone.
  t.deepEqual(foldVersions(deleted, []), [tombstone]);
});

test('versioning › a write after the record was reaped gets a counter above the earlier ones and supersedes the old tombstone', (t) => {
  const a = new MemoryActor('A#1');
  const b = new MemoryActor('B#1');
  let record = write([], 'v', a, 1);
  record = write(record, 'w', a, 2);
  const tombstone = newVersion(record, del, undefined, a, 3);
  record = foldVersions(record, [tombstone]);
  // The collector reaped the record everywhere: the key is empty again.
  record = [];
  const again = newVersion(record, value('again'), undefined, a, 10);
  t.true(again.dot.counter > tombstone.dot.counter);
  t.true(supersedes(again, tombstone), 'a stale replica\u2019s tombstone folding in later does not stay beside it');
  t.deepEqual(foldVersions([again], [tombstone]), [again]);
  // Another coordinator's plain write over the empty record never saw the tombstone: both stay.
  const elsewhere = newVersion([], value('elsewhere'), undefined, b, 11);
  t.false(supersedes(elsewhere, tombstone));
  t.is(foldVersions([elsewhere], [tombstone]).length, 2);
});

test('versioning › foldVersions is reconcile of both records, fast path included', (t) => {
  const opArb = fc.record({ at: fc.nat({ max: 2 }), from: fc.nat({ max: 2 }), kind: fc.constantFrom('plain', 'context', 'sync', 'delete'), pick: fc.nat() });
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 30, size: 'medium' }), (ops) => {
      const actors = [new MemoryActor('A#1'), new MemoryActor('B#1'), new MemoryActor('C#1')];
      const records: Sibling[][] = [[], [], []];
      const contexts: VClock[] = [[]];
      let now = 0;
      for (const op of ops) {
        const stored = records[op.at]!;
        const incoming =
          op.kind === 'sync'
            ? records[op.from]!
            : [newVersion(stored, op.kind === 'delete' ? del : value(`v${now}`), op.kind === 'context' ? contexts[op.pick % contexts.length] : undefined, actors[op.at]!, ++now)];
        const folded = foldVersions(stored, incoming);
        t.deepEqual(folded, reconcile([...stored, ...incoming]));
        records[op.at] = folded;
        contexts.push(causalContext(folded));
      }
    }),
    { seed: 11, numRuns: 200 },
  );
});

test('versioning › foldVersions with nothing incoming or nothing stored returns the other side reconciled', (t) => {
  const a = new MemoryActor('A#1');
  const b = new MemoryActor('B#1');
  const record = foldVersions(write([], 'x', a, 1), write([], 'y', b, 2));
  t.deepEqual(foldVersions(record, []), record);
  t.deepEqual(foldVersions([], record), record);
  t.deepEqual(foldVersions([], []), []);
});
