// The zero-downtime cut-over from a Redis to ringkv: a node started with
// --read-through reads a key it holds no version of from the old Redis and
// imports it; a key written or deleted through ringkv is never read through
// again (a delete is not undone by the old copy); INCR counts on from the old
// value; `ringkv migrate --mode missing` fills in the rest without
// overwriting what clients wrote through ringkv; and when the old Redis is
// gone, a read it would have answered is an error, never a wrong nil.

import { execFile } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { infoNumber, ManagedProcess, makeTempDir, removeTempDir, repoRoot, startNode, waitForPing, type RingkvNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

let redisPort = 0;
let redisProcess: ManagedProcess;
let old: Redis;
let node: RingkvNode;
let dir: string;

test.before(async () => {
  dir = await makeTempDir('ringkv-read-through-');
  redisPort = await freePort();
  redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await waitForPing(redisPort, redisProcess, 10_000);
  old = new Redis({ port: redisPort, host: '127.0.0.1' });
  const batch = old.pipeline();
  for (let i = 0; i < 100; i++) batch.set(`s:${i}`, `old-${i}`);
  batch.set('ttl', 'soon', 'EX', 1000).set('count', '41').rpush('a:list', 'x');
  await batch.exec();
  node = await startNode({ extraArgs: ['--read-through', `redis://127.0.0.1:${redisPort}/0`] });
});

test.after.always(async () => {
  old?.disconnect();
  await Promise.all([redisProcess?.stop(), node?.cleanup()]);
  if (dir !== undefined) await removeTempDir(dir);
});

test.serial('a key ringkv does not hold is read from the old Redis and imported, once', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.get('s:1'), 'old-1');
  const reads = infoNumber(await node.info('cluster'), 'read_through_reads');
  t.is(await c.get('s:1'), 'old-1');
  t.is(infoNumber(await node.info('cluster'), 'read_through_reads'), reads, 'the second read is served by ringkv');
  const ttl = await c.ttl('ttl');
  t.true(ttl > 990 && ttl <= 1000, `TTL carried: ${ttl}`);
  t.is(await c.get('nowhere'), null);
  t.is(await c.strlen('s:5'), 5);
});

test.serial('writes and deletes through ringkv win over the old copy; INCR counts on from the old value', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.set('s:2', 'new-2'), 'OK');
  t.is(await c.get('s:2'), 'new-2');
  t.is(await c.del('s:3'), 1, 'DEL finds the key in the old Redis, as the client expects');
  t.is(await c.get('s:3'), null, 'a deleted key is not read through again');
  t.is(await c.exists('s:3'), 0);
  t.is(await c.incr('count'), 42);
  t.is(await c.append('s:4', '+'), 6);
  t.is(await c.get('s:4'), 'old-4+');
});

test.serial('IMPORT writes only where ringkv holds no version', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.call('IMPORT', 'imp:1', 'v1'), 1);
  t.is(await c.call('IMPORT', 'imp:1', 'v2'), 0);
  t.is(await c.get('imp:1'), 'v1');
  await c.del('imp:1');
  t.is(await c.call('IMPORT', 'imp:1', 'v3'), 0, 'a delete through ringkv is newer than any copy');
  t.is(await c.get('imp:1'), null);
  const at = Date.now() + 60_000;
  t.is(await c.call('IMPORT', 'imp:2', 'v', 'PXAT', String(at)), 1);
  t.true(Number(await c.pttl('imp:2')) > 50_000);
  await t.throwsAsync(c.call('IMPORT', 'imp:3', 'v', 'EX', '5'), { message: 'ERR syntax error' });
});

test.serial('ringkv migrate --mode missing copies the rest and leaves what clients wrote through ringkv', async (t) => {
  const out = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin', 'ringkv.js'), 'migrate', '--from', `redis://127.0.0.1:${redisPort}`, '--to', `127.0.0.1:${node.port}`,
      '--mode', 'missing', '--verify', 'none', '--checkpoint', path.join(dir, 'cp.json')], { timeout: 120_000 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout.toString() });
    });
  });
  t.is(out.code, 0, out.out);
  t.regex(out.out, /already in ringkv \(written or deleted there since clients moved\)/);
  const c = node.client({ protocol: 2 });
  t.is(await c.get('s:2'), 'new-2');
  t.is(await c.get('s:3'), null);
  t.is(await c.get('count'), '42');
  t.is(await c.get('s:99'), 'old-99');
});

test.serial('with the old Redis gone, a read it would answer is an error, not a nil; what ringkv holds is still served', async (t) => {
  await redisProcess.stop();
  const c = node.client({ protocol: 2 });
  t.is(await c.get('s:1'), 'old-1');
  await t.throwsAsync(c.get('never-seen'), { message: /^ERR read-through to redis:\/\/127\.0\.0\.1:\d+\/0 failed/ });
});
