// A record (every sibling of a key together) travels whole in one peer frame
// (coordinator.ts replicatedRecordBytesMax). Two concurrent writes of values
// that each fit could make a record that no longer does: then no replica
// could be sent the key, and reads of it would fail everywhere. So the
// coordinator refuses the write that would grow the record past the limit —
// before anything is stored — and a write that resolves the siblings (its
// context covers the record) is still accepted, since it shrinks the record.
// In-process cluster (test/helpers/sim.ts); two ~40 MiB values, tests serial
// to keep memory down.

import test, { type ExecutionContext } from 'ava';
import { causalContext } from '../../src/clock/siblings.js';
import { replicatedRecordBytesMax, replicatedValueBytesMax } from '../../src/coordinator/coordinator.js';
import { RecordTooLargeError } from '../../src/coordinator/errors.js';
import { SimCluster } from '../helpers/sim.js';

const valueBytes = 40 * 1024 * 1024;
// Each value fits a frame alone; the two together do not.
const first = Buffer.alloc(valueBytes, 0x31);
const second = Buffer.alloc(valueBytes, 0x32);

test.before('the scenario sits across the limit', (t) => {
  t.true(valueBytes <= replicatedValueBytesMax, 'one value is replicable');
  t.true(2 * valueBytes > replicatedRecordBytesMax, 'two siblings of it are not');
});

async function cluster(t: ExecutionContext, nodes: number): Promise<SimCluster> {
  // A generous peer timeout: each replica write copies 40 MiB through the memory network.
  const sim = await SimCluster.start({ nodes, n: 3, seed: 41, requestTimeoutMs: 20_000 });
  t.teardown(() => sim.stop());
  return sim;
}

/** Each replica's own record for `key`: the values it stores, as their first byte and length. */
function held(sim: SimCluster, key: string, replicas: readonly string[]): Record<string, string[]> {
  return Object.fromEntries(replicas.map((id) => [id, sim.local(id, key).map((s) => `${String.fromCharCode(s.value[0] ?? 0x3f)}×${s.value.length}${s.deleted ? ' (deleted)' : ''}`)]));
}

const only = (value: Buffer) => [`${String.fromCharCode(value[0]!)}×${value.length}`];

for (const [nodes, how] of [[3, 'at a replica'], [4, 'forwarded from a node outside the preference list']] as const) {
  test.serial(`record limits › a concurrent write that would make the record too large to replicate is refused ${how}; a resolving write is accepted`, async (t) => {
    const sim = await cluster(t, nodes);
    const key = nodes === 3 ? 'big' : sim.findKey('big', (replicas) => !replicas.includes('a'));
    const replicas = sim.replicasOf(key);
    const via = sim.node(nodes === 3 ? 'b' : 'a').coordinator;
    const k = Buffer.from(key);

    await via.put(k, { kind: 'value', value: first }, { w: 3 });
    t.deepEqual(held(sim, key, replicas), Object.fromEntries(replicas.map((id) => [id, only(first)])));

    // Written without having seen the first value (an empty context): a sibling of it.
    const refused = await t.throwsAsync(via.put(k, { kind: 'value', value: second }, { w: 2, context: [] }), { instanceOf: RecordTooLargeError });
    t.is(refused?.code, 'RECORD_TOO_LARGE');
    t.true(refused!.bytes > 2 * valueBytes && refused!.limit === replicatedRecordBytesMax, refused?.message);
    t.deepEqual(held(sim, key, replicas), Object.fromEntries(replicas.map((id) => [id, only(first)])), 'no replica stored the refused version');
    if (nodes === 4) t.true(via.stats.forwardedWrites >= 2, 'the writes went through a replica');
    for (const id of replicas) t.true(sim.local(id, key)[0]!.value.equals(first), `${id} holds the first value intact`);

    // The same value with the record's full context replaces the first: the record stays one value.
    const context = causalContext(await via.get(k, 3));
    await via.put(k, { kind: 'value', value: second }, { w: 3, context });
    t.deepEqual(held(sim, key, replicas), Object.fromEntries(replicas.map((id) => [id, only(second)])));
    for (const id of replicas) t.true(sim.local(id, key)[0]!.value.equals(second), `${id} holds the second value intact`);
  });
}
