// The benchmark's table drawn (issue 14 item 5): requests/s, and p50 and p99
// latency, per target, test and pipeline depth, as one SVG rendered by Vega
// without a browser (vega's headless View.toSVG; no canvas needed). Written
// beside each run's JSON and as results/latest.svg, which the README shows.
// redis-benchmark's CSV gives p50, p95, p99 and max, not p99.9: the chart
// draws what the load generator measured. The failover bench (failover.ts)
// draws a time series here too: throughput, latency and errors per interval
// with the kill and restart of a node marked.

import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { Row } from './report.js';

/** One test's rows: a bar per target and pipeline depth for requests/s, and p99 bars with p50 ticks for latency. */
export function benchChartSpec(test: string, rows: readonly Row[]): vl.TopLevelSpec {
  const values = rows.map((r) => ({ target: `${r.target} (${r.mode})`, depth: `-P ${r.pipeline}`, rps: Math.round(r.rps), p50: r.p50Ms, p99: r.p99Ms }));
  const target = { field: 'target', type: 'nominal', title: null, axis: { labelLimit: 280 } } as const;
  const depth = { field: 'depth' } as const;
  const color = { field: 'depth', type: 'nominal', title: 'pipeline' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${test}: ringkv against redis-server and bare Node.js (redis-benchmark, same run)`,
    data: { values },
    hconcat: [
      {
        title: 'requests/s (higher is better)',
        width: 260,
        mark: 'bar',
        encoding: { y: target, yOffset: depth, x: { field: 'rps', type: 'quantitative', title: 'requests/s' }, color },
      },
      {
        title: 'p99 (bar) and p50 (tick), ms, log scale (lower is better)',
        width: 260,
        layer: [
          { mark: { type: 'bar', opacity: 0.6 }, encoding: { y: target, yOffset: depth, x: { field: 'p99', type: 'quantitative', title: 'ms', scale: { type: 'symlog' } }, color } },
          { mark: { type: 'tick', thickness: 2, color: 'black' }, encoding: { y: target, yOffset: depth, x: { field: 'p50', type: 'quantitative' } } },
        ],
      },
    ],
  };
}

/** The chart as one SVG document: a row of panels per test. */
export async function renderBenchChart(rows: readonly Row[]): Promise<string> {
  const tests = [...new Set(rows.map((r) => r.test))];
  const charts: string[] = [];
  for (const test of tests) {
    const view = new vega.View(vega.parse(vl.compile(benchChartSpec(test, rows.filter((r) => r.test === test))).spec), { renderer: 'none' });
    try {
      charts.push(await view.toSVG());
    } finally {
      view.finalize();
    }
  }
  return stackSvgs(charts);
}

/** Puts SVG documents one under another in one document. */
function stackSvgs(svgs: readonly string[]): string {
  let y = 0;
  let width = 0;
  const parts: string[] = [];
  for (const svg of svgs) {
    const w = Number(/width="([\d.]+)"/.exec(svg)?.[1] ?? 0);
    const h = Number(/height="([\d.]+)"/.exec(svg)?.[1] ?? 0);
    parts.push(`<g transform="translate(0,${y})">${svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '')}</g>`);
    y += h;
    width = Math.max(width, w);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">${parts.join('')}</svg>\n`;
}

/** A moment of the failover run drawn as a vertical rule across every panel (kill, seen down, restart, …). */
export interface ChartEvent {
  label: string;
  /** seconds since the series began */
  t: number;
}

/** One interval of one test, as the failover chart draws it. */
export interface FailoverPoint {
  test: string;
  t: number;
  rps: number;
  errorsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The availability story (issue 14 item 5): requests/s, p50 and p99, and
 * errors/s per interval over a run in which one node of three is killed and
 * restarted, with each event a vertical rule. Intervals without a success
 * have no latency (null, so the line breaks rather than dipping to 0).
 */
export function failoverChartSpec(title: string, points: readonly FailoverPoint[], events: readonly ChartEvent[]): vl.TopLevelSpec {
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  const series = points.flatMap((p) => [
    { test: p.test, t: p.t, rps: p.rps, errorsPerSec: p.errorsPerSec, percentile: 'p99', ms: finite(p.p99Ms) },
    { test: p.test, t: p.t, rps: p.rps, errorsPerSec: p.errorsPerSec, percentile: 'p50', ms: finite(p.p50Ms) },
  ]);
  const eventRows = events.map((e, i) => ({ ...e, row: i, text: `${e.label} (${e.t.toFixed(1)} s)` }));
  const width = 720;
  const x = { field: 't', type: 'quantitative', title: 'seconds', scale: { domain: [0, Math.max(0, ...points.map((p) => p.t))] } } as const;
  const color = { field: 'test', type: 'nominal', title: 'command' } as const;
  const rules = { data: { name: 'events' }, mark: { type: 'rule', color: '#c0392b', strokeDash: [4, 3] }, encoding: { x: { field: 't', type: 'quantitative' } } } as const;
  const labels = {
    data: { name: 'events' },
    mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, color: '#c0392b', baseline: 'top' },
    encoding: { x: { field: 't', type: 'quantitative', axis: null }, y: { field: 'row', type: 'ordinal', axis: null }, text: { field: 'text' } },
  } as const;
  const p99Only = { filter: "datum.percentile === 'p99'" };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    datasets: { series, events: eventRows },
    // One time axis for every panel, the event labels' included.
    resolve: { scale: { x: 'shared' } },
    vconcat: [
      { width, height: 16 * Math.max(1, events.length) + 4, layer: [{ ...rules, encoding: { x: { ...rules.encoding.x, axis: null } } }, labels] },
      {
        title: 'successful requests/s per interval',
        width,
        height: 160,
        layer: [{ data: { name: 'series' }, transform: [p99Only], mark: 'line', encoding: { x, y: { field: 'rps', type: 'quantitative', title: 'requests/s' }, color } }, rules],
      },
      {
        title: 'latency per interval: p99 (solid) and p50 (dashed), ms, log scale',
        width,
        height: 160,
        layer: [
          {
            data: { name: 'series' },
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x,
              y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'log' } },
              color,
              strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile', sort: ['p99', 'p50'], scale: { domain: ['p99', 'p50'], range: [[1, 0], [4, 2]] } },
            },
          },
          rules,
        ],
      },
      {
        title: 'errors/s per interval (error replies and requests cut off by the kill)',
        width,
        height: 90,
        layer: [{ data: { name: 'series' }, transform: [p99Only], mark: 'line', encoding: { x, y: { field: 'errorsPerSec', type: 'quantitative', title: 'errors/s' }, color } }, rules],
      },
    ],
  } as vl.TopLevelSpec;
}

/** The failover chart as one SVG document. */
export async function renderFailoverChart(title: string, points: readonly FailoverPoint[], events: readonly ChartEvent[]): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(failoverChartSpec(title, points, events)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
