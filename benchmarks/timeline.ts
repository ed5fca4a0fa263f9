// Throughput, errors and latency per fixed interval of a run (the failover
// benchmark's time series). Pure: the caller passes the time of each
// completion, so a test drives it without a clock. A request is counted in
// the interval in which it completed, so a stall shows as an empty interval
// followed by one holding the slow replies, as a client would have seen it.
// Each interval keeps its own HdrHistogram (latency.ts), and a span of
// intervals (before the kill, while a node is down, after its restart) is
// the merge of its intervals' histograms, not an average of their p99s.

import { LatencyRecorder, type LatencySummary } from './latency.js';

export interface IntervalRow {
  /** the interval's start, seconds since the series began */
  t: number;
  ok: number;
  errors: number;
  /** successful requests per second over the interval */
  rps: number;
  errorsPerSec: number;
  /** latency of the successful requests (NaN when there were none) */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface SpanSummary extends LatencySummary {
  fromS: number;
  toS: number;
  errors: number;
  rps: number;
  /** the lowest and highest per-interval requests/s within the span */
  rpsMin: number;
  rpsMax: number;
}

interface Bucket {
  latency: LatencyRecorder;
  errors: number;
}

export class IntervalSeries {
  private readonly buckets: Bucket[] = [];
  /** the first error message of each kind (text up to its first digit or colon), with its count */
  readonly errorKinds = new Map<string, { count: number; example: string }>();

  constructor(readonly intervalMs: number) {
    if (!(intervalMs > 0)) throw new Error(`intervalMs must be positive, got ${intervalMs}`);
  }

  /** A successful request that completed at `atMs` (since the series began) after `latencyMs`. */
  ok(atMs: number, latencyMs: number): void {
    this.bucket(atMs).latency.recordMs(latencyMs);
  }

  /** A failed request (error reply, closed connection) that completed at `atMs`. */
  error(atMs: number, message: string): void {
    this.bucket(atMs).errors++;
    const kind = errorKind(message);
    const known = this.errorKinds.get(kind);
    if (known) known.count++;
    else this.errorKinds.set(kind, { count: 1, example: message });
  }

  /** One row per whole interval from 0 to `untilMs` (intervals with nothing in them included; a last partial one left out). */
  rows(untilMs: number): IntervalRow[] {
    const count = Math.floor(untilMs / this.intervalMs);
    const seconds = this.intervalMs / 1000;
    return Array.from({ length: count }, (_, i) => {
      const bucket = this.buckets[i];
      const s = bucket?.latency.summary();
      const ok = s?.count ?? 0;
      const errors = bucket?.errors ?? 0;
      return {
        t: round3(i * seconds),
        ok,
        errors,
        rps: Math.round(ok / seconds),
        errorsPerSec: Math.round(errors / seconds),
        p50Ms: s?.p50Ms ?? Number.NaN,
        p99Ms: s?.p99Ms ?? Number.NaN,
        maxMs: s?.maxMs ?? Number.NaN,
      };
    });
  }

  /**
   * The requests that completed in [fromMs, toMs), in whole intervals: the
   * interval holding `fromMs` is in, the one holding `toMs` is not, so spans
   * that meet at an event share no interval and the event's own interval
   * counts on its later side (the kill's interval is "node down").
   */
  span(fromMs: number, toMs: number): SpanSummary {
    const first = Math.floor(fromMs / this.intervalMs);
    const last = Math.max(first, Math.floor(toMs / this.intervalMs));
    const merged = new LatencyRecorder();
    let errors = 0;
    const perInterval: number[] = [];
    for (let i = first; i < last; i++) {
      const bucket = this.buckets[i];
      if (bucket) {
        merged.add(bucket.latency);
        errors += bucket.errors;
      }
      perInterval.push((bucket?.latency.count ?? 0) / (this.intervalMs / 1000));
    }
    const seconds = ((last - first) * this.intervalMs) / 1000;
    const summary = merged.summary();
    return {
      ...summary,
      fromS: round3((first * this.intervalMs) / 1000),
      toS: round3((last * this.intervalMs) / 1000),
      errors,
      rps: seconds > 0 ? Math.round(summary.count / seconds) : Number.NaN,
      rpsMin: Math.round(Math.min(...perInterval)),
      rpsMax: Math.round(Math.max(...perInterval)),
    };
  }

  private bucket(atMs: number): Bucket {
    const i = Math.max(0, Math.floor(atMs / this.intervalMs));
    for (let j = this.buckets.length; j <= i; j++) this.buckets.push({ latency: new LatencyRecorder(), errors: 0 });
    return this.buckets[i]!;
  }
}

/** An error message's kind: its text before the first digit, colon or parenthesis ("NOQUORUM 1 of 2 …" → "NOQUORUM"). */
export function errorKind(message: string): string {
  const cut = message.search(/[\d:(]/);
  return (cut < 0 ? message : message.slice(0, cut)).trim() || message.slice(0, 40);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
