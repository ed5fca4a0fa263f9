// Lists with real processes (issue 12): the commands through ioredis and
// redis-cli on one node, and on a 3-node cluster pushes of one key through
// every node at once, all kept, in one order every node shows.
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

test.serial('lists › one node: the list commands answer as Redis, through ioredis and redis-cli', async (t) => {
  const c = single!.client({ protocol: 2 });
  t.is(await c.rpush('l', 'a', 'b', 'c'), 3);
  t.is(await c.lpush('l', 'y', 'z'), 5);
  t.deepEqual(await c.lrange('l', 0, -1), ['z', 'y', 'a', 'b', 'c']);
  t.is(await c.lindex('l', -1), 'c');
  t.is(await c.lset('l', 1, 'Y'), 'OK');
  await t.throwsAsync(c.lset('nokey', 0, 'x'), { message: 'ERR no such key' });
  await t.throwsAsync(c.lset('l', 10, 'x'), { message: 'ERR index out of range' });
  t.is(await c.linsert('l', 'BEFORE', 'a', 'pre'), 6);
  t.is(await c.lpos('l', 'a'), 3);
  t.is(await c.lrem('l', 0, 'pre'), 1);
  t.deepEqual(await c.lpop('l', 2), ['z', 'Y']);
  t.is(await c.rpop('l'), 'c');
  t.is(await c.lmove('l', 'other', 'LEFT', 'RIGHT'), 'a');
  t.is(await c.rpoplpush('l', 'other'), 'b');
  t.deepEqual(await c.lrange('other', 0, -1), ['b', 'a']);
  t.is(await c.exists('l'), 0, 'the key goes with its last element');
  t.is(await c.type('other'), 'list');
  t.is(await c.object('ENCODING', 'other'), 'quicklist');
  t.is(await c.ltrim('other', 0, 0), 'OK');
  t.is(await c.llen('other'), 1);
  await t.throwsAsync(c.blpop('other', 0), { message: /^ERR BLPOP is not supported by ringkv: blocking/ });
  await c.set('s', 'v');
  await t.throwsAsync(c.lpush('s', 'a'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  const cli = spawnSync('redis-cli', ['-p', String(single!.port), 'RPUSH', 'cli', 'x', 'y'], { encoding: 'utf8' });
  if (cli.status === 0) t.is(cli.stdout.trim(), '2');
  const range = spawnSync('redis-cli', ['-p', String(single!.port), 'LRANGE', 'cli', '0', '-1'], { encoding: 'utf8' });
  if (range.status === 0) t.deepEqual(range.stdout.trim().split('\n'), ['x', 'y']);
});

test.serial('lists › a 3-node cluster: pushes of one key through every node at once are all kept, in one order on every node', async (t) => {
  const clients = cluster!.nodes.map((n) => n.client({ protocol: 2 }));
  const perClient = 30;
  await Promise.all(clients.map((c, i) => Promise.all(Array.from({ length: perClient }, (_, j) => (j % 2 === 0 ? c.rpush('q', `n${i}-${j}`) : c.lpush('q', `n${i}-${j}`))))));
  const seen = await Promise.all(clients.map((c) => c.lrange('q', 0, -1)));
  t.is(seen[0]!.length, clients.length * perClient);
  t.is(new Set(seen[0]).size, clients.length * perClient);
  for (const s of seen) t.deepEqual(s, seen[0]);
  // Pops meeting at one coordinator each answer a distinct element (pops through different
  // coordinators at once may answer the same one: each pops from the list it holds; README).
  const popped = await Promise.all(Array.from({ length: 30 }, () => clients[0]!.lpop('q')));
  t.is(new Set(popped).size, popped.length);
  t.is(await clients[1]!.llen('q'), clients.length * perClient - 30);
});
