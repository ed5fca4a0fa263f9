// Key orders kept in step with a set's or hash's writes (crdt/key-order.ts):
// whatever the mix of adds, removes and reads, a read's order is exactly the
// keys sorted afresh, and a long run of writes with no read drops the order
// rather than splicing it for ever.
import test from 'ava';
import fc from 'fast-check';
import { emptyHash, fieldKeyAt, fieldKeys, incrementField, removeFields, setFields } from '../../src/crdt/hash.js';
import { insertKey, keyOrderMovesMax, readOrder, removeKey, sortedOrder } from '../../src/crdt/key-order.js';
import { add, emptySet, memberKeyAt, memberKeys, remove } from '../../src/crdt/set.js';

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3 }).map((u) => Buffer.from(u));
const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), keys: fc.array(keyArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('remove' as const), keys: fc.array(keyArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('increment' as const), keys: fc.array(keyArb, { minLength: 1, maxLength: 1 }) }),
  fc.constant({ kind: 'read' as const, keys: [] as Buffer[] }),
);

const sorted = (keys: Iterable<string>) => [...keys].sort();

test('key order › a set\'s and a hash\'s order after any writes is the keys sorted afresh (property)', (t) => {
  fc.assert(fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
    const set = emptySet();
    const hash = emptyHash();
    let counter = 0;
    for (const step of steps) {
      const dot = { actor: 'a#1', counter: ++counter };
      if (step.kind === 'add') {
        add(set, step.keys, dot);
        setFields(hash, step.keys.map((k) => [k, Buffer.from('v')] as const), dot);
      } else if (step.kind === 'remove') {
        remove(set, step.keys);
        removeFields(hash, step.keys);
      } else if (step.kind === 'increment') {
        const field = step.keys[0]!;
        if (!hash.fields.has(field.toString('latin1'))) incrementField(hash, field, { m: 1n, e: 0 }, dot);
      } else {
        t.deepEqual(memberKeys(set), sorted(set.members.keys()));
        t.deepEqual(fieldKeys(hash), sorted(hash.fields.keys()));
      }
      // A draw by position reads the kept order when there is one, the map's order otherwise: always a key there.
      if (set.members.size > 0) t.true(set.members.has(memberKeyAt(set, set.members.size - 1)));
      if (hash.fields.size > 0) t.true(hash.fields.has(fieldKeyAt(hash, 0)));
    }
    t.deepEqual(memberKeys(set), sorted(set.members.keys()));
    t.deepEqual(fieldKeys(hash), sorted(hash.fields.keys()));
  }), { numRuns: 300 });
});

test('key order › past its moves between two reads an order is given up; a read starts the count again', (t) => {
  const order = sortedOrder(['b', 'd']);
  for (let i = 0; i < keyOrderMovesMax; i++) t.true(insertKey(order, `c${i}`));
  t.false(insertKey(order, 'z'), 'one move too many: the caller drops the order');
  const again = sortedOrder(['b', 'd']);
  for (let i = 0; i < keyOrderMovesMax; i++) {
    t.true(insertKey(again, `c${i}`));
    readOrder(again);
  }
  t.true(removeKey(again, 'b'));
  t.deepEqual(readOrder(again), ['c0', 'c1', 'c10', 'c11', 'c12', 'c13', 'c14', 'c15', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'd']);
  t.false(removeKey(again, 'nothere'), 'a key not in the order: given up rather than guessed');
});
