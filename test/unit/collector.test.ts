// Reaping dead records (coordinator/collector.ts): a tombstone or expired
// value leaves storage only once every version in the record is dead, past
// the grace period, and every other replica holds nothing it supersedes.
import test from 'ava';
import { live } from '../../src/clock/siblings.js';
import { setType } from '../../src/crdt/set.js';
import { encodeSetOperation, type SetOperation } from '../../src/crdt/set-operations.js';
import '../../src/crdt/types.js';
import { typedValue } from '../../src/crdt/view.js';
import { SimCluster, values } from '../helpers/sim.js';

const graceMs = 1_000;

async function cluster(t: import('ava').ExecutionContext, nodes = 3, n = 3) {
  let now = 1_000_000;
  const sim = await SimCluster.start({ nodes, n, seed: 7, tombstoneGraceMs: graceMs, now: () => now });
  t.teardown(() => sim.stop());
  return { sim, advance: (ms: number) => (now += ms), now: () => now };
}

async function sweep(sim: SimCluster, ids: readonly string[] = sim.nodes.map((n) => n.id)): Promise<number> {
  let removed = 0;
  for (const id of ids) removed += await sim.node(id).coordinator.collector.step();
  return removed;
}

test('collector › a ring of one reaps dead records past grace and keeps the rest', async (t) => {
  const { sim, advance, now } = await cluster(t, 1, 1);
  const at = now();
  await sim.put('a', 'live', 'v', 1);
  await sim.put('a', 'deleted', 'v', 1);
  await sim.del('a', 'deleted', 1);
  await sim.node('a').coordinator.put(Buffer.from('expiring'), { kind: 'value', value: Buffer.from('v'), expiresAt: at + 500 }, { w: 1 });
  t.is(await sweep(sim), 0, 'nothing is past its grace yet');
  advance(graceMs);
  t.is(await sweep(sim), 1, 'the tombstone is past its grace; the expired value is not yet');
  advance(500);
  t.is(await sweep(sim), 1);
  t.deepEqual(values(sim.local('a', 'live')), ['v']);
  t.is(sim.node('a').storage.recordCount(), 1);
});

test('collector › a tombstone is not reaped while a replica that missed the delete is unreachable, however old', async (t) => {
  const { sim, advance } = await cluster(t);
  await sim.put('a', 'k', 'old', 3);
  sim.down('c');
  await sim.del('a', 'k', 2);
  advance(100 * graceMs);
  t.is(await sweep(sim, ['a', 'b']), 0);
  t.is(sim.local('a', 'k').length, 1);
  t.is(sim.node('a').coordinator.collector.stats.unconfirmed, 1);
});

// Failure 2 of the data-safety issue: once the others collected their
// tombstones, a replica that missed the DEL served the old value again.
test('collector › a replica that missed the delete is repaired first, then every replica reaps, and the value stays deleted', async (t) => {
  const { sim, advance, now } = await cluster(t);
  await sim.put('a', 'k', 'old', 3);
  sim.down('c');
  await sim.del('a', 'k', 2);
  sim.up('c');
  t.deepEqual(values(sim.local('c', 'k')), ['old'], 'c missed the delete');
  advance(2 * graceMs);
  t.is(await sweep(sim, ['a']), 0, 'c holds a version the tombstone supersedes: no reaping');
  t.true(sim.node('a').coordinator.collector.stats.repaired >= 1);
  // The repair carried the tombstone to c.
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.true(sim.local('c', 'k').every((s) => s.deleted), 'c now holds the tombstone');
  t.is(await sweep(sim), 3, 'every replica reaps');
  for (const node of sim.nodes) t.deepEqual(await sim.liveValues(node.id, 'k', 3), [], `read via ${node.id}`);
  t.true(now() > 0);
});

// Failure 1 of the data-safety issue: the node that collected first restarted
// its counter for the key, and its next write was folded under the old
// tombstone on the replicas that still had it — acknowledged, then lost.
test('collector › a write through the node that reaped first supersedes the tombstone the others still hold', async (t) => {
  const { sim, advance } = await cluster(t);
  await sim.put('b', 'k', 'first', 3);
  await sim.del('b', 'k', 3);
  advance(2 * graceMs);
  t.is(await sweep(sim, ['b']), 1, 'b reaps; a and c still hold the tombstone');
  t.is(sim.local('a', 'k').length, 1);
  await sim.put('b', 'k', 'new', 2);
  for (const node of sim.nodes) t.deepEqual(await sim.liveValues(node.id, 'k', 3), ['new'], `read via ${node.id}`);
  for (const id of ['a', 'c']) t.deepEqual(values(sim.local(id, 'k')), ['new'], `${id} stores the new value alone`);
});

test('collector › an expired value is reaped only with its replicas confirmed, and the older value under it never returns', async (t) => {
  const { sim, advance, now } = await cluster(t);
  await sim.put('a', 'k', 'old', 3);
  sim.down('c');
  await sim.node('a').coordinator.put(Buffer.from('k'), { kind: 'value', value: Buffer.from('brief'), expiresAt: now() + 10 }, { w: 2 });
  advance(10 + 2 * graceMs);
  t.is(await sweep(sim, ['a', 'b']), 0);
  sim.up('c');
  t.is(await sweep(sim, ['a']), 0, 'c still holds the older value: it is repaired instead');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(await sweep(sim), 3);
  for (const node of sim.nodes) t.deepEqual(await sim.liveValues(node.id, 'k', 3), [], `read via ${node.id}`);
});

test('collector › a record that gained a live version between the check and the reap is kept', async (t) => {
  const { sim, advance } = await cluster(t, 1, 1);
  await sim.put('a', 'k', 'v', 1);
  await sim.del('a', 'k', 1);
  advance(2 * graceMs);
  const coordinator = sim.node('a').coordinator;
  const confirm = coordinator.confirmReap.bind(coordinator);
  coordinator.confirmReap = async (key, dead) => {
    await sim.put('a', 'k', 'again', 1);
    return confirm(key, dead);
  };
  t.is(await sweep(sim), 0);
  t.deepEqual(values(sim.local('a', 'k')), ['again']);
});

// Issue 12 item 7: an emptied collection stays a version (its context removes,
// on merge, what it removed from concurrent versions), so it must be reaped as
// a tombstone is, or every key ever emptied would stay on disk.
test('collector › an emptied set removes what it saw from a concurrent version, then is reaped past grace like a tombstone', async (t) => {
  const { sim, advance } = await cluster(t);
  const set = (op: SetOperation) => ({ kind: 'operate', type: 'set', operation: encodeSetOperation(op) } as const);
  const key = Buffer.from('s');
  await sim.node('a').coordinator.put(key, set({ kind: 'add', members: [Buffer.from('x')] }), { w: 3 });
  sim.partition(['a', 'b'], ['c']);
  await sim.node('a').coordinator.put(key, set({ kind: 'remove', members: [Buffer.from('x')] }), { w: 2 });
  t.true(sim.local('a', 's').every((v) => v.emptied === true), 'the emptied set stays a typed version');
  advance(2 * graceMs);
  t.is(await sweep(sim, ['a']), 0, 'c holds the set the emptied version supersedes: nothing is reaped while it is unreachable');
  // A concurrent add on the other side: after the heal the removed member stays removed, the new one shows.
  await sim.node('c').coordinator.put(key, set({ kind: 'add', members: [Buffer.from('y')] }), { w: 1 });
  sim.heal();
  const merged = typedValue(live(await sim.get('b', 's', 3), Date.now()));
  t.deepEqual([...setType.decode(merged!.value).members.keys()], ['y']);
  // Once a write covers both, the set lives; emptying it again and waiting out the grace reaps it everywhere.
  await sim.node('b').coordinator.put(key, set({ kind: 'remove', members: [Buffer.from('y')] }), { w: 3 });
  advance(2 * graceMs);
  t.is(await sweep(sim), 3, 'every replica reaps the emptied set');
  for (const id of ['a', 'b', 'c']) t.is(sim.local(id, 's').length, 0);
});
