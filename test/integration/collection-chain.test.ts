// Large collections written as chains (crdt/value-chain.ts, storage/
// level-storage.ts): an operation on a set, hash or list past the chain's
// base size appends its delta to the key's log instead of rewriting the
// record. What a client reads must not depend on that: the same commands
// sent to redis-server give the same collections, before and after the
// ringkv node is killed with SIGKILL (every acknowledged write is in
// LevelDB's log as links) and after a clean restart, and on every replica of
// a three-node cluster, whose replicas chain the deltas they receive.

import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { ManagedProcess, eventually, startCluster, startNode, waitForPing, type Cluster, type RingkvNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { seededRandom } from '../helpers/sim.js';

let node: RingkvNode;
let cluster: Cluster;
let redisProcess: ManagedProcess;
let redis: Redis;

test.before(async () => {
  const redisPort = await freePort();
  redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--databases', '1']);
  [node, cluster] = await Promise.all([
    startNode(),
    startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', '2000'] }),
    waitForPing(redisPort, redisProcess, 10_000),
  ]);
  redis = new Redis(redisPort);
});

test.after.always(async () => {
  redis?.disconnect();
  await Promise.all([redisProcess?.stop(), node?.cleanup(), cluster?.cleanup()]);
});

/** Members long enough that 1,200 of them (the start) are far past the chain's 4 KiB base. */
const member = (i: number) => `member-${String(i).padStart(6, '0')}-${'x'.repeat(12)}`;
const membersAtStart = 1_200;
const operations = 1_500;

/** A seeded run of single-member writes on a set, a hash and a list, as both servers get them. */
function commands(prefix: string, seed: number): string[][] {
  const rng = seededRandom(seed);
  const pick = (n: number) => Math.floor(rng() * n);
  const out: string[][] = [];
  const set = `${prefix}:set`;
  const hash = `${prefix}:hash`;
  const list = `${prefix}:list`;
  // Whole at first (one command each): the base every later write chains onto.
  out.push(['SADD', set, ...Array.from({ length: membersAtStart }, (_, i) => member(i))]);
  out.push(['HSET', hash, ...Array.from({ length: membersAtStart }, (_, i) => [member(i), String(i)]).flat()]);
  out.push(['RPUSH', list, ...Array.from({ length: membersAtStart }, (_, i) => member(i))]);
  for (let i = 0; i < operations; i++) {
    const m = member(pick(membersAtStart * 2));
    switch (pick(9)) {
      case 0: out.push(['SADD', set, m]); break;
      case 1: out.push(['SREM', set, m]); break;
      case 2: out.push(['SADD', set, m, member(pick(membersAtStart * 2))]); break;
      case 3: out.push(['HSET', hash, m, String(i)]); break;
      case 4: out.push(['HDEL', hash, m]); break;
      case 5: out.push(['HINCRBY', hash, `counter-${pick(5)}`, String(pick(100) - 50)]); break;
      case 6: out.push(['RPUSH', list, m]); break;
      case 7: out.push(['LPUSH', list, m]); break;
      default: out.push([rng() < 0.5 ? 'LPOP' : 'RPOP', list]); break;
    }
  }
  return out;
}

/** What a client reads of the three collections, in a form that compares (a set's order is its own). */
async function contents(c: Redis, prefix: string): Promise<unknown> {
  const members = await c.smembers(`${prefix}:set`);
  return { set: members.sort(), hash: await c.hgetall(`${prefix}:hash`), list: await c.lrange(`${prefix}:list`, 0, -1) };
}

/** Sends every command to both in pipelines of 64, comparing each reply. */
async function both(t: ExecutionContext, c: Redis, sequence: readonly string[][]): Promise<void> {
  for (let i = 0; i < sequence.length; i += 64) {
    const page = sequence.slice(i, i + 64);
    const [ours, theirs] = await Promise.all([c.pipeline(page.map((cmd) => ['call', ...cmd])).exec(), redis.pipeline(page.map((cmd) => ['call', ...cmd])).exec()]);
    for (let j = 0; j < page.length; j++) {
      t.deepEqual(ours![j], theirs![j], `${page[j]!.slice(0, 3).join(' ')} (command ${i + j})`);
    }
  }
}

/** A node's own record of `key` (RING LOCAL), as text. */
async function localRecord(n: RingkvNode, key: string): Promise<string> {
  const c = n.client({ protocol: 2 });
  try {
    return JSON.stringify(await c.callBuffer('RING', 'LOCAL', key), (_k, v: unknown) => (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('base64') : v));
  } finally {
    c.disconnect();
  }
}

async function infoField(c: Redis, field: string): Promise<number> {
  const info = await c.info('cluster');
  const line = info.split('\r\n').find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`INFO has no ${field}`);
  return Number(line.slice(field.length + 1));
}

test.serial('one node › chained collections read as redis-server, and survive SIGKILL and a restart', async (t) => {
  const c = node.client();
  await both(t, c, commands('one', 1));
  const expected = await contents(redis, 'one');
  t.deepEqual(await contents(c, 'one'), expected, 'before the kill');
  t.true(await infoField(c, 'chain_links_written') > operations / 2, 'the writes were chained, not whole');
  t.true(await infoField(c, 'chained_records') >= 1, 'records hold links');
  c.disconnect();
  await node.kill();
  await node.restart();
  const after = node.client();
  t.deepEqual(await contents(after, 'one'), expected, 'after SIGKILL: the links were replayed');
  // More chained writes on the replayed chain, then a clean restart.
  await both(t, after, commands('one', 2).slice(3));
  const again = await contents(redis, 'one');
  t.deepEqual(await contents(after, 'one'), again, 'writes chained onto a replayed chain');
  after.disconnect();
  await node.restart();
  const last = node.client();
  t.deepEqual(await contents(last, 'one'), again, 'after a clean restart');
  last.disconnect();
});

test.serial('three nodes › every replica holds the collections redis-server holds, with deltas chained', async (t) => {
  const [n1, n2, n3] = cluster.nodes;
  const c = n1!.client();
  await both(t, c, commands('three', 3));
  const expected = await contents(redis, 'three');
  t.deepEqual(await contents(c, 'three'), expected);
  c.disconnect();
  // Each replica's own record (RING LOCAL: dots and value bytes) is the same on all three once the third has its copy:
  // the replicas chained the deltas they received and encode the same bytes as the coordinator.
  for (const key of ['three:set', 'three:hash', 'three:list']) {
    const same = await eventually(async () => {
      const records = await Promise.all(cluster.nodes.map((n) => localRecord(n, key)));
      return records.every((r) => r === records[0]) && records[0] !== '[]';
    }, 15_000);
    t.true(same, `every replica holds the same record of ${key}`);
  }
  for (const n of [n1!, n2!, n3!]) {
    const rc = n.client();
    t.true(await infoField(rc, 'chain_links_written') > 0, `${n.id} chained`);
    rc.disconnect();
  }
  await n2!.kill();
  await n2!.restart();
  for (const n of [n1!, n2!, n3!]) {
    const rc = n.client();
    t.deepEqual(await contents(rc, 'three'), expected, `read through ${n.id}`);
    rc.disconnect();
  }
});

/**
 * Writes each followed at once by reads of the same collection, as an
 * application checks what it wrote: the read is given the state the write
 * left (crdt/view.ts withStateOf) rather than a decode of the chain, so it
 * must answer exactly as a decode would — and as redis-server does.
 */
function writesThenReads(prefix: string, seed: number): string[][] {
  const rng = seededRandom(seed);
  const pick = (n: number) => Math.floor(rng() * n);
  const set = `${prefix}:set`;
  const hash = `${prefix}:hash`;
  const list = `${prefix}:list`;
  const zset = `${prefix}:zset`;
  const out: string[][] = [
    ['SADD', set, ...Array.from({ length: membersAtStart }, (_, i) => member(i))],
    ['HSET', hash, ...Array.from({ length: membersAtStart }, (_, i) => [member(i), String(i)]).flat()],
    ['RPUSH', list, ...Array.from({ length: membersAtStart }, (_, i) => member(i))],
    ['ZADD', zset, ...Array.from({ length: membersAtStart }, (_, i) => [String(i), member(i)]).flat()],
  ];
  for (let i = 0; i < 600; i++) {
    const m = member(pick(membersAtStart * 2));
    const other = member(pick(membersAtStart * 2));
    switch (pick(4)) {
      case 0:
        out.push([rng() < 0.7 ? 'SADD' : 'SREM', set, m], ['SISMEMBER', set, m], ['SMISMEMBER', set, m, other], ['SCARD', set]);
        break;
      case 1:
        out.push(rng() < 0.7 ? ['HSET', hash, m, String(i)] : ['HDEL', hash, m], ['HGET', hash, m], ['HMGET', hash, m, other], ['HEXISTS', hash, other], ['HLEN', hash], ['HSTRLEN', hash, m]);
        break;
      case 2:
        out.push(rng() < 0.5 ? ['RPUSH', list, m] : ['LPOP', list], ['LLEN', list], ['LINDEX', list, String(pick(20) - 10)], ['LRANGE', list, '-3', '-1'], ['LPOS', list, m, 'RANK', '-1']);
        break;
      default:
        out.push(rng() < 0.7 ? ['ZADD', zset, String(pick(1000)), m] : ['ZREM', zset, m], ['ZSCORE', zset, m], ['ZMSCORE', zset, m, other], ['ZCARD', zset],
          ['ZRANGE', zset, '0', '4', 'WITHSCORES'], ['ZRANK', zset, m], ['ZREVRANGEBYSCORE', zset, '+inf', '900', 'LIMIT', '0', '3'], ['ZCOUNT', zset, '100', '(500']);
        break;
    }
  }
  return out;
}

test.serial('one node › a read right after a write on a chained collection answers as redis-server', async (t) => {
  const c = node.client();
  await both(t, c, writesThenReads('lent', 4));
  c.disconnect();
});
