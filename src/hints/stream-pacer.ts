// A streaming rate that yields to client traffic: additive increase,
// multiplicative decrease (TCP's AIMD, as Cassandra's and CockroachDB's
// admission control back off on a latency signal) driven by the event-loop
// delay of every node the stream passes through (load-monitor.ts: this
// node's own, and each source's or receiver's, returned with its pages). A
// join or leave moves a node's whole share of the data and competes for the
// same cores as the requests those nodes serve (and, on one machine, as
// their peers): a stream starts low and doubles its rate each
// window (TCP's slow start) until a delay first passes the target or it
// reaches its ceiling; from then on it climbs additively while the delays
// stay low, and is cut whenever one passes the target — requests are
// waiting behind the stream (or behind something else on the box) — down to
// the floor, which keeps the change moving. Starting low matters on a busy
// node: a stream that started at its ceiling had seconds of flooding before
// the cuts brought it down, enough to stall a saturated 2-core box.
// Starting at the floor cost a quiet one: 2 s of slow start in a 7 s stream.
//
// Pure (sans-io, time passed in): the caller gathers the loads once a window
// and sets the throttle to the rate returned.

import assert from 'node:assert/strict';
import { loadWindowMs, type LoadReport } from './load-monitor.js';

export interface PacerSettings {
  /** The ceiling: the node's configured transfer rate. */
  readonly rateMaxBytesPerSec: number;
  /** The floor: a change always progresses, however busy the node. */
  readonly rateMinBytesPerSec: number;
  /** The rate a stream starts at, in slow start: between floor and ceiling. */
  readonly rateStartBytesPerSec: number;
  /** The least delay (ms, a window's longest) the rate is cut above, whatever the baselines: a quiet node's is ~1 ms. */
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
 * a start at half of it (the ceiling after one window of slow start: a
 * 5-7 s stream between two quiet nodes spent two windows below it from 1/4,
 * four from the floor; a busy node cuts it to the floor within six windows,
 * 3 s), a climb of 1/16 of it per window (floor to ceiling in ~8 s), and a
 * cut to 70% (half as in TCP would oscillate wider around a target that
 * moves with other load; 0.7 is CUBIC's β).
 */
export function pacerDefaults(rateMaxBytesPerSec: number): PacerSettings {
  return {
    rateMaxBytesPerSec,
    rateMinBytesPerSec: rateMaxBytesPerSec / 16,
    rateStartBytesPerSec: rateMaxBytesPerSec / 2,
    delayTargetMs: pacerDelayTargetMsDefault,
    windowMs: pacerWindowMs,
    increaseBytesPerSec: rateMaxBytesPerSec / 16,
    decreaseFactor: 0.7,
  };
}

/**
 * The configured floor of the target: a request waits about this long at
 * most on each of the 2–3 nodes it passes through, against a baseline p99 of
 * ~10 ms on a loaded 2-core box.
 */
export const pacerDelayTargetMsDefault = 5;
/** The pacer adjusts once per load window (load-monitor.ts): each adjustment sees fresh delays. */
export const pacerWindowMs = loadWindowMs;

/**
 * The delay a stream may grow any node's to, as a multiple of the highest
 * baseline among them (load-monitor.ts: a high quantile of each node's
 * delays with nothing streaming): the budget is the workload's p99
 * at most 2× its value before the change. One target for all of them, the
 * highest: a request waits on each node it passes through, so a joiner
 * idle before the stream (baseline ~1 ms) may take on the delay its source,
 * serving clients all along, already had, and no more than twice it.
 */
export const baselineDelayFactor = 2;

export class StreamPacer {
  private rate: number;
  private windowStartMs: number;
  /** Doubling each window until the first cut (or the ceiling). */
  private slowStart = true;

  constructor(private readonly settings: PacerSettings, nowMs: number) {
    assert(settings.rateMinBytesPerSec > 0 && settings.rateMinBytesPerSec <= settings.rateMaxBytesPerSec, 'pacer floor must be positive and under its ceiling');
    assert(settings.rateStartBytesPerSec >= settings.rateMinBytesPerSec && settings.rateStartBytesPerSec <= settings.rateMaxBytesPerSec, 'pacer start must be within floor and ceiling');
    assert(settings.decreaseFactor > 0 && settings.decreaseFactor < 1, 'pacer cut must be a fraction');
    assert(settings.windowMs > 0 && settings.increaseBytesPerSec > 0);
    this.rate = settings.rateStartBytesPerSec;
    this.windowStartMs = nowMs;
  }

  /** A new stream (a join, a leave, a cleanup pass) starts over from the start rate, in slow start. */
  restart(nowMs: number): number {
    this.rate = this.settings.rateStartBytesPerSec;
    this.slowStart = true;
    this.windowStartMs = nowMs;
    return this.rate;
  }

  /** The delay above which the rate is cut: the configured target, or baselineDelayFactor × the highest baseline if higher. */
  delayTargetMs(loads: readonly LoadReport[]): number {
    let baselineMs = 0;
    for (const load of loads) if (load.baselineMs > baselineMs) baselineMs = load.baselineMs;
    return Math.max(this.settings.delayTargetMs, baselineDelayFactor * baselineMs);
  }

  rateBytesPerSec(): number {
    return this.rate;
  }

  /** True once a window has passed since the last adjustment: the caller samples the delay and calls adjust. */
  due(nowMs: number): boolean {
    return nowMs - this.windowStartMs >= this.settings.windowMs;
  }

  /** Adjusts the rate for the loads of the nodes streaming (this one's first), as of the window that just ended; returns the new rate. */
  adjust(loads: readonly LoadReport[], nowMs: number): number {
    const s = this.settings;
    this.windowStartMs = nowMs;
    const targetMs = this.delayTargetMs(loads);
    if (loads.some((load) => load.delayMs > targetMs)) {
      this.slowStart = false;
      this.rate = Math.max(s.rateMinBytesPerSec, this.rate * s.decreaseFactor);
    } else {
      this.rate = Math.min(s.rateMaxBytesPerSec, this.slowStart ? this.rate * 2 : this.rate + s.increaseBytesPerSec);
    }
    return this.rate;
  }
}
