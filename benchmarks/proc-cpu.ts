// CPU time read from Linux's /proc, for benchmarks that run real processes:
// what a node spent is read from outside (all its threads, or its main
// thread alone, which runs the JavaScript), so no hook in the node is needed
// and the figure includes LevelDB's and libuv's threads. Times are in
// seconds; /proc counts in clock ticks of 1/100 s (USER_HZ on Linux), so a
// figure is good to ±0.01 s per read. Off Linux every read is undefined.

import { readFileSync } from 'node:fs';

const ticksPerSecond = 100;

/** The fields of a /proc/…/stat line after the command name, so field 3 (state) is [0]. */
function statFields(file: string): string[] | undefined {
  try {
    return readFileSync(file, 'utf8').replace(/^.*\) /s, '').trim().split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime (fields 14 and 15, man proc) in seconds. */
function userPlusSystem(fields: string[] | undefined): number | undefined {
  return fields === undefined ? undefined : (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : userPlusSystem(statFields(`/proc/${pid}/stat`));
}

/** CPU seconds of a process's main thread alone: in Node, the thread that runs JavaScript (and the event loop). */
export function mainThreadCpuSeconds(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : userPlusSystem(statFields(`/proc/${pid}/task/${pid}/stat`));
}

/**
 * CPU seconds of this process's children that have exited and been waited
 * for (cutime + cstime, fields 16 and 17): Node reaps a child as it exits, so
 * the difference across a phase is what the tools it ran (redis-benchmark)
 * spent.
 */
export function reapedChildrenCpuSeconds(): number | undefined {
  const fields = statFields('/proc/self/stat');
  return fields === undefined ? undefined : (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

/** The machine's busy and total CPU time so far, in seconds of one core, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (total - ticks[3]! - ticks[4]!) / ticksPerSecond, total: total / ticksPerSecond };
  } catch {
    return undefined;
  }
}
