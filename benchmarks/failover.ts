// `npm run bench:failover` (and the `failover` target of `npm run bench`):
// the availability story of issue 14 item 5, drawn. A 3-node cluster (N=3
// R=2 W=2) serves a steady closed-loop load (a fixed number of requests in
// flight, half SET and half GET of random keys, spread over every node's
// connections); part way, one node is killed with SIGKILL, and later it is
// started again on its own data dir. Every request's outcome is counted in
// the 250 ms interval in which it completed (timeline.ts), so the series
// shows what a client saw: throughput, p50/p99 and errors over time, with
// the kill, the moment node 1 saw the node down, the restart, its first
// PING and node 1 seeing it up again drawn as rules (charts.ts).
//
// The client is ioredis in this process, as an application would be: a
// connection to the killed node fails its in-flight requests (counted as
// errors), reconnects every 100 ms, and while it is not ready the load goes
// to the other nodes' connections. With N=3 and three nodes there is no
// fallback to hold hints: the two survivors are a quorum for every key
// (W=2, R=2), and the restarted node catches up by read repair and
// anti-entropy. Results: results/failover-<time>.json and .svg, and
// results/failover-latest.svg, which the README shows.

import { progressTo } from './cli-main.js';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { repoRoot, sleep, startCluster, type Cluster, type RingkvNode } from '../test/helpers/cluster.js';
import { renderFailoverChart, type ChartEvent, type FailoverPoint } from './charts.js';
import { machineCpu, cpuSeconds } from './proc-cpu.js';
import { IntervalSeries, type SpanSummary } from './timeline.js';

/** The series' resolution: fine enough to see a 1–2 s stall, coarse enough for a stable p99 at a few thousand requests/s. */
const intervalMs = 250;
/** Requests in flight at once, as redis-benchmark's -c 50 would keep. */
const concurrencyDefault = 50;
/** Connections per node: requests in flight share them (ioredis pipelines what is queued on one). */
const connectionsPerNode = 2;
/** A connection to a dead node tries again this often; the load skips it until it is ready. */
const reconnectDelayMs = 100;
/** Keys drawn at random from this many, as redis-benchmark's -r 100000. */
const keyspace = 100_000;
/** redis-benchmark's default value size (-d 3). */
const value = 'xxx';
/** How often node 1's INFO cluster is read for cluster_members_up (the moments it saw the node down and up). */
const membersPollMs = 250;
/** The timeline, in seconds since the load began: the first `warmupS` are left out of the "before" figures. */
const timelineDefaults = { warmupS: 3, killS: 12, restartS: 27, endS: 45 };
/** When no worker can find a ready connection, it waits this long before looking again. */
const noConnectionWaitMs = 5;
const readyTimeoutMs = 30_000;
const convergeTimeoutMs = 60_000;
const resultsDir = path.join(repoRoot, 'benchmarks', 'results');
const tests = ['SET', 'GET'] as const;
type Test = (typeof tests)[number];

const progress = progressTo('failover');

interface Timeline {
  warmupS: number;
  killS: number;
  restartS: number;
  endS: number;
}

function readTimeline(env: NodeJS.ProcessEnv): Timeline {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const seconds = Number(raw);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${name} must be a positive number of seconds, got ${raw}`);
    return seconds;
  };
  const t = {
    warmupS: timelineDefaults.warmupS,
    killS: read('FAILOVER_BENCH_KILL_S', timelineDefaults.killS),
    restartS: read('FAILOVER_BENCH_RESTART_S', timelineDefaults.restartS),
    endS: read('FAILOVER_BENCH_END_S', timelineDefaults.endS),
  };
  if (!(t.warmupS < t.killS && t.killS < t.restartS && t.restartS < t.endS)) {
    throw new Error(`the timeline must run warm-up ${t.warmupS} s < kill < restart < end; got kill ${t.killS}, restart ${t.restartS}, end ${t.endS}`);
  }
  return t;
}

/** A closed loop: `concurrency` workers, each sending its next request when its last one completed. */
class ClosedLoopLoad {
  readonly series: Record<Test, IntervalSeries> = { SET: new IntervalSeries(intervalMs), GET: new IntervalSeries(intervalMs) };
  /** Times a worker found no ready connection and waited. */
  noConnectionWaits = 0;
  private readonly startedAt = performance.now();
  private running = true;
  private sent = 0;
  private nextClient = 0;
  private workers: Promise<void>[] = [];

  constructor(private readonly clients: readonly Redis[]) {}

  /** ms since the load began: the clock of the series and of every event. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  start(concurrency: number): void {
    this.workers = Array.from({ length: concurrency }, () => this.worker());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async worker(): Promise<void> {
    while (this.running) {
      const client = this.pick();
      if (client === undefined) {
        this.noConnectionWaits++;
        await sleep(noConnectionWaitMs);
        continue;
      }
      const test: Test = (this.sent++ & 1) === 0 ? 'SET' : 'GET';
      const key = `failover:${Math.floor(Math.random() * keyspace)}`;
      const sentMs = this.now();
      try {
        await (test === 'SET' ? client.set(key, value) : client.get(key));
        const doneMs = this.now();
        this.series[test].ok(doneMs, doneMs - sentMs);
      } catch (err) {
        this.series[test].error(this.now(), (err as Error).message);
      }
    }
  }

  /** The next connection that is ready, round robin; undefined when none is. */
  private pick(): Redis | undefined {
    for (let tried = 0; tried < this.clients.length; tried++) {
      const client = this.clients[this.nextClient++ % this.clients.length]!;
      if (client.status === 'ready') return client;
    }
    return undefined;
  }
}

/** Polls node 1's cluster_members_up and tells each change, with the load's clock. */
function watchMembers(node: RingkvNode, load: ClosedLoopLoad, onChange: (up: number, atMs: number) => void): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    let last: number | undefined;
    while (running) {
      const up = await node.membersUp().catch(() => undefined);
      if (up !== undefined && up !== last) {
        if (last !== undefined) onChange(up, load.now());
        last = up;
      }
      await sleep(membersPollMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Sleeps until the load's clock reads `seconds`. */
async function until(load: ClosedLoopLoad, seconds: number): Promise<void> {
  const waitMs = seconds * 1000 - load.now();
  if (waitMs > 0) await sleep(waitMs);
}

interface Event extends ChartEvent {
  key: 'kill' | 'seenDown' | 'restart' | 'ready' | 'seenUp';
}

/** What each node had repaired so far (a dead node's figures NaN, the restarted node's counted from its restart). */
type Repairs = Record<string, { readRepairs: number; antiEntropyRepairs: number; exchangesRepaired: number }>;

async function repairCounts(nodes: readonly RingkvNode[]): Promise<Repairs> {
  const out: Repairs = {};
  for (const node of nodes) {
    const [cluster, antiEntropy] = await Promise.all([node.info('cluster'), node.info('antientropy')]).catch(() => ['', '']);
    const field = (info: string, name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    out[node.id] = { readRepairs: field(cluster, 'read_repairs'), antiEntropyRepairs: field(antiEntropy, 'repairs'), exchangesRepaired: field(antiEntropy, 'exchanges_repaired') };
  }
  return out;
}

interface Measured {
  load: ClosedLoopLoad;
  repairs: { atKill: Repairs; atRestart: Repairs; atEnd: Repairs };
  events: Event[];
  endMs: number;
  cpu: { seconds: number; nodes: Record<string, number>; bench: number; machineBusyPercent: number | undefined };
}

/** Starts the cluster, runs the load through the kill and restart, and stops everything, also on failure. */
async function measure(t: Timeline, concurrency: number): Promise<Measured> {
  let cluster: Cluster | undefined;
  let load: ClosedLoopLoad | undefined;
  let stopWatching: (() => Promise<void>) | undefined;
  try {
    progress('starting 3 nodes (N=3 R=2 W=2)');
    cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, readyTimeoutMs, convergeTimeoutMs });
    const [first, , victim] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
    const clients = cluster.nodes.flatMap((node) =>
      Array.from({ length: connectionsPerNode }, () => node.client({ protocol: 2, redis: { retryStrategy: () => reconnectDelayMs } })));
    await Promise.all(clients.map((c) => c.ping()));
    const events: Event[] = [];
    const mark = (key: Event['key'], label: string, atMs: number) => {
      events.push({ key, label, t: Math.round(atMs) / 1000 });
      progress(`${(atMs / 1000).toFixed(2)} s: ${label}`);
    };
    const cpuFrom = cpuTotals(cluster.nodes);
    load = new ClosedLoopLoad(clients);
    load.start(concurrency);
    progress(`load: ${concurrency} requests in flight over ${clients.length} connections; kill ${victim.id} at ${t.killS} s, restart at ${t.restartS} s, end at ${t.endS} s`);
    const size = cluster.nodes.length;
    stopWatching = watchMembers(first, load, (up, atMs) => {
      if (up < size) mark('seenDown', `${first.id} sees ${victim.id} down`, atMs);
      else mark('seenUp', `${first.id} sees ${victim.id} up`, atMs);
    });
    await until(load, t.killS);
    // Its CPU is read just before it dies: /proc forgets a process once it is reaped.
    const victimCpuBeforeKill = cpuSeconds(victim.pid) ?? 0;
    const repairsAtKill = await repairCounts(cluster.nodes);
    mark('kill', `${victim.id} killed (SIGKILL)`, load.now());
    await victim.kill();
    await until(load, t.restartS);
    const repairsAtRestart = await repairCounts(cluster.nodes);
    mark('restart', `${victim.id} restarted on its data dir`, load.now());
    await victim.launch(readyTimeoutMs);
    mark('ready', `${victim.id} answers PING`, load.now());
    await until(load, t.endS);
    const endMs = load.now();
    await load.stop();
    await stopWatching();
    stopWatching = undefined;
    const cpuTo = cpuTotals(cluster.nodes);
    const repairs = { atKill: repairsAtKill, atRestart: repairsAtRestart, atEnd: await repairCounts(cluster.nodes) };
    return { load, events: events.sort((a, b) => a.t - b.t), endMs, cpu: cpuBetween(cpuFrom, cpuTo, victim.id, victimCpuBeforeKill, endMs), repairs };
  } finally {
    await load?.stop();
    await stopWatching?.();
    await cluster?.cleanup();
  }
}

interface CpuTotals {
  nodes: Map<string, number>;
  bench: number;
  machine: { busy: number; total: number } | undefined;
}

function cpuTotals(nodes: readonly RingkvNode[]): CpuTotals {
  const own = process.cpuUsage();
  return { nodes: new Map(nodes.map((n) => [n.id, cpuSeconds(n.pid) ?? 0])), bench: (own.user + own.system) / 1e6, machine: machineCpu() };
}

/** CPU seconds over the run per node (the victim's two lives added), the bench's own, and the machine's busy share. */
function cpuBetween(from: CpuTotals, to: CpuTotals, victimId: string, victimBeforeKill: number, endMs: number): Measured['cpu'] {
  const nodes: Record<string, number> = {};
  for (const [id, end] of to.nodes) {
    const start = from.nodes.get(id) ?? 0;
    // The restarted victim is a new process whose counter began at 0.
    nodes[id] = round2(id === victimId ? victimBeforeKill - start + end : end - start);
  }
  const machineBusyPercent = from.machine && to.machine
    ? Math.round(((to.machine.busy - from.machine.busy) / (to.machine.total - from.machine.total)) * 100)
    : undefined;
  return { seconds: round2(endMs / 1000), nodes, bench: round2(to.bench - from.bench), machineBusyPercent };
}

/** The spans the summary compares: before the kill (after warm-up), the node down, restarting, and after it is seen up. */
function spans(series: IntervalSeries, t: Timeline, events: readonly Event[], endMs: number): Record<string, SpanSummary> {
  const at = (key: Event['key']) => events.find((e) => e.key === key)?.t;
  const kill = (at('kill') ?? t.killS) * 1000;
  const restart = (at('restart') ?? t.restartS) * 1000;
  const seenUp = at('seenUp');
  const out: Record<string, SpanSummary> = {
    beforeKill: series.span(t.warmupS * 1000, kill),
    killToRestart: series.span(kill, restart),
  };
  if (seenUp !== undefined && seenUp * 1000 < endMs) {
    out.restartToSeenUp = series.span(restart, seenUp * 1000);
    out.afterSeenUp = series.span(seenUp * 1000, endMs);
  } else {
    out.afterRestart = series.span(restart, endMs);
  }
  return out;
}

function describeMachine(): string {
  const cpus = os.cpus();
  return `${cpus.length}× ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
}

function loadAverage(): number[] {
  return os.loadavg().map(round2);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

const spanNames: Record<string, string> = {
  beforeKill: 'before the kill',
  killToRestart: 'node down (kill → restart)',
  restartToSeenUp: 'restart → n1 sees it up',
  afterSeenUp: 'after n1 sees it up',
  afterRestart: 'after the restart',
};

function summaryLines(result: FailoverResult): string[] {
  const lines = [`events: ${result.events.map((e) => `${e.label} at ${e.t.toFixed(2)} s`).join('; ')}`];
  for (const test of tests) {
    for (const [name, s] of Object.entries(result.spans[test])) {
      lines.push(`${test} ${spanNames[name] ?? name} (${s.fromS}–${s.toS} s): ${s.rps} requests/s (per ${intervalMs} ms interval ${s.rpsMin}–${s.rpsMax}), ` +
        `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, p99.9 ${s.p999Ms} ms, max ${s.maxMs} ms, ${s.errors} errors`);
    }
  }
  const kinds = Object.entries(result.errorKinds).map(([kind, k]) => `${kind} ×${k.count} (e.g. "${k.example}")`);
  lines.push(`errors by kind: ${kinds.length > 0 ? kinds.join(', ') : 'none'}`);
  const survivors = ['n1', 'n2'];
  const readRepairs = (at: Repairs) => survivors.reduce((sum, id) => sum + (at[id]?.readRepairs ?? 0), 0);
  const aeRepairs = (at: Repairs) => survivors.reduce((sum, id) => sum + (at[id]?.antiEntropyRepairs ?? 0), 0);
  const r = result.repairs;
  lines.push(`read repairs by n1 and n2: ${readRepairs(r.atKill)} before the kill, ${readRepairs(r.atRestart) - readRepairs(r.atKill)} while n3 was down, ` +
    `${readRepairs(r.atEnd) - readRepairs(r.atRestart)} after its restart (n3 itself ${r.atEnd.n3?.readRepairs ?? '?'} since its restart); anti-entropy repairs by n1 and n2 after the restart ${aeRepairs(r.atEnd) - aeRepairs(r.atRestart)}`);
  lines.push(`load average (1, 5, 15 min) at start ${result.loadAvg.start.join(' ')}, at end ${result.loadAvg.end.join(' ')}; machine ${result.cpu.machineBusyPercent ?? '?'}% busy over the run; ` +
    `CPU seconds over ${result.cpu.seconds} s: ${Object.entries(result.cpu.nodes).map(([id, s]) => `${id} ${s}`).join(', ')}, the load generator ${result.cpu.bench}`);
  return lines;
}

interface FailoverResult {
  startedAt: string;
  finishedAt: string;
  machine: string;
  loadAvg: { start: number[]; end: number[] };
  config: Record<string, unknown>;
  events: Event[];
  spans: Record<Test, Record<string, SpanSummary>>;
  errorKinds: Record<string, { count: number; example: string }>;
  noConnectionWaits: number;
  cpu: Measured['cpu'];
  repairs: { atKill: Repairs; atRestart: Repairs; atEnd: Repairs };
  series: Record<Test, ReturnType<IntervalSeries['rows']>>;
}

/** Runs the failover benchmark and writes its JSON and SVG; resolves with the summary lines (for run.ts's notes) and the files written. */
export async function benchFailover(env: NodeJS.ProcessEnv = process.env): Promise<{ lines: string[]; files: string[] }> {
  const startedAt = new Date();
  const timeline = readTimeline(env);
  const concurrency = env.FAILOVER_BENCH_CONCURRENCY ? Number(env.FAILOVER_BENCH_CONCURRENCY) : concurrencyDefault;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`FAILOVER_BENCH_CONCURRENCY must be a positive integer, got ${env.FAILOVER_BENCH_CONCURRENCY}`);
  const loadStart = loadAverage();
  const m = await measure(timeline, concurrency);
  const errorKinds: FailoverResult['errorKinds'] = {};
  for (const test of tests) {
    for (const [kind, k] of m.load.series[test].errorKinds) {
      const known = errorKinds[kind];
      errorKinds[kind] = { count: (known?.count ?? 0) + k.count, example: known?.example ?? k.example };
    }
  }
  const result: FailoverResult = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: describeMachine(),
    loadAvg: { start: loadStart, end: loadAverage() },
    config: { nodes: 3, n: 3, r: 2, w: 2, concurrency, connectionsPerNode, reconnectDelayMs, keyspace, valueBytes: value.length, mix: 'SET and GET alternated, random keys', intervalMs, ...timeline },
    events: m.events,
    spans: { SET: spans(m.load.series.SET, timeline, m.events, m.endMs), GET: spans(m.load.series.GET, timeline, m.events, m.endMs) },
    errorKinds,
    noConnectionWaits: m.load.noConnectionWaits,
    cpu: m.cpu,
    repairs: m.repairs,
    series: { SET: m.load.series.SET.rows(m.endMs), GET: m.load.series.GET.rows(m.endMs) },
  };
  const lines = summaryLines(result);
  const points: FailoverPoint[] = tests.flatMap((test) => result.series[test].map((r) => ({ test, ...r })));
  const title = `3 nodes N=3 R=2 W=2, ${concurrency} requests in flight (SET/GET): one node killed and restarted (${startedAt.toISOString().slice(0, 16)}Z, load avg ${loadStart[0]})`;
  const svg = await renderFailoverChart(title, points, m.events);
  await mkdir(resultsDir, { recursive: true });
  const stamp = `failover-${startedAt.toISOString().replace(/:/g, '-')}`;
  const files = [`${stamp}.json`, `${stamp}.svg`, 'failover-latest.svg'].map((f) => path.join(resultsDir, f));
  await writeFile(files[0]!, JSON.stringify({ ...result, summary: lines }, null, 2) + '\n');
  await writeFile(files[1]!, svg);
  await writeFile(files[2]!, svg);
  return { lines, files: files.map((f) => path.relative(repoRoot, f)) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchFailover().then(
    ({ lines, files }) => process.stdout.write(`${lines.join('\n')}\nwritten: ${files.join(', ')}\n`),
    (err: Error) => {
      progress(err.stack ?? err.message);
      process.exitCode = 1;
    },
  );
}
