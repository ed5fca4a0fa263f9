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
  /** rps / the bare Node.js responder's rps (bare-responder.ts): the share of what Node itself reaches here */
  nodeRatio?: number;
}

export interface Failure {
  target: string;
  mode: string;
  /** absent when the target failed before any run */
  pipeline?: number;
  error: string;
}

export const baselineTarget = 'redis-server';
/** The Node.js ceiling's label (bare-responder.ts). */
export const bareTarget = 'node bare RESP';

/** Fill in ratios against the redis-server row with the same test and pipeline, when there is one. */
export function withRatios(rows: Row[]): Row[] {
  const baseline = new Map(rows.filter((r) => r.target === baselineTarget).map((r) => [`${r.test}/${r.pipeline}`, r]));
  const ceiling = new Map(rows.filter((r) => r.target === bareTarget).map((r) => [`${r.test}/${r.pipeline}`, r]));
  return rows.map((row) => {
    const base = baseline.get(`${row.test}/${row.pipeline}`);
    const node = ceiling.get(`${row.test}/${row.pipeline}`);
    const out: Row = { ...row };
    if (base) {
      out.rpsRatio = row.rps / base.rps;
      out.p99Ratio = row.p99Ms / base.p99Ms;
    }
    if (node) out.nodeRatio = row.rps / node.rps;
    return out;
  });
}

function number(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}×`;
}

export function markdownTable(rows: Row[]): string {
  const header = '| target | mode | test | pipeline | requests/s | p50 ms | p99 ms | rps vs redis | p99 vs redis | rps vs node |';
  const rule = '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map((r) =>
    [r.target, r.mode, r.test, String(r.pipeline), number(r.rps, 0), number(r.p50Ms, 3), number(r.p99Ms, 3), ratio(r.rpsRatio), ratio(r.p99Ratio), ratio(r.nodeRatio)].join(' | '),
  );
  return [header, rule, ...lines.map((line) => `| ${line} |`)].join('\n');
}

/**
 * One target, test and pipeline depth measured healthy (up) and with a node
 * down (down), in the same run: the cost of the degraded path.
 */
export interface DownUp {
  target: string;
  test: string;
  pipeline: number;
  upMode: string;
  downMode: string;
  upRps: number;
  downRps: number;
  upP50Ms: number;
  downP50Ms: number;
  upP99Ms: number;
  downP99Ms: number;
  /** downRps / upRps (higher is better; the goal is downUpGoal) */
  rpsRatio: number;
  /** downP50Ms / upP50Ms (lower is better) */
  p50Ratio: number;
  /** downP99Ms / upP99Ms (lower is better) */
  p99Ratio: number;
}

/** The "always writable" issue's bar: with one node down, writes keep at least this share of their throughput. */
export const downUpGoal = 0.8;

/** Per test and pipeline depth, the row with the median requests/s (the upper median of an even count). */
export function medianRows(rows: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const id = `${row.test}/${row.pipeline}`;
    const group = groups.get(id) ?? [];
    group.push(row);
    groups.set(id, group);
  }
  return [...groups.values()].map((group) => [...group].sort((a, b) => a.rps - b.rps)[Math.floor(group.length / 2)]!);
}

/** Pairs each of `target`'s rows in `upMode` with its row in `downMode` (same test and pipeline). */
export function compareDownUp(rows: readonly Row[], target: string, upMode: string, downMode: string): DownUp[] {
  const down = new Map(rows.filter((r) => r.target === target && r.mode === downMode).map((r) => [`${r.test}/${r.pipeline}`, r]));
  const pairs: DownUp[] = [];
  for (const up of rows) {
    if (up.target !== target || up.mode !== upMode) continue;
    const d = down.get(`${up.test}/${up.pipeline}`);
    if (d === undefined) continue;
    pairs.push({
      target, test: up.test, pipeline: up.pipeline, upMode, downMode,
      upRps: up.rps, downRps: d.rps, upP50Ms: up.p50Ms, downP50Ms: d.p50Ms, upP99Ms: up.p99Ms, downP99Ms: d.p99Ms,
      rpsRatio: d.rps / up.rps, p50Ratio: d.p50Ms / up.p50Ms, p99Ratio: d.p99Ms / up.p99Ms,
    });
  }
  return pairs;
}

export function markdownDownUpTable(pairs: readonly DownUp[]): string {
  const header = '| target | test | pipeline | up requests/s | down requests/s | down/up rps | up p50 ms | down p50 ms | up p99 ms | down p99 ms | down/up p99 |';
  const rule = '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = pairs.map((p) => {
    const goal = p.test === 'SET' ? (p.rpsRatio >= downUpGoal ? ' ✓' : ' ✗') : '';
    return [
      p.target, p.test, String(p.pipeline), number(p.upRps, 0), number(p.downRps, 0), `${ratio(p.rpsRatio)}${goal}`,
      number(p.upP50Ms, 3), number(p.downP50Ms, 3), number(p.upP99Ms, 3), number(p.downP99Ms, 3), ratio(p.p99Ratio),
    ].join(' | ');
  });
  return [header, rule, ...lines.map((line) => `| ${line} |`)].join('\n');
}

export interface ReportContext {
  startedAt: string;
  requests: number;
  machine: string;
  notes: string[];
  failures: Failure[];
  /** Healthy vs degraded pairs; a second table when there are any. */
  downUp?: readonly DownUp[];
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
    ...downUpSection(context.downUp ?? []),
    ...context.notes.map((note) => `- ${note}`),
    ...failures,
    '',
  ].join('\n');
}

function downUpSection(pairs: readonly DownUp[]): string[] {
  if (pairs.length === 0) return [];
  const modes = [...new Set(pairs.map((p) => `${p.target}: up = "${p.upMode}", down = "${p.downMode}"`))];
  return [
    `## One node down vs all up (goal: SET down ≥ ${downUpGoal.toFixed(2)}× up)`,
    '',
    markdownDownUpTable(pairs),
    '',
    ...modes.map((m) => `- ${m}`),
    '',
  ];
}
