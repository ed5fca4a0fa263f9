// A streaming rate that yields to client traffic: additive increase,
// multiplicative decrease (TCP's AIMD, as Cassandra's and CockroachDB's
// admission control back off on a latency signal) driven by this node's
// event-loop delay. A join or leave moves a node's whole share of the data and
// competes for the same cores as the requests the node serves (and, on one
// machine, as its peers): a stream starts at its floor and doubles its rate
// each window (TCP's slow start) until the delay first passes the target or
// it reaches its ceiling; from then on it climbs additively while the delay
// stays low, and is cut whenever the delay passes the target — requests are
// waiting behind the stream (or behind something else on the box) — down to
// the floor, which keeps the change moving. Starting low matters on a busy
// node: a stream that started at its ceiling had seconds of flooding before
// the cuts brought it down, enough to stall a saturated 2-core box.
//
// Pure (sans-io, time passed in): the caller samples the delay once a window
// and sets the throttle to the rate returned.

import assert from 'node:assert/strict';

export interface PacerSettings {
  /** The ceiling: the node's configured transfer rate. */
  readonly rateMaxBytesPerSec: number;
  /** The floor, and the rate a stream starts at: a change always progresses, however busy the node. */
  readonly rateMinBytesPerSec: number;
  /** The delay (ms, a high percentile over a window) above which the rate is cut. */
  readonly delayTargetMs: number;
  /** How often the delay is sampled and the rate adjusted. */
  readonly windowMs: number;
  /** Added per window while the delay is under target. */
  readonly increaseBytesPerSec: number;
  /** The rate is multiplied by this when the delay is over target. */
  readonly decreaseFactor: number;
}

/**
 * Defaults for a ceiling `rateMax`: a floor of 1/16 of it (2 MiB/s at the
 * default 32 MiB/s: a 10 GB share still moves in ~1.5 h on a saturated node),
 * a climb of 1/16 of it per window (floor to ceiling in ~8 s), and a cut to
 * 70% (half as in TCP would oscillate wider around a target that moves with
 * other load; 0.7 is CUBIC's β).
 */
export function pacerDefaults(rateMaxBytesPerSec: number): PacerSettings {
  return {
    rateMaxBytesPerSec,
    rateMinBytesPerSec: rateMaxBytesPerSec / 16,
    delayTargetMs: pacerDelayTargetMsDefault,
    windowMs: pacerWindowMs,
    increaseBytesPerSec: rateMaxBytesPerSec / 16,
    decreaseFactor: 0.7,
  };
}

/**
 * The loop delay (p99 over a window, beyond the sampling interval) a stream
 * may cause: a request waits about this long at most on each of the 2–3
 * nodes it passes through, against a baseline p99 of ~10 ms on a loaded
 * 2-core box, so keeping it under 5 ms keeps the stream's share of a
 * request's p99 within the 2× of the baseline.
 */
export const pacerDelayTargetMsDefault = 5;
/** Long enough for a p99 of a 5 ms sampler (100 samples), short enough to react within a page or two at full rate. */
export const pacerWindowMs = 500;

/**
 * The delay a stream may grow to, as a multiple of the node's delay before
 * it (the median of the windows sampled while a join or a leave settles):
 * the budget is the workload's p99 at most 2× its value before the
 * change. A fixed target alone held a stream at its floor on a box whose
 * loop delay exceeds it with no stream at all (2 nodes on 2 cores: ~3.3
 * MiB/s, 41 s for a 135 MB share, where the full rate took 4-6 s with the
 * workload's p99 ×1.3-2.0).
 */
export const baselineDelayFactor = 2;
/** Baseline windows kept (the median is taken): a settle of 4 s gives 8. */
const baselineWindowsMax = 64;

export class StreamPacer {
  private rate: number;
  private windowStartMs: number;
  /** Doubling each window until the first cut (or the ceiling). */
  private slowStart = true;
  /** Delays sampled per window before the stream (noteBaseline), this operation's. */
  private baseline: number[] = [];

  constructor(private readonly settings: PacerSettings, nowMs: number) {
    assert(settings.rateMinBytesPerSec > 0 && settings.rateMinBytesPerSec <= settings.rateMaxBytesPerSec, 'pacer floor must be positive and under its ceiling');
    assert(settings.decreaseFactor > 0 && settings.decreaseFactor < 1, 'pacer cut must be a fraction');
    assert(settings.windowMs > 0 && settings.increaseBytesPerSec > 0);
    this.rate = settings.rateMinBytesPerSec;
    this.windowStartMs = nowMs;
  }

  /** A new stream (a join, a leave, a cleanup pass) starts over from the floor, in slow start. */
  restart(nowMs: number): number {
    this.rate = this.settings.rateMinBytesPerSec;
    this.slowStart = true;
    this.windowStartMs = nowMs;
    this.baseline = [];
    return this.rate;
  }

  /** A window's delay measured before the stream began (nothing of it streaming yet): the node's own, to pace against. */
  noteBaseline(delayMs: number): void {
    if (this.baseline.length < baselineWindowsMax) this.baseline.push(delayMs);
  }

  /** The delay above which the rate is cut: the configured target, or baselineDelayFactor × the baseline's median if higher. */
  delayTargetMs(): number {
    const b = this.baseline;
    if (b.length === 0) return this.settings.delayTargetMs;
    const sorted = [...b].sort((x, y) => x - y);
    const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    return Math.max(this.settings.delayTargetMs, baselineDelayFactor * median);
  }

  rateBytesPerSec(): number {
    return this.rate;
  }

  /** True once a window has passed since the last adjustment: the caller samples the delay and calls adjust. */
  due(nowMs: number): boolean {
    return nowMs - this.windowStartMs >= this.settings.windowMs;
  }

  /** Adjusts the rate for the delay measured over the window that just ended; returns the new rate. */
  adjust(delayMs: number, nowMs: number): number {
    const s = this.settings;
    this.windowStartMs = nowMs;
    if (delayMs > this.delayTargetMs()) {
      this.slowStart = false;
      this.rate = Math.max(s.rateMinBytesPerSec, this.rate * s.decreaseFactor);
    } else {
      this.rate = Math.min(s.rateMaxBytesPerSec, this.slowStart ? this.rate * 2 : this.rate + s.increaseBytesPerSec);
    }
    return this.rate;
  }
}
