// `npm run bench:migrate`: how fast `ringkv migrate` copies each type, as an
// operator runs it — a real redis-server and one real ringkv node, the copy a
// child process with its defaults but `--rate` lifted and `--verify none` (so
// the figure is the copy alone). Per type, one keyspace of small values (a
// string, or a collection of `smallEntries` entries: the common case, one
// IMPORT per key in the batch's pipeline) and one of a few big collections
// (`bigEntries` entries each: read under WATCH in pages, written in a chain
// of IMPORT pages). The copy's own report line gives keys/s; items/s counts
// elements, members or fields. Results are printed and written to
// benchmarks/results/migrate-types-<timestamp>.json.
//
//   npm run bench:migrate [-- KEYS]   (default 20,000 small keys per type)

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ManagedProcess, makeTempDir, removeTempDir, repoRoot, startNode, waitForPing } from '../test/helpers/cluster.js';
import { freePort } from '../test/helpers/ports.js';

const types = ['string', 'list', 'zset', 'set', 'hash'] as const;
type SourceType = (typeof types)[number];
/** Entries of a small collection: what most application keys hold. */
const smallEntries = 5;
/** Big collections per type, and their entries: 20 pages each, enough to show the paged path's rate. */
const bigKeys = 10;
const bigEntries = 20_000;
/** Keys written to the source per pipeline while filling it. */
const fillBatch = 1_000;
const ringkvBin = path.join(repoRoot, 'bin', 'ringkv.js');

interface Row {
  readonly type: SourceType;
  readonly shape: string;
  readonly keys: number;
  readonly items: number;
  readonly seconds: number;
  readonly keysPerSec: number;
  readonly itemsPerSec: number;
}

async function fill(redis: Redis, type: SourceType, keys: number, entries: number): Promise<void> {
  await redis.flushdb();
  for (let from = 0; from < keys; from += fillBatch) {
    const p = redis.pipeline();
    for (let i = from; i < Math.min(keys, from + fillBatch); i++) {
      const key = `${type}:${i}`;
      if (type === 'string') {
        p.set(key, `{"id":${i},"name":"user ${i}"}`);
        continue;
      }
      // Big collections in commands of 1,000 entries, as a loader writes them.
      for (let start = 0; start < entries; start += 1_000) {
        const args: (string | number)[] = [];
        for (let j = start; j < Math.min(entries, start + 1_000); j++) {
          if (type === 'list') args.push(`e${j}:${i}`);
          else if (type === 'zset') args.push(j / 3, `m${j}`);
          else if (type === 'set') args.push(`m${j}:${i}`);
          else args.push(`f${j}`, `v${j}:${i}`);
        }
        if (type === 'list') p.rpush(key, ...args);
        else if (type === 'zset') p.zadd(key, ...args);
        else if (type === 'set') p.sadd(key, ...args);
        else p.hset(key, ...args);
      }
    }
    await p.exec();
  }
}

function migrate(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [ringkvBin, 'migrate', ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, out) => {
      if (err !== null) reject(new Error(`migrate failed: ${err.message}\n${out}`));
      else resolve(out);
    });
  });
}

async function main(): Promise<void> {
  const smallKeys = Number(process.argv[2] ?? 20_000);
  const dir = await makeTempDir('ringkv-bench-migrate-');
  const redisPort = await freePort();
  const redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const node = await startNode();
  const redis = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true });
  const rows: Row[] = [];
  try {
    await waitForPing(redisPort, redisProcess, 10_000);
    await redis.connect();
    const target = node.client({ protocol: 2 });
    for (const type of types) {
      const shapes: [string, number, number][] = [[type === 'string' ? 'small' : `${smallEntries} entries`, smallKeys, smallEntries]];
      if (type !== 'string') shapes.push([`${bigEntries} entries (paged)`, bigKeys, bigEntries]);
      for (const [shape, keys, entries] of shapes) {
        await fill(redis, type, keys, entries);
        await target.flushall();
        const out = await migrate([
          '--from', `redis://127.0.0.1:${redisPort}/0`, '--to', `127.0.0.1:${node.port}`, '--checkpoint', path.join(dir, `${type}-${keys}.json`),
          '--restart', '--rate', '10000000', '--verify', 'none',
        ]);
        const line = /copied (\d+) keys .* in ([\d.]+) s/.exec(out);
        if (line === null || Number(line[1]) !== keys) throw new Error(`unexpected report for ${type}: ${out}`);
        const seconds = Number(line[2]);
        const items = type === 'string' ? keys : keys * entries;
        const row = { type, shape, keys, items, seconds, keysPerSec: Math.round(keys / seconds), itemsPerSec: Math.round(items / seconds) };
        rows.push(row);
        process.stdout.write(`${type.padEnd(6)} ${shape.padEnd(24)} ${String(keys).padStart(6)} keys in ${seconds.toFixed(1)} s: ${row.keysPerSec} keys/s, ${row.itemsPerSec} items/s\n`);
      }
    }
  } finally {
    redis.disconnect();
    await Promise.all([redisProcess.stop(), node.cleanup()]);
    await removeTempDir(dir);
  }
  const results = path.join(repoRoot, 'benchmarks', 'results');
  await mkdir(results, { recursive: true });
  await writeFile(path.join(results, `migrate-types-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), `${JSON.stringify(rows, null, 2)}\n`);
}

await main();
