// `npm run bench`: ringkv against redis-server, measured by redis-benchmark in
// one run so the comparison is fair on whatever machine runs it. Each target
// (redis-server, one ringkv node, a 3-node N=3 R=2 W=2 cluster, a 4-node
// cluster measured all up and then with one node killed, its writes going
// to fallbacks as hints, and 3-node clusters with and without anti-entropy
// trees, alternated; and a 3-node cluster's time series through a node's kill
// and restart, failover.ts) is started on free ports, loaded with SET and GET at
// pipeline depths 1 and 16, and stopped before the next, because a 2-core box cannot host two targets plus the load
// generator without the numbers measuring contention. Results go to
// benchmarks/results/<timestamp>.json, latest.md and an SVG chart (charts.ts, <timestamp>.svg and latest.svg; latest.* only from a run of every target); processes and temp dirs
// are cleaned up on failure and on Ctrl-C (see test/helpers/cluster.ts).
import { progressTo, runMain } from './cli-main.js';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../test/helpers/cluster.js';
import { renderBenchChart } from './charts.js';
import { benchFailover } from './failover.js';
import { runRedisBenchmark, runSpread, type BenchResult } from './redis-benchmark.js';
import { cpuSeconds } from './proc-cpu.js';
import { compareDownUp, downUpGoal, markdownReport, medianRows, withRatios, type DownUp, type Failure, type Row } from './report.js';
import { startRingkvCluster, startRingkvSingle, startTarget, targetNames, toolVersion, type Degrade, type Target, type TargetName } from './targets.js';

const defaultRequests = 200_000;
const clients = 50;
// Three generators of 17 connections ≈ the 50 of the single-node runs.
const spreadClientsPerNode = 17;
const keyspace = 100_000;
const pipelines = [1, 16] as const;
/** Runs of each half of a degraded target (all up, one down): the median is reported. */
const degradedRounds = 3;
const tests = 'set,get';
const resultsDir = path.join(repoRoot, 'benchmarks', 'results');

interface Plan {
  requests: number;
  targets: TargetName[];
}

function readPlan(env: NodeJS.ProcessEnv): Plan {
  const requests = env.BENCH_REQUESTS === undefined || env.BENCH_REQUESTS === '' ? defaultRequests : Number(env.BENCH_REQUESTS);
  if (!Number.isInteger(requests) || requests < 1) throw new Error(`BENCH_REQUESTS must be a positive integer, got ${env.BENCH_REQUESTS}`);
  const listed = (env.BENCH_TARGETS ?? targetNames.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = listed.filter((name) => !(targetNames as readonly string[]).includes(name));
  if (unknown.length > 0 || listed.length === 0) throw new Error(`BENCH_TARGETS takes a comma list of ${targetNames.join(', ')}; got ${env.BENCH_TARGETS}`);
  return { requests, targets: targetNames.filter((name) => listed.includes(name)) };
}

const progress = progressTo('bench');

function toRows(target: string, mode: string, pipeline: number, results: BenchResult[]): Row[] {
  return results.map((r) => ({ target, mode, pipeline, test: r.test, rps: r.rps, avgMs: r.avgMs, p50Ms: r.p50Ms, p99Ms: r.p99Ms }));
}

interface Collected {
  rows: Row[];
  failures: Failure[];
  /** Targets measured healthy and degraded: which modes pair up in the down/up table. */
  comparisons: { target: string; upMode: string; downMode: string }[];
  /** Notes the targets added (what a degraded target did). */
  notes: string[];
}

async function measure(out: Collected, target: Target, mode: string, pipeline: number, run: () => Promise<BenchResult[]>): Promise<void> {
  progress(`${target.label} — ${mode}, -P ${pipeline}`);
  try {
    out.rows.push(...toRows(target.label, mode, pipeline, await run()));
  } catch (err) {
    out.failures.push({ target: target.label, mode, pipeline, error: (err as Error).message });
    progress(`  failed: ${(err as Error).message}`);
  }
}

async function benchTarget(out: Collected, target: Target, requests: number): Promise<void> {
  if (target.degrade !== undefined) return benchDegraded(out, target, target.degrade, requests);
  const [first] = target.ports;
  if (first === undefined) throw new Error(`${target.label} has no ports`);
  const spreadMode = `spread ${target.ports.length}×c${spreadClientsPerNode} (Σ rps, max p50/p99)`;
  for (const pipeline of pipelines) {
    const spec = { requests, clients, pipeline, keyspace, tests };
    const singleMode = target.ports.length > 1 ? `node 1 only, c${clients}` : `c${clients}`;
    await measure(out, target, singleMode, pipeline, () => runRedisBenchmark({ ...spec, port: first }));
    if (target.ports.length > 1) {
      await measure(out, target, spreadMode, pipeline, () => runSpread(target.ports, spec, spreadClientsPerNode));
    }
  }
}

/**
 * A target measured healthy, then degraded (degrade.run kills a node), at
 * every pipeline depth, with one redis-benchmark at node 1 (which stays up);
 * the pairs become the report's down/up comparison. Each half runs
 * `degradedRounds` times and reports, per test and depth, the run with the
 * median requests/s: on this shared 2-core box one run of a 4-node cluster
 * swings by ±20% from one minute to the next, more than the effect measured.
 */
async function benchDegraded(out: Collected, target: Target, degrade: Degrade, requests: number): Promise<void> {
  const [first] = target.ports;
  if (first === undefined) throw new Error(`${target.label} has no ports`);
  const half = async (mode: string): Promise<void> => {
    const runs: Row[][] = [];
    for (let round = 1; round <= degradedRounds; round++) {
      const collected: Collected = { rows: [], failures: [], comparisons: [], notes: [] };
      for (const pipeline of pipelines) {
        await measure(collected, target, `${mode} (round ${round} of ${degradedRounds})`, pipeline, () =>
          runRedisBenchmark({ requests, clients, pipeline, keyspace, tests, port: first }));
      }
      out.failures.push(...collected.failures);
      runs.push(collected.rows.map((row) => ({ ...row, mode })));
    }
    const medians = medianRows(runs.flat());
    out.rows.push(...medians);
    out.notes.push(`${target.label}, ${mode}: ${degradedRounds} runs each, the median shown; requests/s of every run: ` +
      medians.map((m) => `${m.test} -P ${m.pipeline} ${runs.flat().filter((r) => r.test === m.test && r.pipeline === m.pipeline).map((r) => Math.round(r.rps)).join('/')}`).join(', ') + '.');
  };
  await half(degrade.upMode);
  progress(`${target.label} — degrading: ${degrade.downMode}`);
  await degrade.run();
  await half(degrade.downMode);
  out.comparisons.push({ target: target.label, upMode: degrade.upMode, downMode: degrade.downMode });
  if (target.notes !== undefined) out.notes.push(...(await target.notes()));
}

/** Rounds of the anti-entropy cost comparison: clusters with and without trees, alternated. */
const aaeCostRounds = 3;

/**
 * What keeping Merkle trees costs the write path: the 3-node cluster with
 * anti-entropy on, then the same with --anti-entropy off, alternated
 * `aaeCostRounds` times (a fresh cluster each), SET at node 1 at both
 * pipeline depths; the median of each side is compared. One run each is
 * not enough here: two runs of the same cluster minutes apart differ by
 * ±15% on this shared 2-core box, more than the effect measured.
 */
async function benchAntiEntropyCost(out: Collected, requests: number): Promise<void> {
  const runs: Row[] = [];
  for (let round = 1; round <= aaeCostRounds; round++) {
    for (const on of [false, true]) {
      const label = on ? 'ringkv ×3 AAE on' : 'ringkv ×3 AAE off';
      let target: Target | undefined;
      try {
        target = await startRingkvCluster(on);
        const port = target.ports[0]!;
        const collected: Collected = { rows: [], failures: [], comparisons: [], notes: [] };
        for (const pipeline of pipelines) {
          await measure(collected, { ...target, label }, `node 1, c${clients} (round ${round} of ${aaeCostRounds})`, pipeline, () =>
            runRedisBenchmark({ requests, clients, pipeline, keyspace, tests: 'set', port }));
        }
        out.failures.push(...collected.failures);
        runs.push(...collected.rows.map((row) => ({ ...row, target: label, mode: `node 1, c${clients}` })));
      } catch (err) {
        out.failures.push({ target: label, mode: 'start', error: (err as Error).message });
      } finally {
        await target?.stop().catch((err: Error) => progress(`stopping ${label}: ${err.message}`));
      }
    }
  }
  const on = medianRows(runs.filter((r) => r.target === 'ringkv ×3 AAE on'));
  const off = medianRows(runs.filter((r) => r.target === 'ringkv ×3 AAE off'));
  out.rows.push(...on, ...off);
  const parts = on.map((row) => {
    const other = off.find((r) => r.test === row.test && r.pipeline === row.pipeline);
    return other === undefined ? '' : `${row.test} -P ${row.pipeline} ${(row.rps / other.rps).toFixed(2)}× (${Math.round(row.rps)} vs ${Math.round(other.rps)} requests/s)`;
  }).filter((part) => part !== '');
  const every = (label: string) => pipelines.map((p) => `-P ${p} ${runs.filter((r) => r.target === label && r.pipeline === p).map((r) => Math.round(r.rps)).join('/')}`).join(', ');
  out.notes.push(
    `Anti-entropy's cost: 3-node cluster SET at node 1 with Merkle trees over the same without (--anti-entropy off), median of ${aaeCostRounds} alternated fresh clusters each (goal ≥ 0.90×): ${parts.join(', ')}. ` +
      `Every run, on: ${every('ringkv ×3 AAE on')}; off: ${every('ringkv ×3 AAE off')}.`,
  );
}

/**
 * Issue 12's throughput target: SADD, HSET and INCR against SET in the same
 * run (goal ≥ 0.8×), on one node and on node 1 of the 3-node cluster, -P 1.
 * redis-benchmark's SADD and HSET write one key (myset, myhash) whose members
 * are drawn from the key space, so the collection grows through the run (to
 * ~40k members at 50,000 requests): long enough for SET to warm up and the
 * collections' chains to be cut a few times, so the ratio is the steady one
 * (at 5,000 requests SET had not warmed up, and the ratio flattered the types).
 * The four tests run `typeRounds` times in turn on the same node and each
 * reports its median run: one run of SET alone swung 15.8k-23.6k requests/s
 * between two runs minutes apart here, as much as the gap measured, and SET
 * ran only cold (first, on a fresh process) while the others ran after it.
 */
const typeTests = 'set,incr,sadd,hset';
const typeRequestsDefault = 50_000;
const typeRounds = 3;

async function benchTypes(out: Collected, env: NodeJS.ProcessEnv): Promise<void> {
  const requests = env.BENCH_TYPE_REQUESTS === undefined || env.BENCH_TYPE_REQUESTS === '' ? typeRequestsDefault : Number(env.BENCH_TYPE_REQUESTS);
  if (!Number.isInteger(requests) || requests < 1) throw new Error(`BENCH_TYPE_REQUESTS must be a positive integer, got ${env.BENCH_TYPE_REQUESTS}`);
  for (const [label, start] of [['ringkv ×1 types', startRingkvSingle], ['ringkv ×3 types', () => startRingkvCluster()]] as const) {
    let target: Target | undefined;
    try {
      progress(`starting ${label}`);
      target = await start();
      const port = target.ports[0]!;
      const mode = `node 1, c${clients}`;
      const runs: Row[] = [];
      // CPU microseconds per request, all threads of all nodes summed, per test and round (proc-cpu.ts): steadier
      // than requests/s on a shared box, and what the types cost beside SET whatever the box's load.
      const cpu = new Map<string, number[]>();
      for (let round = 1; round <= typeRounds; round++) {
        for (const test of typeTests.split(',')) {
          const collected: Collected = { rows: [], failures: [], comparisons: [], notes: [] };
          const before = nodesCpuSeconds(target);
          await measure(collected, { ...target, label }, `${mode} (round ${round} of ${typeRounds})`, 1, () =>
            runRedisBenchmark({ requests, clients, pipeline: 1, keyspace, tests: test, port }));
          const after = nodesCpuSeconds(target);
          out.failures.push(...collected.failures);
          runs.push(...collected.rows.map((row) => ({ ...row, mode })));
          const name = collected.rows[0]?.test;
          if (name !== undefined && before !== undefined && after !== undefined) cpu.set(name, [...(cpu.get(name) ?? []), ((after - before) * 1e6) / requests]);
        }
      }
      const medians = medianRows(runs);
      out.rows.push(...medians);
      const rps = (test: string) => medians.find((r) => r.test === test)?.rps;
      const every = (test: string) => runs.filter((r) => r.test === test).map((r) => Math.round(r.rps)).join('/');
      const cpuOf = (test: string) => median(cpu.get(test) ?? []);
      const set = rps('SET');
      if (set !== undefined) {
        const parts = ['INCR', 'SADD', 'HSET'].map((test) => `${test} ${((rps(test) ?? 0) / set).toFixed(2)}× (${Math.round(rps(test) ?? 0)}/s; runs ${every(test)})`);
        out.notes.push(`${label}: against SET's median ${Math.round(set)} requests/s (runs ${every('SET')}) in the same run (goal ≥ 0.80×), ` +
          `${typeRounds} rounds of the four tests in turn, medians, ${requests} requests each, -r ${keyspace}: ${parts.join(', ')}.`);
        const setCpu = cpuOf('SET');
        if (setCpu !== undefined) {
          const cpuParts = ['SET', 'INCR', 'SADD', 'HSET'].map((test) => `${test} ${cpuOf(test)?.toFixed(1) ?? '?'} µs` + (test === 'SET' ? '' : ` (SET/${test} ${(setCpu / (cpuOf(test) ?? Infinity)).toFixed(2)}×)`));
          out.notes.push(`${label}: CPU per request, every thread of every node, median of the rounds: ${cpuParts.join(', ')}.`);
        }
      }
    } catch (err) {
      out.failures.push({ target: label, mode: 'start', error: (err as Error).message });
    } finally {
      await target?.stop().catch((err: Error) => progress(`stopping ${label}: ${err.message}`));
    }
  }
}

/** CPU seconds every node of `target` has used so far (all threads), or undefined when one cannot be read. */
function nodesCpuSeconds(target: Target): number | undefined {
  const pids = target.pids?.();
  if (pids === undefined || pids.length === 0) return undefined;
  let sum = 0;
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds === undefined) return undefined;
    sum += seconds;
  }
  return sum;
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** The failover time series (failover.ts): its own JSON and SVG; its summary joins the notes. */
async function benchFailoverTarget(out: Collected): Promise<void> {
  progress('failover: 3 nodes, one killed and restarted under load');
  try {
    const { lines, files } = await benchFailover();
    out.notes.push(`Failover (a node of the 3-node cluster killed and restarted under a closed-loop load, ${files.join(', ')}): ${lines.join(' · ')}`);
  } catch (err) {
    out.failures.push({ target: 'ringkv ×3 failover', mode: 'run', error: (err as Error).message });
    progress(`failover failed: ${(err as Error).message}`);
  }
}

async function runTarget(out: Collected, name: TargetName, requests: number): Promise<void> {
  let target: Target | undefined;
  try {
    progress(`starting ${name}`);
    target = await startTarget(name);
    await benchTarget(out, target, requests);
  } catch (err) {
    out.failures.push({ target: target?.label ?? name, mode: target ? 'run' : 'start', error: (err as Error).message });
    progress(`${name} failed: ${(err as Error).message}`);
  } finally {
    await target?.stop().catch((err: Error) => progress(`stopping ${name}: ${err.message}`));
  }
}

function describeMachine(benchVersion: string): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cpus.length}× ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${benchVersion}, load avg ${load} at start`;
}

function standingNotes(plan: Plan): string[] {
  return [
    `Load: redis-benchmark -t ${tests} -n ${plan.requests} -c ${clients} -r ${keyspace}, at -P 1 and -P 16; 127.0.0.1 only.`,
    `Spread rows: ${spreadClientsPerNode} connections from each of 3 concurrent redis-benchmark processes, one per node, -n split between them; requests/s is their sum, p50/p99 the worst of the three.`,
    'Ratios are against redis-server for the same test and pipeline in this run: rps ratio higher is better, p99 ratio lower is better. "rps vs node" is against the bare Node.js RESP responder (bare-responder.ts), the ceiling of Node itself on this machine at that moment.',
    'The machine is a noisy shared 2-core box and redis-benchmark itself takes a core: read the ratios, not the absolute figures.',
  ];
}

async function writeResults(startedAt: Date, plan: Plan, machine: string, rows: Row[], downUp: DownUp[], failures: Failure[], notes: string[]): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/:/g, '-');
  const json = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    config: { ...plan, clients, spreadClientsPerNode, keyspace, pipelines, tests },
    machine,
    rows,
    downUp,
    failures,
    notes,
  };
  await writeFile(path.join(resultsDir, `${stamp}.json`), JSON.stringify(json, null, 2) + '\n');
  const markdown = markdownReport(rows, { startedAt: startedAt.toISOString(), requests: plan.requests, machine, notes, failures, downUp });
  // latest.* are the README's table and chart: only a run of every target replaces them, not a run of a few.
  const whole = plan.targets.length === targetNames.length;
  if (whole) await writeFile(path.join(resultsDir, 'latest.md'), markdown);
  if (rows.length > 0) {
    const svg = await renderBenchChart(rows);
    await writeFile(path.join(resultsDir, `${stamp}.svg`), svg);
    if (whole) await writeFile(path.join(resultsDir, 'latest.svg'), svg);
  }
  return markdown;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const plan = readPlan(process.env);
  const benchVersion = await toolVersion('redis-benchmark');
  if (!benchVersion) {
    progress('redis-benchmark is not installed (apt-get install redis-tools); nothing to measure with.');
    return 1;
  }
  const notes = standingNotes(plan);
  if (plan.targets.includes('redis') && !(await toolVersion('redis-server'))) {
    notes.push('redis-server is not installed: ringkv is reported alone, without ratios.');
    plan.targets = plan.targets.filter((name) => name !== 'redis');
  }
  const machine = describeMachine(benchVersion);
  const out: Collected = { rows: [], failures: [], comparisons: [], notes: [] };
  for (const name of plan.targets) {
    if (name === 'aae') await benchAntiEntropyCost(out, plan.requests);
    else if (name === 'types') await benchTypes(out, process.env);
    else if (name === 'failover') await benchFailoverTarget(out);
    else await runTarget(out, name, plan.requests);
  }
  const downUp = out.comparisons.flatMap((c) => compareDownUp(out.rows, c.target, c.upMode, c.downMode));
  if (downUp.length > 0) notes.push(`Down/up: the same target and load before and after one node was killed; the "always writable" goal is down ≥ ${downUpGoal.toFixed(2)}× up in SET requests/s.`);
  const markdown = await writeResults(startedAt, plan, machine, withRatios(out.rows), downUp, out.failures, [...notes, ...out.notes]);
  process.stdout.write(markdown);
  return out.failures.length > 0 ? 1 : 0;
}

runMain(main, progress);
