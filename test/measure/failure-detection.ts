// Measures the failure detector between real processes (not part of
// `npm test`): a K-node cluster at the default timing, or with the node
// options given after K and the trial count; each trial kill -9s one node
// and times until every other node reports it down (INFO cluster's member
// lines, polled every 20 ms), restarts it, then SIGSTOPs another, times
// until it is down everywhere, SIGCONTs it and times until it is up
// everywhere. The figures in README's "Failure detection" come from here:
//
//   npm run build && node dist/test/measure/failure-detection.js 5 10
//   node dist/test/measure/failure-detection.js 3 10 --phi-acceptable-pause-ms 250

import { respRequest, sleep, startCluster, type RingkvNode } from '../helpers/cluster.js';

const pollMs = 20;
/** Long enough for each detector's window to hold a few dozen real intervals. */
const settleMs = 15_000;
const waitMs = 30_000;

async function liveness(observer: RingkvNode, id: string): Promise<string | undefined> {
  const [reply] = await respRequest(observer.port, [['INFO', 'cluster']], 1_000);
  const text = String((reply as { text?: string }).text ?? reply);
  return new RegExp(`^member\\d+:id=${id},.*liveness=(up|down)`, 'm').exec(text)?.[1];
}

/** Per observer, ms until it reports `id` as `want` (Infinity if it never did within waitMs). */
async function timeUntil(observers: readonly RingkvNode[], id: string, want: 'up' | 'down'): Promise<number[]> {
  const started = Date.now();
  const took = new Map<RingkvNode, number>();
  while (took.size < observers.length && Date.now() - started < waitMs) {
    await Promise.all(observers.filter((o) => !took.has(o)).map(async (o) => {
      if ((await liveness(o, id).catch(() => undefined)) === want) took.set(o, Date.now() - started);
    }));
    await sleep(pollMs);
  }
  return observers.map((o) => took.get(o) ?? Infinity);
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]} ms, median ${s[Math.floor(s.length / 2)]} ms, max ${s[s.length - 1]} ms (${s.length} trials)`;
}

async function main(): Promise<void> {
  const [countArg, trialsArg, ...extraArgs] = process.argv.slice(2);
  const count = Number(countArg ?? 3);
  const trials = Number(trialsArg ?? 5);
  const cluster = await startCluster({ nodes: count, extraArgs, convergeTimeoutMs: 30_000 });
  const frozen = new Set<number>();
  const killed: number[] = [];
  const stopped: number[] = [];
  const continued: number[] = [];
  try {
    for (let k = 0; k < trials; k++) {
      await sleep(settleMs);
      const victim = cluster.nodes[k % count]!;
      process.kill(victim.pid!, 'SIGKILL');
      const killTook = await timeUntil(cluster.nodes.filter((n) => n !== victim), victim.id, 'down');
      killed.push(Math.max(...killTook));
      await victim.kill();
      await victim.restart();
      await cluster.waitConverged(count, waitMs);
      await sleep(settleMs);
      const paused = cluster.nodes[(k + 1) % count]!;
      const rest = cluster.nodes.filter((n) => n !== paused);
      frozen.add(paused.pid!);
      process.kill(paused.pid!, 'SIGSTOP');
      let stopTook: number[];
      try {
        stopTook = await timeUntil(rest, paused.id, 'down');
        await sleep(3_000);
      } finally {
        process.kill(paused.pid!, 'SIGCONT');
        frozen.delete(paused.pid!);
      }
      stopped.push(Math.max(...stopTook));
      const contTook = await timeUntil(rest, paused.id, 'up');
      continued.push(Math.max(...contTook));
      console.log(`trial ${k + 1}: kill -9 ${victim.id}: down after ${killTook.join(', ')} ms; `
        + `SIGSTOP ${paused.id}: down after ${stopTook.join(', ')} ms; SIGCONT: up after ${contTook.join(', ')} ms`);
    }
  } finally {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    await cluster.cleanup();
  }
  console.log(`${count} nodes ${extraArgs.join(' ') || '(default timing)'}, time until the last other node agrees:`);
  console.log(`  kill -9 → down: ${summary(killed)}`);
  console.log(`  SIGSTOP → down: ${summary(stopped)}`);
  console.log(`  SIGCONT → up:   ${summary(continued)}`);
}

await main();
process.exit(0);
