// A node's load, as range streams pace themselves by it (stream-pacer.ts):
// its event-loop delay window by window, beside its baseline — the delay it
// had while nothing streamed. Every node runs one from start to stop, so a
// source (or a receiver) has its baseline at hand the moment a stream
// reaches it, and returns both figures with every page it serves or folds
// (range-messages.ts): the node that drives a stream then paces by every
// node the stream passes through, not by its own delay alone. The joiner
// alone saw nothing of the source's clients (between two nodes on 2 cores it
// was cut to its floor by its own idle-to-busy rise while the source's
// workload had room to spare), as a TCP sender needs the receiver's echo of
// congestion, not just its own queue.
//
// DelayHistory is the pure core (windows in, report out); LoadMonitor samples
// Node's own loop-delay histogram (perf_hooks monitorEventLoopDelay: a libuv
// timer every loopDelayResolutionMs whose lateness it records, in C++) once a
// window.

import assert from 'node:assert/strict';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** A node's load as it reports it: its last window's delay and its baseline (ms beyond the sampling interval). */
export interface LoadReport {
  /**
   * The longest loop delay in the last full window: the longest a request
   * arriving in it could have waited. Not a p99: a window holds ~100 samples,
   * and the histogram's p99 of them is the second longest, so a window with
   * one 40 ms collection in it read as quiet (a 200 ms stall in a 500 ms
   * window left its p99 at 0.4 ms).
   */
  readonly delayMs: number;
  /** A high quantile (baselineQuantile) of the delays of its recent windows in which nothing streamed; 0 before any. */
  readonly baselineMs: number;
}

/** What a stream needs of a node's monitor: its report, and a mark that the current window streamed. */
export type StreamLoad = Pick<LoadMonitor, 'report' | 'markStreaming'>;

/** What a node without a monitor (tests, the simulation) reports: no delay, no baseline. */
export const noLoad: LoadReport = Object.freeze({ delayMs: 0, baselineMs: 0 });

/** A window: short enough for a pacer to react within a page or two, long enough that most hold no collection. */
export const loadWindowMs = 500;
/** The sampler's interval: 100 samples a window, for ~0.05% of a core (a C++ timer callback each). */
export const loopDelayResolutionMs = 5;
/** Quiet windows the baseline is taken over: the last minute in which nothing streamed. */
export const baselineWindowsMax = 120;
/**
 * The baseline is this quantile of the quiet windows' delays, not their
 * median: a stream is held to the issue's budget, the workload's p99 at most
 * 2× its value before, and that p99 is made by the node's worst windows (its
 * collections), not its typical ones. Against a median (1–3 ms on a node
 * serving 1,000 requests/s) every window with a scavenge in it read as the
 * stream's doing, and the stream was cut to its floor while the workload's
 * p99 had not moved. Against the 90th percentile a stream may make every
 * window as bad as the worst tenth were before, and no worse than twice that.
 */
export const baselineQuantile = 0.9;

/** The windows a node has measured: pure, the sampler and the clock stay outside. */
export class DelayHistory {
  /** Quiet windows' delays, a ring of baselineWindowsMax. */
  private readonly quiet: number[] = [];
  private quietNext = 0;
  private lastDelayMs = 0;
  private cachedBaselineMs: number | undefined = 0;

  /** A window ended with this longest delay; `streaming` if the node streamed in it (served, folded or sent a page). */
  note(delayMs: number, streaming: boolean): void {
    assert(Number.isFinite(delayMs) && delayMs >= 0, 'a delay is a non-negative number of ms');
    this.lastDelayMs = delayMs;
    if (streaming) return;
    if (this.quiet.length < baselineWindowsMax) this.quiet.push(delayMs);
    else this.quiet[this.quietNext] = delayMs;
    this.quietNext = (this.quietNext + 1) % baselineWindowsMax;
    this.cachedBaselineMs = undefined;
  }

  report(): LoadReport {
    return { delayMs: this.lastDelayMs, baselineMs: this.baselineMs() };
  }

  private baselineMs(): number {
    if (this.cachedBaselineMs !== undefined) return this.cachedBaselineMs;
    const sorted = [...this.quiet].sort((a, b) => a - b);
    this.cachedBaselineMs = sorted[Math.floor(baselineQuantile * (sorted.length - 1))] ?? 0;
    return this.cachedBaselineMs;
  }
}

/** The node's monitor: start() once, close() at shutdown. */
export class LoadMonitor {
  private readonly history = new DelayHistory();
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private streaming = false;

  start(): void {
    if (this.timer !== undefined) return;
    const histogram = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
    histogram.enable();
    this.histogram = histogram;
    this.timer = setInterval(() => this.endWindow(), loadWindowMs);
    // A node stops by closing its servers: the monitor alone never holds the process open.
    this.timer.unref();
  }

  /** The node streamed in this window: it does not count toward the baseline. */
  markStreaming(): void {
    this.streaming = true;
  }

  report(): LoadReport {
    return this.history.report();
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  private endWindow(): void {
    const h = this.histogram!;
    const delayMs = h.count === 0 ? 0 : Math.max(0, h.max / 1e6 - loopDelayResolutionMs);
    h.reset();
    this.history.note(delayMs, this.streaming);
    this.streaming = false;
  }
}
