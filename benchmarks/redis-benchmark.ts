// Drives the stock redis-benchmark against a RESP port and reads its --csv
// output. Using Redis's own tool means ringkv is measured exactly the way
// redis-server is, so the two are comparable within one run. The "spread"
// mode runs one redis-benchmark per node at once and combines them: summed
// throughput, worst-of percentiles (the conservative reading).
import { ManagedProcess } from '../test/helpers/cluster.js';

export interface BenchResult {
  /** redis-benchmark's test name, e.g. SET */
  test: string;
  rps: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface RunSpec {
  port: number;
  requests: number;
  clients: number;
  pipeline: number;
  /** -r: random keys drawn from this many */
  keyspace: number;
  /** -t: comma list, e.g. set,get */
  tests: string;
}

// The CSV is a few lines; anything near this is not redis-benchmark output.
const csvBytesMax = 1 << 20;
// A run must sustain at least this rate or it is declared stuck and killed.
const slowestAcceptedRps = 500;
const runTimeoutFloorMs = 60_000;
const tailLinesOnError = 15;

/** Parse redis-benchmark --csv output by header name (7.0: test,rps,avg,min,p50,p95,p99,max). */
export function parseCsv(text: string): BenchResult[] {
  const rows = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('"'))
    .map((line) => line.split(',').map((cell) => cell.replace(/^"|"$/g, '')));
  const header = rows.shift();
  if (!header || header[0] !== 'test') return [];
  const column = (name: string): number => header.indexOf(name);
  const read = (row: string[], name: string): number => {
    const i = column(name);
    return i < 0 ? Number.NaN : Number.parseFloat(row[i] ?? '');
  };
  return rows.map((row) => ({
    test: row[0] ?? '?',
    rps: read(row, 'rps'),
    avgMs: read(row, 'avg_latency_ms'),
    p50Ms: read(row, 'p50_latency_ms'),
    p99Ms: read(row, 'p99_latency_ms'),
  }));
}

function runTimeoutMs(spec: RunSpec): number {
  const testCount = spec.tests.split(',').length;
  return runTimeoutFloorMs + Math.ceil((spec.requests * testCount * 1000) / slowestAcceptedRps);
}

/** One redis-benchmark process; rejects with its output tail if it fails, times out or prints no CSV. */
export async function runRedisBenchmark(spec: RunSpec): Promise<BenchResult[]> {
  const args = ['-h', '127.0.0.1', '-p', String(spec.port), '-t', spec.tests, '-n', String(spec.requests)];
  args.push('-c', String(spec.clients), '-r', String(spec.keyspace), '-P', String(spec.pipeline), '--csv');
  const proc = new ManagedProcess(`redis-benchmark -p ${spec.port}`, 'redis-benchmark', args, { stdoutBytesMax: csvBytesMax });
  const limitMs = runTimeoutMs(spec);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.signal('SIGKILL');
  }, limitMs);
  await proc.exited;
  clearTimeout(timer);
  const results = parseCsv(proc.stdout);
  const expected = spec.tests.split(',').length;
  if (timedOut || proc.exitCode !== 0 || results.length < expected) {
    const why = timedOut ? `timed out after ${limitMs} ms` : proc.describeExit();
    throw new Error(`redis-benchmark on port ${spec.port} ${why}, ${results.length}/${expected} results\n${proc.output.tail(tailLinesOnError)}`);
  }
  return results;
}

/** Split `total` into `parts` near-equal positive shares. */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

/** Sum throughput, take the worst average and percentiles, per test name. */
export function combineSpread(perNode: BenchResult[][]): BenchResult[] {
  const first = perNode[0] ?? [];
  return first.map(({ test }) => {
    const same = perNode.map((results) => results.find((r) => r.test === test));
    if (same.some((r) => r === undefined)) throw new Error(`test ${test} missing from a spread run`);
    const found = same as BenchResult[];
    return {
      test,
      rps: found.reduce((sum, r) => sum + r.rps, 0),
      avgMs: Math.max(...found.map((r) => r.avgMs)),
      p50Ms: Math.max(...found.map((r) => r.p50Ms)),
      p99Ms: Math.max(...found.map((r) => r.p99Ms)),
    };
  });
}

/** One redis-benchmark per port, all at once, requests split between them. */
export async function runSpread(ports: number[], spec: Omit<RunSpec, 'port'>, clientsPerNode: number): Promise<BenchResult[]> {
  const shares = splitEvenly(spec.requests, ports.length);
  const runs = ports.map((port, i) => runRedisBenchmark({ ...spec, port, requests: shares[i] ?? 0, clients: clientsPerNode }));
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return combineSpread(settled.map((s) => (s as PromiseFulfilledResult<BenchResult[]>).value));
}
