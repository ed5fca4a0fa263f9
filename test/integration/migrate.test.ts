// `ringkv migrate` against a real redis-server (installed by .ci/run): a
// keyspace of 100,000 keys — mostly strings, 2,000 each of lists, sorted
// sets, sets and hashes among them (ten of each big enough to be read in
// pages, one of each written in pages too), binary keys, values, elements, members and fields, a tenth of the strings and a third of
// the collections with a time to live, some keys already holding another
// type in ringkv, and a stream ringkv does not hold — copied into a ringkv
// node, killed (SIGKILL) half way and run again: the second run resumes from
// the checkpoint, copies no completed batch twice, and the verification of
// every key finds them all equal. The figures (keys/s) are logged: the
// README quotes them.

import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { ManagedProcess, makeTempDir, removeTempDir, repoRoot, sleep, startNode, waitForPing, type RingkvNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { copyPaged, pagedSkipReasons } from '../../src/migrate/paged-copy.js';
import { writePageItems } from '../../src/migrate/value-copiers.js';

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

type SourceType = 'string' | 'list' | 'zset' | 'set' | 'hash';
const collectionTypes = ['list', 'zset', 'set', 'hash'] as const;

/** What key i holds in the source: of every 50 keys one list, one sorted set, one set, one hash; the rest strings. */
function typeOf(i: number): SourceType {
  return collectionTypes[(i % 50) - 1] ?? 'string';
}

/**
 * Ten of each collection type are big: 2,500 to 3,500 entries, three or four
 * pages read; the first of each over 12,000, two IMPORT pages written.
 */
function entriesOf(i: number): number {
  if (Math.floor(i / 50) % 200 !== 3) return 1 + (i % 7);
  return (i < 200 ? 12_000 : 2_500) + (i % 1_000);
}

/** Element j of list i: text, or binary for every 13th. */
function elementOf(i: number, j: number): Buffer {
  return j % 13 === 5 ? Buffer.from([0x00, 0xff, j & 0xff, (j >> 8) & 0xff, i & 0xff]) : Buffer.from(`e${j}:${i % 101}`);
}

/** Score j of sorted set i: fractions of either sign, the infinities, ties. */
function scoreOf(i: number, j: number): string {
  if (j % 50 === 3) return j % 100 === 3 ? '-inf' : 'inf';
  return String((((i * 31 + j * 17) % 2001) - 1000) / 7);
}

function memberOf(i: number, j: number): Buffer {
  return j % 11 === 4 ? Buffer.from([0xff, 0x00, j & 0xff, (j >> 8) & 0xff]) : Buffer.from(`m${j}`);
}

const addCommand: Record<Exclude<SourceType, 'string'>, string> = { list: 'RPUSH', zset: 'ZADD', set: 'SADD', hash: 'HSET' };

/** The commands that make key i in the source. */
function commandsOf(i: number): (string | Buffer)[][] {
  const key = keyOf(i);
  const type = typeOf(i);
  if (type === 'string') return [i % 10 === 0 ? ['SET', key, valueOf(i), 'EX', String(3600 + i)] : ['SET', key, valueOf(i)]];
  const n = entriesOf(i);
  const out: (string | Buffer)[][] = [];
  // Big collections in commands of 500 entries: RPUSH/ZADD of thousands at once would be as fine, but this is what a loader does.
  for (let from = 0; from < n; from += 500) {
    const to = Math.min(n, from + 500);
    const args: (string | Buffer)[] = [addCommand[type], key];
    for (let j = from; j < to; j++) {
      if (type === 'list') args.push(elementOf(i, j));
      else if (type === 'zset') args.push(scoreOf(i, j), memberOf(i, j));
      else if (type === 'set') args.push(memberOf(i, j));
      else args.push(memberOf(i, j), elementOf(i, j));
    }
    out.push(args);
  }
  if (i % 3 === 0) out.push(['EXPIRE', key, String(3600 + i)]);
  return out;
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
  let count = 0;
  for (let i = 0; i < keys; i++) {
    for (const command of commandsOf(i)) {
      commands.push(resp(command));
      count++;
    }
  }
  commands.push(resp(['XADD', 'a:stream', '*', 'field', 'value']));
  const out = await pipeInto(redisPort, Buffer.concat(commands));
  if (!new RegExp(`errors: 0, replies: ${count + 1}`).test(out)) throw new Error(`mass insertion: ${out}`);
});

test.after.always(async () => {
  redis?.disconnect();
  await Promise.all([redisProcess?.stop(), node?.cleanup()]);
  if (dir !== undefined) await removeTempDir(dir);
});

/** HGETALL's flat reply as [field, value] pairs in the fields' byte order. */
function pairsOf(reply: unknown): Buffer[][] {
  const flat = reply as Buffer[];
  const pairs: Buffer[][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs.sort((a, b) => Buffer.compare(a[0]!, b[0]!));
}

function copiedIn(checkpoint: string): number {
  if (!existsSync(checkpoint)) return 0;
  try {
    const cp = JSON.parse(readFileSync(checkpoint, 'utf8')) as { copied: Record<string, number> };
    return Object.values(cp.copied).reduce((a, b) => a + b, 0);
  } catch {
    return 0; // caught between the write and the rename of a new one: read again
  }
}

test.serial('100,000 keys of five types: killed half way, resumed from the checkpoint, every key equal on ringkv', async (t) => {
  const target = node.client({ protocol: 2 });
  // Keys ringkv already holds as another type: `overwrite` replaces them whatever they held.
  await target.set(keyOf(1), 'a string where the source has a list');
  await target.rpush(keyOf(2), 'a list where the source has a sorted set');
  await target.sadd(keyOf(3), 'a set where the source has a set');
  await target.hset(keyOf(4), 'f', 'a hash where the source has a hash');
  await target.zadd(keyOf(5), 1, 'a sorted set where the source has a string');
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
  const perType = JSON.parse(readFileSync(checkpoint, 'utf8')) as { copied: Record<string, number> };
  for (const type of collectionTypes) {
    const n = perType.copied[type] ?? 0;
    t.true(n >= keys / 50 && n <= keys / 50 + batch, `${type}: ${n} copied`);
    t.regex(resumed.out, new RegExp(`  ${type}: ${n}\n`));
  }
  t.regex(resumed.out, /1: a type ringkv does not hold \(stream\)/);
  t.regex(resumed.out, new RegExp(`verify \\(every key\\): ${keys} equal, 0 differing, 0 missing on the target, 0 with a different expiry, 1 not compared`));
  t.log(resumed.out.split('\n').find((l) => l.startsWith('copied ')) ?? '');

  t.is(await target.dbsize(), keys);
  t.deepEqual(await target.getBuffer(keyOf(97)), valueOf(97));
  t.deepEqual(await target.getBuffer(keyOf(89)), valueOf(89));
  const ttl = await target.ttl(keyOf(10));
  t.true(ttl > 3500 && ttl <= 3610, `TTL kept: ${ttl}`);
  t.is(await target.ttl(keyOf(11)), -1);
  // A big list (paged) and a big sorted set, with binary elements and members, the infinities, and their TTLs.
  const bigList = 3 * 50 + 1; // i = 151: Math.floor(151 / 50) % 200 === 3, a list
  t.is(typeOf(bigList), 'list');
  t.deepEqual(await target.lrangeBuffer(keyOf(bigList), 0, -1), Array.from({ length: entriesOf(bigList) }, (_, j) => elementOf(bigList, j)));
  const bigZset = bigList + 1;
  t.deepEqual(await target.zrangeBuffer(keyOf(bigZset), '0', '-1', 'WITHSCORES'), await redis.zrangeBuffer(keyOf(bigZset), '0', '-1', 'WITHSCORES'));
  t.true(entriesOf(bigZset) > writePageItems, 'written in more than one IMPORT page');
  const bigSet = bigList + 2;
  t.deepEqual((await target.smembersBuffer(keyOf(bigSet))).sort(Buffer.compare), (await redis.smembersBuffer(keyOf(bigSet))).sort(Buffer.compare));
  t.is(await target.scard(keyOf(bigSet)), entriesOf(bigSet));
  const bigHash = bigList + 3;
  // As field/value pairs in byte order: an object keyed by field would fold binary fields together.
  t.deepEqual(pairsOf(await target.callBuffer('HGETALL', keyOf(bigHash))), pairsOf(await redis.callBuffer('HGETALL', keyOf(bigHash))));
  t.is(await target.hlen(keyOf(bigHash)), entriesOf(bigHash));
  for (const [i, type] of [[1, 'list'], [2, 'zset'], [3, 'set'], [4, 'hash'], [5, 'string']] as const) t.is(await target.type(keyOf(i)), type);
  const listTtl = await target.ttl(keyOf(51)); // i = 51: a list, 51 % 3 === 0
  t.true(listTtl > 3500 && listTtl <= 3651, `a list's TTL kept: ${listTtl}`);
  t.is(await target.ttl(keyOf(101)), -1);
  for (const i of [54, 153]) { // a hash and a set, i % 3 === 0
    const collectionTtl = await target.ttl(keyOf(i));
    t.true(collectionTtl > 3500 && collectionTtl <= 3600 + i, `a ${typeOf(i)}'s TTL kept: ${collectionTtl}`);
  }

  // A finished copy run again does nothing.
  const again = await runMigrate([...args, '--verify', 'none']);
  t.is(again.code, 0, again.out);
  t.regex(again.out, /the copy was complete/);
});

test.serial('verify finds a collection of each type changed in ringkv after its copy', async (t) => {
  const target = node.client({ protocol: 2 });
  const source = new Redis({ port: redisPort, host: '127.0.0.1', db: 3 });
  t.teardown(() => source.disconnect());
  await source.rpush('v:list', 'a', 'b');
  await source.zadd('v:zset', 1, 'a', 2, 'b');
  await source.sadd('v:set', 'a', 'b');
  await source.hset('v:hash', 'f', 'v', 'g', 'w');
  await source.set('v:string', 'same');
  const args = ['--from', `redis://127.0.0.1:${redisPort}/3`, '--to', `127.0.0.1:${node.port}`, '--checkpoint', path.join(dir, 'verify.json'), '--verify', 'all'];
  const first = await runMigrate(args);
  t.is(first.code, 0, first.out);
  t.regex(first.out, /verify \(every key\): 5 equal, 0 differing/);
  await target.rpush('v:list', 'extra');
  await target.zadd('v:zset', 3, 'a'); // same members, another order
  await target.sadd('v:set', 'extra');
  await target.hset('v:hash', 'f', 'changed');
  const again = await runMigrate(args);
  t.is(again.code, 1, again.out);
  t.regex(again.out, /verify \(every key\): 1 equal, 4 differing/);
});

test.serial('missing mode: a collection ringkv holds is left; an interrupted paged copy is replaced from its checkpoint, not found present', async (t) => {
  const target = node.client({ protocol: 2 });
  const source = new Redis({ port: redisPort, host: '127.0.0.1', db: 1 });
  t.teardown(() => source.disconnect());
  const big = Array.from({ length: 2_345 }, (_, j) => elementOf(5, j));
  await source.rpush('m:big', ...big);
  await source.pexpire('m:big', 600_000);
  await source.zadd('m:held', 1, 'a', 2, 'b');
  await source.rpush('m:new', 'x', 'y');
  await target.zadd('m:held', 9, 'ringkv');
  // An earlier run was killed after the first page of m:big: its token is in the checkpoint.
  const token = await target.callBuffer('IMPORT', 'm:big', 'TYPE', 'list', 'ITEMS', 'partial') as Buffer;
  const checkpoint = path.join(dir, 'missing.json');
  const from = `redis://127.0.0.1:${redisPort}/1`;
  const to = `127.0.0.1:${node.port}`;
  writeFileSync(checkpoint, JSON.stringify({
    version: 1, from: `redis://127.0.0.1:${redisPort}/1`, to, cursor: '0', done: false, copied: {}, skipped: {}, bytes: 0, elapsedMs: 0,
    inFlight: { key: Buffer.from('m:big').toString('base64'), token: token.toString('base64') },
  }));
  const run = await runMigrate(['--from', from, '--to', to, '--checkpoint', checkpoint, '--mode', 'missing', '--verify', 'none']);
  t.is(run.code, 0, run.out);
  t.regex(run.out, /  list: 2\n/);
  t.regex(run.out, /1: already in ringkv/);
  t.deepEqual(await target.lrangeBuffer('m:big', 0, -1), big);
  const pttl = await target.pttl('m:big');
  t.true(pttl > 590_000 && pttl <= 600_000, `TTL kept: ${pttl}`);
  t.deepEqual(await target.zrange('m:held', '0', '-1'), ['ringkv']);
  t.deepEqual(await target.lrange('m:new', 0, -1), ['x', 'y']);
  t.is((JSON.parse(readFileSync(checkpoint, 'utf8')) as { inFlight?: unknown }).inFlight, undefined);
});

test.serial('a big collection written to during its paged read is read again, and skipped with the reason while the writes go on', async (t) => {
  const source = new Redis({ port: redisPort, host: '127.0.0.1', db: 2 });
  const writer = new Redis({ port: redisPort, host: '127.0.0.1', db: 2 });
  const target = node.client({ protocol: 2 });
  t.teardown(() => {
    source.disconnect();
    writer.disconnect();
  });
  await source.rpush('c:list', ...Array.from({ length: 5_000 }, (_, j) => `v${j}`));
  const key = Buffer.from('c:list');
  const hooks = {
    now: Date.now,
    onToken: () => undefined,
    write: (args: readonly (Buffer | string)[]) => target.callBuffer('IMPORT', ...args),
  };
  let writing = true;
  const writes = (async () => {
    while (writing) await writer.lpush('c:list', 'new');
  })();
  const busy = await copyPaged(source, key, 'list', 'overwrite', hooks);
  writing = false;
  await writes;
  t.deepEqual(busy, { copied: false, reason: pagedSkipReasons.changing });
  t.is(await target.exists('c:list'), 0, 'nothing written for a value never read whole');
  const quiet = await copyPaged(source, key, 'list', 'overwrite', hooks);
  t.like(quiet, { copied: true });
  t.deepEqual(await target.lrange('c:list', 0, -1), await source.lrange('c:list', 0, -1));
});

test.serial('a client writing a collection in ringkv between two of its IMPORT pages: the copy reports it not copied and leaves the client\'s write', async (t) => {
  const source = new Redis({ port: redisPort, host: '127.0.0.1', db: 2 });
  const target = node.client({ protocol: 2 });
  t.teardown(() => source.disconnect());
  await source.rpush('w:list', ...Array.from({ length: writePageItems + 500 }, (_, j) => `v${j}`));
  let pages = 0;
  const outcome = await copyPaged(source, Buffer.from('w:list'), 'list', 'overwrite', {
    now: Date.now,
    onToken: () => undefined,
    write: async (args) => {
      const reply = await target.callBuffer('IMPORT', ...args);
      if (++pages === 1) await target.rpush('w:list', 'a client'); // after the first page, before the second
      return reply;
    },
  });
  t.deepEqual(outcome, { copied: false, reason: pagedSkipReasons.chainBroken });
  t.is(pages, 2);
  t.is(await target.llen('w:list'), writePageItems + 1, 'the first page and the client\'s element, nothing appended after them');
  t.is(await target.lindex('w:list', -1), 'a client');
});

test.serial('IMPORT TYPE: pages of each collection type, 0 where a version is held or the chain broke, Redis\'s words for a bad score', async (t) => {
  const c = node.client({ protocol: 2 });
  for (const [type, items] of [['list', ['a', 'b']], ['zset', ['1', 'a', '-inf', 'b']], ['set', ['a', 'b']], ['hash', ['f', 'v']]] as const) {
    const key = `imp:${type}`;
    const token = await c.callBuffer('IMPORT', key, 'TYPE', type, 'PXAT', String(Date.now() + 60_000), 'ITEMS', ...items);
    t.true(Buffer.isBuffer(token), type);
    t.is(await c.type(key), type);
    t.is(await c.call('IMPORT', key, 'TYPE', type, 'ITEMS', ...items), 0, `${type}: a version is held`);
    t.true(Buffer.isBuffer(await c.callBuffer('IMPORT', key, 'TYPE', type, 'APPEND', token as Buffer, 'ITEMS', ...items)), `${type}: a later page`);
    t.is(await c.call('IMPORT', key, 'TYPE', type, 'APPEND', token as Buffer, 'ITEMS', ...items), 0, `${type}: the chain moved on`);
    t.true((await c.pttl(key)) > 50_000, `${type}: the first page's expiry kept`);
  }
  t.deepEqual(await c.lrange('imp:list', 0, -1), ['a', 'b', 'a', 'b']);
  await t.throwsAsync(c.call('IMPORT', 'imp:z2', 'TYPE', 'zset', 'ITEMS', 'x', 'a'), { message: 'ERR value is not a valid float' });
  await t.throwsAsync(c.call('IMPORT', 'imp:h2', 'TYPE', 'hash', 'ITEMS', 'f'), { message: 'ERR syntax error' });
  await t.throwsAsync(c.call('IMPORT', 'imp:s2', 'TYPE', 'stream', 'ITEMS', 'x'), { message: "ERR IMPORT of type 'stream' is not supported" });
  await t.throwsAsync(c.call('IMPORT', 'imp:s2', 'TYPE', 'set', 'APPEND', 'junk', 'ITEMS', 'x'), { message: 'ERR IMPORT APPEND token is not one IMPORT gave' });
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
