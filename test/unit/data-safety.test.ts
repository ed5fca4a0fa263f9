// The data-safety failures found in review, one scenario each, over the
// in-process cluster (test/helpers/sim.ts): quorums that count only real
// replicas, writes that never go back in causality, and deletes that stay.
import test from 'ava';
import { causalContext, live } from '../../src/clock/siblings.js';
import { NotJoinedError, QuorumError } from '../../src/coordinator/errors.js';
import { SimCluster, values } from '../helpers/sim.js';

async function cluster(t: import('ava').ExecutionContext, nodes = 3, n = 3) {
  const sim = await SimCluster.start({ nodes, n, seed: 11 });
  t.teardown(() => sim.stop());
  return sim;
}

// Failure 3: a node that knew only itself acknowledged any W with one copy.
test('data safety › a node that has not joined its cluster serves no quorum operation', async (t) => {
  const sim = await cluster(t);
  const coordinator = sim.node('a').coordinator;
  (coordinator.view as { joined: () => boolean }).joined = () => false;
  await t.throwsAsync(coordinator.put(Buffer.from('k'), { kind: 'value', value: Buffer.from('v') }, { w: 1 }), { instanceOf: NotJoinedError });
  await t.throwsAsync(Promise.resolve().then(() => coordinator.get(Buffer.from('k'), 1)), { instanceOf: NotJoinedError });
});

test('data safety › a ring that lists one replica cannot acknowledge W=2', async (t) => {
  const sim = await cluster(t, 1, 1);
  const error = await t.throwsAsync(sim.put('a', 'k', 'v', 2), { instanceOf: QuorumError });
  t.is(error?.succeeded, 1, 'the local copy is counted');
  t.regex(error?.message ?? '', /1 of 2 needed/);
});

test('data safety › NOQUORUM counts the coordinator\'s own stored copy', async (t) => {
  const sim = await cluster(t);
  sim.down('b');
  sim.down('c');
  const error = await t.throwsAsync(sim.put('a', 'k', 'v', 2), { instanceOf: QuorumError });
  t.is(error?.succeeded, 1);
  t.deepEqual(values(sim.local('a', 'k')), ['v']);
});

// Failure 5: a forwarded write coordinated outside the preference list counted its own copy.
test('data safety › a node outside the key\'s preference list refuses to coordinate it; the forwarder tries the owners', async (t) => {
  const sim = await cluster(t, 5, 3);
  const key = sim.findKey('route', (replicas) => !replicas.includes('a') && !replicas.includes('b'));
  const owners = sim.replicasOf(key);
  // a's view is stale: it believes b is the key's first replica.
  const view = sim.node('a').coordinator.view as { preferenceList: (k: Buffer, t: Buffer) => readonly string[] };
  view.preferenceList = () => ['b', ...owners.slice(0, 2)];
  await sim.put('a', key, 'v', 2);
  t.deepEqual(sim.local('b', key), [], 'b stored nothing');
  const writers = new Set(sim.nodes.filter((n) => sim.local(n.id, key).length > 0).map((n) => n.id));
  t.true([...writers].every((id) => owners.includes(id)), `stored on ${[...writers].join(',')}`);
  t.true(writers.size >= 2);
});

// Failure 4: read-merge-write under concurrency grew clocks until pruning broke supersession.
test('data safety › read-merge-write with stale contexts keeps one clock entry per actor, and a DEL still deletes', async (t) => {
  const sim = await cluster(t);
  const key = 'hot';
  await sim.put('a', key, '', 3);
  for (let round = 0; round < 200; round++) {
    // Two clients read the same version, then both write back: the second is concurrent with the first.
    const via = sim.nodes[round % 3]!.id;
    const read = await sim.get(via, key, 2);
    const merged = [...new Set(live(read, Date.now()).flatMap((s) => s.value.toString().split(',').filter(Boolean)))];
    const context = causalContext(read);
    const put = (element: string, node: string) =>
      sim.node(node).coordinator.put(Buffer.from(key), { kind: 'value', value: Buffer.from([...merged, element].join(',')) }, { w: 2, context });
    await Promise.all([put(`x${round}`, via), put(`y${round}`, sim.nodes[(round + 1) % 3]!.id)]);
  }
  const record = await sim.get('a', key, 3);
  const elements = new Set(live(record, Date.now()).flatMap((s) => s.value.toString().split(',')));
  for (let round = 0; round < 200; round++) {
    t.true(elements.has(`x${round}`) && elements.has(`y${round}`), `round ${round} elements kept`);
  }
  const actors = new Set(record.flatMap((s) => [s.dot.actor, ...s.past.map((e) => e.actor)]));
  t.true(actors.size <= 3, `actors: ${[...actors].join(',')}`);
  t.true(record.length <= 3, `${record.length} siblings`);
  await sim.node('b').coordinator.put(Buffer.from(key), { kind: 'delete' }, { w: 2, context: causalContext(await sim.get('b', key, 2)) });
  for (const node of sim.nodes) t.deepEqual(await sim.liveValues(node.id, key, 2), [], `read via ${node.id}`);
});

// Failure 8: `SET k v PXAT 1` answered OK and left the old value readable.
test('data safety › a write whose absolute expiry has passed deletes the key', async (t) => {
  const sim = await cluster(t);
  await sim.put('a', 'k', 'old', 3);
  await sim.node('b').coordinator.put(Buffer.from('k'), { kind: 'value', value: Buffer.from('new'), expiresAt: 1 }, { w: 3 });
  for (const node of sim.nodes) t.deepEqual(await sim.liveValues(node.id, 'k', 3), [], `read via ${node.id}`);
  t.true(sim.local('a', 'k').every((s) => s.deleted), 'a tombstone marks the delete');
});

// Failure 1 (lost disk): a node rebuilt with its old id and an empty disk reused its counters.
test('data safety › a node rebuilt without its disk writes under a new actor: its new write and the old one both survive', async (t) => {
  const sim = await cluster(t);
  sim.down('a');
  await sim.put('b', 'k', 'before-wipe', 2);
  sim.up('a');
  await sim.wipe('b');
  sim.down('c');
  // b remembers nothing; a has nothing; the write is concurrent with the one c and the old b hold.
  await sim.put('b', 'k', 'after-wipe', 2);
  sim.up('c');
  const record = await sim.get('a', 'k', 3);
  t.deepEqual(values(live(record, Date.now())), ['after-wipe', 'before-wipe']);
  t.not(record[0]!.dot.actor, record[1]!.dot.actor);
});

test('data safety › a node\'s counters never repeat across keys, so a reaped key\'s next write is never folded away', async (t) => {
  const sim = await cluster(t, 1, 1);
  const dots = [];
  for (const key of ['a', 'b', 'a', 'c']) dots.push((await sim.put('a', key, 'v', 1)).stored[0]!.dot.counter);
  t.deepEqual(dots, [...dots].sort((x, y) => x - y));
  t.is(new Set(dots).size, dots.length);
});
