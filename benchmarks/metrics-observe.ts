// What the metrics endpoint costs a command on the hot path: the one thing
// it observes per call is the latency histogram (metrics/registry.ts); the
// rest is read at scrape time. Times CommandStats.called — what every command
// goes through — without an observer, with ringkv's histogram, with
// prom-client's own Histogram (the first design, measured at ~770 ns a
// command, hence metrics/latency-histogram.ts), and SLOWLOG's check.
// `node dist/benchmarks/metrics-observe.js`

import { CommandStats } from '../src/commands/command-stats.js';
import { Slowlog } from '../src/commands/slowlog.js';
import { buildCommandTable } from '../src/commands/table.js';
import type { Session } from '../src/commands/types.js';
import { Histogram, Registry } from 'prom-client';
import { commandLatencyHistogram } from '../src/metrics/registry.js';

const calls = 2_000_000;
const rounds = 5;
const table = buildCommandTable();
const specs = ['get', 'set', 'mget', 'del'].map((name) => table.get(name)!);

/** Nanoseconds per call, the median of `rounds` runs of `calls` calls. */
function nsPerCall(run: (i: number) => void): number {
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) run(i);
    results.push(Number(process.hrtime.bigint() - started) / calls);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(rounds / 2)]!;
}

function main(): void {
  const plain = new CommandStats(undefined);
  const observed = new CommandStats(undefined);
  // The histogram buildMetrics registers; every other metric is read at scrape time, never by called().
  const latency = commandLatencyHistogram(new Registry());
  observed.observeLatencies(latency);
  const observe = latency.forCommand('get');
  const promClient = new CommandStats(undefined);
  const promHistogram = new Histogram({ name: 'h', help: 'h', labelNames: ['command'], buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [] });
  promClient.observeLatencies({ forCommand: (command) => { const child = promHistogram.labels({ command }); return (s) => child.observe(s); }, reset: () => promHistogram.reset() });
  const slowlog = new Slowlog({ slowlogLogSlowerThan: 10_000, slowlogMaxLen: 128 });
  const session = { remoteAddress: '127.0.0.1:1', name: '' } as Session;
  const args = [Buffer.from('GET'), Buffer.from('k')];
  const ms = (i: number) => 0.02 + (i % 100) * 0.003; // 20-320 µs, across several buckets
  const baseline = nsPerCall((i) => plain.called(specs[i & 3]!, 'v', ms(i)));
  const withHistogram = nsPerCall((i) => observed.called(specs[i & 3]!, 'v', ms(i)));
  const withPromClient = nsPerCall((i) => promClient.called(specs[i & 3]!, 'v', ms(i)));
  const observeAlone = nsPerCall((i) => observe(ms(i) / 1000));
  const slowlogCheck = nsPerCall((i) => slowlog.consider(specs[i & 3]!, args, ms(i), session));
  const line = (label: string, ns: number) => `${label.padEnd(52)} ${ns.toFixed(1).padStart(7)} ns`;
  process.stdout.write([
    `median of ${rounds} runs of ${calls} calls each, node ${process.version}`,
    line('CommandStats.called, no observer (before)', baseline),
    line('CommandStats.called, with ringkv\'s histogram', withHistogram),
    line('  added per command', withHistogram - baseline),
    line('  its observe() alone', observeAlone),
    line('CommandStats.called, with prom-client\'s Histogram', withPromClient),
    line('  added per command', withPromClient - baseline),
    line('SLOWLOG consider() below the threshold', slowlogCheck),
  ].join('\n') + '\n');
}

main();
