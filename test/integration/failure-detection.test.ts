// The phi-accrual failure detector between real processes at the default
// timing (500 ms gossip, phi 8, 500 ms acceptable pause): a node killed with
// SIGKILL, and one frozen with SIGSTOP, are marked down by the others within
// a few seconds (RING MEMBERS liveness and phi, INFO's member lines, `ringkv
// status`); a frozen node that runs again (SIGCONT) is up again at once.
// Bounds are generous (the suite runs two files at a time on a loaded
// machine); the measured times are logged.

import test from 'ava';
import type { Redis } from 'ioredis';
import { sleep, startCluster, type Cluster, type RingkvNode, ringkvStatus } from '../helpers/cluster.js';

/** Measured ~2–3 s on 3 nodes (README, "Failure detection"); twice that and more on a busy machine is still a pass. */
const downWithinMs = 6_000;
/** A thawed node gossips at once: its first exchange makes it up on the node it reaches, the next round everywhere. */
const upWithinMs = 2_000;
const pollMs = 20;

let cluster: Cluster;
const frozen = new Set<number>();

test.before(async () => {
  cluster = await startCluster({ nodes: 3 });
});

test.after.always(async () => {
  // Never leave a stopped process behind: a SIGSTOPped child ignores SIGTERM until continued.
  for (const pid of frozen) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }
  await cluster?.cleanup();
});

interface MemberLine {
  readonly state: string;
  readonly liveness: string;
  readonly phi: number;
}

/**
 * One connection per observer process, polled every few ms: a new connection
 * per poll would churn thousands of ephemeral ports, which other test files
 * running beside this one pick their listening ports from.
 */
const clients = new Map<RingkvNode, { pid: number | undefined; client: Redis }>();

function clientOf(observer: RingkvNode): Redis {
  const cached = clients.get(observer);
  if (cached !== undefined && cached.pid === observer.pid) return cached.client;
  cached?.client.disconnect();
  const client = observer.client({ protocol: 2 });
  clients.set(observer, { pid: observer.pid, client });
  return client;
}

/** `memberN:id=…,state=…,liveness=…,phi=…,host=…` for `id`, as `observer` reports it in INFO cluster. */
async function memberLine(observer: RingkvNode, id: string): Promise<MemberLine | undefined> {
  const text = String(await clientOf(observer).call('INFO', 'cluster'));
  const match = new RegExp(`^member\\d+:id=${id},address=[^,]+,state=(\\w+),liveness=(up|down),phi=([\\d.]+|inf),host=\\w+(?:,host_rtt_ms=[\\d.]+)?\\r?$`, 'm').exec(text);
  if (!match) return undefined;
  return { state: match[1]!, liveness: match[2]!, phi: match[3] === 'inf' ? Infinity : Number(match[3]) };
}

/** Polls every observer until each reports `id` with `liveness`; returns, per observer, the ms it took. */
async function untilLiveness(observers: readonly RingkvNode[], id: string, liveness: 'up' | 'down', timeoutMs: number): Promise<number[]> {
  const started = Date.now();
  const took = new Map<RingkvNode, number>();
  while (took.size < observers.length && Date.now() - started < timeoutMs) {
    await Promise.all(observers.filter((o) => !took.has(o)).map(async (o) => {
      const line = await memberLine(o, id).catch(() => undefined);
      if (line?.liveness === liveness) took.set(o, Date.now() - started);
    }));
    await sleep(pollMs);
  }
  return observers.map((o) => took.get(o) ?? Infinity);
}

test.serial('failure detection › a healthy cluster: every member normal, up, with a low phi', async (t) => {
  await sleep(3_000);
  for (const observer of cluster.nodes) {
    for (const member of cluster.nodes) {
      const line = await memberLine(observer, member.id);
      t.truthy(line, `${observer.id} lists ${member.id}`);
      t.is(line!.state, 'normal');
      t.is(line!.liveness, 'up');
      t.true(line!.phi < 8, `${observer.id} holds phi ${line!.phi} for ${member.id}`);
    }
  }
  const status = await ringkvStatus(cluster.nodes[0]!.port);
  t.regex(status, /^--\s+Node\s+Address\s+Peer address\s+Phi\s/m, status);
  t.is(status.split('\n').filter((line) => /^UN\s+n\d\s+\S+\s+\S+\s+\d+\.\d\d\s/.test(line)).length, 3, status);
});

test.serial('failure detection › kill -9: the others mark the node down within seconds', async (t) => {
  const [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  process.kill(n3.pid!, 'SIGKILL');
  const took = await untilLiveness([n1, n2], n3.id, 'down', 20_000);
  t.log(`killed n3 seen down by n1, n2 after ${took.join(', ')} ms`);
  for (const ms of took) t.true(ms < downWithinMs, `seen down after ${ms} ms`);
  const line = await memberLine(n1, n3.id);
  t.true(line!.phi >= 8, `phi ${line!.phi}`);
  t.is(line!.state, 'normal', 'a down node keeps its ring state');
  const members = (await n1.client({ protocol: 2 }).call('RING', 'MEMBERS')) as unknown[][];
  const n3Entry = members.map((m) => new Map(Array.from({ length: m.length / 2 }, (_, i) => [String(m[2 * i]), String(m[2 * i + 1])])))
    .find((m) => m.get('id') === n3.id)!;
  t.is(n3Entry.get('liveness'), 'down');
  t.is(n3Entry.get('state'), 'normal');
  t.true(Number(n3Entry.get('phi')) >= 8, `RING MEMBERS phi ${n3Entry.get('phi')}`);
  t.regex(await ringkvStatus(n1.port), /^DN\s+n3\s/m);

  await n3.kill();
  await n3.restart();
  await cluster.waitConverged(3, 20_000);
});

test.serial('failure detection › SIGSTOP: down within seconds; SIGCONT: up again at once', async (t) => {
  const [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  await sleep(3_000);
  const pid = n2.pid!;
  frozen.add(pid);
  process.kill(pid, 'SIGSTOP');
  let downTook: number[];
  try {
    downTook = await untilLiveness([n1, n3], n2.id, 'down', 20_000);
    t.log(`stopped n2 seen down by n1, n3 after ${downTook.join(', ')} ms`);
    await sleep(2_000);
  } finally {
    process.kill(pid, 'SIGCONT');
    frozen.delete(pid);
  }
  for (const ms of downTook) t.true(ms < downWithinMs, `seen down after ${ms} ms`);
  const upTook = await untilLiveness([n1, n3], n2.id, 'up', 20_000);
  t.log(`continued n2 seen up by n1, n3 after ${upTook.join(', ')} ms`);
  for (const ms of upTook) t.true(ms < upWithinMs, `seen up after ${ms} ms`);
  await cluster.waitConverged(3, 10_000);
});
