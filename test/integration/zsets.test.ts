// Sorted sets with real processes (issue 12): the commands through ioredis
// (RESP2 and RESP3) and redis-cli on one node, and on a 3-node cluster adds
// and ZINCRBYs of one key through every node at once, all kept and counted.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { startCluster, startNode, type Cluster, type RingkvNode } from '../helpers/cluster.js';

let single: RingkvNode | undefined;
let cluster: Cluster | undefined;

test.before(async () => {
  [single, cluster] = await Promise.all([startNode(), startCluster({ nodes: 3, n: 3, r: 2, w: 2 })]);
});

test.after.always(async () => {
  await Promise.all([single?.cleanup(), cluster?.cleanup()]);
});

test.serial('zsets › one node: the sorted-set commands answer as Redis, in RESP2, RESP3 and through redis-cli', async (t) => {
  const c = single!.client({ protocol: 2 });
  t.is(await c.zadd('z', 1.5, 'a', 0.1, 'b', 1e20, 'c', 'inf', 'd'), 4);
  t.is(await c.zincrby('z', 0.2, 'b'), '0.30000000000000004');
  t.deepEqual(await c.zrange('z', '0', '-1', 'WITHSCORES'), ['b', '0.30000000000000004', 'a', '1.5', 'c', '1e+20', 'd', 'inf']);
  t.deepEqual(await c.call('ZRANGE', 'z', '+inf', '(1', 'BYSCORE', 'REV', 'LIMIT', '1', '2'), ['c', 'a']);
  t.is(await c.zcount('z', '(0.3', '+inf'), 4, '0.1 + 0.2 is above 0.3');
  t.is(await c.zrank('z', 'c'), 2);
  t.is(await c.zrevrank('z', 'c'), 1);
  t.deepEqual(await c.zmscore('z', 'a', 'nope'), ['1.5', null]);
  t.deepEqual(await c.zpopmin('z', 2), ['b', '0.30000000000000004', 'a', '1.5']);
  t.is(await c.zcard('z'), 2);
  t.is(await c.type('z'), 'zset');
  t.is(await c.object('ENCODING', 'z'), 'listpack');
  t.is(await c.call('ZRANGESTORE', 'dst', 'z', '0', '0'), 1);
  t.deepEqual(await c.zrange('dst', '0', '-1'), ['c']);
  await t.throwsAsync(c.zadd('z', 'XX', 'NX', 1, 'a'), { message: 'ERR XX and NX options at the same time are not compatible' });
  await t.throwsAsync(c.zincrby('z', '-inf', 'd'), { message: 'ERR resulting score is not a number (NaN)' });
  await t.throwsAsync(c.call('BZPOPMIN', 'z', '0'), { message: /^ERR BZPOPMIN is not supported by ringkv: blocking/ });
  await c.set('s', 'v');
  await t.throwsAsync(c.zadd('s', 1, 'a'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  await t.throwsAsync(c.get('z'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  t.is(await c.zrem('z', 'c', 'd', 'x'), 2);
  t.is(await c.exists('z'), 0, 'the key goes with its last member');
  const c3 = single!.client({ protocol: 3 });
  await c3.zadd('r3', 1, 'a', 2, 'b');
  t.deepEqual(await c3.call('ZRANGE', 'r3', '0', '-1', 'WITHSCORES'), [['a', '1'], ['b', '2']]);
  t.is(await c3.call('ZSCORE', 'r3', 'b'), '2', 'a RESP3 double (ioredis shows it as a string)');
  const cli = spawnSync('redis-cli', ['-p', String(single!.port), 'ZADD', 'cli', 'CH', 'GT', '3', 'm'], { encoding: 'utf8' });
  if (cli.status === 0) t.is(cli.stdout.trim(), '1');
  const scan = spawnSync('redis-cli', ['-p', String(single!.port), 'ZSCAN', 'cli', '0'], { encoding: 'utf8' });
  if (scan.status === 0) t.deepEqual(scan.stdout.trim().split('\n'), ['0', 'm', '3']);
});

test.serial('zsets › a 3-node cluster: ZADDs and ZINCRBYs of one key through every node at once are all kept and all count', async (t) => {
  const clients = cluster!.nodes.map((n) => n.client({ protocol: 2 }));
  const perClient = 30;
  await Promise.all(clients.map((c, i) => Promise.all(Array.from({ length: perClient }, (_, j) => Promise.all([
    c.zadd('board', j, `n${i}-${j}`),
    c.zincrby('board', 1, 'hits'),
  ])))));
  for (const c of clients) {
    t.is(await c.zcard('board'), clients.length * perClient + 1);
    t.is(await c.zscore('board', 'hits'), String(clients.length * perClient));
  }
});
