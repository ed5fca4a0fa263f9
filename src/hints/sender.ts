// The handoff sender: hands hints back to their targets once they are up
// again (Dynamo 2007 §4.6; riak_core_handoff_sender; Cassandra's
// HintsDispatcher). A background loop: every pass visits each target with
// pending hints that is up and not backing off, pages through its hints in
// key order, delivers each as a plain replica write of the whole record,
// with at most `inFlightMax` deliveries at once and a byte-rate throttle, and
// removes each hint only after the target acknowledged it. The store's remove
// keeps a hint that changed meanwhile (a newer version arrived), so the
// newer version goes out on a later pass and nothing is ever lost between
// delivery and removal. A failed delivery ends the target's pass and backs it
// off (doubling, capped); a restarted fallback resumes from the store,
// since nothing but the store holds delivery state.
//
// The I/O is injected (the delivery, the liveness view, the timers), so the
// loop runs in unit tests and in the seeded simulation on virtual time.

import type { Logger } from 'pino';
import type { Sibling } from '../clock/types.js';
import { HintError, type Hint, type HintStore } from './hint-store.js';

/**
 * Default throttle, 4 MiB/s across all targets: Cassandra's
 * hinted_handoff_throttle is 1 MiB/s per node for shared disks and links; 4
 * MiB/s is still ~3% of a 1 Gbit link and a small share of a LevelDB node's
 * write rate, and hands 1,000 hinted writes of 1 KiB back in ~0.25 s and a
 * target's full 256 MiB bound (hint-store.ts) in ~64 s.
 */
export const handoffRateBytesPerSecDefault = 4 * 1024 * 1024;
/** An idle throttle lets this much time's worth of bytes go at once (then paces). */
export const handoffBurstMs = 100;
/** Hints read per page: one LevelDB range read of a few hundred KiB for small values. */
export const handoffBatchKeysDefault = 128;
/** A page also stops at this many bytes of hints (at least one hint): ~1/4 s at the default rate, so large values do not pile up in memory. */
export const handoffPageBytesMax = 1024 * 1024;
/**
 * Deliveries in flight to one target: at 1 KiB per hint the default rate is
 * ~4k hints/s, which 16 in flight sustain up to a 4 ms round trip, while
 * the target's write queue never sees more than 16 handoff writes at once.
 */
export const handoffInFlightMaxDefault = 16;
/** A pass every second: an idle pass costs one look at the pending totals, and a returning target is served within ~1 s even without a kick. */
export const handoffPassIntervalMs = 1_000;
/** After a failed pass a target waits 1 s, doubling per failure up to 60 s: no tight loop against a node that is up but not accepting. */
export const handoffBackoffMsMin = 1_000;
export const handoffBackoffMsMax = 60_000;
/**
 * A guard, not the delivery's real timeout: `deliver` bounds itself (the
 * peer request timeout, 1 s by default); this only keeps a delivery that
 * never settles (a bug) from hanging its target's pass and stop().
 */
export const handoffDeliveryTimeoutMs = 10_000;

/** Where the sender takes time from; the real clock by default, virtual time in the simulation. */
export interface HandoffTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: a background loop never keeps the process alive. */
export const realHandoffTimers: HandoffTimers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HandoffOptions {
  readonly store: HintStore;
  /** Sends the whole record to the target as a plain replica write; resolves on its ack. */
  deliver(target: string, key: Buffer, siblings: readonly Sibling[]): Promise<void>;
  /** The liveness view (membership's failure detector): only targets that are up are served. */
  isUp(target: string): boolean;
  readonly logger: Logger;
  readonly timers?: HandoffTimers;
  readonly rateBytesPerSec?: number;
  readonly batchKeys?: number;
  readonly inFlightMax?: number;
  readonly pageBytesMax?: number;
  readonly passIntervalMs?: number;
  readonly deliveryTimeoutMs?: number;
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
  /**
   * The hint window (--hint-window-ms): each pass first drops every hint
   * older than this, counted as expired and left to anti-entropy. It must be
   * shorter than the tombstone grace period, so no hint outlives the
   * tombstone that superseded its versions (config checks it).
   */
  readonly windowMs?: number;
}

export interface HandoffProgress {
  /** Hints delivered (and removed) since this sender started. */
  readonly delivered: number;
  /** Hints still pending in the store. */
  readonly pending: number;
}

/**
 * A token bucket with debt, pure (time passed in): a send goes while the
 * bucket is positive and may take it below zero; the next waits until the
 * debt is paid back. Over any span, bytes sent ≤ burst + rate × span + one
 * send, and a send larger than the bucket never waits forever.
 */
export class ByteThrottle {
  private tokens: number;
  private atMs: number;

  constructor(private rateBytesPerSec: number, private burstBytes: number, nowMs: number) {
    if (!(rateBytesPerSec > 0) || !(burstBytes >= 0)) throw new RangeError('throttle rate must be positive and burst non-negative');
    this.tokens = burstBytes;
    this.atMs = nowMs;
  }

  /** Changes the rate and burst from now on (stream-pacer.ts); bytes already owed are paid back at the new rate. */
  setRate(rateBytesPerSec: number, burstBytes: number, nowMs: number): void {
    if (!(rateBytesPerSec > 0) || !(burstBytes >= 0)) throw new RangeError('throttle rate must be positive and burst non-negative');
    this.take(0, nowMs);
    this.rateBytesPerSec = rateBytesPerSec;
    this.burstBytes = burstBytes;
    this.tokens = Math.min(this.tokens, burstBytes);
  }

  /** 0 when `bytes` may go now (and takes them); otherwise the ms to wait before asking again. */
  take(bytes: number, nowMs: number): number {
    if (nowMs > this.atMs) {
      this.tokens = Math.min(this.burstBytes, this.tokens + ((nowMs - this.atMs) * this.rateBytesPerSec) / 1000);
      this.atMs = nowMs;
    }
    if (this.tokens > 0) {
      this.tokens -= bytes;
      return 0;
    }
    return Math.max(1, Math.ceil((-this.tokens * 1000) / this.rateBytesPerSec));
  }
}

interface TargetState {
  delivered: number;
  failures: number;
  /** No pass for this target before this time (backoff after a failure). */
  retryAtMs: number;
}

/** What one pass over one target did. */
interface TargetRun {
  delivered: number;
  /** Delivered but kept: the hint changed during its delivery. */
  kept: number;
  failure: unknown;
}

export class HandoffSender {
  private readonly store: HintStore;
  private readonly timers: HandoffTimers;
  private readonly throttle: ByteThrottle;
  private readonly batchKeys: number;
  private readonly inFlightMax: number;
  private readonly pageBytesMax: number;
  private readonly passIntervalMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly backoffMsMin: number;
  private readonly backoffMsMax: number;
  /** One entry per target ever hinted: bounded by the cluster's members. */
  private readonly targets = new Map<string, TargetState>();
  private passTimer: unknown;
  private running: Promise<void> | undefined;
  /** A kick arrived during a pass: run another as soon as it ends. */
  private again = false;
  private started = false;
  private stopped = false;
  private throttleWait: { readonly handle: unknown; readonly resolve: () => void } | undefined;

  constructor(private readonly options: HandoffOptions) {
    this.store = options.store;
    this.timers = options.timers ?? realHandoffTimers;
    const rate = options.rateBytesPerSec ?? handoffRateBytesPerSecDefault;
    this.throttle = new ByteThrottle(rate, (rate * handoffBurstMs) / 1000, this.timers.now());
    this.batchKeys = positive('batchKeys', options.batchKeys ?? handoffBatchKeysDefault);
    this.inFlightMax = positive('inFlightMax', options.inFlightMax ?? handoffInFlightMaxDefault);
    this.pageBytesMax = positive('pageBytesMax', options.pageBytesMax ?? handoffPageBytesMax);
    this.passIntervalMs = positive('passIntervalMs', options.passIntervalMs ?? handoffPassIntervalMs);
    this.deliveryTimeoutMs = positive('deliveryTimeoutMs', options.deliveryTimeoutMs ?? handoffDeliveryTimeoutMs);
    this.backoffMsMin = positive('backoffMsMin', options.backoffMsMin ?? handoffBackoffMsMin);
    this.backoffMsMax = Math.max(this.backoffMsMin, options.backoffMsMax ?? handoffBackoffMsMax);
  }

  /** Starts the periodic passes, the first at once (a restarted fallback resumes from its store). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedulePass(0);
  }

  /**
   * Runs a pass now (or right after the one running). With a target, its
   * backoff is forgotten first: membership's "target is up" event.
   */
  kick(target?: string): void {
    if (this.stopped) return;
    if (target !== undefined) {
      const state = this.targets.get(target);
      if (state !== undefined) state.retryAtMs = 0;
    }
    this.runPass();
  }

  /** Ends the loop: no new delivery starts, in-flight ones are awaited, and no timer is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.passTimer !== undefined) this.timers.clearTimeout(this.passTimer);
    this.passTimer = undefined;
    const wait = this.throttleWait;
    if (wait !== undefined) {
      this.timers.clearTimeout(wait.handle);
      this.throttleWait = undefined;
      wait.resolve();
    }
    await this.running;
  }

  get progress(): ReadonlyMap<string, HandoffProgress> {
    const pending = this.store.pending();
    const out = new Map<string, HandoffProgress>();
    for (const [target, state] of this.targets) out.set(target, { delivered: state.delivered, pending: pending.get(target)?.count ?? 0 });
    for (const [target, totals] of pending) if (!out.has(target)) out.set(target, { delivered: 0, pending: totals.count });
    return out;
  }

  private schedulePass(ms: number): void {
    if (this.passTimer !== undefined || this.stopped) return;
    this.passTimer = this.timers.setTimeout(() => {
      this.passTimer = undefined;
      this.runPass();
    }, ms);
  }

  private runPass(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    if (this.passTimer !== undefined) this.timers.clearTimeout(this.passTimer);
    this.passTimer = undefined;
    this.running = this.pass()
      .catch((err: unknown) => this.options.logger.error({ err }, 'hinted handoff pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.runPass();
        } else if (this.started) {
          this.schedulePass(this.passIntervalMs);
        }
      });
  }

  private async pass(): Promise<void> {
    const windowMs = this.options.windowMs;
    if (windowMs !== undefined) {
      const cutoffMs = this.timers.now() - windowMs;
      for (const target of [...this.store.pending().keys()]) {
        if (this.stopped) return;
        const expired = await this.store.expire(target, cutoffMs);
        if (expired > 0) this.options.logger.warn({ target, hints: expired, windowMs }, 'hints past the window dropped; anti-entropy must repair them');
      }
    }
    for (const target of this.store.pending().keys()) {
      if (this.stopped) return;
      const state = this.stateOf(target);
      if (this.timers.now() < state.retryAtMs || !this.options.isUp(target)) continue;
      await this.deliverTarget(target, state);
    }
  }

  private stateOf(target: string): TargetState {
    let state = this.targets.get(target);
    if (state === undefined) {
      state = { delivered: 0, failures: 0, retryAtMs: 0 };
      this.targets.set(target, state);
    }
    return state;
  }

  /** One target's pass: every hint in key order, until done, a failure, the target going down, or stop(). */
  private async deliverTarget(target: string, state: TargetState): Promise<void> {
    const run: TargetRun = { delivered: 0, kept: 0, failure: undefined };
    const inFlight = new Set<Promise<void>>();
    const halted = () => run.failure !== undefined || this.stopped || !this.options.isUp(target);
    let after: Buffer | undefined;
    try {
      pages: for (;;) {
        const page = await this.store.page(target, after, this.batchKeys, this.pageBytesMax);
        if (page.length === 0) break;
        for (const hint of page) {
          while (inFlight.size >= this.inFlightMax) await Promise.race(inFlight);
          if (halted()) break pages;
          await this.throttled(hint.bytes);
          if (halted()) break pages;
          const delivery: Promise<void> = this.deliverOne(hint, state, run).finally(() => inFlight.delete(delivery));
          inFlight.add(delivery);
        }
        after = page[page.length - 1]!.key;
      }
    } catch (err) {
      run.failure ??= err;
    }
    await Promise.all(inFlight);
    this.settle(target, state, run);
  }

  /** Delivers one hint and removes it once acknowledged; never rejects (a failure is recorded in `run`). */
  private async deliverOne(hint: Hint, state: TargetState, run: TargetRun): Promise<void> {
    try {
      await this.bounded(this.options.deliver(hint.target, hint.key, hint.siblings), hint.target);
      if (await this.store.remove(hint.target, hint.key, hint.siblings)) {
        state.delivered++;
        run.delivered++;
      } else {
        run.kept++;
      }
    } catch (err) {
      run.failure ??= err;
    }
  }

  private settle(target: string, state: TargetState, run: TargetRun): void {
    if (run.failure !== undefined) {
      state.failures++;
      const backoffMs = Math.min(this.backoffMsMax, this.backoffMsMin * 2 ** Math.min(state.failures - 1, 30));
      state.retryAtMs = this.timers.now() + backoffMs;
      // One warn line when a target starts failing, not one per retry: the retries back off up to a minute apart for as long as it is down.
      const level = state.failures === 1 ? 'warn' : 'debug';
      this.options.logger[level]({ target, err: run.failure, delivered: run.delivered, retryInMs: backoffMs }, 'hinted handoff to target failed; will retry');
      return;
    }
    if (state.failures > 0) this.options.logger.info({ target, failedAttempts: state.failures }, 'hinted handoff to target works again');
    state.failures = 0;
    state.retryAtMs = 0;
    if (run.delivered > 0 || run.kept > 0) {
      const pending = this.store.pending().get(target)?.count ?? 0;
      this.options.logger.info({ target, delivered: run.delivered, changedMeanwhile: run.kept, pending }, 'hinted handoff pass done');
    }
  }

  /** Waits until the throttle lets `bytes` go (or stop() is called). */
  private async throttled(bytes: number): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const waitMs = this.throttle.take(bytes, this.timers.now());
      if (waitMs === 0) return;
      await new Promise<void>((resolve) => {
        const handle = this.timers.setTimeout(() => {
          this.throttleWait = undefined;
          resolve();
        }, waitMs);
        this.throttleWait = { handle, resolve };
      });
    }
  }

  /** `delivery`, failed with HINT_DELIVERY_TIMEOUT if it has not settled within the guard. */
  private bounded(delivery: Promise<void>, target: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const handle = this.timers.setTimeout(() => {
        reject(new HintError('HINT_DELIVERY_TIMEOUT', `delivery to ${target} did not settle within ${this.deliveryTimeoutMs} ms`));
      }, this.deliveryTimeoutMs);
      delivery.then(
        () => {
          this.timers.clearTimeout(handle);
          resolve();
        },
        (err: unknown) => {
          this.timers.clearTimeout(handle);
          reject(err);
        },
      );
    });
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`handoff ${name} must be positive, got ${value}`);
  return value;
}
