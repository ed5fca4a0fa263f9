// The benchmark's table drawn (issue 14 item 5): requests/s, and p50 and p99
// latency, per target, test and pipeline depth, as one SVG rendered by Vega
// without a browser (vega's headless View.toSVG; no canvas needed). Written
// beside each run's JSON and as results/latest.svg, which the README shows.
// redis-benchmark's CSV gives p50, p95, p99 and max, not p99.9: the chart
// draws what the load generator measured.

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
