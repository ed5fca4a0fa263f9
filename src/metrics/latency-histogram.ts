// The per-command latency histogram, kept as plain bucket counts and handed
// to prom-client's registry as a metric of type histogram at scrape time.
//
// Why not prom-client's Histogram: its observe() validates and hashes the
// label set on every call, even through a child from labels(); measured on
// this machine (benchmarks/metrics-observe.ts) that added ~770 ns to every
// command, a third of a cached GET's whole CPU cost. Here a command's
// observer is its own Float64Array of bucket counts, found once per command
// name: an observation is a scan of 16 bounds and three additions (~10 ns).
// The registry still writes the exposition (text or OpenMetrics), so the
// output is prom-client's own.

import assert from 'node:assert/strict';
import type { Metric, Registry } from 'prom-client';
import type { LatencyObserver } from '../commands/command-stats.js';

/** Distinct commands with a histogram: the command table's size is far below it; a bound all the same. */
const commandsMax = 1024;

interface Series {
  /** Count per bucket, not cumulative; the last slot is above the highest bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface Value {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName: string;
}

export class LatencyHistogram implements LatencyObserver {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[]) {
    assert(bounds.length > 0 && bounds.every((b, i) => i === 0 || b > bounds[i - 1]!), 'bounds ascend');
  }

  /** Registers this histogram with `registry`, which then writes it with every other metric. */
  register(registry: Registry): this {
    // The registry reads a metric through name, type, help and get(), which this provides; prom-client's types name only its own classes.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  forCommand(command: string): (seconds: number) => void {
    let series = this.series.get(command);
    if (series === undefined) {
      if (this.series.size >= commandsMax) return ignore;
      series = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(command, series);
    }
    const bounds = this.bounds;
    const last = bounds.length;
    const s = series;
    return (seconds) => {
      let i = 0;
      while (i < last && seconds > bounds[i]!) i++;
      s.counts[i]!++;
      s.sum += seconds;
      s.count++;
    };
  }

  /** CONFIG RESETSTAT: counts start again. CommandStats forgets its observers with its counters, and looks them up again. */
  reset(): void {
    this.series.clear();
  }

  /** As prom-client's metrics return theirs: cumulative buckets with `le`, then _sum and _count, per command. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const [command, s] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += s.counts[i]!;
        values.push({ value: cumulative, labels: { le: bound, command }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { le: '+Inf', command }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: { command }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { command }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

function ignore(): void {
  // past commandsMax commands: not histogrammed (INFO commandstats still counts them)
}
