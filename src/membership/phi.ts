// Phi-accrual failure detection (Hayashibara et al., "The φ Accrual Failure
// Detector", 2004; Cassandra's FailureDetector, Akka's
// PhiAccrualFailureDetector). Instead of a fixed timeout, each member's
// heartbeat inter-arrival times, as seen here, are kept in a bounded window
// and modelled as a normal distribution; phi is how unlikely the silence
// since the last arrival is under that model, on a log scale:
//
//   phi(now) = -log10(P(an interval is longer than now - lastArrival))
//
// so phi 1 means a 10 % chance the member is still alive and only slow,
// phi 8 one in 10^8. A network that jitters widens the distribution and so
// the tolerated silence, on its own. The tail probability uses Akka's
// logistic approximation of the normal CDF (absolute error < 1.5·10^-4), in
// log space, so phi grows smoothly and without overflow however long the
// silence. Its far tail is lighter than the normal's: phi 8 comes at 5.2
// deviations past the mean rather than 5.6 (Akka's detector alike).
//
// Pure, sans-io (TigerBeetle's fault_detector.zig): arrival times and `now`
// come in as numbers, phi and a verdict go out. No timers, no clock reads.

import assert from 'node:assert/strict';

export type Liveness = 'up' | 'down';

export interface PhiOptions {
  /** A member is down once its phi reaches this (Cassandra's phi_convict_threshold). */
  readonly convictThreshold: number;
  /** Inter-arrival samples kept per member; the oldest is dropped past this. */
  readonly samplesMax: number;
  /** Floor on the modelled deviation, so perfectly regular heartbeats do not convict on a few ms of delay. */
  readonly stdDeviationMsMin: number;
  /** Silence tolerated on top of the modelled mean (a GC pause, a lost gossip round). */
  readonly acceptablePauseMs: number;
  /** The interval assumed before any is measured: seeds the window so a member is not convicted on its first samples. */
  readonly firstIntervalMs: number;
  /** A member silent this long is down whatever its phi: a ceiling on the patience phi learns (Infinity: none). */
  readonly silenceMsMax: number;
}

/**
 * 1000 samples as Cassandra and Akka keep: a member's heartbeat arrives
 * every 500–700 ms at 3–10 nodes, so that is ~10 minutes of history; the
 * deviation is estimated within a few percent and one odd interval moves it
 * little, yet a changed network is learned within minutes. 8 KB per member.
 */
export const phiSamplesMaxDefault = 1000;

/** Akka's logistic approximation of the standard normal CDF: 1 - Φ(y) ≈ 1 / (1 + e^z). */
function logisticExponent(y: number): number {
  return y * (1.5976 + 0.070566 * y * y);
}

/**
 * Phi of a silence of `elapsedMs` when intervals are normal with this mean
 * and deviation: -log10(1 / (1 + e^z)) = log10(1 + e^z), computed without
 * overflow. Strictly increasing in elapsedMs; log10(2) at the mean.
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  assert(stdDeviationMs > 0, 'phi needs a positive deviation');
  const z = logisticExponent((elapsedMs - meanMs) / stdDeviationMs);
  const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  return softplus / Math.LN10;
}

/**
 * The silence at which phi reaches `threshold`: the inverse of phiOf, in
 * closed form (z = ln(10^threshold - 1), then the one real root of the
 * cubic 0.070566 y³ + 1.5976 y = z by Cardano's formula).
 */
export function elapsedAtPhi(threshold: number, meanMs: number, stdDeviationMs: number): number {
  assert(threshold > 0 && stdDeviationMs > 0, 'elapsedAtPhi needs a positive threshold and deviation');
  const z = threshold * Math.LN10 + Math.log1p(-(10 ** -threshold));
  const p = 1.5976 / 0.070566;
  const q = -z / 0.070566;
  const root = Math.sqrt((q * q) / 4 + (p * p * p) / 27);
  const y = Math.cbrt(-q / 2 + root) + Math.cbrt(-q / 2 - root);
  return meanMs + y * stdDeviationMs;
}

/**
 * One member's arrival history: the time of the last arrival and a ring of
 * the last `samplesMax` intervals with running sums, so mean and deviation
 * cost O(1) however large the window.
 */
export class ArrivalWindow {
  private readonly samples: number[] = [];
  private oldest = 0;
  private sum = 0;
  private sumSquares = 0;
  /** Recorded since the sums were last recomputed from the samples. */
  private sinceExact = 0;

  constructor(
    private lastArrivalMs: number,
    private readonly samplesMax: number,
    firstIntervalMs: number,
  ) {
    assert(samplesMax >= 2, 'the window needs room for the bootstrap samples');
    assert(firstIntervalMs > 0, 'firstIntervalMs must be positive');
    // Akka's bootstrap: two samples at mean ± mean/4 stand for the expected rhythm until real ones outnumber them.
    this.record(firstIntervalMs * 0.75);
    this.record(firstIntervalMs * 1.25);
  }

  get lastMs(): number {
    return this.lastArrivalMs;
  }

  get size(): number {
    return this.samples.length;
  }

  get meanMs(): number {
    return this.sum / this.samples.length;
  }

  get stdDeviationMs(): number {
    const mean = this.meanMs;
    return Math.sqrt(Math.max(0, this.sumSquares / this.samples.length - mean * mean));
  }

  /** An arrival at `nowMs`; the interval since the last one is kept when `sample` is true. */
  arrive(nowMs: number, sample: boolean): void {
    const intervalMs = nowMs - this.lastArrivalMs;
    if (sample && intervalMs >= 0) this.record(intervalMs);
    this.lastArrivalMs = Math.max(this.lastArrivalMs, nowMs);
  }

  private record(intervalMs: number): void {
    if (this.samples.length < this.samplesMax) {
      this.samples.push(intervalMs);
    } else {
      const dropped = this.samples[this.oldest]!;
      this.samples[this.oldest] = intervalMs;
      this.oldest = (this.oldest + 1) % this.samplesMax;
      this.sum -= dropped;
      this.sumSquares -= dropped * dropped;
    }
    this.sum += intervalMs;
    this.sumSquares += intervalMs * intervalMs;
    // Adding and subtracting fractions drifts; once per window the sums are made exact again.
    if (++this.sinceExact >= this.samplesMax) this.recomputeSums();
  }

  private recomputeSums(): void {
    this.sinceExact = 0;
    this.sum = 0;
    this.sumSquares = 0;
    for (const s of this.samples) {
      this.sum += s;
      this.sumSquares += s * s;
    }
  }
}

/**
 * The detector for every member: arrivals in, phi and verdicts out. A member
 * with no arrival yet has phi Infinity and is down (a state heard only
 * second-hand proves nothing about its owner); one silent for silenceMsMax
 * is down whatever its phi. An interval that ends with
 * the member already convicted is an outage, not a sample of the network's
 * rhythm, and is not recorded (Cassandra drops intervals over its
 * fd_max_interval for the same reason): a long pause must not teach the
 * detector to tolerate long pauses.
 */
export class PhiDetector {
  private readonly windows = new Map<string, ArrivalWindow>();

  constructor(readonly options: PhiOptions) {
    assert(options.convictThreshold > 0, 'convictThreshold must be positive');
    assert(Number.isInteger(options.samplesMax) && options.samplesMax >= 2, 'samplesMax must be an integer of at least 2');
    assert(options.stdDeviationMsMin > 0, 'stdDeviationMsMin must be positive');
    assert(options.acceptablePauseMs >= 0, 'acceptablePauseMs must not be negative');
    assert(options.firstIntervalMs > 0, 'firstIntervalMs must be positive');
    assert(options.silenceMsMax > 0, 'silenceMsMax must be positive');
  }

  /** The member's heartbeat advanced, as seen here, at `nowMs`. */
  heartbeat(id: string, nowMs: number): void {
    const window = this.windows.get(id);
    if (window === undefined) {
      this.windows.set(id, new ArrivalWindow(nowMs, this.options.samplesMax, this.options.firstIntervalMs));
      return;
    }
    window.arrive(nowMs, this.judge(window, nowMs) === 'up');
  }

  phi(id: string, nowMs: number): number {
    const window = this.windows.get(id);
    return window === undefined ? Infinity : this.phiOfWindow(window, nowMs);
  }

  verdict(id: string, nowMs: number): Liveness {
    const window = this.windows.get(id);
    return window === undefined ? 'down' : this.judge(window, nowMs);
  }

  /**
   * When the member will be convicted if nothing arrives before: the moment
   * to look again (Infinity when it is down already or was never heard).
   */
  convictionAtMs(id: string, nowMs: number): number {
    const window = this.windows.get(id);
    if (window === undefined || this.judge(window, nowMs) === 'down') return Infinity;
    const { meanMs, stdDeviationMs } = this.model(window);
    const silenceMs = Math.min(elapsedAtPhi(this.options.convictThreshold, meanMs, stdDeviationMs), this.options.silenceMsMax);
    return window.lastMs + silenceMs;
  }

  /** The member's history, for tests and diagnostics; undefined before its first arrival. */
  window(id: string): ArrivalWindow | undefined {
    return this.windows.get(id);
  }

  forget(id: string): void {
    this.windows.delete(id);
  }

  private judge(window: ArrivalWindow, nowMs: number): Liveness {
    if (nowMs - window.lastMs >= this.options.silenceMsMax) return 'down';
    return this.phiOfWindow(window, nowMs) < this.options.convictThreshold ? 'up' : 'down';
  }

  private phiOfWindow(window: ArrivalWindow, nowMs: number): number {
    const { meanMs, stdDeviationMs } = this.model(window);
    return phiOf(Math.max(0, nowMs - window.lastMs), meanMs, stdDeviationMs);
  }

  /** The distribution phi is judged against: the measured one, shifted by the acceptable pause, its deviation floored. */
  private model(window: ArrivalWindow): { meanMs: number; stdDeviationMs: number } {
    return {
      meanMs: window.meanMs + this.options.acceptablePauseMs,
      stdDeviationMs: Math.max(window.stdDeviationMs, this.options.stdDeviationMsMin),
    };
  }
}
