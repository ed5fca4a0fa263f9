// The benchmark report's down/up pairing (benchmarks/report.ts): each healthy
// row of a target meets the degraded row with the same test and pipeline, and
// nothing else; the table marks whether SET met the goal.
import test from 'ava';
import { bareTarget, compareDownUp, downUpGoal, markdownReport, markdownTable, medianRows, withRatios, type Row } from '../../benchmarks/report.js';

function row(target: string, mode: string, test: string, pipeline: number, rps: number, p99Ms: number): Row {
  return { target, mode, test, pipeline, rps, avgMs: p99Ms / 4, p50Ms: p99Ms / 4, p99Ms };
}

const rows: Row[] = [
  row('redis-server', 'c50', 'SET', 1, 60_000, 1),
  row('ringkv ×4', 'up', 'SET', 1, 10_000, 20),
  row('ringkv ×4', 'up', 'GET', 1, 20_000, 10),
  row('ringkv ×4', 'up', 'SET', 16, 14_000, 40),
  row('ringkv ×4', 'down', 'SET', 1, 7_000, 30),
  row('ringkv ×4', 'down', 'GET', 1, 20_000, 10),
  row('ringkv ×3', 'down', 'SET', 16, 1, 1),
];

test('compareDownUp pairs each healthy row with the degraded row of the same test and pipeline, and only those', (t) => {
  const pairs = compareDownUp(rows, 'ringkv ×4', 'up', 'down');
  t.deepEqual(pairs.map((p) => `${p.test}/${p.pipeline}`), ['SET/1', 'GET/1'], 'SET/16 has no degraded row of this target');
  const set = pairs[0]!;
  t.is(set.upRps, 10_000);
  t.is(set.downRps, 7_000);
  t.is(set.rpsRatio, 0.7);
  t.is(set.p99Ratio, 1.5);
  t.is(pairs[1]!.rpsRatio, 1);
});

test('the report gets a down/up table only when there are pairs, and marks SET against the goal', (t) => {
  const context = { startedAt: 'now', requests: 1, machine: 'm', notes: [], failures: [] };
  t.false(markdownReport(rows, context).includes('One node down'));
  const pairs = compareDownUp(rows, 'ringkv ×4', 'up', 'down');
  const report = markdownReport(rows, { ...context, downUp: pairs });
  t.true(report.includes(`goal: SET down ≥ ${downUpGoal.toFixed(2)}× up`));
  t.true(report.includes('| ringkv ×4 | SET | 1 | 10000 | 7000 | 0.70× ✗ |'), report);
  t.true(report.includes('| ringkv ×4 | GET | 1 | 20000 | 20000 | 1.00× |'), report);
});

test('medianRows keeps, per test and pipeline, the run with the median requests/s', (t) => {
  const row = (test: string, pipeline: number, rps: number) => ({ target: 't', mode: 'm', test, pipeline, rps, avgMs: 1, p50Ms: rps / 1000, p99Ms: 2 });
  const rows = [row('SET', 1, 300), row('SET', 1, 100), row('SET', 1, 200), row('SET', 16, 50), row('GET', 1, 7)];
  const medians = medianRows(rows);
  t.deepEqual(medians.map((r) => [r.test, r.pipeline, r.rps]), [['SET', 1, 200], ['SET', 16, 50], ['GET', 1, 7]]);
  t.is(medians[0]!.p50Ms, 0.2, 'the whole median run, its latencies included');
});

test('every row is put against redis-server and against the bare Node.js responder of the same test and pipeline', (t) => {
  const measured = withRatios([
    row('redis-server', 'c50', 'SET', 1, 60_000, 1),
    row(bareTarget, 'c50', 'SET', 1, 40_000, 2),
    row('ringkv ×1', 'c50', 'SET', 1, 20_000, 4),
    row('ringkv ×1', 'c50', 'SET', 16, 50_000, 8),
  ]);
  const ringkv = measured.find((r) => r.target === 'ringkv ×1' && r.pipeline === 1)!;
  t.is(ringkv.rpsRatio!.toFixed(2), '0.33');
  t.is(ringkv.nodeRatio, 0.5);
  t.is(ringkv.p99Ratio, 4);
  t.is(measured.find((r) => r.pipeline === 16)!.nodeRatio, undefined, 'no ceiling measured at -P 16: no ratio');
  t.true(markdownTable(measured).includes('| 0.50× |'));
});

test('the chart is one SVG with a panel row per test, drawn without a browser', async (t) => {
  const { renderBenchChart } = await import('../../benchmarks/charts.js');
  const svg = await renderBenchChart(withRatios(rows));
  t.true(svg.startsWith('<svg'));
  t.true(svg.includes('SET: ringkv against redis-server') && svg.includes('GET: ringkv against redis-server'));
  t.true(svg.includes('ringkv ×4 (up)'));
});
