// What INFO keyspace reports (`keys=…,expires=…,avg_ttl=…`), kept as running
// sums that every record change adjusts, because counting by reading every
// record on each INFO would cost a scan of the store. A record counts as a
// key when it holds a version that is not a tombstone (a record of only
// tombstones waits to be reaped and is no key to a client), and as a key with
// an expiry when the version GET would answer has one, as Redis counts a key
// in its expires table until it is removed, expired or not.

import { winner } from '../clock/siblings.js';
import type { Siblings } from '../clock/types.js';

export interface KeyspaceCounts {
  readonly keys: number;
  readonly expires: number;
  /** Mean remaining time to live of the keys with an expiry, ms; 0 when none (Redis's avg_ttl). */
  readonly avgTtlMs: number;
}

export class KeyspaceTally {
  private keys = 0;
  private expires = 0;
  /**
   * Sum of the expiring keys' expiresAt: the mean TTL at `now` follows without
   * visiting them. A bigint, as sums of ms timestamps pass 2^53 and a float
   * sum would drift from the same values added and taken away.
   */
  private expiresAtSum = 0n;

  /** Accounts a record's change from `before` to `after` (either may be empty). */
  change(before: Siblings, after: Siblings): void {
    if (before.length !== 0) this.add(before, -1);
    if (after.length !== 0) this.add(after, 1);
  }

  reset(): void {
    this.keys = 0;
    this.expires = 0;
    this.expiresAtSum = 0n;
  }

  counts(nowMs: number): KeyspaceCounts {
    const avgTtlMs = this.expires === 0 ? 0 : Math.max(0, Number(this.expiresAtSum / BigInt(this.expires)) - nowMs);
    return { keys: this.keys, expires: this.expires, avgTtlMs };
  }

  private add(siblings: Siblings, sign: 1 | -1): void {
    let answer = siblings.length === 1 ? siblings[0] : undefined;
    if (answer === undefined || answer.deleted === true || answer.emptied === true) {
      // An emptied collection is no key (clock/types.ts emptied), whatever versions beside it.
      const values = siblings.filter((s) => s.deleted !== true && s.emptied !== true);
      if (values.length === 0) return;
      answer = winner(values)!;
    }
    this.keys += sign;
    if (answer.expiresAt !== undefined) {
      this.expires += sign;
      this.expiresAtSum += BigInt(sign * Math.trunc(answer.expiresAt));
    }
  }
}
