// `ringkv migrate` into a 3-node cluster (N=3, R=2, W=2) rather than one
// node: every type, with TTLs, a list and a sorted set big enough to be
// written in two IMPORT pages, copied through one node and verified through
// another, so the pages' versions are replicated and read back at quorum.
// The 100,000-key shape (kill, resume) is migrate.test.ts's, on one node.

import { execFile } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { ManagedProcess, makeTempDir, removeTempDir, repoRoot, startCluster, waitForPing, type Cluster } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { writePageItems } from '../../src/migrate/value-copiers.js';

const keysPerType = 200;
const ringkvBin = path.join(repoRoot, 'bin', 'ringkv.js');

let redisPort = 0;
let redisProcess: ManagedProcess;
let cluster: Cluster;
let dir: string;

function runMigrate(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ringkvBin, 'migrate', ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, out) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: out.toString() });
    });
  });
}

test.before(async () => {
  dir = await makeTempDir('ringkv-migrate-cluster-');
  redisPort = await freePort();
  redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const started = startCluster({ nodes: 3, n: 3, r: 2, w: 2 });
  await waitForPing(redisPort, redisProcess, 10_000);
  cluster = await started;
});

test.after.always(async () => {
  await Promise.all([redisProcess?.stop(), cluster?.cleanup()]);
  if (dir !== undefined) await removeTempDir(dir);
});

test('every type copied through one node of three and verified through another', async (t) => {
  const source = new Redis({ port: redisPort, host: '127.0.0.1' });
  t.teardown(() => source.disconnect());
  const p = source.pipeline();
  for (let i = 0; i < keysPerType; i++) {
    const bin = Buffer.from([0x00, 0xff, i & 0xff]);
    p.set(`s:${i}`, `v${i}`);
    p.rpush(`l:${i}`, 'a', bin, `c${i}`);
    p.zadd(`z:${i}`, i, 'm', -i / 7, bin, 'inf', 'top');
    p.sadd(`t:${i}`, 'x', bin, `y${i}`);
    p.hset(`h:${i}`, 'f', `v${i}`, bin, bin);
    if (i % 3 === 0) for (const k of [`s:${i}`, `l:${i}`, `z:${i}`, `t:${i}`, `h:${i}`]) p.pexpire(k, 600_000);
  }
  const big = writePageItems + 1_234;
  p.rpush('big:list', ...Array.from({ length: big }, (_, j) => `e${j}`));
  p.zadd('big:zset', ...Array.from({ length: big }, (_, j) => [j / 3, `m${j}`]).flat());
  p.xadd('a:stream', '*', 'f', 'v');
  await p.exec();

  const [first, , third] = cluster.nodes;
  const copy = await runMigrate(['--from', `redis://127.0.0.1:${redisPort}/0`, '--to', `127.0.0.1:${first!.port}`, '--checkpoint', path.join(dir, 'cp.json'), '--verify', 'none']);
  t.is(copy.code, 0, copy.out);
  for (const [type, n] of [['string', keysPerType], ['list', keysPerType + 1], ['zset', keysPerType + 1], ['set', keysPerType], ['hash', keysPerType]] as const) {
    t.regex(copy.out, new RegExp(`  ${type}: ${n}\\n`), copy.out);
  }
  t.regex(copy.out, /1: a type ringkv does not hold \(stream\)/);
  // Verified through another node: its reads ask the replicas at R=2.
  const verify = await runMigrate(['--from', `redis://127.0.0.1:${redisPort}/0`, '--to', `127.0.0.1:${third!.port}`, '--checkpoint', path.join(dir, 'cp3.json'), '--mode', 'missing', '--verify', 'all']);
  t.is(verify.code, 0, verify.out);
  t.regex(verify.out, new RegExp(`verify \\(every key\\): ${5 * keysPerType + 2} equal, 0 differing, 0 missing on the target, 0 with a different expiry, 1 not compared`));
  const target = third!.client({ protocol: 2 });
  t.is(await target.llen('big:list'), big);
  t.true((await target.pttl('h:3')) > 500_000);
});
