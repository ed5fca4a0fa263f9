// The seeded cluster simulation in `npm test`: a few hundred seeds of each
// workload (register: SET/SET with expiry/context SET/DEL/GET; set: read-
// merge-write adds; counter: INCRBY applied at the coordinator, and GET;
// the set and hash workloads run in sim-collections.test.ts) under loss, delay, duplication, partitions, crashes with
// and without the disk, garbage collection and minutes of virtual time,
// judged by the history checker. A failure lists each failing seed's replay
// command (`npm run sim -- --seed …`, which also shrinks and prints its
// history). RINGKV_SIM_SEEDS widens the search without editing the test.
import test from 'ava';
import { replayCommand, runSeed, type RunResult } from './run.js';
import type { Workload } from './history.js';

const seedsPerWorkload = Number(process.env['RINGKV_SIM_SEEDS'] ?? 300);
/** Failing seeds listed in a failure message; the rest are counted. */
const failuresListedMax = 15;

async function runWorkload(workload: Workload): Promise<RunResult[]> {
  const results: RunResult[] = [];
  // Odd seeds are the register workload's own, even ones the set workload's; the counter runs on multiples of 3 (plan.ts defaultWorkload).
  for (let i = 0; i < seedsPerWorkload; i++) {
    const seed = workload === 'counter' ? 3 * i + 3 : 2 * i + (workload === 'register' ? 1 : 2);
    results.push(await runSeed({ seed, workload }));
  }
  return results;
}

function report(results: readonly RunResult[]): string {
  const failing = results.filter((r) => r.violations.length > 0);
  const lines = failing.slice(0, failuresListedMax).map((r) => {
    const first = r.violations[0]!;
    return `${replayCommand(r.config.seed, r.config.workload, r.ops)}\n    ${r.violations.length} violation(s), first: ${first.kind} on ${first.key}: ${first.message}`;
  });
  if (failing.length > failuresListedMax) lines.push(`… and ${failing.length - failuresListedMax} more failing seeds`);
  const violations = failing.reduce((sum, r) => sum + r.violations.length, 0);
  return `${failing.length} of ${results.length} seeds failed, ${violations} violations:\n${lines.join('\n')}`;
}

for (const workload of ['register', 'set', 'counter'] as const) {
  test(`cluster simulation › ${workload} workload: no acknowledged write lost, no delete undone, every quorum read sees what it must`, async (t) => {
    const results = await runWorkload(workload);
    const sum = (f: (r: RunResult) => number) => results.reduce((s, r) => s + f(r), 0);
    // Not a vacuous pass: operations were acknowledged and every kind of fault struck.
    t.true(sum((r) => r.history.ops.filter((o) => o.kind !== 'read' && o.outcome === 'ok').length) > 0, 'writes acknowledged');
    for (const fault of ['partitions', 'crashes', 'wipes', 'dropped', 'duplicated'] as const) {
      t.true(sum((r) => r.faultCounts[fault]!) > 0, `${fault} injected`);
    }
    if (workload === 'register') {
      t.true(sum((r) => r.collected) > 0, 'garbage collected');
      const expiredSeen = results.some((r) => r.history.ops.some((o) => o.read?.versions.some((v) => v.expiresAt !== undefined && v.expiresAt <= o.read!.atMs)));
      t.true(expiredSeen, 'expired versions read');
    }
    t.log(`${results.length} seeds, ${sum((r) => r.ops)} operations, ${sum((r) => r.faults)} faults, ${sum((r) => r.violations.length)} violations`);
    t.true(results.every((r) => r.violations.length === 0), report(results));
  });
}

test('cluster simulation › a seed replays byte for byte: same history, same verdict', async (t) => {
  for (const seed of [3, 10, 17, 186]) {
    const first = await runSeed({ seed });
    const again = await runSeed({ seed });
    t.is(again.hash, first.hash, `seed ${seed}`);
    t.deepEqual(again.violations, first.violations, `seed ${seed}`);
  }
});

test('cluster simulation › the plan for fewer operations is a prefix of the plan for more', async (t) => {
  const short = await runSeed({ seed: 7, ops: 20 });
  const planned = short.history.ops.filter((o) => o.finalRound === undefined);
  t.is(planned.length, 20);
  t.deepEqual(planned.map((o) => o.index), Array.from({ length: 20 }, (_, i) => i));
  const long = await runSeed({ seed: 7, ops: 40 });
  const sameOps = (r: RunResult) => r.history.ops.filter((o) => o.index < 20).map((o) => `${o.kind} ${o.key} via ${o.node} R=${o.r} W=${o.w}`);
  t.deepEqual(sameOps(long), sameOps(short));
});
