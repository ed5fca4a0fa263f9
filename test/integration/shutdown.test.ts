// How long SIGTERM takes, measured from outside: a node stops accepting,
// lets the commands in flight reply, and exits as soon as they have; it never
// sits out a fixed grace period, and a second signal while it shuts down ends
// it at once. Timing bounds are generous (shared CI cores); what they catch is
// a node that waits the full 5 s grace, or ignores the second signal.

import test from 'ava';
import type { Redis } from 'ioredis';
import { sleep, startCluster, startNode, type RingkvNode } from '../helpers/cluster.js';

async function timedStop(node: RingkvNode): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const code = await node.stop();
  return { code, ms: Date.now() - started };
}

/** Hangs `node` with SIGSTOP until the test ends. */
function hang(t: { teardown(fn: () => void): void }, node: RingkvNode): void {
  process.kill(node.pid!, 'SIGSTOP');
  t.teardown(() => {
    if (node.alive) process.kill(node.pid!, 'SIGCONT');
  });
}

/** A write that stays in flight on `client`'s node: its other replica is hung and W=2. */
function writeInFlight(client: Redis, key: string): Promise<string> {
  return client.set(key, 'v').then(String, (err: Error) => err.message);
}

test('shutdown › an idle node with an idle client exits 0 at once on SIGTERM', async (t) => {
  const node = await startNode();
  t.teardown(() => node.cleanup());
  const client = node.client();
  t.is(await client.ping(), 'PONG');
  const { code, ms } = await timedStop(node);
  t.is(code, 0, node.output.tail(20));
  t.true(ms < 3000, `SIGTERM took ${ms} ms`);
});

test('shutdown › a command in flight replies, then the node exits without waiting out the grace', async (t) => {
  const cluster = await startCluster({ nodes: 2, n: 2, r: 2, w: 2 });
  t.teardown(() => cluster.cleanup());
  const [n1, n2] = cluster.nodes as [RingkvNode, RingkvNode];
  const client = n1.client({ protocol: 2 });
  t.is(await client.ping(), 'PONG');
  hang(t, n2);
  // The write waits for the hung replica up to the request timeout (1 s), then answers NOQUORUM.
  const write = writeInFlight(client, 'in-flight');
  await sleep(200);
  const { code, ms } = await timedStop(n1);
  t.is(code, 0, n1.output.tail(20));
  t.regex(await write, /^NOQUORUM/);
  t.log(`SIGTERM took ${ms} ms`);
  t.true(ms < 3000, `SIGTERM took ${ms} ms with a 1 s command in flight`);
});

test('shutdown › a second SIGTERM during shutdown exits at once', async (t) => {
  const cluster = await startCluster({ nodes: 2, n: 2, r: 2, w: 2, extraArgs: ['--request-timeout-ms', '4000'] });
  t.teardown(() => cluster.cleanup());
  const [n1, n2] = cluster.nodes as [RingkvNode, RingkvNode];
  const client = n1.client({ protocol: 2 });
  t.is(await client.ping(), 'PONG');
  hang(t, n2);
  // Shutdown now waits for a write that waits 4 s for the hung replica.
  void writeInFlight(client, 'in-flight');
  await sleep(200);
  const stopped = n1.stop();
  await sleep(500);
  t.true(n1.alive, 'still shutting down after the first SIGTERM');
  const second = Date.now();
  process.kill(n1.pid!, 'SIGTERM');
  const code = await stopped;
  const ms = Date.now() - second;
  t.true(ms < 2000, `exit came ${ms} ms after the second SIGTERM`);
  t.is(code, 1, 'an interrupted shutdown is not a clean one');
  t.regex(n1.output.tail(20), /second signal/);
});
