// The seeded cluster simulation of the convergent collections (issue 12):
// orset (SADD of unique elements and SREM of earlier ones, applied at the
// key's coordinator, and SMEMBERS-like reads), hash (HSET of new fields,
// HINCRBY of one field, and reads), zset (ZADD of unique members, ZREM of
// earlier ones, ZINCRBY of one member) and list (LPUSH/RPUSH of unique
// elements, LPOP/RPOP, LREM of earlier ones), under the same faults as
// sim.test.ts, judged by the checker's collection rules: nothing lost,
// nothing from nowhere, nothing a removal took brought back (an emptied
// collection written as a tombstone failed that within 100 seeds), no
// element twice in a list, every node agreeing (on the order too) after healing. A file of its own so it runs in
// its own worker beside sim.test.ts; fewer seeds by default than the older
// workloads (RINGKV_SIM_COLLECTION_SEEDS widens it; `npm run sim -- --workload
// orset --seeds 200` ran clean while developing).
import test from 'ava';
import { replayCommand, runSeed, type RunResult } from './run.js';

const seedsPerWorkload = Number(process.env['RINGKV_SIM_COLLECTION_SEEDS'] ?? 60);

for (const workload of ['orset', 'hash', 'zset', 'list'] as const) {
  test(`cluster simulation › ${workload} workload: no acknowledged add, field or increment lost, nothing a removal took back, nothing from nowhere, every node agreeing after healing`, async (t) => {
    const results: RunResult[] = [];
    for (let i = 0; i < seedsPerWorkload; i++) results.push(await runSeed({ seed: 5 * i + 1, workload }));
    const sum = (f: (r: RunResult) => number) => results.reduce((s, r) => s + f(r), 0);
    t.true(sum((r) => r.history.ops.filter((o) => o.kind !== 'read' && o.outcome === 'ok').length) > 0, 'writes acknowledged');
    t.true(sum((r) => r.history.ops.filter((o) => o.read?.elements !== undefined && o.read.elements !== '').length) > 0, 'reads saw elements');
    for (const fault of ['partitions', 'crashes', 'dropped', 'duplicated'] as const) t.true(sum((r) => r.faultCounts[fault]!) > 0, `${fault} injected`);
    const failing = results.filter((r) => r.violations.length > 0);
    const lines = failing.slice(0, 15).map((r) => `${replayCommand(r.config.seed, r.config.workload, r.ops)}\n    first: ${r.violations[0]!.kind} on ${r.violations[0]!.key}: ${r.violations[0]!.message}`);
    t.log(`${results.length} seeds, ${sum((r) => r.ops)} operations, ${sum((r) => r.violations.length)} violations`);
    t.true(failing.length === 0, `${failing.length} of ${results.length} seeds failed:\n${lines.join('\n')}`);
  });
}
