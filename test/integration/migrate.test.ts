// `ringkv migrate` against a real redis-server (installed by .ci/run): a
// keyspace of 100,000 string keys — binary keys and values among them, a
// tenth with a time to live, and a list ringkv does not hold — copied into a
// ringkv node, killed (SIGKILL) half way and run again: the second run
// resumes from the checkpoint, copies no completed batch twice, and the
// verification of every key finds them all equal. The figures (keys/s) are
// logged: the README quotes them.

import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { ManagedProcess, makeTempDir, removeTempDir, repoRoot, sleep, startNode, waitForPing, type RingkvNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

const keys = 100_000;
const batch = 500;
const ringkvBin = path.join(repoRoot, 'bin', 'ringkv.js');

let redisPort = 0;
let redisProcess: ManagedProcess;
let redis: Redis;
let node: RingkvNode;
let dir: string;

/** Key i: mostly text, every 97th binary (NUL and high bytes), as real keyspaces hold both. */
function keyOf(i: number): Buffer {
  return i % 97 === 0 ? Buffer.from([0x00, 0xff, 0x10, ...Buffer.from(`bin:${i}`)]) : Buffer.from(`user:${i}:profile`);
}

function valueOf(i: number): Buffer {
  return i % 89 === 0 ? Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef, i & 0xff]) : Buffer.from(`{"id":${i},"name":"user ${i}","score":${(i * 7919) % 1000}}`);
}

/** Redis's protocol for mass insertion (redis-cli --pipe): each command as a RESP array of bulk strings. */
function resp(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function pipeInto(port: number, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const cli = spawn('redis-cli', ['-p', String(port), '--pipe']);
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.on('error', reject);
    cli.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli --pipe exited ${code}: ${out}`))));
    cli.stdin.end(payload);
  });
}

function runMigrate(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ringkvBin, 'migrate', ...args], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, out) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: out.toString() });
    });
  });
}

test.before(async () => {
  dir = await makeTempDir('ringkv-migrate-');
  redisPort = await freePort();
  redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const started = startNode();
  await waitForPing(redisPort, redisProcess, 10_000);
  node = await started;
  redis = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true });
  await redis.connect();
  const commands: Buffer[] = [];
  for (let i = 0; i < keys; i++) {
    commands.push(i % 10 === 0 ? resp(['SET', keyOf(i), valueOf(i), 'EX', String(3600 + i)]) : resp(['SET', keyOf(i), valueOf(i)]));
  }
  commands.push(resp(['RPUSH', 'a:list', 'x', 'y']));
  const out = await pipeInto(redisPort, Buffer.concat(commands));
  if (!/errors: 0, replies: 100001/.test(out)) throw new Error(`mass insertion: ${out}`);
});

test.after.always(async () => {
  redis?.disconnect();
  await Promise.all([redisProcess?.stop(), node?.cleanup()]);
  if (dir !== undefined) await removeTempDir(dir);
});

function copiedIn(checkpoint: string): number {
  if (!existsSync(checkpoint)) return 0;
  try {
    const cp = JSON.parse(readFileSync(checkpoint, 'utf8')) as { copied: Record<string, number> };
    return Object.values(cp.copied).reduce((a, b) => a + b, 0);
  } catch {
    return 0; // caught between the write and the rename of a new one: read again
  }
}

test.serial('100,000 keys: killed half way, resumed from the checkpoint, every key equal on ringkv', async (t) => {
  const checkpoint = path.join(dir, 'checkpoint.json');
  const args = ['--from', `redis://127.0.0.1:${redisPort}/0`, '--to', `127.0.0.1:${node.port}`, '--checkpoint', checkpoint, '--batch', String(batch), '--rate', '1000000'];
  const first = spawn(process.execPath, [ringkvBin, 'migrate', ...args], { stdio: 'ignore' });
  const started = Date.now();
  while (copiedIn(checkpoint) < keys / 2 && Date.now() - started < 120_000 && first.exitCode === null) await sleep(20);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const atKill = copiedIn(checkpoint);
  t.true(atKill >= keys / 2 && atKill < keys, `killed with ${atKill} keys in the checkpoint`);

  const resumed = await runMigrate([...args, '--verify', 'all']);
  t.is(resumed.code, 0, resumed.out);
  t.regex(resumed.out, new RegExp(`resuming: ${atKill} keys copied before`));
  const total = copiedIn(checkpoint);
  // SCAN may return a key twice (a rehash); nothing else is copied twice, whatever the kill cost.
  t.true(total >= keys && total <= keys + batch, `copied ${total} in all`);
  t.regex(resumed.out, /1: a type ringkv does not hold \(list\)/);
  t.regex(resumed.out, new RegExp(`verify \\(every key\\): ${keys} equal, 0 differing, 0 missing on the target, 0 with a different expiry, 1 not compared`));
  t.log(resumed.out.split('\n').find((l) => l.startsWith('copied ')) ?? '');

  const target = node.client({ protocol: 2 });
  t.is(await target.dbsize(), keys);
  t.deepEqual(await target.getBuffer(keyOf(97)), valueOf(97));
  t.deepEqual(await target.getBuffer(keyOf(89)), valueOf(89));
  const ttl = await target.ttl(keyOf(10));
  t.true(ttl > 3500 && ttl <= 3610, `TTL kept: ${ttl}`);
  t.is(await target.ttl(keyOf(11)), -1);

  // A finished copy run again does nothing but verify.
  const again = await runMigrate([...args, '--verify', 'none']);
  t.is(again.code, 0, again.out);
  t.regex(again.out, /the copy was complete/);
});

test.serial('bad arguments are one line with exit code 2; a source that is not there is exit 2 too', async (t) => {
  const noFrom = await new Promise<{ code: number; err: string }>((resolve) => {
    execFile(process.execPath, [ringkvBin, 'migrate', '--to', '127.0.0.1:1'], (err, _out, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, err: stderr.toString() }));
  });
  t.is(noFrom.code, 2);
  t.regex(noFrom.err, /--from is required/);
  const badUrl = await new Promise<{ code: number; err: string }>((resolve) => {
    execFile(process.execPath, [ringkvBin, 'migrate', '--from', 'http://x:1'], (err, _out, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, err: stderr.toString() }));
  });
  t.is(badUrl.code, 2);
  t.regex(badUrl.err, /'http:' is not redis: or rediss:/);
  const port = await freePort();
  const nobody = await new Promise<{ code: number; err: string }>((resolve) => {
    execFile(process.execPath, [ringkvBin, 'migrate', '--from', `redis://127.0.0.1:${port}`, '--to', `127.0.0.1:${node.port}`, '--checkpoint', path.join(dir, 'none.json')], (err, _out, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, err: stderr.toString() }));
  });
  t.is(nobody.code, 2);
  t.regex(nobody.err, /cannot connect to the source/);
});
