// --read-through on a cluster of three (N=3, R=2, W=2), every node given the
// same old Redis: a collection only in the old Redis, written through one node
// and read through the others, is one value — imported once at the key's
// coordinator, whichever node a client asked — and increments made through
// two nodes at once both count on from the old number.

import test from 'ava';
import { Redis } from 'ioredis';
import { ManagedProcess, startCluster, waitForPing, type Cluster } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

let redisProcess: ManagedProcess;
let old: Redis;
let cluster: Cluster;

test.before(async () => {
  const redisPort = await freePort();
  redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await waitForPing(redisPort, redisProcess, 10_000);
  old = new Redis({ port: redisPort, host: '127.0.0.1' });
  const batch = old.pipeline();
  for (let i = 0; i < 20; i++) {
    batch.sadd(`set:${i}`, 'x', 'y').rpush(`list:${i}`, 'a', 'b').hset(`hash:${i}`, 'n', '5').zadd(`zset:${i}`, '1', 'm');
  }
  await batch.exec();
  cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: ['--read-through', `redis://127.0.0.1:${redisPort}/0`] });
});

test.after.always(async () => {
  old?.disconnect();
  await Promise.all([redisProcess?.stop(), cluster?.cleanup()]);
});

test.serial('a collection only in the old Redis, written through one node, reads the same through every node', async (t) => {
  const [a, b, c] = cluster.nodes.map((node) => node.client({ protocol: 2 }));
  for (let i = 0; i < 20; i++) {
    t.is(await a!.sadd(`set:${i}`, 'z'), 1);
    t.is(await c!.lpush(`list:${i}`, 'z'), 3);
  }
  for (let i = 0; i < 20; i++) {
    for (const client of [a!, b!, c!]) {
      t.deepEqual((await client.smembers(`set:${i}`)).sort(), ['x', 'y', 'z']);
      t.deepEqual(await client.lrange(`list:${i}`, 0, -1), ['z', 'a', 'b']);
    }
  }
});

test.serial('increments through two nodes at once on a hash and a sorted set only in the old Redis both count from the old numbers', async (t) => {
  const [a, b, c] = cluster.nodes.map((node) => node.client({ protocol: 2 }));
  await Promise.all(Array.from({ length: 20 }, (_, i) => Promise.all([
    a!.hincrby(`hash:${i}`, 'n', 1), b!.hincrby(`hash:${i}`, 'n', 1),
    b!.zincrby(`zset:${i}`, 1, 'm'), c!.zincrby(`zset:${i}`, 1, 'm'),
  ])));
  for (let i = 0; i < 20; i++) {
    t.is(await c!.hget(`hash:${i}`, 'n'), '7', `hash:${i}`);
    t.is(await a!.zscore(`zset:${i}`, 'm'), '3', `zset:${i}`);
  }
});

test.serial('a delete through one node stays deleted through the others', async (t) => {
  const [a, b, c] = cluster.nodes.map((node) => node.client({ protocol: 2 }));
  t.is(await a!.del('set:0', 'list:0', 'hash:0', 'zset:0'), 4);
  for (const client of [b!, c!]) {
    t.is(await client.exists('set:0', 'list:0', 'hash:0', 'zset:0'), 0);
    t.deepEqual(await client.smembers('set:0'), []);
  }
  t.is(await old.exists('set:0', 'list:0', 'hash:0', 'zset:0'), 4);
});
