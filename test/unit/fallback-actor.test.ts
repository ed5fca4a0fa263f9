// A write coordinated as a fallback is minted under an actor of its own
// (versioning.ts fallbackActorId) and claims no earlier write of it, so a
// later write through the same node — as a primary, or as a fallback again
// once its hints went home — never supersedes an acknowledged fallback write
// it did not see. The simulation's hash workload lost a field so (a field
// added through a fallback, then another through the same node as a primary).
import test from 'ava';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { fallbackActorId, foldVersions, newVersion, type Mutation } from '../../src/coordinator/versioning.js';
import { encodeHashOperation } from '../../src/crdt/hash-operations.js';
import { fieldKeys, hashType } from '../../src/crdt/hash.js';
import '../../src/crdt/types.js';
import { typedValue } from '../../src/crdt/view.js';
import { MemoryActor } from '../../src/storage/actor.js';

const hset = (field: string): Mutation => ({ kind: 'operate', type: 'hash', operation: encodeHashOperation({ kind: 'set', pairs: [[Buffer.from(field), Buffer.from('1')]] }) });

function fields(record: readonly Sibling[]): readonly string[] {
  const value = typedValue(live(record, 2));
  return value === undefined ? [] : fieldKeys(hashType.decode(value.value));
}

test('fallback actor › a primary write through the node that wrote as a fallback keeps the fallback\'s field', (t) => {
  const d = new MemoryActor('d#e');
  // d coordinates as a fallback: its record of the key is empty, and is dropped again once the hint goes home.
  const fallback = newVersion([], hset('f1'), undefined, d, 1, { freshRun: true });
  t.is(fallback.dot.actor, fallbackActorId('d#e'));
  // Later d coordinates the key as a primary, holding nothing of it.
  const primary = newVersion([], hset('f2'), undefined, d, 2);
  t.is(primary.dot.actor, 'd#e');
  t.true(primary.dot.counter > fallback.dot.counter);
  // A replica holding the fallback's version receives the primary's: both fields stay.
  t.deepEqual([...fields(foldVersions([fallback], [primary]))].sort(), ['f1', 'f2']);
});

test('fallback actor › two fallback writes that did not see each other are both kept', (t) => {
  const d = new MemoryActor('d#e');
  const first = newVersion([], hset('f1'), undefined, d, 1, { freshRun: true });
  const second = newVersion([], hset('f2'), undefined, d, 2, { freshRun: true });
  t.deepEqual([...fields(foldVersions([first], [second]))].sort(), ['f1', 'f2']);
  // One that did see the first supersedes it, as any write over what it holds.
  const third = newVersion([first], hset('f3'), undefined, d, 3, { freshRun: true });
  t.deepEqual(foldVersions([first], [third]).map((v) => v.dot.counter), [third.dot.counter]);
});

test('fallback actor › a primary\'s write still supersedes its own earlier writes it reaped (the gap claim stays for the primary actor)', (t) => {
  const d = new MemoryActor('d#e');
  const tombstone = newVersion([], { kind: 'delete' }, undefined, d, 1);
  // d reaped its copy; another replica still holds the tombstone.
  const next = newVersion([], { kind: 'value', value: Buffer.from('v') }, undefined, d, 2);
  t.deepEqual(foldVersions([tombstone], [next]).map((v) => v.value.toString()), ['v']);
});
