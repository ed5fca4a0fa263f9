// Growing a cluster under load with real processes: 3 → 5 nodes, N=3, R=2,
// W=2, anti-entropy off (so only the join's streaming and cleanup move data).
// A register workload runs throughout and its history checker judges every
// read; afterwards every key is on exactly its 3 owners.
import test from 'ava';
import type { Redis } from 'ioredis';
import { eventually, ringkvStatus, startCluster, startNode, waitAllNormal, type RingkvNode } from '../helpers/cluster.js';
import { misplaced } from '../helpers/placement.js';
import { RegisterWorkload } from '../helpers/workload.js';

const fastGossip = ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', '1000', '--anti-entropy-interval-ms', '0'];

test.serial('grow 3 → 5 under a read/write workload: no acknowledged write lost, no stale read, then every key on exactly its 3 owners', async (t) => {
  const cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: fastGossip });
  const added: RingkvNode[] = [];
  t.teardown(async () => {
    await cluster.cleanup();
    await Promise.all(added.map((n) => n.cleanup()));
  });
  const [n1] = cluster.nodes as [RingkvNode];
  const seed = [`127.0.0.1:${n1.peerPort}`];
  const client = n1.client({ protocol: 2 });
  const preloaded = Array.from({ length: 5_000 }, (_, i) => `pre:${i}`);
  const p = client.pipeline();
  for (const key of preloaded) p.set(key, `v:${key}`);
  t.true((await p.exec())!.every(([err]) => err === null));

  const clients: Redis[] = cluster.nodes.map((n) => n.client({ protocol: 2 }));
  const workload = new RegisterWorkload({ keys: 300, workers: 6, prefix: 'reg:', clients: () => clients });
  workload.start();
  for (const id of ['n4', 'n5']) {
    const startedAt = Date.now();
    const node = await startNode({ id, seeds: seed, n: 3, r: 2, w: 2, extraArgs: fastGossip });
    added.push(node);
    const all = [...cluster.nodes, ...added];
    t.true(await waitAllNormal(all, all.length, 60_000), `${id} became normal on every node`);
    t.log(`${id}: normal on every node ${Date.now() - startedAt} ms after its start; ${(await node.info('cluster')).match(/^ring_transfer:.*$/m)?.[0] ?? ''}`);
    clients.push(node.client({ protocol: 2 }));
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await workload.stop();
  t.log(`workload: ${workload.writesAcked} writes acknowledged, ${workload.writesFailed} failed, ${workload.reads} reads, ${workload.readsFailed} failed ${workload.errorSummary()}`);
  t.true(workload.writesAcked > 500, 'the workload ran through the change');
  await workload.checkFinal(added[1]!.client({ protocol: 2 }));
  t.deepEqual(workload.violations.slice(0, 10), [], 'every read at least as new as the last acknowledged write before it; every acknowledged write there at the end');

  // Every preloaded value, read through the new nodes.
  const c5 = added[1]!.client({ protocol: 2 });
  const values = await c5.mget(...preloaded);
  t.is(values.filter((v, i) => v !== `v:${preloaded[i]}`).length, 0, 'every preloaded key reads back through n5');

  // Cleanup: within 30 s of the last join, every key on exactly its 3 owners.
  const all = [...cluster.nodes, ...added];
  const keys = [...preloaded, ...workload.keyNames()];
  const doneAt = Date.now();
  let wrong: string[] = [];
  const placed = await eventually(async () => {
    wrong = await misplaced(client, all, keys);
    return wrong.length === 0;
  }, 40_000, 1_000);
  t.true(placed, `every key on exactly its owners; still wrong: ${wrong.length} (${wrong.slice(0, 3).join('; ')})`);
  t.log(`every key on exactly its 3 owners ${Date.now() - doneAt} ms after the workload stopped`);
  t.regex(await ringkvStatus(n1.port), /UN\s+n5/);
});
