// --read-through for every type ringkv holds, against a real redis-server:
// a list, set, hash or sorted set that exists only in the old Redis is read
// (LRANGE, SMEMBERS, HGET, ZRANGE, TYPE, EXISTS, TTL) and written (SADD adds
// to the old members, LPUSH to the old list, HINCRBY and ZINCRBY count on
// from the old numbers) as if it were in ringkv, with its TTL; a delete
// through ringkv is never undone by the old copy; a write made in ringkv
// while the old value is on its way wins over it; a collection too large to
// import on read, and an old Redis that is slow or gone, are errors — never
// a partial value, never a nil; and `ringkv migrate --mode missing` then
// copies the rest without undoing what clients did through ringkv.
//
// The node reaches the old Redis through a proxy the test can hold
// (helpers/tcp-proxy.ts): a race between an import and a write is made to
// happen in a chosen order, not hoped for with timers.

import test from 'ava';
import { Redis } from 'ioredis';
import { eventually, infoNumber, makeTempDir, ManagedProcess, removeTempDir, runRingkv, startNode, waitForPing, type RingkvNode } from '../helpers/cluster.js';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { HoldingProxy } from '../helpers/tcp-proxy.js';
import { readThroughBytesMax, readThroughItemsMax } from '../../src/migrate/read-through.js';

const itemsMax = readThroughItemsMax;
const bytesMax = readThroughBytesMax;

let redisProcess: ManagedProcess;
let old: Redis;
let proxy: HoldingProxy;
let node: RingkvNode;
let redisPort = 0;

test.before(async () => {
  redisPort = await freePort();
  redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await waitForPing(redisPort, redisProcess, 10_000);
  old = new Redis({ port: redisPort, host: '127.0.0.1' });
  const batch = old.pipeline();
  for (const prefix of ['read', 'write', 'del', 'type', 'exists', 'unreachable']) {
    batch.rpush(`${prefix}:list`, 'a', 'b', 'c');
    batch.sadd(`${prefix}:set`, 'x', 'y');
    batch.hset(`${prefix}:hash`, 'f1', 'v1', 'n', '5');
    batch.zadd(`${prefix}:zset`, '1', 'a', '2', 'b', '+inf', 'c');
  }
  batch.pexpire('read:hash', 1_000_000).pexpire('write:list', 1_000_000).expire('type:zset', 500);
  batch.sadd('race:set', 'old').sadd('race:both', 'old');
  batch.rpush('big:list', ...Array.from({ length: itemsMax + 1 }, (_, i) => String(i)));
  batch.set('big:string', Buffer.alloc(bytesMax + 1, 'x'));
  batch.rpush('fits:list', ...Array.from({ length: itemsMax }, (_, i) => String(i)));
  batch.xadd('a:stream', '*', 'f', 'v');
  // Few items, but more bytes than read-through imports: refused by the script after it counts them.
  batch.hset('heavy:hash', ...Array.from({ length: 9 }, (_, i) => [`f${i}`, Buffer.alloc(1024 * 1024, 'v')]).flat());
  await batch.exec();
  proxy = await HoldingProxy.start(redisPort);
  node = await startNode({ extraArgs: ['--read-through', `redis://127.0.0.1:${proxy.port}/0`] });
});

test.after.always(async () => {
  proxy?.release();
  old?.disconnect();
  await Promise.all([redisProcess?.stop(), node?.cleanup(), proxy?.close()]);
});

async function readsThrough(): Promise<number> {
  return infoNumber(await node.info('cluster'), 'read_through_reads');
}

test.serial('a read that comes while the node is still connecting to the old Redis waits for the connection instead of failing', async (t) => {
  const slowStart = await HoldingProxy.start(redisPort);
  // The node's client connects, but its readiness check (INFO) is held: the connection is not made yet.
  slowStart.hold();
  const starting = await startNode({ extraArgs: ['--read-through', `redis://127.0.0.1:${slowStart.port}/0`] });
  try {
    const c = starting.client({ protocol: 2 });
    const read = c.lrange('read:list', 0, -1);
    t.true(await eventually(async () => infoNumber(await starting.info('cluster'), 'read_through_reads') >= 1, 30_000), 'the read has reached read-through');
    slowStart.release();
    t.deepEqual(await read, ['a', 'b', 'c']);
  } finally {
    slowStart.release();
    await Promise.all([starting.cleanup(), slowStart.close()]);
  }
});

test.serial('each type only in the old Redis is read through: its value, TYPE, EXISTS and TTL as there, imported once', async (t) => {
  const c = node.client({ protocol: 2 });
  t.deepEqual(await c.lrange('read:list', 0, -1), ['a', 'b', 'c']);
  t.deepEqual((await c.smembers('read:set')).sort(), ['x', 'y']);
  t.is(await c.hget('read:hash', 'f1'), 'v1');
  t.deepEqual(await c.zrange('read:zset', '0', '-1', 'WITHSCORES'), ['a', '1', 'b', '2', 'c', 'inf']);
  const ttl = await c.pttl('read:hash');
  t.true(ttl > 900_000 && ttl <= 1_000_000, `the TTL is carried: ${ttl}`);
  t.is(await c.ttl('read:list'), -1);
  const reads = await readsThrough();
  t.deepEqual(await c.hgetall('read:hash'), { f1: 'v1', n: '5' });
  t.is(await c.zscore('read:zset', 'c'), 'inf');
  t.is(await readsThrough(), reads, 'the second reads are served by ringkv');
  // TYPE, EXISTS and TTL as a key's first command.
  for (const type of ['list', 'set', 'hash', 'zset']) {
    t.is(await c.type(`type:${type}`), type);
    t.is(await c.exists(`exists:${type}`), 1);
  }
  const zsetTtl = await c.ttl('type:zset');
  t.true(zsetTtl > 400 && zsetTtl <= 500, `TTL after TYPE: ${zsetTtl}`);
  t.is(await c.type('nowhere'), 'none');
  t.is(await c.exists('nowhere'), 0);
  t.is(await c.llen('fits:list'), itemsMax, 'a collection at the bound is imported whole');
  t.is(await c.lindex('fits:list', -1), String(itemsMax - 1));
});

test.serial('writes of each type act on the old value: SADD adds to the old members, LPUSH to the old list, HINCRBY and ZINCRBY count on', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.sadd('write:set', 'z', 'x'), 1, 'x is an old member');
  t.deepEqual((await c.smembers('write:set')).sort(), ['x', 'y', 'z']);
  t.is(await c.lpush('write:list', 'z'), 4);
  t.deepEqual(await c.lrange('write:list', 0, -1), ['z', 'a', 'b', 'c']);
  const ttl = await c.pttl('write:list');
  t.true(ttl > 900_000 && ttl <= 1_000_000, `LPUSH keeps the old TTL: ${ttl}`);
  t.is(await c.hincrby('write:hash', 'n', 1), 6);
  t.is(await c.hset('write:hash', 'f2', 'v2'), 1);
  t.deepEqual(await c.hgetall('write:hash'), { f1: 'v1', n: '6', f2: 'v2' });
  t.is(await c.zincrby('write:zset', 5, 'a'), '6');
  t.is(await c.zadd('write:zset', '3', 'd'), 1);
  t.deepEqual(await c.zrange('write:zset', '0', '-1'), ['b', 'd', 'a', 'c']);
  // Removals of old members, as a key's first command.
  t.is(await c.srem('del:set', 'x'), 1);
  t.deepEqual(await c.smembers('del:set'), ['y']);
  t.is(await c.rpop('del:list'), 'c');
  t.is(await c.hdel('del:hash', 'f1'), 1);
  t.is(await c.zrem('del:zset', 'a'), 1);
  t.deepEqual(await c.zrange('del:zset', '0', '-1'), ['b', 'c']);
  // The old Redis is only read.
  t.deepEqual(await old.smembers('write:set').then((m) => m.sort()), ['x', 'y']);
});

test.serial('a delete through ringkv stays deleted: the old copy is never read through again', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.del('del:set', 'del:hash', 'del:list', 'del:zset'), 4);
  const reads = await readsThrough();
  t.deepEqual(await c.smembers('del:set'), []);
  t.is(await c.hget('del:hash', 'n'), null);
  t.is(await c.exists('del:list', 'del:zset'), 0);
  t.is(await c.type('del:zset'), 'none');
  t.is(await c.sadd('del:set', 'new'), 1);
  t.deepEqual(await c.smembers('del:set'), ['new'], 'a new set, not the old members back');
  t.is(await c.rpush('del:list', 'new'), 1);
  t.is(await readsThrough(), reads, 'no read of the old Redis after the delete');
  t.is(await old.exists('del:set', 'del:hash', 'del:list', 'del:zset'), 4, 'the old Redis still holds them');
});

test.serial('a write made in ringkv while the old value is being read wins over the import', async (t) => {
  const reader = node.client({ protocol: 2 });
  const writer = node.client({ protocol: 2 });
  const before = proxy.heldChunks;
  proxy.hold();
  let pending: Promise<string[]>;
  try {
    pending = reader.smembers('race:set');
    await proxy.heldAtLeast(before + 1);
    // A whole value written without a read needs nothing from the old Redis: it lands while the import waits.
    t.is(await writer.set('race:set', 'mine'), 'OK');
  } finally {
    proxy.release();
  }
  await t.throwsAsync(pending, { message: /^WRONGTYPE/ }, 'the import found a version and was dropped; SMEMBERS read ringkv again');
  t.is(await writer.get('race:set'), 'mine');
  t.is(await writer.type('race:set'), 'string');
});

test.serial('two writes racing on a key only in the old Redis both apply on top of the old value, imported once', async (t) => {
  const a = node.client({ protocol: 2 });
  const b = node.client({ protocol: 2 });
  const reads = await readsThrough();
  proxy.hold();
  let both: Promise<number[]>;
  try {
    both = Promise.all([a.sadd('race:both', 'a'), b.sadd('race:both', 'b')]);
    t.true(await eventually(async () => (await readsThrough()) >= reads + 2, 30_000), 'both SADDs are reading the old Redis');
  } finally {
    proxy.release();
  }
  t.deepEqual(await both, [1, 1]);
  t.deepEqual((await a.smembers('race:both')).sort(), ['a', 'b', 'old']);
});

test.serial('a collection too large to import on read is an error naming ringkv migrate: never partial, never a nil', async (t) => {
  const c = node.client({ protocol: 2 });
  const tooLarge = new RegExp(`^ERR read-through: the list at this key in the old Redis is too large to import on read \\(${itemsMax + 1} items; .*\\): copy it with ringkv migrate --mode missing$`);
  await t.throwsAsync(c.llen('big:list'), { message: tooLarge });
  await t.throwsAsync(c.rpush('big:list', 'more'), { message: tooLarge }, 'a write is refused too, not made over an empty list');
  await t.throwsAsync(c.exists('big:list'), { message: tooLarge });
  await t.throwsAsync(c.type('big:list'), { message: tooLarge });
  await t.throwsAsync(c.get('big:string'), { message: new RegExp(`^ERR read-through: the string at this key .* too large to import on read \\(${bytesMax + 1} bytes;`) });
  await t.throwsAsync(c.hget('heavy:hash', 'f0'), { message: new RegExp(`^ERR read-through: the hash at this key .* too large to import on read \\(${9 * (1024 * 1024 + 2)} bytes of items;`) });
  await t.throwsAsync(c.xlen('a:stream'), { message: /^ERR (read-through: the old Redis holds a stream at this key, a type ringkv does not hold|unknown command)/ });
  await t.throwsAsync(c.get('a:stream'), { message: 'ERR read-through: the old Redis holds a stream at this key, a type ringkv does not hold' });
  t.is(await old.llen('big:list'), itemsMax + 1);
});

test.serial('a slow old Redis is an error, never a nil', async (t) => {
  const c = node.client({ protocol: 2 });
  proxy.hold();
  try {
    await t.throwsAsync(c.exists('slow:key'), { message: /^ERR read-through to redis:\/\/127\.0\.0\.1:\d+\/0 failed/ });
    await t.throwsAsync(c.sadd('slow:set', 'm'), { message: /^ERR read-through to redis:\/\/127\.0\.0\.1:\d+\/0 failed/ });
  } finally {
    proxy.release();
  }
});

test.serial('with the old Redis unreachable, every type\'s commands on keys ringkv does not hold are errors; what it holds is still served', async (t) => {
  await proxy.close();
  const c = node.client({ protocol: 2 });
  const failed = /^ERR read-through to redis:\/\/127\.0\.0\.1:\d+\/0 failed/;
  await t.throwsAsync(c.lrange('unreachable:list', 0, -1), { message: failed });
  await t.throwsAsync(c.sadd('unreachable:set', 'x'), { message: failed });
  await t.throwsAsync(c.hget('unreachable:hash', 'f1'), { message: failed });
  await t.throwsAsync(c.zincrby('unreachable:zset', 1, 'a'), { message: failed });
  await t.throwsAsync(c.exists('never-seen'), { message: failed });
  t.deepEqual(await c.lrange('read:list', 0, -1), ['a', 'b', 'c']);
  t.deepEqual((await c.smembers('write:set')).sort(), ['x', 'y', 'z']);
});

test.serial('ringkv migrate --mode missing copies what read-through refused (the old Redis reached directly), and leaves the collections clients changed through ringkv', async (t) => {
  const dir = await makeTempDir('ringkv-read-through-types-');
  try {
    const run = await runRingkv(['migrate', '--from', `redis://127.0.0.1:${redisPort}`, '--to', `127.0.0.1:${node.port}`,
      '--mode', 'missing', '--verify', 'none', '--checkpoint', path.join(dir, 'cp.json')]);
    t.is(run.code, 0, run.out + run.err);
    t.regex(run.out, /already in ringkv \(written or deleted there since clients moved\)/);
  } finally {
    await removeTempDir(dir);
  }
  const c = node.client({ protocol: 2 });
  t.is(await c.llen('big:list'), itemsMax + 1, 'the big list, copied in pages, is served');
  t.deepEqual((await c.smembers('write:set')).sort(), ['x', 'y', 'z']);
  t.deepEqual(await c.smembers('del:set'), ['new']);
  t.is(await c.hget('write:hash', 'n'), '6');
  t.is(await c.get('race:set'), 'mine');
});
