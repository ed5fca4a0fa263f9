// Hinted handoff under faults, with real processes (README, "Down replicas"):
// a fallback that crashes with hints pending still delivers them after its own
// restart (the store, not memory, holds the delivery state), and hints past
// --hint-window-ms are dropped, counted, and never delivered — the write stays
// readable from the key's other replicas, and a read repairs the primary.
// Each scenario starts its own cluster: the two need different hint windows.
import test from 'ava';
import type { Redis } from 'ioredis';
import { startCluster, eventually, sleep, type Cluster, type RingkvNode, infoNumber, keysOwnedBy } from '../helpers/cluster.js';
import { fastGossip } from '../helpers/fixtures.js';

/** Bounds for the waits; the measured times are logged. */
const handoffWithinMs = 30_000;
const convergeWithinMs = 20_000;

const clusters: Cluster[] = [];

test.after.always(async () => {
  await Promise.all(clusters.map((c) => c.cleanup()));
});

async function cluster(nodes: number, extraArgs: string[]): Promise<Cluster> {
  const c = await startCluster({ nodes, n: 3, r: 2, w: 2, extraArgs: [...fastGossip, ...extraArgs] });
  clusters.push(c);
  return c;
}

/** One INFO # Cluster counter per node, in the order given. */
async function counters(nodes: readonly RingkvNode[], name: string): Promise<number[]> {
  const infos = await Promise.all(nodes.map((n) => n.info('cluster')));
  return infos.map((info) => infoNumber(info, name));
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

const valueOf = (key: string): string => `v:${key}`;

/** Pipelined SETs; every reply must be OK. */
async function writeAll(t: { is(a: unknown, b: unknown, m?: string): void }, client: Redis, keys: readonly string[]): Promise<void> {
  const p = client.pipeline();
  for (const key of keys) p.set(key, valueOf(key));
  const replies = (await p.exec())!;
  const failed = replies.filter(([err, reply]) => err !== null || reply !== 'OK');
  t.is(failed.length, 0, `${failed.length} of ${keys.length} writes failed, e.g. ${String(failed[0]?.[0])}`);
}

/**
 * The keys whose written value `node` itself does not store (RING LOCAL: its
 * own record, no quorum). A RESP2 RING LOCAL reply is one flat
 * [field, value, …] array per sibling.
 */
async function missingOn(node: RingkvNode, keys: readonly string[]): Promise<string[]> {
  const client = node.client({ protocol: 2 });
  try {
    const p = client.pipeline();
    for (const key of keys) p.call('RING', 'LOCAL', key);
    const replies = (await p.exec())!;
    return keys.filter((key, i) => {
      const [err, reply] = replies[i]!;
      if (err) throw err;
      return !(reply as unknown[][]).some((sibling) => {
        const fields = new Map<string, unknown>();
        for (let f = 0; f + 1 < sibling.length; f += 2) fields.set(String(sibling[f]), sibling[f + 1]);
        return String(fields.get('value')) === valueOf(key) && Number(fields.get('deleted')) === 0;
      });
    });
  } finally {
    client.disconnect();
  }
}

test.serial('a fallback killed with hints pending delivers them after its own restart', async (t) => {
  const c = await cluster(5, []);
  const [n1, n2, n3, n4, p] = c.nodes as [RingkvNode, RingkvNode, RingkvNode, RingkvNode, RingkvNode];
  const client = n1.client({ protocol: 2 });
  const keys = await keysOwnedBy(client, [p.id], 'fk', 300);

  await p.kill();
  await c.waitConverged(4, convergeWithinMs);
  await writeAll(t, client, keys);
  // W=2 answers once two primaries have the write; the fallback's hint may land just after.
  const candidates = [n2, n3, n4];
  t.true(await eventually(async () => sum(await counters([n1, ...candidates], 'hints_pending')) === keys.length, 10_000),
    'one hint per key, for the down primary, on some fallback');
  const pending = await counters(candidates, 'hints_pending');
  const fIndex = pending.indexOf(Math.max(...pending));
  const f = candidates[fIndex]!;
  const fHints = pending[fIndex]!;
  t.true(fHints > 0, `a fallback other than n1 holds hints (${candidates.map((n, i) => `${n.id}=${pending[i]}`).join(', ')})`);
  t.log(`${keys.length} writes with ${p.id} down; ${f.id} holds ${fHints} hints for it, the other fallbacks ${keys.length - fHints}`);

  await f.kill();
  await p.restart();
  await c.waitConverged(4, convergeWithinMs);
  const live = c.nodes.filter((n) => n.alive);
  t.true(await eventually(async () => sum(await counters(live, 'hints_pending')) === 0, handoffWithinMs, 250),
    'the fallbacks still up hand their hints to the returning primary');
  const missingBefore = await missingOn(p, keys);
  t.log(`with ${f.id} still down, ${p.id} lacks ${missingBefore.length} of the ${keys.length} writes`);
  t.true(missingBefore.length > 0 && missingBefore.length <= fHints, `only the writes hinted on ${f.id} can be missing (${missingBefore.length} missing, ${fHints} hinted there)`);

  await f.restart();
  const back = Date.now();
  const home = await eventually(async () => (await missingOn(p, keys)).length === 0 && sum(await counters(c.nodes, 'hints_pending')) === 0, handoffWithinMs, 250);
  t.log(home ? `every write on ${p.id} and no hint pending anywhere ${Date.now() - back} ms after ${f.id} restarted` : `not home ${handoffWithinMs} ms after ${f.id} restarted`);
  t.true(home, `${(await missingOn(p, keys)).length} writes still missing on ${p.id}`);
  // hints_pending drops when a removal is queued; hints_delivered counts it once committed.
  await eventually(async () => (await counters([f], 'hints_delivered'))[0]! >= fHints, 5_000, 100);
  const [fDelivered] = await counters([f], 'hints_delivered');
  t.is(fDelivered, fHints, `${f.id} delivered every hint it held when killed, after its restart`);
});

test.serial('hints past the window are dropped and counted, never delivered; the writes stay readable at R=2 and a read repairs the primary', async (t) => {
  const windowMs = 2_000;
  const c = await cluster(4, ['--hint-window-ms', String(windowMs), '--tombstone-grace-ms', '10000']);
  const [n1, n2, n3, p] = c.nodes as [RingkvNode, RingkvNode, RingkvNode, RingkvNode];
  const fallbacks = [n1, n2, n3];
  const client = n1.client({ protocol: 2 });
  const keys = await keysOwnedBy(client, [p.id], 'ex', 200);

  await p.kill();
  await c.waitConverged(3, convergeWithinMs);
  const writesStarted = Date.now();
  await writeAll(t, client, keys);
  t.true(await eventually(async () => sum(await counters(fallbacks, 'hints_stored')) === keys.length, 10_000), 'one hint per key stored');

  const expired = await eventually(async () => {
    const [pending, dropped] = await Promise.all([counters(fallbacks, 'hints_pending'), counters(fallbacks, 'hints_expired')]);
    return sum(pending) === 0 && sum(dropped) === keys.length;
  }, windowMs + 10_000, 100);
  const expiredAfterMs = Date.now() - writesStarted;
  if (expired) t.log(`all ${keys.length} hints expired ${expiredAfterMs} ms after the writes began (window ${windowMs} ms)`);
  t.true(expired, `hints_pending ${await counters(fallbacks, 'hints_pending')}, hints_expired ${await counters(fallbacks, 'hints_expired')}`);
  t.true(expiredAfterMs >= windowMs, 'no hint expired before the window');

  await p.restart();
  await c.waitConverged(4, convergeWithinMs);
  // Two handoff passes (one a second) with the primary up: nothing is left to deliver.
  await sleep(2_500);
  t.deepEqual(await counters(c.nodes, 'hints_delivered'), [0, 0, 0, 0]);
  t.is((await missingOn(p, keys)).length, keys.length, `no expired write reached ${p.id}`);

  const reads = client.pipeline();
  for (const key of keys) reads.get(key);
  const values = (await reads.exec())!.map(([err, value]) => (err ? `error: ${err.message}` : value));
  t.deepEqual(values, keys.map(valueOf), 'every write readable at R=2 from the two other replicas');
  const readAt = Date.now();
  const repaired = await eventually(async () => (await missingOn(p, keys)).length === 0, 10_000, 100);
  if (repaired) t.log(`read repair put every write on ${p.id} within ${Date.now() - readAt} ms of the reads`);
  t.true(repaired, `${(await missingOn(p, keys)).length} writes still missing on ${p.id} after the reads`);
});
