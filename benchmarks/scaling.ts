// `npm run bench:scaling`: scaling on paper (issue 14 item 6). One machine
// cannot show throughput growing with nodes, but it can measure what a
// replicated operation costs: for K = 1, 3 and 5 nodes (N = min(3, K), R = W
// = 2 where N = 3, N = R = W = 1 alone), the CPU seconds every ringkv
// process spent (all threads, and the main thread that runs JavaScript
// alone, read from /proc before and after) per 100,000 SETs and GETs, and
// the load generator's (redis-benchmark, one per node, the requests split
// between them) separately. From those, what one node can serve on a machine
// of its own follows: with the load spread over K nodes each does 1/K of
// the cluster's CPU work, so a cluster CPU-bound at c cores a node serves
// K × c / (CPU s per op), c / (CPU s per op) a node (opsPerNode; the
// README's Performance section states the assumptions). The nodes' idle CPU (gossip, anti-entropy) is measured
// before the load and reported beside it. Output: results/scaling-<time>.json
// and a table on stdout. A run that redis-benchmark stopped (it stops at the
// first error reply, e.g. a quorum timed out on an overloaded box) is listed
// with its error and left out of the figures; the exit code is then 1.

import { progressTo, runMain } from './cli-main.js';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, sleep, startCluster, type Cluster, type RingkvNode } from '../test/helpers/cluster.js';
import { cpuSeconds, machineCpu, mainThreadCpuSeconds, reapedChildrenCpuSeconds } from './proc-cpu.js';
import { runSpread, type BenchResult } from './redis-benchmark.js';

/** The figures are per this many operations. */
const perOps = 100_000;
const nodeCountsDefault = [1, 3, 5];
const pipelinesDefault = [1, 16];
const roundsDefault = 2;
/** Connections in all, split over the nodes (redis-benchmark's -c 50 in npm run bench); SCALING_BENCH_CLIENTS changes it, e.g. to load each node less. */
const clientsTotalDefault = 50;
const keyspace = 100_000;
/** The nodes' CPU with no load (gossip, anti-entropy, timers) is read over this long. */
const idleMs = 4_000;
const readyTimeoutMs = 30_000;
const convergeTimeoutMs = 60_000;
const resultsDir = path.join(repoRoot, 'benchmarks', 'results');

const progress = progressTo('scaling');

function listEnv(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`${name} takes a comma list of positive integers, got ${raw}`);
  return values;
}

/** N = min(3, K); a majority of N for R and W (2 of 3, 1 of 1). */
export function quorumFor(nodes: number): { n: number; r: number; w: number } {
  const n = Math.min(3, nodes);
  const majority = Math.floor(n / 2) + 1;
  return { n, r: majority, w: majority };
}

interface CpuRead {
  atMs: number;
  /** per node: all threads, main thread */
  nodes: { all: number; main: number }[];
  client: number;
  machine: { busy: number; total: number } | undefined;
}

function readCpu(nodes: readonly RingkvNode[]): CpuRead {
  return {
    atMs: performance.now(),
    nodes: nodes.map((n) => ({ all: cpuSeconds(n.pid) ?? Number.NaN, main: mainThreadCpuSeconds(n.pid) ?? Number.NaN })),
    client: reapedChildrenCpuSeconds() ?? Number.NaN,
    machine: machineCpu(),
  };
}

interface CpuSpent {
  seconds: number;
  nodesAll: number;
  nodesMain: number;
  /** the busiest node's share of all the nodes' CPU: 1/K when the load is even */
  busiestNodeShare: number;
  client: number;
  machineBusyPercent: number | undefined;
}

function cpuSpent(from: CpuRead, to: CpuRead): CpuSpent {
  const perNode = to.nodes.map((n, i) => ({ all: n.all - from.nodes[i]!.all, main: n.main - from.nodes[i]!.main }));
  const nodesAll = perNode.reduce((s, n) => s + n.all, 0);
  return {
    seconds: (to.atMs - from.atMs) / 1000,
    nodesAll,
    nodesMain: perNode.reduce((s, n) => s + n.main, 0),
    busiestNodeShare: nodesAll > 0 ? Math.max(...perNode.map((n) => n.all)) / nodesAll : Number.NaN,
    client: to.client - from.client,
    machineBusyPercent: from.machine && to.machine ? Math.round(((to.machine.busy - from.machine.busy) / (to.machine.total - from.machine.total)) * 100) : undefined,
  };
}

export interface ScalingRun {
  nodes: number;
  test: string;
  pipeline: number;
  round: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU seconds per 100,000 operations */
  nodesCpuPer100k: number;
  nodesMainThreadCpuPer100k: number;
  /** nodesCpuPer100k less what the nodes spend idle over the same time */
  nodesCpuNetOfIdlePer100k: number;
  clientCpuPer100k: number;
  busiestNodeShare: number;
  machineBusyPercent: number | undefined;
  loadAvg1: number;
}

/** The CPU the nodes spend with no load, in CPU seconds per second, all nodes together. */
async function idleCpuRate(nodes: readonly RingkvNode[]): Promise<number> {
  const from = readCpu(nodes);
  await sleep(idleMs);
  const spent = cpuSpent(from, readCpu(nodes));
  return spent.nodesAll / spent.seconds;
}

/** quorum_failures summed over the nodes: a failed write is a fast error reply that redis-benchmark counts as a request. */
async function quorumFailures(nodes: readonly RingkvNode[]): Promise<number> {
  const infos = await Promise.all(nodes.map((n) => n.info('cluster')));
  return infos.reduce((sum, info) => sum + Number(/^quorum_failures:(\d+)/m.exec(info)?.[1] ?? 0), 0);
}

async function measureOne(nodes: readonly RingkvNode[], test: string, pipeline: number, plan: Plan, idleRate: number): Promise<Omit<ScalingRun, 'nodes' | 'round'>> {
  const { requests } = plan;
  const clientsPerNode = Math.ceil(plan.clientsTotal / nodes.length);
  const from = readCpu(nodes);
  const [result] = (await runSpread(nodes.map((n) => n.port), { requests, clients: clientsPerNode, pipeline, keyspace, tests: test.toLowerCase() }, clientsPerNode)) as [BenchResult];
  const spent = cpuSpent(from, readCpu(nodes));
  const per = (seconds: number) => round3((seconds * perOps) / requests);
  return {
    test,
    pipeline,
    requests,
    rps: Math.round(result.rps),
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    nodesCpuPer100k: per(spent.nodesAll),
    nodesMainThreadCpuPer100k: per(spent.nodesMain),
    nodesCpuNetOfIdlePer100k: per(spent.nodesAll - idleRate * spent.seconds),
    clientCpuPer100k: per(spent.client),
    busiestNodeShare: round3(spent.busiestNodeShare),
    machineBusyPercent: spent.machineBusyPercent,
    loadAvg1: round3(os.loadavg()[0]!),
  };
}

interface FailedRun {
  nodes: number;
  test: string;
  pipeline: number;
  round: number;
  loadAvg1: number;
  error: string;
}

async function measureCluster(count: number, plan: Plan, failed: FailedRun[]): Promise<{ runs: ScalingRun[]; idleCpuPerSec: number; quorumFailures: number }> {
  let cluster: Cluster | undefined;
  try {
    const quorum = quorumFor(count);
    progress(`starting ${count} node${count > 1 ? 's' : ''} (N=${quorum.n} R=${quorum.r} W=${quorum.w})`);
    cluster = await startCluster({ nodes: count, ...quorum, readyTimeoutMs, convergeTimeoutMs });
    const idleCpuPerSec = round3(await idleCpuRate(cluster.nodes));
    progress(`  idle: the nodes spend ${idleCpuPerSec} CPU s per s together`);
    const runs: ScalingRun[] = [];
    for (let round = 1; round <= plan.rounds; round++) {
      for (const pipeline of plan.pipelines) {
        for (const test of ['SET', 'GET']) {
          try {
            const run = { nodes: count, round, ...(await measureOne(cluster.nodes, test, pipeline, plan, idleCpuPerSec)) };
            progress(`  ${test} -P ${pipeline} round ${round}: ${run.rps} requests/s, nodes ${run.nodesCpuPer100k} CPU s (main threads ${run.nodesMainThreadCpuPer100k}), client ${run.clientCpuPer100k} per 100k, load ${run.loadAvg1}`);
            runs.push(run);
          } catch (err) {
            // redis-benchmark stops at the first error reply (a quorum timed out on an overloaded box): the run is listed, not counted.
            const error = (err as Error).message.split('\n').filter((line) => /error|NOQUORUM|timed out/i.test(line)).slice(0, 2).join(' / ');
            failed.push({ nodes: count, test, pipeline, round, loadAvg1: round3(os.loadavg()[0]!), error });
            progress(`  ${test} -P ${pipeline} round ${round} failed: ${error}`);
          }
        }
      }
    }
    return { runs, idleCpuPerSec, quorumFailures: await quorumFailures(cluster.nodes) };
  } finally {
    await cluster?.cleanup();
  }
}

interface Plan {
  clientsTotal: number;
  nodeCounts: number[];
  pipelines: number[];
  rounds: number;
  requests: number;
}

export interface ScalingRow {
  nodes: number;
  test: string;
  pipeline: number;
  runs: number;
  rps: [number, number];
  nodesCpuPer100k: [number, number];
  nodesMainThreadCpuPer100k: [number, number];
  nodesCpuNetOfIdlePer100k: [number, number];
  clientCpuPer100k: [number, number];
  /** what one node serves when its JavaScript thread is the bound (one core), from the mean main-thread CPU */
  impliedOpsPerNodeOneJsCore: number;
  /** what one node serves with `cores` cores for all its threads, from the mean all-thread CPU */
  impliedOpsPerNodeAllThreads: number;
}

/** The cores a node is assumed to have for all its threads in `impliedOpsPerNodeAllThreads`. */
export const assumedCoresPerNode = 2;

/** Runs of one (K, test, pipeline) folded: the range of each figure over the rounds, and what a node on a machine of its own could serve (opsPerNode). */
export function foldRuns(runs: readonly ScalingRun[]): ScalingRow[] {
  const keys = [...new Set(runs.map((r) => `${r.nodes}/${r.test}/${r.pipeline}`))];
  return keys.map((key) => {
    const same = runs.filter((r) => `${r.nodes}/${r.test}/${r.pipeline}` === key);
    const first = same[0]!;
    const range = (pick: (r: ScalingRun) => number): [number, number] => [Math.min(...same.map(pick)), Math.max(...same.map(pick))];
    const mean = (pick: (r: ScalingRun) => number) => same.reduce((s, r) => s + pick(r), 0) / same.length;
    return {
      nodes: first.nodes,
      test: first.test,
      pipeline: first.pipeline,
      runs: same.length,
      rps: range((r) => r.rps),
      nodesCpuPer100k: range((r) => r.nodesCpuPer100k),
      nodesMainThreadCpuPer100k: range((r) => r.nodesMainThreadCpuPer100k),
      nodesCpuNetOfIdlePer100k: range((r) => r.nodesCpuNetOfIdlePer100k),
      clientCpuPer100k: range((r) => r.clientCpuPer100k),
      impliedOpsPerNodeOneJsCore: opsPerNode(mean((r) => r.nodesMainThreadCpuPer100k), 1),
      impliedOpsPerNodeAllThreads: opsPerNode(mean((r) => r.nodesCpuPer100k), assumedCoresPerNode),
    };
  });
}

/**
 * Operations per second one node serves (coordinating its share of the
 * requests, and replicating others') when the cluster is CPU-bound at
 * `cores` a node: K nodes spend `cpuPer100k` CPU seconds together per
 * 100,000 operations, so K × cores CPU seconds a second buy K × cores ×
 * 100,000 / cpuPer100k operations a second, 1/K of them each. K cancels:
 * where the CPU per operation stays flat as K grows, so does this, and the
 * cluster's throughput grows with K. Assumes the load spread evenly
 * (`busiestNodeShare` ≈ 1/K says how even it was) and the network not the bound.
 */
export function opsPerNode(cpuPer100k: number, cores: number): number {
  if (!(cpuPer100k > 0)) return Number.NaN;
  return Math.round((cores * perOps) / cpuPer100k);
}

function markdown(rows: readonly ScalingRow[], idle: Record<number, number>): string {
  const r = ([a, b]: [number, number]) => (a === b ? `${a}` : `${a}–${b}`);
  const lines = [
    `| K | N/R/W | test | -P | requests/s | nodes CPU s / 100k (all threads) | net of idle | main threads | client CPU s / 100k | ops/s a node, 1 JS core | ops/s a node, ${assumedCoresPerNode} cores |`,
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const q = quorumFor(row.nodes);
    lines.push(`| ${row.nodes} | ${q.n}/${q.r}/${q.w} | ${row.test} | ${row.pipeline} | ${r(row.rps)} | ${r(row.nodesCpuPer100k)} | ${r(row.nodesCpuNetOfIdlePer100k)} | ${r(row.nodesMainThreadCpuPer100k)} | ${r(row.clientCpuPer100k)} | ${row.impliedOpsPerNodeOneJsCore} | ${row.impliedOpsPerNodeAllThreads} |`);
  }
  lines.push('', `Idle CPU of the nodes together (CPU s per s): ${Object.entries(idle).map(([k, v]) => `K=${k} ${v}`).join(', ')}.`);
  return lines.join('\n') + '\n';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const plan: Plan = {
    nodeCounts: listEnv('SCALING_BENCH_NODES', nodeCountsDefault),
    pipelines: listEnv('SCALING_BENCH_PIPELINES', pipelinesDefault),
    rounds: listEnv('SCALING_BENCH_ROUNDS', [roundsDefault])[0]!,
    requests: listEnv('SCALING_BENCH_REQUESTS', [perOps])[0]!,
    clientsTotal: listEnv('SCALING_BENCH_CLIENTS', [clientsTotalDefault])[0]!,
  };
  const loadStart = os.loadavg().map(round3);
  const runs: ScalingRun[] = [];
  const idle: Record<number, number> = {};
  const failures: Record<number, number> = {};
  const failedRuns: FailedRun[] = [];
  for (const count of plan.nodeCounts) {
    const measured = await measureCluster(count, plan, failedRuns);
    runs.push(...measured.runs);
    idle[count] = measured.idleCpuPerSec;
    failures[count] = measured.quorumFailures;
  }
  const rows = foldRuns(runs);
  const table = markdown(rows, idle);
  const cpus = os.cpus();
  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: `${cpus.length}× ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`,
    loadAvg: { start: loadStart, end: os.loadavg().map(round3) },
    config: { ...plan, perOps, keyspace, idleMs, assumedCoresPerNode, load: `one redis-benchmark per node, -c ceil(${plan.clientsTotal}/K), -r 100000, requests split evenly` },
    idleCpuPerSec: idle,
    quorumFailures: failures,
    failedRuns,
    rows,
    runs,
    table,
  };
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `scaling-${startedAt.toISOString().replace(/:/g, '-')}.json`);
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  const failedLines = failedRuns.map((f) => `failed, not counted: K=${f.nodes} ${f.test} -P ${f.pipeline} round ${f.round} at load ${f.loadAvg1}: ${f.error}\n`).join('');
  process.stdout.write(`${table}${failedLines}quorum_failures after the runs: ${JSON.stringify(failures)}; load average at start ${loadStart.join(' ')}, at end ${result.loadAvg.end.join(' ')}\nwritten to ${path.relative(repoRoot, file)}\n`);
  return failedRuns.length > 0 || Object.values(failures).some((f) => f > 0) ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMain(main, progress);
}
