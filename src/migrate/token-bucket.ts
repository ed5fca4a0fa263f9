// A token bucket (pure: the caller passes `now`), so that a migration reads
// the source at most `ratePerSec` keys a second on average, with bursts of at
// most one second's worth: the source is a production Redis that must keep
// serving its clients while it is copied.

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(private readonly ratePerSec: number, nowMs: number) {
    if (!(ratePerSec > 0)) throw new RangeError('ratePerSec must be positive');
    this.tokens = ratePerSec;
    this.lastMs = nowMs;
  }

  /** Takes `count` tokens; returns how long to wait (ms) before the work they pay for may start: 0 when they were there. */
  take(count: number, nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= count;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSec) * 1000);
  }

  private refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.tokens = Math.min(this.ratePerSec, this.tokens + (elapsedMs / 1000) * this.ratePerSec);
  }
}
