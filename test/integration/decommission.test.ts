// Shrinking a cluster under load with real processes: 5 → 3 nodes by
// `ringkv decommission`, N=3, R=2, W=2, anti-entropy off (only the leave's
// handover moves data). The register workload's history checker judges every
// read; afterwards the three left hold every key, and the departed nodes
// hold nothing the ring needs (every key reads back with them stopped).
import test from 'ava';
import type { Redis } from 'ioredis';
import { ringkvStatus, runRingkv, startCluster, type RingkvNode } from '../helpers/cluster.js';
import { RegisterWorkload } from '../helpers/workload.js';
import { misplaced } from '../helpers/placement.js';

const fastGossip = ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', '1000', '--anti-entropy-interval-ms', '0'];


test.serial('shrink 5 → 3 by decommission under a read/write workload: no acknowledged write lost, no stale read, the departed hold nothing the ring needs', async (t) => {
  const cluster = await startCluster({ nodes: 5, n: 3, r: 2, w: 2, extraArgs: fastGossip });
  t.teardown(() => cluster.cleanup());
  const [n1, n2, n3, n4, n5] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode, RingkvNode, RingkvNode];
  const client = n1.client({ protocol: 2 });
  const preloaded = Array.from({ length: 5_000 }, (_, i) => `pre:${i}`);
  const p = client.pipeline();
  for (const key of preloaded) p.set(key, `v:${key}`);
  t.true((await p.exec())!.every(([err]) => err === null));

  const plan = await runRingkv(['plan', 'leave', n5.id, '-p', String(n1.port)]);
  t.is(plan.code, 0, plan.err);
  t.regex(plan.out, /^plan: leave n5: /m);

  // Clients of the nodes that stay; the leaving ones refuse clients once they have left.
  const clients: Redis[] = [n1, n2, n3].map((n) => n.client({ protocol: 2 }));
  const workload = new RegisterWorkload({ keys: 300, workers: 6, prefix: 'reg:', clients: () => clients });
  workload.start();
  for (const node of [n5, n4]) {
    const startedAt = Date.now();
    const out = await runRingkv(['decommission', '-p', String(node.port)]);
    t.is(out.code, 0, `${out.out}\n${out.err}`);
    t.regex(out.out, new RegExp(`^plan: leave ${node.id}: `, 'm'), 'the plan is printed first');
    t.regex(out.out, /^decommission: left the ring; \d+ records/m);
    t.log(`${node.id}: ${out.out.trim().split('\n').pop()} (${Date.now() - startedAt} ms)`);
    const states = await n1.memberStates();
    t.true(states.includes('left'));
  }
  // A third leave would leave fewer than N: refused, with the reason.
  const refused = await runRingkv(['decommission', '-p', String(n3.port)]);
  t.is(refused.code, 1);
  t.regex(refused.err, /leaving would leave 2 members for N=3/);
  await workload.stop();
  t.log(`workload: ${workload.writesAcked} writes acknowledged, ${workload.writesFailed} failed, ${workload.reads} reads, ${workload.readsFailed} failed ${workload.errorSummary()}`);
  t.true(workload.writesAcked > 500, 'the workload ran through the change');

  // The departed nodes stopped: nothing the ring needs was only on them.
  await n4.stop();
  await n5.stop();
  await workload.checkFinal(client);
  t.deepEqual(workload.violations.slice(0, 10), [], 'every read at least as new as the last acknowledged write before it; every acknowledged write there at the end');
  const values = await client.mget(...preloaded);
  t.is(values.filter((v, i) => v !== `v:${preloaded[i]}`).length, 0, 'every preloaded key reads back with the departed nodes stopped');
  const wrong = await misplaced(client, [n1, n2, n3], [...preloaded, ...workload.keyNames()]);
  t.deepEqual(wrong.slice(0, 3), [], 'every key on each of the three left');
  t.regex(await ringkvStatus(n1.port), /Left \(decommissioned or removed; forgotten 3 days later\): n4, n5/);
});
