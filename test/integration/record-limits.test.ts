// A record too large to replicate is refused at the write, on a real
// three-node cluster (N=3) over TCP: two clients read the same version, each
// writes back a ~40 MiB value with that context through its own node, so the
// second write would leave two 40 MiB siblings — more than one peer frame
// carries. It is refused with an error and stored nowhere; a write whose
// context covers the record (it resolves the siblings) is accepted.

import test from 'ava';
import type { Redis } from 'ioredis';
import { eventually, startCluster, type Cluster, type RingkvNode } from '../helpers/cluster.js';

const fastGossip = ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', '10000'];
const valueBytes = 40 * 1024 * 1024;
const first = Buffer.alloc(valueBytes, 0x31);
const second = Buffer.alloc(valueBytes, 0x32);

let cluster: Cluster;

test.before(async () => {
  cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: fastGossip });
});

test.after.always(async () => {
  await cluster?.cleanup();
});

/** A RESP2 client that reads and writes every replica. */
async function everyReplica(node: RingkvNode): Promise<Redis> {
  const c = node.client({ protocol: 2, redis: { commandTimeout: 60_000 } });
  await c.call('CONSISTENCY', '3', '3');
  return c;
}

/** What `node` itself stores for the key: each version's value as its first byte and length. */
async function local(node: RingkvNode, key: string): Promise<string[]> {
  const c = node.client({ protocol: 2, redis: { commandTimeout: 60_000 } });
  try {
    const reply = (await c.callBuffer('RING', 'LOCAL', key)) as Buffer[][];
    return reply.map((entry) => {
      const at = entry.findIndex((field, i) => i % 2 === 0 && field.toString() === 'value');
      const value = entry[at + 1]!;
      return `${String.fromCharCode(value[0] ?? 0x3f)}×${value.length}`;
    });
  } finally {
    c.disconnect();
  }
}

test('record limits › a concurrent 40 MiB write through another node is refused and stored nowhere; the resolving write is accepted', async (t) => {
  const [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  const c1 = await everyReplica(n1);
  const c2 = await everyReplica(n2);
  // Every link up (a W=3 write from each node) before the big writes.
  for (const c of [c1, c2]) t.true(await eventually(async () => (await c.set('probe', 'x')) === 'OK', 10_000));

  t.is(await c1.set('big', 'small'), 'OK');
  const [seen] = (await c1.call('SIBLINGS', 'big', 'WITHVCLOCK')) as [string, string[]];
  t.is(await c1.call('SET', 'big', first, 'VCLOCK', seen), 'OK');
  // The second client read the same version, before the first wrote.
  await t.throwsAsync(c2.call('SET', 'big', second, 'VCLOCK', seen), { message: /^ERR write refused: the key's record would be \d+ bytes with its siblings/ });
  for (const node of [n1, n2, n3]) t.deepEqual(await local(node, 'big'), [`1×${valueBytes}`], `${node.id} stores only the first value`);

  const [covering] = (await c2.call('SIBLINGS', 'big', 'WITHVCLOCK')) as [string, string[]];
  t.is(await c2.call('SET', 'big', second, 'VCLOCK', covering), 'OK');
  for (const node of [n1, n2, n3]) t.deepEqual(await local(node, 'big'), [`2×${valueBytes}`], `${node.id} stores only the second value`);
  t.true(((await n3.client({ protocol: 2 }).getBuffer('big')) ?? Buffer.alloc(0)).equals(second));
});
