// Sloppy quorum and hinted handoff over the in-process cluster: a down
// primary's share of a write goes to a fallback as a hint, counts toward W,
// and reaches the primary when it is back without any read; STRICT counts
// only primaries.
import test from 'ava';
import { live } from '../../src/clock/siblings.js';
import { QuorumError } from '../../src/coordinator/errors.js';
import { eventually, SimCluster, values } from '../helpers/sim.js';

async function cluster(t: import('ava').ExecutionContext) {
  // Down nodes fail requests at once; the timeout only bites when a loaded box delays a live one (200 ms made the hint counts flaky under load).
  const sim = await SimCluster.start({ nodes: 5, n: 3, seed: 21, hints: true, requestTimeoutMs: 1_000 });
  t.teardown(() => sim.stop());
  return sim;
}

/** Keys whose first primary is `coordinator` and whose other two primaries are `down`. */
function keysOwnedBy(sim: SimCluster, coordinator: string, down: readonly string[], count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `k${i}`;
    const replicas = sim.replicasOf(key);
    if (replicas[0] === coordinator && down.every((id) => replicas.includes(id))) keys.push(key);
  }
  return keys;
}

test('sloppy quorum › with two of a key\'s primaries down, W=2 writes succeed through fallbacks and reach the primaries on their return, with no read', async (t) => {
  const sim = await cluster(t);
  const [a, b, c] = ['a', 'b', 'c'];
  const keys = keysOwnedBy(sim, a, [b, c], 40);
  sim.down(b);
  sim.down(c);
  for (const key of keys) await sim.put(a, key, `v-${key}`, 2);
  const fallbacks = sim.nodes.filter((n) => ![a, b, c].includes(n.id));
  const pending = () => fallbacks.reduce((sum, n) => sum + [...n.hints!.pending().values()].reduce((s, p) => s + p.count, 0), 0);
  // W=2 answers at the primary and the first fallback; the second fallback's hint may land a moment later.
  t.true(await eventually(() => pending() === 2 * keys.length, 15_000), `one hint per down primary per key (${pending()})`);
  t.true(sim.node(a).coordinator.stats.writesWithFallbacks >= keys.length);
  for (const key of keys) t.deepEqual(sim.local(b, key), [], 'the primaries were down');
  // Reads at R=2 use the fallbacks too.
  for (const key of keys.slice(0, 5)) t.deepEqual(await sim.liveValues(a, key, 2), [`v-${key}`]);
  sim.up(b);
  sim.up(c);
  for (const n of fallbacks) n.handoff!.kick();
  t.true(await eventually(() => keys.every((key) => values(sim.local(b, key)).includes(`v-${key}`) && values(sim.local(c, key)).includes(`v-${key}`)), 15_000),
    'every hinted write is on its primaries');
  t.true(await eventually(() => fallbacks.every((n) => n.hints!.pending().size === 0), 15_000), 'no hint left');
  // A hint leaves the index when its removal is queued and counts as delivered once that removal commits: wait for the count.
  const delivered = () => fallbacks.reduce((sum, n) => sum + n.hints!.stats.delivered, 0);
  await eventually(() => delivered() >= 2 * keys.length, 15_000);
  t.is(delivered(), 2 * keys.length, 'each hint delivered once');
});

test('sloppy quorum › STRICT counts only primaries: with two down, W=2 answers NOQUORUM (and still leaves hints)', async (t) => {
  const sim = await cluster(t);
  const [key] = keysOwnedBy(sim, 'a', ['b', 'c'], 1);
  sim.down('b');
  sim.down('c');
  const error = await t.throwsAsync(sim.node('a').coordinator.put(Buffer.from(key!), { kind: 'value', value: Buffer.from('v') }, { w: 2, strict: true }), { instanceOf: QuorumError });
  t.is(error?.succeeded, 1);
  await t.throwsAsync(Promise.resolve().then(() => sim.node('a').coordinator.get(Buffer.from(key!), 2, true)), { instanceOf: QuorumError });
  t.true(await eventually(() => sim.nodes.some((n) => n.hints!.pending().size > 0), 2_000), 'the hints were left anyway');
});

test('sloppy quorum › a primary that fails a write (not yet seen down) is replaced by a fallback for that write', async (t) => {
  const sim = await cluster(t);
  const [key] = keysOwnedBy(sim, 'a', ['b', 'c'], 1);
  // Every message to b is lost: b looks up but never answers; the write waits one timeout, then uses a fallback.
  sim.partition(['a'], ['b']);
  const view = sim.node('a').coordinator.view as { isUp: (id: string) => boolean };
  view.isUp = () => true;
  sim.down('c');
  await sim.put('a', key!, 'v', 3);
  const record = await sim.get('a', key!, 1);
  t.deepEqual(values(live(record, Date.now())), ['v']);
  t.is(sim.nodes.reduce((sum, n) => sum + (n.hints?.pending().size ?? 0), 0), 2, 'hints for b and c');
});

test('sloppy quorum › a tombstone travels as a hint and is not reaped before its primary holds it', async (t) => {
  let now = 1_000_000;
  const sim = await SimCluster.start({ nodes: 5, n: 3, seed: 21, hints: true, requestTimeoutMs: 200, tombstoneGraceMs: 1_000, now: () => now });
  t.teardown(() => sim.stop());
  const [key] = keysOwnedBy(sim, 'a', ['b', 'c'], 1);
  await sim.put('a', key!, 'old', 3);
  sim.down('c');
  await sim.del('a', key!, 2);
  now += 10_000;
  for (const id of ['a', 'b']) t.is(await sim.node(id).coordinator.collector.step(), 0, `${id} keeps the tombstone: c is down`);
  sim.up('c');
  for (const n of sim.nodes) n.handoff!.kick();
  t.true(await eventually(() => sim.local('c', key!).every((s) => s.deleted), 3_000), 'c has the tombstone by handoff');
  for (const node of sim.nodes) t.deepEqual(await sim.liveValues(node.id, key!, 3), [], `read via ${node.id}`);
});

/** `count` keys with one replica set that leaves out `client`, and that set. */
function keysAllDown(sim: SimCluster, client: string, count: number): { keys: string[]; down: string[] } {
  let down: readonly string[] | undefined;
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `p${i}`;
    const replicas = sim.replicasOf(key);
    if (replicas.includes(client)) continue;
    down ??= replicas;
    if (replicas.every((id) => down!.includes(id))) keys.push(key);
  }
  return { keys, down: [...down!] };
}

test('sloppy quorum › with every primary of a key down, W=2 writes still succeed on fallbacks, supersede each other, and reach the primaries on their return', async (t) => {
  const sim = await cluster(t);
  const client = 'a';
  const { keys, down } = keysAllDown(sim, client, 10);
  const up = sim.nodes.map((n) => n.id).filter((id) => !down.includes(id));
  t.is(up.length, 2, 'two nodes left up: exactly W');
  for (const id of down) sim.down(id);
  for (const key of keys) {
    await sim.put(client, key, `first-${key}`, 2);
    await sim.put(client, key, `v-${key}`, 2);
  }
  const coordinated = sim.nodes.reduce((sum, n) => sum + n.coordinator.stats.fallbackCoordinated, 0);
  t.is(coordinated, 2 * keys.length, 'a fallback coordinated every write');
  // Reads at R=2 from the fallbacks see one value: the second write superseded the first.
  for (const key of keys) t.deepEqual(await sim.liveValues(client, key, 2), [`v-${key}`]);
  // STRICT refuses: no primary is up.
  await t.throwsAsync(sim.node(client).coordinator.put(Buffer.from(keys[0]!), { kind: 'value', value: Buffer.from('s') }, { w: 2, strict: true }), { instanceOf: QuorumError });
  for (const id of down) sim.up(id);
  for (const n of sim.nodes) n.handoff?.kick();
  t.true(await eventually(() => keys.every((key) => down.every((id) => values(live(sim.local(id, key), Date.now())).join() === `v-${key}`)), 15_000),
    'every primary holds the last write, and only it');
  t.true(await eventually(() => sim.nodes.every((n) => n.hints!.pending().size === 0), 15_000), 'no hint left');
});

test('sloppy quorum › with every primary down and fewer than W nodes up, the write answers NOQUORUM', async (t) => {
  const sim = await cluster(t);
  const { keys, down } = keysAllDown(sim, 'a', 1);
  for (const id of down) sim.down(id);
  const other = sim.nodes.map((n) => n.id).find((id) => id !== 'a' && !down.includes(id))!;
  sim.down(other);
  await t.throwsAsync(sim.put('a', keys[0]!, 'v', 2), { instanceOf: QuorumError });
});
