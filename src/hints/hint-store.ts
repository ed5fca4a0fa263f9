// The hint store: where a fallback keeps the writes it took for a down
// replica until it can hand them back (Dynamo 2007 §4.6, hinted handoff;
// Cassandra's hints; riak_core's handoff as one mechanism split into sender
// and receiver). A hint is never one of the fallback's own records: it lives
// in its own namespace (its own LevelDB directory), so it is never read as
// this node's replica, never scanned by anti-entropy, never collected.
//
// One hint per (target, key), holding whole records only (clock/siblings.ts:
// versions travel between nodes only as whole records): every add folds the
// coordinator's whole record into the hint with the one merge rule
// (reconcile), so a newer version supersedes an older one waiting beside it
// and nothing is sent twice, while concurrent versions stay as siblings.
// A delivered hint is removed only if it still holds exactly the versions
// that were delivered (sameVersions): a version that arrived meanwhile keeps
// it, and it is delivered again on a later pass.
//
// This module holds the interface, the errors, the bound, and what both
// implementations share (the accounting per target, the fold); the
// implementations are level-hint-store.ts (nodes) and memory-hint-store.ts
// (tests and the seeded simulation).

import { reconcile, sameDot } from '../clock/siblings.js';
import type { Sibling } from '../clock/types.js';

export interface Hint {
  /** The node the hint is for: the down primary the write belongs to. */
  readonly target: string;
  readonly key: Buffer;
  /** The whole record as hinted so far, reconciled. */
  readonly siblings: Sibling[];
  /** When the hint last changed (ms, the store's caller's clock): what `expire` compares. */
  readonly storedAtMs: number;
  /** What the hint costs against its target's bound (its key and value as stored). */
  readonly bytes: number;
}

export interface HintTotals {
  readonly count: number;
  readonly bytes: number;
}

export interface HintStoreStats {
  /** Adds that became durable. */
  stored: number;
  /** Hints removed after their delivery was acknowledged. */
  delivered: number;
  /** Adds refused because their target was at its bytes bound. */
  dropped: number;
  /** Hints dropped by `expire`. */
  expired: number;
  /** Stored hints that could not be decoded and were skipped (a corrupt disk, a bug). */
  undecodable: number;
}

export interface HintStore {
  /**
   * Folds `siblings` (a whole record) into the hint for (target, key) with
   * clock/siblings.ts reconcile; resolves once durable (in LevelDB's log).
   * Rejects with HintError 'HINT_WINDOW_FULL', changing nothing, when the
   * change would take the target over its bytes bound. The change is made
   * synchronously, before add returns, so changes to one hint apply in call
   * order.
   */
  add(target: string, key: Buffer, siblings: readonly Sibling[], nowMs: number): Promise<void>;
  /** Every hinted version of `key`, any target, reconciled (a fallback answers reads with them). Sees changes not yet durable. */
  versionsOf(key: Buffer): Sibling[];
  /**
   * Up to `limit` hints for `target`, in key order after `afterKey`
   * (exclusive); a page stops early once it holds `bytesMax` bytes of
   * hints (always at least one hint when any remains), so a page of large
   * values stays small in memory. An empty page: no hint after `afterKey`.
   */
  page(target: string, afterKey: Buffer | undefined, limit: number, bytesMax?: number): Promise<Hint[]>;
  /**
   * Deletes the hint for (target, key) only if it still holds exactly the
   * versions `delivered` (by dot: sameVersions); otherwise a newer version
   * arrived meanwhile and the hint stays. Resolves (true: removed) when durable.
   */
  remove(target: string, key: Buffer, delivered: readonly Sibling[]): Promise<boolean>;
  /** Drops every hint for `target` stored before `olderThanMs` (hints past the window); resolves with how many, once durable. */
  expire(target: string, olderThanMs: number): Promise<number>;
  /** Pending hints per target (targets with none are absent): count and bytes. A snapshot. */
  pending(): ReadonlyMap<string, HintTotals>;
  readonly stats: Readonly<HintStoreStats>;
  close(): Promise<void>;
}

/**
 * Default bound on one target's pending hints: 256 MiB. It bounds the disk a
 * long outage can fill on a fallback, and the time to drain it: at the
 * sender's default 4 MiB/s (sender.ts) a full backlog is handed back in about
 * a minute, where longer outages are better served by anti-entropy than by
 * replaying hints (the reason Cassandra stops hinting past max_hint_window).
 * At ~1 KiB per hinted write it holds ~250k writes: a 3 h window at ~25
 * distinct keys written per second for the down node. It also bounds the
 * rebuild at open, which reads every hint once (~1 s per 256 MiB).
 */
export const hintBytesPerTargetMaxDefault = 256 * 1024 * 1024;

export interface HintStoreOptions {
  /** Bytes of hints (key and value as stored) one target may hold; adds beyond are refused. */
  readonly hintBytesPerTargetMax?: number;
}

export type HintErrorCode =
  | 'HINT_WINDOW_FULL'
  | 'HINT_STORE_CLOSED'
  | 'HINT_STORE_IO'
  | 'HINT_TARGET_INVALID'
  | 'HINT_DELIVERY_TIMEOUT';

export class HintError extends Error {
  constructor(readonly code: HintErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HintError';
  }
}

/** The hint after `incoming` (a whole record) is folded into `current` (the hint so far, [] if none). */
/**
 * A hint's age is that of its oldest version: the stored time is kept while
 * any version the hint already held survives the fold, and restarts only when
 * every one was superseded. The window (expire) therefore bounds how old a
 * version a hint may deliver, which is what keeps a hint from bringing back a
 * value whose tombstone was reaped: reaping waits the grace period, and the
 * grace is longer than the hint window (config refuses otherwise).
 */
export function hintAgeFrom(current: { readonly siblings: readonly Sibling[]; readonly storedAtMs: number } | undefined, next: readonly Sibling[], nowMs: number): number {
  if (current === undefined) return nowMs;
  const keepsOld = next.some((v) => current.siblings.some((c) => sameDot(c.dot, v.dot)));
  return keepsOld ? current.storedAtMs : nowMs;
}

export function foldHint(current: readonly Sibling[], incoming: readonly Sibling[]): Sibling[] {
  return reconcile([...current, ...incoming]);
}

/** Every hinted version of a key, from each target's hint: one reconciled record. */
export function mergeHinted(records: readonly (readonly Sibling[])[]): Sibling[] {
  if (records.length === 0) return [];
  if (records.length === 1) return records[0]!.slice();
  return reconcile(records.flat());
}

/**
 * Pending count and bytes per target, kept by both stores as hints change,
 * and the bound check. A target with no hints is absent.
 */
export class HintTotalsByTarget {
  private readonly totals = new Map<string, { count: number; bytes: number }>();

  constructor(readonly bytesPerTargetMax: number) {
    if (!(bytesPerTargetMax > 0)) throw new RangeError(`hintBytesPerTargetMax must be positive, got ${bytesPerTargetMax}`);
  }

  /** False when replacing a hint of `oldBytes` (0: none) by `newBytes` would take `target` over its bound. Shrinking always fits. */
  fits(target: string, oldBytes: number, newBytes: number): boolean {
    if (newBytes <= oldBytes) return true;
    const bytes = this.totals.get(target)?.bytes ?? 0;
    return bytes - oldBytes + newBytes <= this.bytesPerTargetMax;
  }

  /** Records that a hint of `oldBytes` (0: none) became one of `newBytes` (0: removed). */
  change(target: string, oldBytes: number, newBytes: number): void {
    let t = this.totals.get(target);
    if (t === undefined) {
      t = { count: 0, bytes: 0 };
      this.totals.set(target, t);
    }
    if (oldBytes === 0 && newBytes > 0) t.count++;
    else if (oldBytes > 0 && newBytes === 0) t.count--;
    t.bytes += newBytes - oldBytes;
    if (t.count === 0) this.totals.delete(target);
  }

  has(target: string): boolean {
    return this.totals.has(target);
  }

  targets(): IterableIterator<string> {
    return this.totals.keys();
  }

  snapshot(): ReadonlyMap<string, HintTotals> {
    const out = new Map<string, HintTotals>();
    for (const [target, t] of this.totals) out.set(target, { count: t.count, bytes: t.bytes });
    return out;
  }

  clear(): void {
    this.totals.clear();
  }
}

export function newHintStoreStats(): HintStoreStats {
  return { stored: 0, delivered: 0, dropped: 0, expired: 0, undecodable: 0 };
}

export function windowFull(target: string, bytesPerTargetMax: number): HintError {
  return new HintError('HINT_WINDOW_FULL', `hints for ${target} are at their bound of ${bytesPerTargetMax} bytes (hintBytesPerTargetMax)`);
}
