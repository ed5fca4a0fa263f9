// The failover benchmark's time series (benchmarks/timeline.ts) and its
// chart spec (benchmarks/charts.ts): requests land in the interval they
// completed in, spans meeting at an event share no interval, a span's
// percentiles come from the merged histograms, and the chart marks every
// event and breaks its latency line where an interval had no success.
import test from 'ava';
import { failoverChartSpec } from '../../benchmarks/charts.js';
import { formatLatency, LatencyRecorder, roundMs } from '../../benchmarks/latency.js';
import { errorKind, IntervalSeries } from '../../benchmarks/timeline.js';

test('each request counts in the interval it completed in; empty intervals are rows with no latency', (t) => {
  const series = new IntervalSeries(250);
  series.ok(10, 1);
  series.ok(240, 2);
  series.error(260, 'Connection is closed.');
  series.ok(760, 3);
  const rows = series.rows(1000);
  t.deepEqual(rows.map((r) => [r.t, r.ok, r.errors, r.rps, r.errorsPerSec]), [[0, 2, 0, 8, 0], [0.25, 0, 1, 0, 4], [0.5, 0, 0, 0, 0], [0.75, 1, 0, 4, 0]]);
  t.true(Number.isNaN(rows[1]!.p99Ms));
  t.is(rows[3]!.p50Ms, 3);
  t.is(series.rows(999).length, 3, 'a last partial interval is left out');
});

test('spans meeting at an event share no interval: the event\'s interval counts on its later side', (t) => {
  const series = new IntervalSeries(100);
  for (let ms = 0; ms < 1000; ms += 10) series.ok(ms, ms < 500 ? 1 : 10);
  const before = series.span(0, 520);
  const after = series.span(520, 1000);
  t.is(before.count + after.count, 100);
  t.deepEqual([before.fromS, before.toS, after.fromS, after.toS], [0, 0.5, 0.5, 1]);
  t.is(before.rps, 100);
  t.is(before.p99Ms, 1);
  t.is(after.p50Ms, 10);
});

test('a span\'s percentiles come from its merged histograms, and its rps range from the intervals', (t) => {
  const series = new IntervalSeries(1000);
  for (let i = 0; i < 99; i++) series.ok(100, 1);
  series.ok(200, 100);
  for (let i = 0; i < 10; i++) series.ok(1500, 1);
  const s = series.span(0, 2000);
  t.is(s.count, 110);
  t.is(s.p50Ms, 1);
  t.is(s.rpsMin, 10);
  t.is(s.rpsMax, 100);
  t.is(s.maxMs, 100);
});

test('error kinds group messages by their text before the first digit, colon or parenthesis', (t) => {
  t.is(errorKind('NOQUORUM 1 of 2 replicas answered'), 'NOQUORUM');
  t.is(errorKind('Reached the max retries per request limit (which is 0). Refer to …'), 'Reached the max retries per request limit');
  t.is(errorKind('Connection is closed.'), 'Connection is closed.');
  const series = new IntervalSeries(250);
  series.error(0, 'NOQUORUM 1 of 2');
  series.error(0, 'NOQUORUM 0 of 2');
  t.deepEqual([...series.errorKinds], [['NOQUORUM', { count: 2, example: 'NOQUORUM 1 of 2' }]]);
});

test('the latency recorder keeps 3 significant digits and clamps what is past a minute', (t) => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) r.recordMs(i / 100);
  r.recordMs(120_000);
  const s = r.summary();
  t.is(s.count, 1001);
  t.is(s.clamped, 1);
  // 1001 values: the 501st is 5.01 ms and the 991st 9.91 ms, each within 0.1% (3 significant digits).
  t.true(Math.abs(s.p50Ms / 5.01 - 1) < 0.001, String(s.p50Ms));
  t.true(Math.abs(s.p99Ms / 9.91 - 1) < 0.001, String(s.p99Ms));
  t.is(Math.round(s.maxMs / 1000), 60);
  t.is(roundMs(1.23456), 1.235);
  t.is(roundMs(123.456), 123.5);
  t.regex(formatLatency(s), /^p50 .* ms, p99 .* ms, p99\.9 .* ms \(max .* ms, 1001 requests, 1 over 60 s\)$/);
});

test('the failover chart draws every event as a rule with its label, and no latency where an interval had none', (t) => {
  const points = [
    { test: 'SET', t: 0, rps: 100, errorsPerSec: 0, p50Ms: 1, p99Ms: 2 },
    { test: 'SET', t: 0.25, rps: 0, errorsPerSec: 8, p50Ms: Number.NaN, p99Ms: Number.NaN },
  ];
  const spec = failoverChartSpec('title', points, [{ label: 'n3 killed', t: 0.2 }, { label: 'n3 restarted', t: 0.3 }]) as unknown as {
    datasets: { series: { ms: number | null }[]; events: { text: string }[] };
    vconcat: { layer: { data: { name: string }; mark: unknown }[] }[];
  };
  t.deepEqual(spec.datasets.events.map((e) => e.text), ['n3 killed (0.2 s)', 'n3 restarted (0.3 s)']);
  t.deepEqual(spec.datasets.series.map((p) => p.ms), [2, 1, null, null]);
  for (const panel of spec.vconcat) t.true(panel.layer.some((l) => l.data.name === 'events'), 'every panel marks the events');
});
