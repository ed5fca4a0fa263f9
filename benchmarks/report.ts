// Turns benchmark results into the comparison people read: each ringkv row
// next to redis-server's row for the same test and pipeline depth, as ratios.
// On a noisy shared machine absolute numbers drift run to run; ratios taken
// within one run are the figures worth comparing over time.
export interface Row {
  /** e.g. "redis-server", "ringkv ×3" */
  target: string;
  /** how the load was applied, e.g. "1 node, c50" or "spread 3×c17" */
  mode: string;
  test: string;
  pipeline: number;
  rps: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  /** rps / redis-server rps (higher is better) */
  rpsRatio?: number;
  /** p99 / redis-server p99 (lower is better) */
  p99Ratio?: number;
}

export interface Failure {
  target: string;
  mode: string;
  /** absent when the target failed before any run */
  pipeline?: number;
  error: string;
}

export const baselineTarget = 'redis-server';

/** Fill in ratios against the redis-server row with the same test and pipeline, when there is one. */
export function withRatios(rows: Row[]): Row[] {
  const baseline = new Map(rows.filter((r) => r.target === baselineTarget).map((r) => [`${r.test}/${r.pipeline}`, r]));
  return rows.map((row) => {
    const base = baseline.get(`${row.test}/${row.pipeline}`);
    if (!base) return { ...row };
    return { ...row, rpsRatio: row.rps / base.rps, p99Ratio: row.p99Ms / base.p99Ms };
  });
}

function number(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}×`;
}

export function markdownTable(rows: Row[]): string {
  const header = '| target | mode | test | pipeline | requests/s | p50 ms | p99 ms | rps vs redis | p99 vs redis |';
  const rule = '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map((r) =>
    [r.target, r.mode, r.test, String(r.pipeline), number(r.rps, 0), number(r.p50Ms, 3), number(r.p99Ms, 3), ratio(r.rpsRatio), ratio(r.p99Ratio)].join(' | '),
  );
  return [header, rule, ...lines.map((line) => `| ${line} |`)].join('\n');
}

export interface ReportContext {
  startedAt: string;
  requests: number;
  machine: string;
  notes: string[];
  failures: Failure[];
}

export function markdownReport(rows: Row[], context: ReportContext): string {
  const failures = context.failures.map((f) => {
    const where = f.pipeline === undefined ? f.mode : `${f.mode}, -P ${f.pipeline}`;
    return `- **${f.target} (${where}) failed:** ${f.error.split('\n')[0]}`;
  });
  return [
    `# ringkv benchmark — ${context.startedAt}`,
    '',
    `redis-benchmark, ${context.requests} requests per test, ${context.machine}.`,
    '',
    markdownTable(rows),
    '',
    ...context.notes.map((note) => `- ${note}`),
    ...failures,
    '',
  ].join('\n');
}
