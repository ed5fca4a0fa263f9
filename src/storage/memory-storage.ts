// Records in a Map, for tests and the seeded cluster simulation: the same
// contract as LevelStorage (level-storage.ts) without a disk, so a cluster of
// nodes runs in one process in milliseconds and a failing seed replays exactly.
//
// It keeps LevelStorage's semantics where callers can see them: `change` runs
// synchronously in call order (a throw leaves the record as it was and throws
// to the caller), `get` sees changes at once, and every change made during
// one event-loop turn becomes "durable" together on the next setImmediate, so
// code that would race a group commit races here too. New values are copied,
// since they may be views into a socket chunk that is about to be reused.
// Nothing survives close(): a restarted node starts empty. A simulated crash
// (`crash()`) is the exception: it hands over what was durable, as a disk
// would, and loses what was not.
//
// Metadata (an observer's `persist`) is written at each "commit" into a Map
// kept beside the records: it is the disk's, so crash() hands it over with
// the durable records, and close() (a restart without a disk) loses it.
//
// The "commit" is scheduled with an injectable setImmediate (the real one by
// default): the simulation (test/sim) runs it on a virtual clock, and may
// make it a few virtual ms late to model a commit's latency.

import assert from 'node:assert';
import { KeyspaceTally, type KeyspaceCounts } from './keyspace-tally.js';
import type { Sibling } from '../clock/types.js';
import { dataKey, dataKeyAfterToken, dataKeyAtToken, metaPrefix, prefixEnd, tokenBytes, tokenMax, tokenOf, tokenOfDataKey, userKeyOf } from './keys.js';
import { StorageError, ownedVersions, type MetaBatch, type ScanPage, type Storage, type StorageObserver } from './storage.js';

/** Schedules the turn's commit; Node's setImmediate by default. */
export interface CommitScheduler {
  setImmediate<A extends unknown[]>(callback: (...args: A) => void, ...args: A): unknown;
}

const realCommitScheduler: CommitScheduler = {
  setImmediate: (callback, ...args) => setImmediate(callback, ...args),
};

export interface MemoryStorageOptions {
  readonly scheduler?: CommitScheduler;
}

interface StoredRecord {
  /** `0x01 ‖ token ‖ key`, as LevelStorage lays it out: sorting these gives ring order. */
  readonly storageKey: Buffer;
  readonly siblings: Sibling[];
}

export class MemoryStorage implements Storage {
  private readonly records = new Map<string, StoredRecord>();
  /** Storage keys in ring order; rebuilt lazily after a key is added or removed. */
  private sorted: Buffer[] | null = [];
  /** Callers waiting for the current turn's "commit". */
  private pending: (() => void)[] = [];
  /** For each record changed since the last commit, its durable state (undefined: absent): what a crash restores. */
  private readonly undurable = new Map<string, StoredRecord | undefined>();
  private readonly tally = new KeyspaceTally();
  private flushScheduled = false;
  private closed = false;
  private readonly scheduler: CommitScheduler;
  private observer: StorageObserver | undefined;
  /** Durable metadata by key (latin1 of the key's bytes): written only at a commit, kept by crash(). */
  private readonly meta = new Map<string, Buffer>();
  private readonly metaBatch: MetaBatch = new MemoryMetaBatch(this.meta);

  constructor(options: MemoryStorageOptions = {}) {
    this.scheduler = options.scheduler ?? realCommitScheduler;
  }

  recordCount(): number {
    return this.records.size;
  }

  keyspace(nowMs: number): KeyspaceCounts {
    return this.tally.counts(nowMs);
  }

  get(key: Buffer, token: Buffer | undefined): Sibling[] {
    if (this.closed) throw new StorageError('STORAGE_CLOSED', 'storage is closed');
    return this.records.get(idOf(dataKey(token ?? tokenOf(key), key)))?.siblings ?? [];
  }

  update(key: Buffer, token: Buffer | undefined, change: (current: Sibling[]) => Sibling[]): Promise<Sibling[]> {
    if (this.closed) return Promise.reject(new StorageError('STORAGE_CLOSED', 'storage is closed'));
    const storageKey = dataKey(token ?? tokenOf(key), key);
    const id = idOf(storageKey);
    const record = this.records.get(id);
    const current = record?.siblings ?? [];
    const next = ownedVersions(change(current), current);
    const observer = this.observer;
    if (observer !== undefined) observer.changed(key, (record?.storageKey ?? storageKey).subarray(1, 1 + tokenBytes), current, next);
    if (!this.undurable.has(id)) this.undurable.set(id, record);
    this.tally.change(current, next);
    if (next.length === 0) {
      if (record !== undefined && this.records.delete(id)) this.sorted = null;
    } else {
      if (record === undefined) this.sorted = null;
      this.records.set(id, { storageKey: record?.storageKey ?? storageKey, siblings: next });
    }
    return new Promise<Sibling[]>((resolve) => {
      this.pending.push(() => resolve(next));
      this.scheduleFlush();
    });
  }

  async scan(fromToken: bigint, limit: number): Promise<ScanPage> {
    return this.readSpan(fromToken, tokenMax, limit);
  }

  /** As scan, bounded; it reads the latest records at the call, so every earlier change is in it. */
  async scanSpan(first: bigint, last: bigint, limit: number): Promise<ScanPage> {
    return this.readSpan(first, last, limit);
  }

  /** Synchronous, so a page is the records as they are when called. */
  private readSpan(first: bigint, last: bigint, limit: number): ScanPage {
    if (this.closed) throw new StorageError('STORAGE_CLOSED', 'storage is closed');
    // No waiting for the turn's "commit": like LevelStorage, a scan shows the
    // latest records, durable or not, and never waits for writes to pause.
    const keys = this.sortedKeys();
    const entries: ScanPage['entries'] = [];
    let lastToken: bigint | undefined;
    const end = lowerBound(keys, dataKeyAfterToken(last));
    for (let i = lowerBound(keys, dataKeyAtToken(first)); i < end; i++) {
      const storageKey = keys[i]!;
      const token = tokenOfDataKey(storageKey);
      // End pages on a token boundary so a cursor never splits one token's keys.
      if (entries.length >= limit && token !== lastToken) return { entries, more: true };
      const record = this.records.get(idOf(storageKey))!;
      entries.push({ key: Buffer.from(userKeyOf(storageKey)), token, siblings: record.siblings });
      lastToken = token;
    }
    return { entries, more: false };
  }

  async clear(): Promise<void> {
    if (this.closed) throw new StorageError('STORAGE_CLOSED', 'storage is closed');
    await this.drain();
    this.records.clear();
    this.undurable.clear();
    this.tally.reset();
    this.sorted = [];
    const observer = this.observer;
    if (observer?.cleared === undefined) return;
    observer.cleared();
    await this.commitMetadata();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drain();
    this.records.clear();
    this.sorted = [];
    this.meta.clear();
  }

  setObserver(observer: StorageObserver | undefined): void {
    this.observer = observer;
  }

  async metaEntries(prefix: Buffer): Promise<[Buffer, Buffer][]> {
    assert(prefix.length > 0 && prefix[0] === metaPrefix, 'a metadata prefix starts with metaPrefix');
    if (this.closed) throw new StorageError('STORAGE_CLOSED', 'storage is closed');
    const low = idOf(prefix);
    const high = idOf(prefixEnd(prefix));
    // latin1 strings compare code unit by code unit, as the bytes compare.
    const entries: [Buffer, Buffer][] = [];
    for (const [id, value] of this.meta) if (id >= low && id < high) entries.push([Buffer.from(id, 'latin1'), Buffer.from(value)]);
    return entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  }

  commitMetadata(): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('STORAGE_CLOSED', 'storage is closed'));
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.scheduleFlush();
    });
  }

  /**
   * A process crash, for simulation: this store closes at once, changes not
   * yet committed are lost and their callers never hear back (the process
   * that waited is gone). Returns a new open store holding what was durable,
   * as a node restarted on the same disk finds it.
   */
  crash(): MemoryStorage {
    this.closed = true;
    this.pending = [];
    for (const [id, durable] of this.undurable) {
      if (durable === undefined) this.records.delete(id);
      else this.records.set(id, durable);
    }
    this.undurable.clear();
    const disk = new MemoryStorage({ scheduler: this.scheduler });
    for (const [id, record] of this.records) {
      disk.records.set(id, record);
      disk.tally.change([], record.siblings);
    }
    for (const [id, value] of this.meta) disk.meta.set(id, value);
    disk.sorted = null;
    this.records.clear();
    this.sorted = [];
    this.meta.clear();
    return disk;
  }

  private sortedKeys(): Buffer[] {
    if (this.sorted === null) {
      this.sorted = [...this.records.values()].map((r) => r.storageKey).sort(Buffer.compare);
    }
    return this.sorted;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.scheduler.setImmediate(flushMemoryStorage, this);
  }

  /** @internal called from setImmediate: the turn's changes are now "durable". */
  flush(): void {
    this.flushScheduled = false;
    this.undurable.clear();
    const observer = this.observer;
    if (observer?.persist !== undefined) observer.persist(this.metaBatch);
    const waiters = this.pending;
    this.pending = [];
    for (const w of waiters) w();
  }

  /** Resolves once every change made so far has resolved. */
  private drain(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.scheduleFlush();
    });
  }
}

/** Writes straight into the durable Map: MemoryStorage calls persist only at a commit. */
class MemoryMetaBatch implements MetaBatch {
  constructor(private readonly meta: Map<string, Buffer>) {}

  put(key: Buffer, value: Buffer): void {
    assert(key[0] === metaPrefix, 'metadata keys start with metaPrefix');
    this.meta.set(idOf(key), Buffer.from(value));
  }

  del(key: Buffer): void {
    assert(key[0] === metaPrefix, 'metadata keys start with metaPrefix');
    this.meta.delete(idOf(key));
  }
}

function flushMemoryStorage(storage: MemoryStorage): void {
  storage.flush();
}

function idOf(storageKey: Buffer): string {
  return storageKey.toString('latin1');
}

/** Index of the first key ≥ `probe` in `sorted`. */
function lowerBound(sorted: readonly Buffer[], probe: Buffer): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (Buffer.compare(sorted[mid]!, probe) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
