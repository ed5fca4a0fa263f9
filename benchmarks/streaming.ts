// `npm run bench:stream`: issue 10's target, "streaming at least 20 MB/s
// between two local nodes while a workload runs, without raising the
// workload's p99 above 2x its value before the change". Real processes, as an
// operator runs them: a 3-node cluster (N=3 R=2 W=2) is loaded with ~1 KiB
// values, a fixed-rate client workload runs against it, and after a baseline
// window a 4th node starts with the cluster as its seeds and joins by
// streaming the spans it gains (hints/ring-handoff.ts). With
// STREAM_BENCH_NODES=1 the literal "two local nodes": one node (N=1
// R=1 W=1) is loaded and serves the workload, and a second joins and streams
// about half of the data from it. The joiner's RING
// TRANSFER is polled every 100 ms for the phase boundaries, so the throughput
// counts only the `streaming` phase (not announcing or the in-flight-writes
// settle). The workload is open-loop (a request goes out on schedule whatever
// the earlier ones are doing, so a slow server cannot slow the offered load
// and hide its own latency), its latency taken from send to reply. Results go
// to benchmarks/results/stream-<timestamp>.json and are printed.

import { progressTo, runMain } from './cli-main.js';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { fieldsOf, request } from '../src/cli/resp-client.js';
import { cpuSeconds, machineCpu } from './proc-cpu.js';
import { repoRoot, sleep, startCluster, startNode, type Cluster, type RingkvNode } from '../test/helpers/cluster.js';

const host = '127.0.0.1';
/** Records loaded: ~256 MiB of values, of which the joiner gains ~3/4 (N=3 of 4 nodes): ~6–10 s of streaming at 20–32 MB/s. */
const keysDefault = 250_000;
/** Value size: the "values of ~1 KiB"; random bytes, so LevelDB's Snappy cannot shrink them. */
const valueBytes = 1024;
/** Loader: SETs in flight per connection, and connections per node. */
const loadPipelineDepth = 128;
const loadConnectionsPerNode = 2;
/** SETs that failed (a quorum timed out on a busy box) are sent again, up to this many in all. */
const loadRetriesMax = 10_000;
/** Workload: requests per second offered (half GET, half SET of a loaded key), spread over the nodes loaded. */
const workloadRateDefault = 1_000;
/** Workload connections per node: requests in flight share a connection, so a few keep head-of-line waits out of the figures. */
const workloadConnectionsPerNode = 4;
/** The workload issues what is due every tick (open loop). */
const workloadTickMs = 5;
/** Requests in flight past this are a stalled cluster: the run stops rather than grow without bound. */
const workloadInFlightMax = 5_000;
/** The baseline window: long enough for a stable p99 at 1,000 requests/s (15,000 samples). */
const baselineMs = 15_000;
/** After loading, LevelDB compacts and anti-entropy builds trees: the workload runs this long before the baseline counts. */
const warmupMs = 5_000;
const transferPollMs = 100;
const transferPollTimeoutMs = 2_000;
/** A join that has not finished in this long is reported as failed (the dataset streams in ~10 s at the target rate). */
const joinTimeoutMs = 180_000;
/**
 * STREAM_BENCH_DELAY_TARGET_MS, when set, is every node's --stream-delay-target-ms
 * (0: stream at the full rate; unset: the node's default pacing).
 */
const delayTargetMs = process.env.STREAM_BENCH_DELAY_TARGET_MS;
if (delayTargetMs !== undefined && !/^\d+$/.test(delayTargetMs)) throw new Error(`STREAM_BENCH_DELAY_TARGET_MS must be a non-negative integer, got ${delayTargetMs}`);
/**
 * STREAM_BENCH_NODES: the nodes loaded before one more joins. 3 (the default):
 * N=3 R=2 W=2, the joiner gains ~3/4 of the keys from three sources. 1: N=1
 * R=1 W=1, the joiner gains ~1/2 of the keys from the one node — streaming
 * between two nodes, as the issue words its target.
 */
const nodesBeforeRaw = process.env.STREAM_BENCH_NODES;
if (nodesBeforeRaw !== undefined && nodesBeforeRaw !== '1' && nodesBeforeRaw !== '3') throw new Error(`STREAM_BENCH_NODES must be 1 or 3, got ${nodesBeforeRaw}`);
const nodesBefore = nodesBeforeRaw === '1' ? 1 : 3;
const quorum = nodesBefore === 1 ? { n: 1, r: 1, w: 1 } : { n: 3, r: 2, w: 2 };
const joinerId = `n${nodesBefore + 1}`;
const nodeArgs = {
  ...quorum, readyTimeoutMs: 30_000,
  extraArgs: delayTargetMs === undefined ? [] : ['--stream-delay-target-ms', delayTargetMs],
};
const resultsDir = path.join(repoRoot, 'benchmarks', 'results');
const megabyte = 1e6;
const mebibyte = 1024 * 1024;

const progress = progressTo('stream');

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

const keyOf = (i: number): string => `stream:${i}`;

/** Every key once, ~1 KiB of fresh random bytes each, pipelined over a few connections per node; a failed SET is tried again. */
async function load(nodes: readonly RingkvNode[], keys: number): Promise<{ ms: number; bytes: number; retried: number }> {
  const started = performance.now();
  const clients = nodes.flatMap((node) => Array.from({ length: loadConnectionsPerNode }, () => node.client({ protocol: 2 })));
  let next = 0;
  let reported = 0;
  let retried = 0;
  const worker = async (client: Redis): Promise<void> => {
    let pending: number[] = [];
    while (next < keys || pending.length > 0) {
      while (pending.length < loadPipelineDepth && next < keys) pending.push(next++);
      const pipeline = client.pipeline();
      for (const i of pending) pipeline.set(keyOf(i), randomBytes(valueBytes));
      const results = (await pipeline.exec()) ?? [];
      const failed = pending.filter((_, j) => results[j]?.[0] !== null);
      retried += failed.length;
      if (retried > loadRetriesMax) throw new Error(`loading: over ${loadRetriesMax} SETs failed; last: ${String(results.find(([err]) => err !== null)?.[0])}`);
      pending = failed;
      if (next - reported >= keys / 10) {
        reported = next;
        progress(`  loaded ${next} of ${keys} keys, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    }
  };
  await Promise.all(clients.map(worker));
  for (const client of clients) client.disconnect();
  return { ms: performance.now() - started, bytes: keys * valueBytes, retried };
}

/** One request's outcome: when it was sent (ms since the workload began) and how long it took. */
interface Sample {
  sentMs: number;
  latencyMs: number;
  ok: boolean;
  /** GET or SET: the figures are also split by kind, to tell a slow read path from a slow write path. */
  write: boolean;
}

/** An open-loop GET/SET workload at a fixed rate over the loaded keys, recording every request. */
class Workload {
  readonly samples: Sample[] = [];
  readonly startedAt = performance.now();
  private issued = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly value = randomBytes(valueBytes);
  private failure: Error | undefined;

  constructor(private readonly clients: readonly Redis[], private readonly rate: number, private readonly keys: number) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), workloadTickMs);
  }

  /** ms since the workload began: the clock every window is expressed in. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  check(): void {
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (let waited = 0; this.inFlight > 0 && waited < 10_000; waited += 50) await sleep(50);
  }

  private tick(): void {
    const due = Math.floor((this.now() * this.rate) / 1000);
    if (this.inFlight + due - this.issued > workloadInFlightMax) {
      this.failure ??= new Error(`workload: over ${workloadInFlightMax} requests in flight; the cluster has stalled`);
      return;
    }
    for (; this.issued < due; this.issued++) this.send(this.issued);
  }

  private send(i: number): void {
    const client = this.clients[i % this.clients.length]!;
    // A multiplicative hash spreads the keys; even requests read, odd ones write.
    const key = keyOf(Math.floor(((i * 2654435761) % 2 ** 32) / 2 ** 32 * this.keys));
    const sentMs = this.now();
    this.inFlight++;
    const write = i % 2 === 1;
    const done = (ok: boolean) => {
      this.inFlight--;
      this.samples.push({ sentMs, latencyMs: this.now() - sentMs, ok, write });
    };
    const reply = write ? client.set(key, this.value) : client.get(key);
    reply.then(() => done(true), () => done(false));
  }
}

interface LatencySummary {
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Nearest-rank percentiles of the successful requests sent in [fromMs, toMs); errors counted apart. */
export function summarize(samples: readonly Sample[], fromMs: number, toMs: number): LatencySummary {
  const inWindow = samples.filter((s) => s.sentMs >= fromMs && s.sentMs < toMs);
  const sorted = Float64Array.from(inWindow.filter((s) => s.ok).map((s) => s.latencyMs)).sort();
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : round3(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!));
  return { requests: inWindow.length, errors: inWindow.length - sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: at(1) };
}

/** One poll of the joiner's RING TRANSFER, timed on the workload's clock. */
interface TransferSample {
  atMs: number;
  phase: string;
  bytes: number;
  records: number;
  spansDone: number;
  spansTotal: number;
  /** The joiner's paced streaming rate at the poll (RING TRANSFER rate_bytes_per_sec). */
  rateBytesPerSec: number;
}

async function pollTransfer(node: RingkvNode, atMs: number): Promise<TransferSample | undefined> {
  try {
    const [reply] = await request(host, node.port, [['RING', 'TRANSFER']], transferPollTimeoutMs);
    if (reply instanceof Error || reply === undefined) return undefined;
    const f = fieldsOf(reply);
    const num = (name: string) => Number(f.get(name) ?? 0);
    return { atMs, phase: f.get('phase') ?? '?', bytes: num('bytes'), records: num('records'), spansDone: num('spans_done'), spansTotal: num('spans_total'), rateBytesPerSec: num('rate_bytes_per_sec') };
  } catch {
    return undefined; // a busy node: the next poll will do
  }
}

/** Polls until the join reports done (or failed); every answered poll is kept, and each new phase is told to `onPhase` as it is seen. */
async function followJoin(node: RingkvNode, workload: Workload, onPhase: (phase: string) => void): Promise<TransferSample[]> {
  const samples: TransferSample[] = [];
  const deadline = performance.now() + joinTimeoutMs;
  let lastPhase = '';
  while (performance.now() < deadline) {
    workload.check();
    const sample = await pollTransfer(node, workload.now());
    if (sample) {
      samples.push(sample);
      if (sample.phase !== lastPhase) {
        onPhase(sample.phase);
        progress(`  joiner phase ${sample.phase} at ${(sample.atMs / 1000).toFixed(1)} s, ${sample.records} records, ${sample.bytes} bytes`);
      }
      lastPhase = sample.phase;
      if (sample.phase === 'done' || sample.phase === 'failed') return samples;
    }
    await sleep(transferPollMs);
  }
  throw new Error(`the join did not finish within ${joinTimeoutMs} ms (last phase ${lastPhase})`);
}

interface StreamingFigures {
  /** From the last poll before `streaming` to the first poll that saw `done`: at most 2 polls longer than the phase. */
  durationMs: number;
  records: number;
  bytes: number;
  mbPerSec: number;
  mibPerSec: number;
  /** Bytes between the first and the last poll that saw `streaming`, over the time between them: the rate within the phase. */
  innerMbPerSec: number;
  streamingFromMs: number;
  streamingToMs: number;
  /** Times the join went back to announcing (a step failed and was retried). */
  restarts: number;
  /** The joiner's paced rate over the polls inside the phase (stream-pacer.ts), MiB/s: mean and lowest. */
  pacedMibPerSecMean: number;
  pacedMibPerSecMin: number;
}

/** The streaming phase's bounds and rate, read from the polls (conservative: the bounds are widened to the neighbouring polls). */
export function streamingFigures(samples: readonly TransferSample[]): StreamingFigures {
  const first = samples.findIndex((s) => s.phase === 'streaming');
  const doneAt = samples.findIndex((s) => s.phase === 'done');
  if (first < 0 || doneAt < 0) throw new Error(`no streaming phase seen (phases: ${[...new Set(samples.map((s) => s.phase))].join(', ')})`);
  const before = samples[Math.max(0, first - 1)]!;
  const done = samples[doneAt]!;
  const inner = samples.slice(first, doneAt);
  const lastInner = inner[inner.length - 1]!;
  const firstInner = inner[0]!;
  const restarts = samples.slice(first).filter((s, i, all) => s.phase === 'announcing' && all[i - 1]?.phase === 'streaming').length;
  const durationMs = done.atMs - before.atMs;
  const innerMs = lastInner.atMs - firstInner.atMs;
  return {
    durationMs: Math.round(durationMs),
    records: done.records,
    bytes: done.bytes,
    mbPerSec: round2(done.bytes / megabyte / (durationMs / 1000)),
    mibPerSec: round2(done.bytes / mebibyte / (durationMs / 1000)),
    innerMbPerSec: innerMs > 0 ? round2((lastInner.bytes - firstInner.bytes) / megabyte / (innerMs / 1000)) : Number.NaN,
    streamingFromMs: Math.round(before.atMs),
    streamingToMs: Math.round(done.atMs),
    restarts,
    pacedMibPerSecMean: round2(inner.reduce((sum, s) => sum + s.rateBytesPerSec, 0) / inner.length / mebibyte),
    pacedMibPerSecMin: round2(Math.min(...inner.map((s) => s.rateBytesPerSec)) / mebibyte),
  };
}

interface CpuSnapshot {
  atMs: number;
  perProcess: Map<string, number | undefined>;
  machine: { busy: number; total: number } | undefined;
}

function cpuSnapshot(nodes: readonly RingkvNode[], atMs: number): CpuSnapshot {
  const own = process.cpuUsage();
  const perProcess = new Map([...nodes.map((n) => [n.id, cpuSeconds(n.pid)] as const), ['bench', (own.user + own.system) / 1e6]]);
  return { atMs, perProcess, machine: machineCpu() };
}

/**
 * Each process's share of one core over a window, in %, and the whole
 * machine's busy share of all its cores; `others` is what the machine spent
 * beyond this bench's processes (other users of a shared box), in % of one core.
 */
function cpuShares(from: CpuSnapshot, to: CpuSnapshot): Record<string, number> {
  const seconds = (to.atMs - from.atMs) / 1000;
  const out: Record<string, number> = {};
  let ours = 0;
  for (const [id, end] of to.perProcess) {
    const start = from.perProcess.get(id) ?? 0;
    if (end === undefined) continue;
    out[id] = Math.round(((end - start) / seconds) * 100);
    ours += end - start;
  }
  if (from.machine && to.machine) {
    const busy = to.machine.busy - from.machine.busy;
    out.machineBusyPercentOfAllCores = Math.round((busy / (to.machine.total - from.machine.total)) * 100);
    out.others = Math.max(0, Math.round(((busy - ours) / seconds) * 100));
  }
  return out;
}

/** Workload p99 per second through the run, with the joiner's phase and bytes: the timeline behind the figures. */
function timeline(samples: readonly Sample[], transfer: readonly TransferSample[], untilMs: number): { second: number; requests: number; p99Ms: number; phase: string; bytes: number }[] {
  const rows = [];
  for (let s = 0; s * 1000 < untilMs; s++) {
    const window = summarize(samples, s * 1000, (s + 1) * 1000);
    const last = [...transfer].reverse().find((t) => t.atMs < (s + 1) * 1000);
    rows.push({ second: s, requests: window.requests, p99Ms: window.p99Ms, phase: last?.phase ?? '-', bytes: last?.bytes ?? 0 });
  }
  return rows;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function describeMachine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cpus.length}× ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load avg ${load} at start`;
}

interface Phases {
  baseline: { fromMs: number; toMs: number; cpu: Record<string, number>; loadAvg: number };
  join: { fromMs: number; toMs: number; polls: TransferSample[]; cpuStreaming: Record<string, number>; loadAvg: number };
}

/** The workload alone: a warm-up, then the baseline window. */
async function measureBaseline(nodes: readonly RingkvNode[], workload: Workload): Promise<Phases['baseline']> {
  await sleep(warmupMs);
  const from = cpuSnapshot(nodes, workload.now());
  await sleep(baselineMs);
  workload.check();
  const to = cpuSnapshot(nodes, workload.now());
  return { fromMs: from.atMs, toMs: to.atMs, cpu: cpuShares(from, to), loadAvg: round2(os.loadavg()[0]!) };
}

/** Starts the joiner with the cluster as its seeds and follows its join to the end; `started` gets it at once, for cleanup. */
async function measureJoin(cluster: Cluster, workload: Workload, started: RingkvNode[]): Promise<Phases['join']> {
  const fromMs = workload.now();
  const seeds = cluster.nodes.map((node) => `${host}:${node.peerPort}`);
  const joiner = await startNode({ id: joinerId, seeds, ...nodeArgs });
  started.push(joiner);
  const all = [...cluster.nodes, joiner];
  // CPU over the streaming phase: read when the poller first sees it and when it sees the join done.
  let cpuFrom: CpuSnapshot | undefined;
  let cpuStreaming: Record<string, number> = {};
  const polls = await followJoin(joiner, workload, (phase) => {
    if (phase === 'streaming' && cpuFrom === undefined) cpuFrom = cpuSnapshot(all, workload.now());
    if (phase === 'done' && cpuFrom !== undefined) cpuStreaming = cpuShares(cpuFrom, cpuSnapshot(all, workload.now()));
  });
  return { fromMs, toMs: workload.now(), polls, cpuStreaming, loadAvg: round2(os.loadavg()[0]!) };
}

async function run(): Promise<{ keys: number; rate: number; loaded: Awaited<ReturnType<typeof load>>; workload: Workload; phases: Phases }> {
  const keys = positiveEnv('STREAM_BENCH_KEYS', keysDefault);
  const rate = positiveEnv('STREAM_BENCH_RATE', workloadRateDefault);
  let cluster: Cluster | undefined;
  const joiners: RingkvNode[] = [];
  let workload: Workload | undefined;
  try {
    progress(`starting ${nodesBefore} node${nodesBefore === 1 ? '' : 's'} (N=${quorum.n} R=${quorum.r} W=${quorum.w})`);
    cluster = await startCluster({ nodes: nodesBefore, ...nodeArgs });
    progress(`loading ${keys} keys of ${valueBytes} bytes`);
    const loaded = await load(cluster.nodes, keys);
    progress(`loaded in ${(loaded.ms / 1000).toFixed(1)} s (${round2(loaded.bytes / megabyte / (loaded.ms / 1000))} MB/s of values)`);
    const clients = cluster.nodes.flatMap((node) => Array.from({ length: workloadConnectionsPerNode }, () => node.client({ protocol: 2 })));
    await Promise.all(clients.map((c) => c.ping()));
    workload = new Workload(clients, rate, keys);
    workload.start();
    progress(`workload at ${rate} requests/s: ${warmupMs / 1000} s warm-up, then a ${baselineMs / 1000} s baseline`);
    const baseline = await measureBaseline(cluster.nodes, workload);
    progress(`starting ${joinerId} with the cluster as its seeds`);
    const join = await measureJoin(cluster, workload, joiners);
    await workload.stop();
    return { keys, rate, loaded, workload, phases: { baseline, join } };
  } finally {
    await workload?.stop();
    // SIGTERM first (a clean shutdown), then the harness's cleanup kills what is left and removes the data dirs.
    const nodes = [...joiners, ...(cluster?.nodes ?? [])];
    await Promise.all(nodes.map((node) => node.stop()));
    await Promise.all(joiners.map((node) => node.cleanup()));
    await cluster?.cleanup();
  }
}

/** The p99 while pending replicas are in place but nothing streams yet: announcing and settling. */
function settlingWindow(polls: readonly TransferSample[]): [number, number] | undefined {
  const firstSettling = polls.find((p) => p.phase === 'settling');
  const firstStreaming = polls.find((p) => p.phase === 'streaming');
  return firstSettling && firstStreaming ? [firstSettling.atMs, firstStreaming.atMs] : undefined;
}

function results(startedAt: Date, machine: string, r: Awaited<ReturnType<typeof run>>) {
  const { baseline, join } = r.phases;
  const samples = r.workload.samples;
  const streaming = streamingFigures(join.polls);
  const before = summarize(samples, baseline.fromMs, baseline.toMs);
  const during = summarize(samples, join.fromMs, join.toMs);
  const duringStreaming = summarize(samples, streaming.streamingFromMs, streaming.streamingToMs);
  const settling = settlingWindow(join.polls);
  const gets = samples.filter((x) => !x.write);
  const sets = samples.filter((x) => x.write);
  const byKind = (fromMs: number, toMs: number) => ({ get: summarize(gets, fromMs, toMs), set: summarize(sets, fromMs, toMs) });
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    loadAvg: { baselineEnd: baseline.loadAvg, joinEnd: join.loadAvg },
    config: {
      nodesBefore, ...quorum, keys: r.keys, valueBytes, workloadRequestsPerSec: r.rate, workloadMix: '50% GET, 50% SET of loaded keys',
      workloadConnections: nodesBefore * workloadConnectionsPerNode, baselineMs, warmupMs, transferPollMs,
      streamDelayTargetMs: delayTargetMs === undefined ? 'default' : Number(delayTargetMs),
    },
    load: { ms: Math.round(r.loaded.ms), valueBytes: r.loaded.bytes, retried: r.loaded.retried, mbPerSec: round2(r.loaded.bytes / megabyte / (r.loaded.ms / 1000)) },
    streaming,
    workload: {
      before,
      duringJoin: during,
      duringStreaming,
      duringSettling: settling ? summarize(samples, settling[0], settling[1]) : undefined,
      byKind: {
        before: byKind(baseline.fromMs, baseline.toMs),
        duringStreaming: byKind(streaming.streamingFromMs, streaming.streamingToMs),
      },
      p99DuringJoinOverBefore: round2(during.p99Ms / before.p99Ms),
      p99DuringStreamingOverBefore: round2(duringStreaming.p99Ms / before.p99Ms),
      windowsMs: { baseline: [baseline.fromMs, baseline.toMs].map(Math.round), join: [join.fromMs, join.toMs].map(Math.round), settling: settling?.map(Math.round) },
    },
    cpuPercentOfOneCore: { baseline: baseline.cpu, streaming: join.cpuStreaming },
    timeline: timeline(samples, join.polls, join.toMs),
  };
}

function summaryLines(r: ReturnType<typeof results>): string[] {
  const s = r.streaming;
  const w = r.workload;
  const goal = (ok: boolean) => (ok ? '✓' : '✗');
  return [
    `streaming: ${s.records} records, ${s.bytes} bytes in ${(s.durationMs / 1000).toFixed(1)} s = ${s.mbPerSec} MB/s (${s.mibPerSec} MiB/s; within the phase ${s.innerMbPerSec} MB/s) ${goal(s.mbPerSec >= 20)} goal ≥ 20 MB/s; joiner paced at ${s.pacedMibPerSecMean} MiB/s on average, ${s.pacedMibPerSecMin} at the lowest (delay target ${r.config.streamDelayTargetMs} ms)`,
    `workload p50/p99 before: ${w.before.p50Ms}/${w.before.p99Ms} ms (${w.before.requests} requests, ${w.before.errors} errors)`,
    `workload p50/p99 during the join (start of ${joinerId} → done): ${w.duringJoin.p50Ms}/${w.duringJoin.p99Ms} ms (${w.duringJoin.requests} requests, ${w.duringJoin.errors} errors): p99 ×${w.p99DuringJoinOverBefore} ${goal(w.p99DuringJoinOverBefore <= 2)} goal ≤ 2×`,
    `workload p50/p99 during streaming only: ${w.duringStreaming.p50Ms}/${w.duringStreaming.p99Ms} ms (${w.duringStreaming.requests} requests, ${w.duringStreaming.errors} errors): p99 ×${w.p99DuringStreamingOverBefore} ${goal(w.p99DuringStreamingOverBefore <= 2)} goal ≤ 2×`,
    `  by kind, p50/p99 before → streaming: GET ${w.byKind.before.get.p50Ms}/${w.byKind.before.get.p99Ms} → ${w.byKind.duringStreaming.get.p50Ms}/${w.byKind.duringStreaming.get.p99Ms} ms, SET ${w.byKind.before.set.p50Ms}/${w.byKind.before.set.p99Ms} → ${w.byKind.duringStreaming.set.p50Ms}/${w.byKind.duringStreaming.set.p99Ms} ms`,
    ...(w.duringSettling ? [`workload p50/p99 while ${joinerId} settles (pending replicas in place, nothing streaming yet): ${w.duringSettling.p50Ms}/${w.duringSettling.p99Ms} ms (${w.duringSettling.requests} requests)`] : []),
    `load average (1 min) at the end of the baseline ${r.loadAvg.baselineEnd}, at the end of the join ${r.loadAvg.joinEnd}`,
    `CPU (% of one core) in the baseline: ${JSON.stringify(r.cpuPercentOfOneCore.baseline)}; while streaming: ${JSON.stringify(r.cpuPercentOfOneCore.streaming)}`,
  ];
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const machine = describeMachine();
  const result = results(startedAt, machine, await run());
  const lines = summaryLines(result);
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `stream-${startedAt.toISOString().replace(/:/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ ...result, summary: lines }, null, 2) + '\n');
  process.stdout.write(`${lines.join('\n')}\nwritten to ${path.relative(repoRoot, file)}\n`);
  return 0;
}

runMain(main, progress);
