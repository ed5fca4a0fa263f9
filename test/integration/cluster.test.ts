// A real three-node cluster (N=3, R=2, W=2) driven from outside, the way
// clients and operators see it: reads and writes through any node, the
// cluster-wide keyspace, node loss (one and two of three killed), a node's
// return under its own id, a stranger with the wrong cluster secret, garbage
// on the peer port, and `ringkv status`. One cluster is shared; the tests are
// serial and each leaves every node up again for the next.

import net from 'node:net';
import test from 'ava';
import type { Redis } from 'ioredis';
import { startCluster, startNode, type Cluster, type RingkvNode, eventually, sleep, infoNumber, ringkvStatus } from '../helpers/cluster.js';

const requestTimeoutMs = 1000;
const secret = 'cluster-test-secret';
const fastGossip = ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', String(requestTimeoutMs)];

let cluster: Cluster;
let n1: RingkvNode;
let n2: RingkvNode;
let n3: RingkvNode;


/** RESP2 maps arrive as flat [field, value, ...] arrays. */
function fields(entry: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!Array.isArray(entry)) return out;
  for (let i = 0; i + 1 < entry.length; i += 2) out.set(String(entry[i]), entry[i + 1]);
  return out;
}

async function localVersions(node: RingkvNode, key: string): Promise<Map<string, unknown>[]> {
  const c = node.client({ protocol: 2 });
  try {
    return ((await c.call('RING', 'LOCAL', key)) as unknown[]).map(fields);
  } finally {
    c.disconnect();
  }
}

async function timed<T>(work: Promise<T>): Promise<{ ms: number; result: T | Error }> {
  const started = Date.now();
  const result = await work.then((v) => v, (err: Error) => err);
  return { ms: Date.now() - started, result };
}

/** Polls a W=3 write through `node` until every replica takes it: its links to all peers work. */
async function waitReachesAll(node: RingkvNode, timeoutMs = 10_000): Promise<void> {
  const c = node.client({ protocol: 2 });
  try {
    await c.call('CONSISTENCY', '3', '3');
    const ok = await eventually(async () => (await c.set('probe:reach', node.id)) === 'OK', timeoutMs);
    if (!ok) throw new Error(`${node.id} could not write to all 3 replicas within ${timeoutMs} ms`);
  } finally {
    c.disconnect();
  }
}

test.before(async () => {
  cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, secret, extraArgs: fastGossip });
  [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
});

test.after.always(async () => {
  await cluster?.cleanup();
});

test.serial('any node reads what another wrote', async (t) => {
  const writers = cluster.nodes.map((node) => node.client());
  for (let i = 0; i < 30; i++) t.is(await writers[i % 3]!.set(`rw:${i}`, `v${i}`), 'OK');
  for (const [j, node] of cluster.nodes.entries()) {
    const reader = node.client({ protocol: j === 1 ? 2 : 3 });
    const values = await reader.mget(...Array.from({ length: 30 }, (_, i) => `rw:${i}`));
    t.deepEqual(values, Array.from({ length: 30 }, (_, i) => `v${i}`), `${node.id} reads every write`);
  }
  // An overwrite through one node is what the next read through another sees.
  t.is(await writers[2]!.set('rw:0', 'changed'), 'OK');
  t.is(await writers[0]!.get('rw:0'), 'changed');
  t.is(await writers[1]!.del('rw:0'), 1);
  t.is(await writers[2]!.get('rw:0'), null);
  t.is((await n1.cli('GET', 'rw:1')).trim(), 'v1');
});

test.serial('KEYS/SCAN/DBSIZE count each key once across the cluster', async (t) => {
  const c1 = n1.client();
  await c1.flushall();
  const keys = Array.from({ length: 60 }, (_, i) => `ks:${i}`);
  // MSET through different nodes: every key lands on all 3 replicas (N=3), so a
  // node-local listing would count each key three times.
  await n2.client().mset(...keys.slice(0, 30).flatMap((k) => [k, 'v']));
  await n3.client().mset(...keys.slice(30).flatMap((k) => [k, 'v']));
  await n1.client().set('other:1', 'x');
  const everyone = [...keys, 'other:1'].sort();

  for (const node of cluster.nodes) {
    const c = node.client();
    t.deepEqual((await c.keys('ks:*')).sort(), [...keys].sort(), `KEYS via ${node.id}`);
    t.deepEqual((await c.keys('*')).sort(), everyone, `KEYS * via ${node.id}`);
    t.is(await c.dbsize(), 61, `DBSIZE via ${node.id}`);
  }

  // A SCAN continued on a different node with the cursor the previous one gave.
  const clients = cluster.nodes.map((node) => node.client());
  const seen: string[] = [];
  let cursor = '0';
  let pages = 0;
  do {
    const [next, batch] = await clients[pages % 3]!.scan(cursor, 'MATCH', 'ks:*', 'COUNT', 7);
    seen.push(...batch);
    cursor = next;
    pages++;
  } while (cursor !== '0' && pages < 500);
  t.is(cursor, '0', 'scan finished');
  t.true(pages > 3, `scan took ${pages} pages`);
  t.is(seen.length, new Set(seen).size, 'no key returned twice');
  t.deepEqual([...new Set(seen)].sort(), [...keys].sort());

  // A deleted key is not listed, even though its tombstone is stored.
  await clients[1]!.del('ks:0');
  t.false((await clients[2]!.keys('ks:*')).includes('ks:0'));
  t.is(await clients[0]!.dbsize(), 60);
});

test.serial('FLUSHALL empties the cluster', async (t) => {
  const c = n3.client();
  await c.mset('fl:a', '1', 'fl:b', '2', 'fl:c', '3');
  t.true((await c.dbsize()) >= 3);
  t.is(await n2.client().flushall(), 'OK');
  for (const node of cluster.nodes) {
    const each = node.client();
    t.is(await each.dbsize(), 0, `DBSIZE via ${node.id}`);
    t.deepEqual(await each.keys('*'), []);
    t.is(await each.get('fl:a'), null);
    t.deepEqual(await localVersions(node, 'fl:b'), [], `${node.id} stores nothing for fl:b`);
    t.is(infoNumber(await node.info('cluster'), 'local_records'), 0, `${node.id} local_records`);
  }
});

test.serial('CONSISTENCY validation', async (t) => {
  const c = n1.client({ protocol: 2 });
  const expected = 'ERR R and W must be integers between 1 and N (3)';
  await t.throwsAsync(c.call('CONSISTENCY', '0', '2'), { message: expected });
  await t.throwsAsync(c.call('CONSISTENCY', '2', '0'), { message: expected });
  await t.throwsAsync(c.call('CONSISTENCY', '4', '2'), { message: expected });
  await t.throwsAsync(c.call('CONSISTENCY', '2', '4'), { message: expected });
  await t.throwsAsync(c.call('CONSISTENCY', 'x', '2'), { message: expected });
  t.deepEqual(await c.call('CONSISTENCY'), ['n', 3, 'r', 2, 'w', 2, 'strict', 0]);
  t.is(await c.call('CONSISTENCY', '1', '1'), 'OK');
  t.deepEqual(await c.call('CONSISTENCY'), ['n', 3, 'r', 1, 'w', 1, 'strict', 0]);
  t.is(await c.call('CONSISTENCY', '2', '2', 'STRICT'), 'OK');
  t.deepEqual(await c.call('CONSISTENCY'), ['n', 3, 'r', 2, 'w', 2, 'strict', 1]);
  await t.throwsAsync(c.call('CONSISTENCY', '2', '2', 'LOOSE'), { message: /^ERR syntax error/ });
  t.is(await c.call('CONSISTENCY', '3', '3'), 'OK');
  t.is(await c.set('cons:k', 'v'), 'OK');
  t.is(await c.get('cons:k'), 'v');
  t.is(await c.call('CONSISTENCY', 'DEFAULT'), 'OK');
  t.deepEqual(await c.call('CONSISTENCY'), ['n', 3, 'r', 2, 'w', 2, 'strict', 0]);
  // Per connection: another connection still has the defaults.
  await c.call('CONSISTENCY', '1', '1');
  t.deepEqual(await n1.client({ protocol: 2 }).call('CONSISTENCY'), ['n', 3, 'r', 2, 'w', 2, 'strict', 0]);
});

test.serial('raw garbage bytes sent to a peer port do not hurt the node', async (t) => {
  const target = n2;
  const payloads = [
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3]),
    Buffer.alloc(64 * 1024, 0xaa),
    Buffer.from('*1\r\n$4\r\nPING\r\n'),
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)),
  ];
  await Promise.all(payloads.map((payload) => new Promise<void>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: target.peerPort });
    const timer = setTimeout(() => socket.destroy(), 1500);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('connect', () => socket.write(payload));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  })));
  // A connection opened and left half-written, then dropped.
  const idle = net.connect({ host: '127.0.0.1', port: target.peerPort });
  idle.on('error', () => undefined);
  await new Promise((resolve) => idle.once('connect', resolve));
  idle.write(Buffer.from([0, 0, 0]));
  idle.destroy();

  t.true(target.alive, 'the node survived');
  t.is(await target.client().ping(), 'PONG');
  // It still replicates both ways: writes through it reach the others, and
  // writes through the others reach it.
  t.is(await target.client().set('garbage:a', 'through-target'), 'OK');
  t.is(await n1.client().set('garbage:b', 'through-n1'), 'OK');
  const replicated = await eventually(async () => {
    const a = await localVersions(n3, 'garbage:a');
    const b = await localVersions(target, 'garbage:b');
    return a.length === 1 && String(a[0]!.get('value')) === 'through-target' && b.length === 1 && String(b[0]!.get('value')) === 'through-n1';
  }, 5000);
  t.true(replicated, 'replication to and from the node goes on');
  await cluster.waitConverged(3, 10_000);
});

test.serial('`ringkv status` prints a row per member with UN', async (t) => {
  const stdout = await ringkvStatus(n2.port);
  const rows = stdout.split('\n').filter((line) => /^UN\s/.test(line));
  t.is(rows.length, 3, stdout);
  for (const node of cluster.nodes) {
    const row = rows.find((line) => line.split(/\s+/)[1] === node.id);
    t.truthy(row, `a row for ${node.id}:\n${stdout}`);
    t.true(row!.includes(`127.0.0.1:${node.port}`), row);
    t.regex(row!, /\d+\.\d%/);
  }
  t.regex(stdout, /N=3, R=2, W=2/);
});

test.serial('a node with the wrong --cluster-secret is refused', async (t) => {
  const seeds = cluster.nodes.map((node) => `127.0.0.1:${node.peerPort}`);
  const stranger = await startNode({ id: 'intruder', seeds, n: 3, secret: 'not-the-secret', extraArgs: fastGossip });
  t.teardown(() => stranger.cleanup());
  // Several gossip rounds (200 ms) and more than one down-after period.
  const deadline = Date.now() + 4000;
  let polls = 0;
  while (Date.now() < deadline && polls < 100) {
    for (const node of cluster.nodes) {
      const info = await node.info('cluster');
      t.is(infoNumber(info, 'cluster_members'), 3, `${node.id} never counts the stranger`);
    }
    t.is(infoNumber(await stranger.info('cluster'), 'cluster_members_up'), 1, 'the stranger sees nobody');
    polls++;
    await sleep(250);
  }
  t.true(polls >= 5);
  const members = (await n1.client({ protocol: 2 }).call('RING', 'MEMBERS')) as unknown[];
  t.deepEqual(members.map((m) => String(fields(m).get('id'))).sort(), ['n1', 'n2', 'n3']);
  t.true(stranger.alive, 'the stranger keeps running (it is refused, not crashed)');
});

test.serial('with one of 3 nodes killed, R=2/W=2 reads and writes go on', async (t) => {
  await n3.kill();
  const c1 = n1.client();
  const c2 = n2.client();
  // At once, before the failure detector notices, and again after it has.
  for (let i = 0; i < 10; i++) t.is(await c1.set(`one-down:${i}`, `v${i}`), 'OK');
  for (let i = 0; i < 10; i++) t.is(await c2.get(`one-down:${i}`), `v${i}`);
  await cluster.waitConverged(2, 15_000);
  t.is(await c2.set('one-down:late', 'late'), 'OK');
  t.is(await c1.get('one-down:late'), 'late');
  t.is(await c1.get('one-down:3'), 'v3');
  t.true(await c1.dbsize() >= 11);

  // FLUSHALL needs every member: refused, and nothing is flushed.
  await t.throwsAsync(c1.flushall(), { message: /^CLUSTERDOWN .*n3/ });
  t.is(await c2.get('one-down:3'), 'v3');

  // `ringkv status` reports the dead member down, promptly.
  const started = Date.now();
  const stdout = await ringkvStatus(n1.port);
  t.true(Date.now() - started < 5000, `status took ${Date.now() - started} ms`);
  t.regex(stdout, /^DN\s+n3\s/m, stdout);
  t.is(stdout.split('\n').filter((line) => /^UN\s+n[12]\s/.test(line)).length, 2, stdout);
});

test.serial('a killed node restarted rejoins and keeps its id', async (t) => {
  t.false(n3.alive);
  await n3.restart();
  await cluster.waitConverged(3, 20_000);
  for (const node of cluster.nodes) {
    const members = (await node.client({ protocol: 2 }).call('RING', 'MEMBERS')) as unknown[];
    const view = members.map(fields).map((m) => [String(m.get('id')), String(m.get('state')), String(m.get('liveness')), String(m.get('address'))]);
    t.deepEqual(view.sort(), cluster.nodes.map((x) => [x.id, 'normal', 'up', `127.0.0.1:${x.port}`]).sort(), `RING MEMBERS via ${node.id}`);
  }
  t.is((await n3.info('cluster')).match(/^ringkv_node_id:(.*)$/m)?.[1]?.trim(), 'n3');
  // Back in service: a write with W=3 needs it.
  const c = n3.client({ protocol: 2 });
  await c.call('CONSISTENCY', '3', '3');
  t.is(await c.set('rejoined', 'yes'), 'OK');
  t.is(await c.get('one-down:5'), 'v5');
});

test.serial('with two of 3 killed, W=2 and R=2 answer NOQUORUM within the request timeout; 1 1 writes succeed', async (t) => {
  const c1 = n1.client({ protocol: 2 });
  t.is(await c1.set('two-down:existing', 'before'), 'OK');
  await Promise.all([n2.kill(), n3.kill()]);

  const write = await timed(c1.set('two-down:k', 'v'));
  t.true(write.result instanceof Error, `W=2 write answered ${String(write.result)}`);
  t.regex((write.result as Error).message, /^NOQUORUM /);
  t.true(write.ms < 3000, `write took ${write.ms} ms`);

  const read = await timed(c1.get('two-down:existing'));
  t.true(read.result instanceof Error, `R=2 read answered ${String(read.result)}`);
  t.regex((read.result as Error).message, /^NOQUORUM /);
  t.true(read.ms < 3000, `read took ${read.ms} ms`);

  // Once the failure detector has called them down, the answer is the same.
  await cluster.waitConverged(1, 15_000);
  const later = await timed(c1.set('two-down:k', 'v'));
  t.regex((later.result as Error).message ?? '', /^NOQUORUM /);
  t.true(later.ms < 3000, `write took ${later.ms} ms`);
  const info = await n1.info('stats');
  t.true(infoNumber(info, 'write_quorum_failures') >= 2);
  t.true(infoNumber(info, 'read_quorum_failures') >= 1);

  t.is(await c1.call('CONSISTENCY', '1', '1'), 'OK');
  const relaxed = await timed(c1.set('two-down:k', 'relaxed'));
  t.is(relaxed.result, 'OK');
  t.true(relaxed.ms < 3000, `write took ${relaxed.ms} ms`);
  t.is(await c1.get('two-down:k'), 'relaxed');
  t.is(await c1.get('two-down:existing'), 'before');

  await Promise.all([n2.restart(), n3.restart()]);
  await cluster.waitConverged(3, 20_000);
  const back = n2.client() as Redis;
  t.is(await back.get('two-down:existing'), 'before');
  await waitReachesAll(n1);
});

// While a peer is dead every failed dial doubles the link's backoff (up to
// 5 s); when membership sees the peer up again the backoff is forgotten, so
// a cluster that reports every member up also reaches every member.
test.serial('a node that saw a peer down reaches it as soon as the cluster reports it up again', async (t) => {
  const c1 = n1.client({ protocol: 2 });
  await n3.kill();
  // Traffic to the dead peer for 7 s: the link backs off to its 5 s cap.
  const until = Date.now() + 7000;
  for (let i = 0; i < 200 && Date.now() < until; i++) {
    t.is(await c1.set('backoff:k', String(i)), 'OK');
    await sleep(50);
  }
  await n3.restart();
  await cluster.waitConverged(3, 20_000);
  try {
    await c1.call('CONSISTENCY', '3', '3');
    const started = Date.now();
    const ok = await eventually(async () => (await c1.set('backoff:k', 'all')) === 'OK', 1000);
    t.true(ok, `a W=3 write through n1 failed for ${Date.now() - started} ms after convergence`);
  } finally {
    await waitReachesAll(n1);
  }
});

test.serial('with two of 3 nodes hung (SIGSTOP), W=2 and R=2 answer NOQUORUM within the request timeout', async (t) => {
  await waitReachesAll(n1);
  const c1 = n1.client({ protocol: 2 });
  t.is(await c1.set('hung:existing', 'before'), 'OK');
  const hung = [n2, n3];
  const resume = () => {
    for (const node of hung) if (node.pid !== undefined && node.alive) process.kill(node.pid, 'SIGCONT');
  };
  t.teardown(resume);
  for (const node of hung) process.kill(node.pid!, 'SIGSTOP');
  try {
    const write = await timed(c1.set('hung:k', 'v'));
    t.regex((write.result as Error).message ?? String(write.result), /^NOQUORUM .*timed out/);
    t.true(write.ms >= requestTimeoutMs - 100 && write.ms < requestTimeoutMs + 1500, `write took ${write.ms} ms`);
    const read = await timed(c1.get('hung:existing'));
    t.regex((read.result as Error).message ?? String(read.result), /^NOQUORUM .*timed out/);
    t.true(read.ms < requestTimeoutMs + 1500, `read took ${read.ms} ms`);
    // The connection is still usable, and W=1 is not held up by the hung replicas.
    await c1.call('CONSISTENCY', '1', '1');
    const relaxed = await timed(c1.set('hung:k', 'relaxed'));
    t.is(relaxed.result, 'OK');
    t.true(relaxed.ms < 500, `W=1 write took ${relaxed.ms} ms`);
    t.is(await c1.get('hung:k'), 'relaxed');
  } finally {
    resume();
  }
  await cluster.waitConverged(3, 20_000);
  // Once resumed, they serve again: a W=3 write succeeds.
  await c1.call('CONSISTENCY', '3', '3');
  t.is(await c1.set('hung:after', 'ok'), 'OK');
});
