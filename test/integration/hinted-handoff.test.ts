// Always writable (sloppy quorum and hinted handoff) with real processes:
// 5 nodes, N=3, W=2; two of a set of keys' primaries killed; every write to
// those keys answers OK through fallbacks, and the returning primaries get
// every write back without a single read.
import test from 'ava';
import type { Redis } from 'ioredis';
import { startCluster, eventually, type Cluster, infoNumber, ringkvStatus, keysOwnedBy } from '../helpers/cluster.js';
import { fastGossip } from '../helpers/fixtures.js';

const keysWanted = 1000;

let cluster: Cluster;

test.before(async () => {
  cluster = await startCluster({ nodes: 5, n: 3, r: 2, w: 2, extraArgs: [...fastGossip] });
});

test.after.always(async () => {
  await cluster?.cleanup();
});

async function hintsPending(clients: Redis[]): Promise<number> {
  const infos = await Promise.all(clients.map((c) => c.info('cluster')));
  return infos.reduce((sum, info) => sum + infoNumber(info, 'hints_pending'), 0);
}

/** Every key in every primary's RING LOCAL, and no hint left pending on the `fallbacks`. */
async function allHome(primaries: Redis[], keys: readonly string[], fallbacks: Redis[]): Promise<boolean> {
  for (const c of primaries) {
    const q = c.pipeline();
    for (const key of keys) q.call('RING', 'LOCAL', key);
    const results = (await q.exec())!;
    if (results.some(([err, reply]) => err !== null || (reply as unknown[]).length === 0)) return false;
  }
  return (await hintsPending(fallbacks)) === 0;
}

test.serial('with two of 5 nodes killed, 1,000 W=2 writes to keys they own all answer OK, and their primaries hold every one within seconds of coming back, with no read', async (t) => {
  const [n1, n2, n3, n4, n5] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const client = n1.client({ protocol: 2 });
  const keys = await keysOwnedBy(client, [n4.id, n5.id], 'hh', keysWanted);
  await n4.kill();
  await n5.kill();
  await cluster.waitConverged(3, 20_000);

  const p = client.pipeline();
  for (const key of keys) p.set(key, `v:${key}`);
  const replies = (await p.exec())!;
  const failed = replies.filter(([err, reply]) => err !== null || reply !== 'OK');
  t.is(failed.length, 0, `${failed.length} writes failed, e.g. ${String(failed[0]?.[0])}`);
  const up = [n1, n2, n3].map((n) => n.client({ protocol: 2 }));
  t.true((await hintsPending(up)) >= keys.length, 'every write left hints for the two down primaries');
  t.true(infoNumber(await client.info('cluster'), 'writes_with_fallbacks') > 0);
  // `ringkv status`: the two down members each have a write per key waiting for them.
  const status = await ringkvStatus(n1.port);
  const header = status.split('\n').find((line) => line.startsWith('--'))!.split(/\s{2,}/);
  const hintsFor = header.indexOf('Hints for');
  for (const id of [n4.id, n5.id]) {
    const row = status.split('\n').find((line) => line.split(/\s{2,}/)[1] === id)!;
    t.true(row.startsWith('DN'), row);
    t.is(Number(row.split(/\s{2,}/)[hintsFor]), keys.length, `${id}: ${row}`);
  }

  // STRICT counts only primaries: with two of three down, W=2 cannot be met.
  const strict = n1.client({ protocol: 2 });
  await strict.call('CONSISTENCY', '2', '2', 'STRICT');
  const started = Date.now();
  await t.throwsAsync(strict.set(keys[0]!, 'strict'), { message: /^NOQUORUM / });
  t.true(Date.now() - started < 2_500, 'quickly: the two primaries are known down');

  await n4.restart();
  await n5.restart();
  const back = Date.now();
  const primaries = [n4.client({ protocol: 2 }), n5.client({ protocol: 2 })];
  const home = await eventually(() => allHome(primaries, keys, up), 30_000, 250);
  const ms = Date.now() - back;
  t.log(`every hinted write on its returning primaries, and no hint pending, ${ms} ms after the restarts`);
  t.true(home, 'hints handed off');
  const delivered = (await Promise.all(up.map((c) => c.info('cluster')))).reduce((s, info) => s + infoNumber(info, 'hints_delivered'), 0);
  t.true(delivered >= 2 * keys.length, `${delivered} hints delivered`);
});

test.serial('with all three primaries of a set of keys killed, W=2 writes still answer OK on the two fallbacks, and every primary holds them after coming back', async (t) => {
  const [n1, n2, n3, n4, n5] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const client = n1.client({ protocol: 2 });
  const keys = await keysOwnedBy(client, [n3.id, n4.id, n5.id], 'all3', 200);
  await Promise.all([n3.kill(), n4.kill(), n5.kill()]);
  await cluster.waitConverged(2, 20_000);

  const p = client.pipeline();
  for (const key of keys) p.set(key, `v:${key}`);
  const replies = (await p.exec())!;
  const failed = replies.filter(([err, reply]) => err !== null || reply !== 'OK');
  t.is(failed.length, 0, `${failed.length} writes failed, e.g. ${String(failed[0]?.[0])}`);
  const up = [n1, n2].map((n) => n.client({ protocol: 2 }));
  const coordinated = (await Promise.all(up.map((c) => c.info('cluster')))).reduce((s, info) => s + infoNumber(info, 'writes_coordinated_as_fallback'), 0);
  t.is(coordinated, keys.length, 'a fallback coordinated every write');
  // Read back at R=2 from the fallbacks' hints, through the other node too.
  const other = n2.client({ protocol: 2 });
  t.is(await other.get(keys[0]!), `v:${keys[0]}`);
  const strict = n1.client({ protocol: 2 });
  await strict.call('CONSISTENCY', '2', '2', 'STRICT');
  await t.throwsAsync(strict.set(keys[0]!, 'strict'), { message: /^NOQUORUM / });

  await Promise.all([n3.restart(), n4.restart(), n5.restart()]);
  const back = Date.now();
  const primaries = [n3, n4, n5].map((n) => n.client({ protocol: 2 }));
  t.true(await eventually(() => allHome(primaries, keys, up), 30_000, 250), 'hints handed off to all three primaries');
  t.log(`every write on all three returning primaries ${Date.now() - back} ms after the restarts`);
});
