// Removing a dead member with real processes: 4 nodes, N=3; one is killed
// and `ringkv removenode` takes it out of the ring; the three left then hold
// every key (N copies again, re-replicated by anti-entropy, no read), and the
// removed node started again on its old disk stays out and serves no one.
import test from 'ava';
import type { Redis } from 'ioredis';
import { eventually, ringkvStatus, runRingkv, startCluster } from '../helpers/cluster.js';

const fastGossip = ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', '1000', '--anti-entropy-interval-ms', '0'];


async function localCount(client: Redis, keys: readonly string[]): Promise<number> {
  const p = client.pipeline();
  for (const key of keys) p.call('RING', 'LOCAL', key);
  return (await p.exec())!.filter(([err, reply]) => err === null && (reply as unknown[]).length > 0).length;
}

test.serial('removenode: a killed member leaves the ring, the others re-replicate its ranges to N copies of every key, and it stays out when started again', async (t) => {
  const cluster = await startCluster({ nodes: 4, n: 3, r: 2, w: 2, extraArgs: fastGossip });
  t.teardown(() => cluster.cleanup());
  const [n1, n2, n3, n4] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const client = n1.client({ protocol: 2 });
  const keys = Array.from({ length: 2_000 }, (_, i) => `rm:${i}`);
  const p = client.pipeline();
  for (const key of keys) p.set(key, `v:${key}`);
  t.true((await p.exec())!.every(([err]) => err === null));
  const survivors = [n1, n2, n3].map((n) => n.client({ protocol: 2 }));
  const before = await Promise.all(survivors.map((c) => localCount(c, keys)));
  t.true(before.every((count) => count < keys.length), `with 4 nodes each holds about 3/4: ${before.join(', ')}`);

  await t.throwsAsync(client.call('RING', 'REMOVE', n4.id), { message: /is up: only a dead member is removed/ });
  await n4.kill();
  await cluster.waitConverged(3, 20_000);
  const removed = await runRingkv(['removenode', n4.id, '-p', String(n1.port)]);
  t.is(removed.code, 0, removed.err);
  t.log(removed.out.trim());
  t.regex(removed.out, /^plan: remove n4 \(normal, down\)/m);
  const after = await Promise.all(survivors.map((c) => localCount(c, keys)));
  t.deepEqual(after, [keys.length, keys.length, keys.length], 'N=3 copies of every key on the three left');
  const members = (await client.call('RING', 'MEMBERS')) as string[][];
  t.is(members.find((m) => m[1] === n4.id)?.[7], 'left');
  t.regex(await ringkvStatus(n1.port), /Left \(decommissioned or removed; forgotten 3 days later\): n4/);

  // Started again on its old disk: it hears it was removed, refuses to serve, and the ring does not take it back.
  await n4.restart();
  const c4 = n4.client({ protocol: 2, redis: { retryStrategy: () => null, enableReadyCheck: false } });
  t.true(await eventually(async () => {
    try {
      await c4.get('rm:0');
      return false;
    } catch (err) {
      return /LOADING/.test((err as Error).message);
    }
  }, 15_000, 200), 'a removed node answers -LOADING');
  for (const c of survivors) t.false(((await c.call('RING', 'OWNERS', 'rm:0')) as string[][]).some(([id]) => id === n4.id));
});
