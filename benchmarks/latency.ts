// Latency recording for the in-process benchmarks, in an HdrHistogram
// (hdr-histogram-js, Gil Tene's design): a value per request costs a bucket
// increment (no array of samples to sort), every value keeps 3 significant
// digits from 1 ns to 60 s, and percentiles near the tail (p99.9) are exact to
// that precision rather than the nearest-rank guess of a small sorted sample.
// Values are recorded in nanoseconds.

import * as hdr from 'hdr-histogram-js';

/** The range kept at 3 significant digits: 1 ns up to a minute (a request slower than that is clamped to it, and counted in `clamped`). */
const lowestNs = 1;
const highestNs = 60e9;
const significantFigures = 3;

export interface LatencySummary {
  count: number;
  /** requests slower than the histogram's top (60 s), recorded as 60 s */
  clamped: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export class LatencyRecorder {
  private readonly histogram: hdr.Histogram = hdr.build({
    lowestDiscernibleValue: lowestNs, highestTrackableValue: highestNs, numberOfSignificantValueDigits: significantFigures, useWebAssembly: false,
  });
  private clampedCount = 0;

  /** One request's latency in nanoseconds. */
  recordNs(ns: number): void {
    if (ns > highestNs) {
      this.clampedCount++;
      ns = highestNs;
    }
    this.histogram.recordValue(Math.max(lowestNs, Math.round(ns)));
  }

  /** One request's latency in milliseconds (performance.now() differences). */
  recordMs(ms: number): void {
    this.recordNs(ms * 1e6);
  }

  /** The latency of a request started at `startedNs` (process.hrtime.bigint()). */
  recordSince(startedNs: bigint): void {
    this.recordNs(Number(process.hrtime.bigint() - startedNs));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Adds another recorder's values (e.g. per-interval histograms into a phase's). */
  add(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    this.clampedCount += other.clampedCount;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const ms = (ns: number) => (h.totalCount === 0 ? Number.NaN : roundMs(ns / 1e6));
    return {
      count: h.totalCount,
      clamped: this.clampedCount,
      p50Ms: ms(h.getValueAtPercentile(50)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      p999Ms: ms(h.getValueAtPercentile(99.9)),
      maxMs: ms(h.maxValue),
      meanMs: ms(h.mean),
    };
  }
}

/** Milliseconds to 4 significant figures at most (µs resolution below 10 ms). */
export function roundMs(ms: number): number {
  if (!Number.isFinite(ms) || ms === 0) return ms;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(ms))));
  const factor = 10 ** Math.min(digits, 6);
  return Math.round(ms * factor) / factor;
}

/** "p50 0.412 ms, p99 1.93 ms, p99.9 4.1 ms (max 7.2 ms, 12000 requests)"; `what` names the things timed. */
export function formatLatency(s: LatencySummary, what = 'requests'): string {
  const clamped = s.clamped > 0 ? `, ${s.clamped} over 60 s` : '';
  return `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, p99.9 ${s.p999Ms} ms (max ${s.maxMs} ms, ${s.count} ${what}${clamped})`;
}
