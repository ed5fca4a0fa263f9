// Proves the cluster harness against real ringkv processes before other
// integration tests lean on it: a node that starts, answers and stops cleanly;
// a cluster that converges; a killed node that comes back under the same
// identity and is seen up by every peer. Serial, because a 2-core box running
// several clusters at once would test the scheduler, not the harness.
import test from 'ava';
import { startCluster, startNode, OutputTail } from '../helpers/cluster.js';
import { freePort, freePortPair } from '../helpers/ports.js';

const clusterTestTimeoutMs = 120_000;
// The failure detector needs a while to call a killed node down.
const downDetectTimeoutMs = 60_000;
// A client to a dead node must error promptly, not hang or retry.
const deadNodeReplyMs = 3_000;
const portSample = 40;

test('harness › ports › never hands out the same port twice', async (t) => {
  const ports = [];
  for (let i = 0; i < portSample; i++) ports.push(await freePort());
  const pair = await freePortPair();
  ports.push(pair.port, pair.peerPort);
  t.is(new Set(ports).size, ports.length);
});

test('harness › output tail › keeps only the last lines, in order', (t) => {
  const tail = new OutputTail(3);
  tail.write('a\nb\nc');
  tail.write('\nd\ne\n');
  t.is(tail.tail(), 'c\nd\ne');
  t.is(tail.tail(2), 'd\ne');
});

test.serial('harness › one node › starts, answers PING, stops with exit code 0', async (t) => {
  t.timeout(clusterTestTimeoutMs);
  const node = await startNode();
  t.teardown(() => node.cleanup());
  t.true(node.alive);

  const resp3 = node.client();
  const resp2 = node.client({ protocol: 2 });
  t.is(await resp3.ping(), 'PONG');
  t.is(await resp2.ping(), 'PONG');
  t.is((await node.cli('PING')).trim(), 'PONG');

  t.is(await node.stop(), 0);
  t.false(node.alive);

  const started = Date.now();
  await t.throwsAsync(resp3.ping());
  t.true(Date.now() - started < deadNodeReplyMs, 'a client to a stopped node fails fast');
});

test.serial('harness › three nodes › converge with every node seeing three up', async (t) => {
  t.timeout(clusterTestTimeoutMs);
  const cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2 });
  t.teardown(() => cluster.cleanup());

  t.is(cluster.nodes.length, 3);
  t.is(new Set(cluster.nodes.map((n) => n.dataDir)).size, 3);
  t.is(new Set(cluster.nodes.flatMap((n) => [n.port, n.peerPort])).size, 6);
  for (const node of cluster.nodes) t.is(await node.membersUp(), 3, `${node.id} sees all members up`);
});

test.serial('harness › three nodes › killed node restarts and is seen up again by all', async (t) => {
  t.timeout(clusterTestTimeoutMs + downDetectTimeoutMs);
  const cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2 });
  t.teardown(() => cluster.cleanup());
  const victim = cluster.nodes[2];
  if (!victim) throw new Error('cluster has no third node');
  const before = { pid: victim.pid, port: victim.port, peerPort: victim.peerPort, dataDir: victim.dataDir };

  await victim.kill();
  t.false(victim.alive);
  await cluster.waitConverged(2, downDetectTimeoutMs);

  await victim.restart();
  t.true(victim.alive);
  t.not(victim.pid, before.pid);
  t.deepEqual({ pid: before.pid, port: victim.port, peerPort: victim.peerPort, dataDir: victim.dataDir }, before);
  await cluster.waitConverged(3);
  for (const node of cluster.nodes) t.is(await node.membersUp(), 3, `${node.id} sees the restarted node up`);
});
