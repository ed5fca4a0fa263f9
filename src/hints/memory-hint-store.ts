// Hints in memory, for tests and the seeded cluster simulation: the same
// contract as LevelHintStore (level-hint-store.ts), the same sizes against the
// same bound (hint-layout.ts), and the same commit timing as MemoryStorage
// (storage/memory-storage.ts): every change made during one turn becomes
// "durable" together when the injectable scheduler fires, so code that races
// a group commit races here too. Nothing survives close(); a simulated crash
// (`crash()`) hands over what was durable, as a disk would, and loses the rest.

import { sameVersions } from '../clock/siblings.js';
import type { Sibling } from '../clock/types.js';
import type { CommitScheduler } from '../storage/memory-storage.js';
import { hintKey, hintValueBytes, targetPrefix } from './hint-layout.js';
import {
  HintError,
  HintTotalsByTarget,
  foldHint,
  hintAgeFrom,
  hintBytesPerTargetMaxDefault,
  mergeHinted,
  newHintStoreStats,
  windowFull,
  type Hint,
  type HintStore,
  type HintStoreOptions,
  type HintTotals,
} from './hint-store.js';

const realCommitScheduler: CommitScheduler = {
  setImmediate: (callback, ...args) => setImmediate(callback, ...args),
};

export interface MemoryHintStoreOptions extends HintStoreOptions {
  readonly scheduler?: CommitScheduler;
  /** Told of each hint dropped past its window (the simulation's checker learns which keys' hints were lost). */
  readonly onExpired?: (hint: Hint) => void;
}

interface StoredHint {
  readonly hint: Hint;
  /** The hint's storage key as a latin1 string: string order is byte order, so sorting these gives key order. */
  readonly id: string;
}

interface TargetIndex {
  readonly prefix: Buffer;
  readonly ids: Set<string>;
  /** `ids` in key order; rebuilt lazily after one is added or removed. */
  sorted: string[] | null;
}

export class MemoryHintStore implements HintStore {
  readonly stats = newHintStoreStats();
  private readonly hints = new Map<string, StoredHint>();
  private readonly byTarget = new Map<string, TargetIndex>();
  private readonly totals: HintTotalsByTarget;
  /** Callers waiting for the current turn's "commit". */
  private waiters: (() => void)[] = [];
  /** For each hint changed since the last commit, its durable state (undefined: absent): what a crash restores. */
  private readonly undurable = new Map<string, StoredHint | undefined>();
  private flushScheduled = false;
  private closed = false;
  private readonly scheduler: CommitScheduler;

  constructor(private readonly options: MemoryHintStoreOptions = {}) {
    this.scheduler = options.scheduler ?? realCommitScheduler;
    this.totals = new HintTotalsByTarget(options.hintBytesPerTargetMax ?? hintBytesPerTargetMaxDefault);
  }

  add(target: string, key: Buffer, siblings: readonly Sibling[], nowMs: number): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    let index: TargetIndex;
    try {
      index = this.indexOf(target);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = hintKey(index.prefix, key).toString('latin1');
    const current = this.hints.get(id);
    const next = foldHint(current?.hint.siblings ?? [], siblings.map(owned));
    if (next.length === 0) return this.committed();
    const storedAtMs = hintAgeFrom(current === undefined ? undefined : current.hint, next, nowMs);
    const bytes = index.prefix.length + key.length + hintValueBytes(next);
    const oldBytes = current?.hint.bytes ?? 0;
    if (!this.totals.fits(target, oldBytes, bytes)) {
      this.stats.dropped++;
      return Promise.reject(windowFull(target, this.totals.bytesPerTargetMax));
    }
    const hint: Hint = { target, key: current?.hint.key ?? Buffer.from(key), siblings: next, storedAtMs, bytes };
    this.set(index, id, { hint, id });
    return this.committed().then(() => {
      this.stats.stored++;
    });
  }

  versionsOf(key: Buffer): Sibling[] {
    if (this.closed) throw closedError();
    const found: Sibling[][] = [];
    for (const target of this.totals.targets()) {
      const index = this.byTarget.get(target)!;
      const stored = this.hints.get(hintKey(index.prefix, key).toString('latin1'));
      if (stored !== undefined) found.push(stored.hint.siblings);
    }
    return mergeHinted(found);
  }

  async page(target: string, afterKey: Buffer | undefined, limit: number, bytesMax = Infinity): Promise<Hint[]> {
    if (this.closed) throw closedError();
    const index = this.byTarget.get(target);
    if (index === undefined) return [];
    const sorted = (index.sorted ??= [...index.ids].sort());
    const out: Hint[] = [];
    let bytes = 0;
    const from = afterKey === undefined ? 0 : upperBound(sorted, hintKey(index.prefix, afterKey).toString('latin1'));
    for (let i = from; i < sorted.length && out.length < limit && (out.length === 0 || bytes < bytesMax); i++) {
      const hint = this.hints.get(sorted[i]!)!.hint;
      out.push(hint);
      bytes += hint.bytes;
    }
    return out;
  }

  remove(target: string, key: Buffer, delivered: readonly Sibling[]): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    const index = this.byTarget.get(target);
    if (index === undefined) return Promise.resolve(false);
    const id = hintKey(index.prefix, key).toString('latin1');
    const current = this.hints.get(id);
    if (current === undefined || !sameVersions(current.hint.siblings, delivered)) return Promise.resolve(false);
    this.set(index, id, undefined);
    return this.committed().then(() => {
      this.stats.delivered++;
      return true;
    });
  }

  expire(target: string, olderThanMs: number): Promise<number> {
    if (this.closed) return Promise.reject(closedError());
    const index = this.byTarget.get(target);
    if (index === undefined) return Promise.resolve(0);
    let expired = 0;
    for (const id of [...index.ids]) {
      const stored = this.hints.get(id)!;
      if (stored.hint.storedAtMs >= olderThanMs) continue;
      this.options.onExpired?.(stored.hint);
      this.set(index, id, undefined);
      expired++;
    }
    if (expired === 0) return Promise.resolve(0);
    return this.committed().then(() => {
      this.stats.expired += expired;
      return expired;
    });
  }

  pending(): ReadonlyMap<string, HintTotals> {
    return this.totals.snapshot();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.committed();
    this.hints.clear();
    this.byTarget.clear();
    this.totals.clear();
  }

  /**
   * A process crash, for simulation: this store closes at once, changes not
   * yet committed are lost and their callers never hear back. Returns a new
   * open store holding what was durable, as a node restarted on the same
   * disk finds it (counts rebuilt, stats from zero).
   */
  crash(): MemoryHintStore {
    this.closed = true;
    this.waiters = [];
    for (const [id, durable] of this.undurable) {
      if (durable === undefined) this.hints.delete(id);
      else this.hints.set(id, durable);
    }
    this.undurable.clear();
    const disk = new MemoryHintStore(this.options);
    for (const stored of this.hints.values()) disk.set(disk.indexOf(stored.hint.target), stored.id, stored);
    disk.undurable.clear();
    this.hints.clear();
    this.byTarget.clear();
    this.totals.clear();
    return disk;
  }

  private indexOf(target: string): TargetIndex {
    let index = this.byTarget.get(target);
    if (index === undefined) {
      index = { prefix: targetPrefix(target), ids: new Set(), sorted: [] };
      this.byTarget.set(target, index);
    }
    return index;
  }

  /** Replaces (or, with undefined, removes) one hint, keeping the indexes, the totals and the crash log. */
  private set(index: TargetIndex, id: string, next: StoredHint | undefined): void {
    const current = this.hints.get(id);
    if (!this.undurable.has(id)) this.undurable.set(id, current);
    const target = (next ?? current)!.hint.target;
    this.totals.change(target, current?.hint.bytes ?? 0, next?.hint.bytes ?? 0);
    if (next === undefined) {
      this.hints.delete(id);
      index.ids.delete(id);
      index.sorted = null;
      if (index.ids.size === 0) this.byTarget.delete(target);
    } else {
      this.hints.set(id, next);
      if (current === undefined) {
        index.ids.add(id);
        index.sorted = null;
      }
    }
  }

  /** Resolves when this turn's changes are "durable". */
  private committed(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      this.scheduler.setImmediate(flushMemoryHintStore, this);
    });
  }

  /** @internal called from the scheduler: the turn's changes are now "durable". */
  flush(): void {
    this.flushScheduled = false;
    this.undurable.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function flushMemoryHintStore(store: MemoryHintStore): void {
  store.flush();
}

/** A stored version gets its own copy of its value, which may be a view into a reused buffer (a peer frame). */
function owned(sibling: Sibling): Sibling {
  return sibling.value.length === 0 ? sibling : { ...sibling, value: Buffer.from(sibling.value) };
}

function closedError(): HintError {
  return new HintError('HINT_STORE_CLOSED', 'hint store is closed');
}

/** Index of the first id > `probe` in `sorted`. */
function upperBound(sorted: readonly string[], probe: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= probe) low = mid + 1;
    else high = mid;
  }
  return low;
}
