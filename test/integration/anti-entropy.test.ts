// Anti-entropy with real processes: a replica that missed writes (hints
// off, so nothing else would bring them), or lost its records, converges
// through `ringkv repair` alone, moving only what differs; and the
// background loop alone converges a stale replica without any command.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Redis } from 'ioredis';
import { eventually, infoNumber, repoRoot, startCluster, type Cluster } from '../helpers/cluster.js';
import { fastGossip } from '../helpers/fixtures.js';


function ringkvRepair(port: number): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin', 'ringkv.js'), 'repair', '-p', String(port)], { timeout: 120_000 }, (err, out, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out, err: stderr });
    });
  });
}

/** How many of `keys` the node itself stores (RING LOCAL), pipelined. */
async function localCount(client: Redis, keys: readonly string[]): Promise<number> {
  let held = 0;
  for (let i = 0; i < keys.length; i += 2_000) {
    const p = client.pipeline();
    for (const key of keys.slice(i, i + 2_000)) p.call('RING', 'LOCAL', key);
    for (const [err, reply] of (await p.exec())!) if (err === null && (reply as unknown[]).length > 0) held++;
  }
  return held;
}

/**
 * Writes every key at W, 500 in flight at a time. The writes are the
 * setup, not what is tested: on a loaded machine a write can miss the 1 s
 * request timeout, and one that failed is sent again (a few rounds) rather
 * than failing the test.
 */
async function writeAll(client: Redis, keys: readonly string[], value: (key: string) => string): Promise<void> {
  let pending = [...keys];
  let lastError = '';
  for (let round = 0; round < 5 && pending.length > 0; round++) {
    const failedKeys: string[] = [];
    for (let i = 0; i < pending.length; i += 500) {
      const batch = pending.slice(i, i + 500);
      const p = client.pipeline();
      for (const key of batch) p.set(key, value(key));
      const replies = (await p.exec())!;
      replies.forEach(([err], j) => {
        if (err === null) return;
        failedKeys.push(batch[j]!);
        lastError = String(err);
      });
    }
    pending = failedKeys;
  }
  if (pending.length > 0) throw new Error(`${pending.length} writes still failing after 5 rounds: ${lastError}`);
}

test.serial('ringkv repair: a replica that missed 10,000 writes (hints off) holds every key afterwards, and a second repair moves nothing', async (t) => {
  const cluster: Cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: [...fastGossip, '--hint-window-ms', '0', '--anti-entropy-interval-ms', '0'] });
  t.teardown(() => cluster.cleanup());
  const [n1, , n3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const client = n1.client({ protocol: 2 });
  await n3.kill();
  await cluster.waitConverged(2, 20_000);
  const keys = Array.from({ length: 10_000 }, (_, i) => `missed:${i}`);
  await writeAll(client, keys, (key) => `value-of-${key}-${'x'.repeat(64)}`);
  await n3.restart();
  await cluster.waitConverged(3, 20_000);
  const c3 = n3.client({ protocol: 2 });
  t.is(await localCount(c3, keys), 0, 'no hints and no reads: n3 has none of them');

  const started = Date.now();
  const repaired = await ringkvRepair(n3.port);
  const ms = Date.now() - started;
  t.is(repaired.code, 0, repaired.err);
  const summary = repaired.out.trim().split('\n').at(-1)!;
  t.regex(summary, /^repair: \d+ ranges, \d+ keys compared, \d+ records moved, \d+ bytes, [\d.]+ s$/);
  t.log(`${summary} (wall ${ms} ms)`);
  const moved = Number(/(\d+) records moved/.exec(summary)![1]);
  t.true(moved >= keys.length, `${moved} records moved`);
  t.is(await localCount(c3, keys), keys.length, 'every key in n3\'s RING LOCAL');

  const again = await ringkvRepair(n3.port);
  t.is(again.code, 0, again.err);
  t.regex(again.out, /0 records moved/, 'in sync: nothing to move');
  const info = await c3.info('antientropy');
  t.true(infoNumber(info, 'exchanges') > 0);
  t.true(infoNumber(info, 'trees') >= 1);
});

test.serial('ringkv repair: a node whose records were wiped (same id and ring position) converges; repair against a down replica fails with the reason', async (t) => {
  const cluster: Cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: [...fastGossip, '--anti-entropy-interval-ms', '0'] });
  t.teardown(() => cluster.cleanup());
  const [n1, n2, n3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const keys = Array.from({ length: 2_000 }, (_, i) => `wiped:${i}`);
  await writeAll(n1.client({ protocol: 2 }), keys, (key) => `v:${key}`);
  await n3.kill();
  await rm(path.join(n3.dataDir, 'records'), { recursive: true, force: true });
  await rm(path.join(n3.dataDir, 'hints'), { recursive: true, force: true });
  await n3.restart();
  await cluster.waitConverged(3, 20_000);
  const c3 = n3.client({ protocol: 2 });
  t.is(await localCount(c3, keys), 0, 'the disk was wiped');
  const repaired = await ringkvRepair(n3.port);
  t.is(repaired.code, 0, repaired.err);
  t.log(repaired.out.trim());
  t.is(await localCount(c3, keys), keys.length);

  await n2.kill();
  await cluster.waitConverged(2, 20_000);
  const failed = await ringkvRepair(n3.port);
  t.is(failed.code, 1);
  t.regex(failed.err, /repair failed: .*n2/);
});

test.serial('the background loop alone converges a stale replica, without any command or read', async (t) => {
  const intervalMs = 200;
  const cluster: Cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: [...fastGossip, '--hint-window-ms', '0', '--anti-entropy-interval-ms', String(intervalMs)] });
  t.teardown(() => cluster.cleanup());
  const [n1, , n3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  await n3.kill();
  await cluster.waitConverged(2, 20_000);
  const keys = Array.from({ length: 2_000 }, (_, i) => `bg:${i}`);
  await writeAll(n1.client({ protocol: 2 }), keys, (key) => `v:${key}`);
  await n3.restart();
  const back = Date.now();
  const c3 = n3.client({ protocol: 2 });
  t.true(await eventually(async () => (await localCount(c3, keys)) === keys.length, 30_000, 250), 'n3 caught up by itself');
  t.log(`n3 held all ${keys.length} keys ${Date.now() - back} ms after its restart (one exchange every ${intervalMs} ms)`);
});
