// Records in LevelDB (classic-level), with group commit: every change made
// during one event-loop turn (and while the previous batch is being written)
// goes to disk as ONE LevelDB batch, and each caller's promise resolves when
// its batch is in the write-ahead log. LevelDB appends the batch to its log
// with write(2) before the call returns, so an acknowledged write survives
// kill -9 of the process (not power loss: that would take sync:true and an
// fsync per batch, which the `--fsync` option may add later).
//
// Reads are synchronous (`getSync`): a hit in LevelDB's memtable or block
// cache costs a few microseconds, where an async get costs a thread-pool round
// trip per key. The price is that a cold read blocks the loop for one disk
// read; records are small and the working set of a node is expected to sit in
// the page cache.
//
// Read-modify-write needs the latest record even while its write is still in
// a pending batch: `pending` holds those records until their batch commits.

import { ClassicLevel } from 'classic-level';
import { decodeSiblings, encodeSiblings } from '../clock/record-codec.js';
import type { Sibling } from '../clock/types.js';
import { dataEnd, dataKey, dataKeyAtToken, dataPrefix, tokenOfDataKey, userKeyOf } from './keys.js';
import { StorageError, type ScanPage, type Storage } from './storage.js';

/** Changes queued beyond this wait for the batch in flight; bounds one batch's memory. */
const batchOperationsMax = 4096;
/** Scan pages are read in chunks of this many entries. */
const scanChunkEntries = 256;

interface PendingRecord {
  readonly storageKey: Buffer;
  siblings: Sibling[];
  /** Bumped on every change; the commit clears the entry only if nothing changed since. */
  version: number;
}

interface QueuedWrite {
  readonly pending: PendingRecord;
  readonly version: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class LevelStorage implements Storage {
  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly pending = new Map<string, PendingRecord>();
  private queue: QueuedWrite[] = [];
  private committing = false;
  private flushScheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private records = 0;

  private constructor(location: string) {
    this.db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  }

  static async open(location: string): Promise<LevelStorage> {
    const storage = new LevelStorage(location);
    try {
      await storage.db.open();
    } catch (err) {
      throw new StorageError('STORAGE_IO', `cannot open LevelDB at ${location}: ${(err as Error).message}`, { cause: err });
    }
    storage.records = await storage.countRecords();
    return storage;
  }

  private async countRecords(): Promise<number> {
    let count = 0;
    const keys = this.db.keys({ gte: Buffer.from([dataPrefix]), lt: dataEnd });
    try {
      for (;;) {
        const chunk = await keys.nextv(4096);
        if (chunk.length === 0) return count;
        count += chunk.length;
      }
    } finally {
      await keys.close();
    }
  }

  recordCount(): number {
    return this.records;
  }

  get(key: Buffer, token: Buffer): Sibling[] {
    const storageKey = dataKey(token, key);
    const pending = this.pending.get(storageKey.toString('latin1'));
    if (pending !== undefined) return pending.siblings;
    return this.readDurable(storageKey);
  }

  update(key: Buffer, token: Buffer, change: (current: Sibling[]) => Sibling[]): Promise<Sibling[]> {
    if (this.closed) return Promise.reject(new StorageError('STORAGE_CLOSED', 'storage is closed'));
    const storageKey = dataKey(token, key);
    const id = storageKey.toString('latin1');
    let pending = this.pending.get(id);
    const current = pending !== undefined ? pending.siblings : this.readDurable(storageKey);
    const next = change(current);
    if (current.length === 0 && next.length > 0) this.records++;
    else if (current.length > 0 && next.length === 0) this.records--;
    if (pending === undefined) {
      pending = { storageKey, siblings: next, version: 0 };
      this.pending.set(id, pending);
    } else {
      pending.siblings = next;
      pending.version++;
    }
    const queued = pending;
    return new Promise<Sibling[]>((resolve, reject) => {
      this.queue.push({ pending: queued, version: queued.version, resolve: () => resolve(next), reject });
      this.scheduleFlush();
    });
  }

  async scan(fromToken: bigint, limit: number): Promise<ScanPage> {
    await this.drain();
    const iterator = this.db.iterator({ gte: dataKeyAtToken(fromToken), lt: dataEnd });
    const entries: ScanPage['entries'] = [];
    let lastToken: bigint | undefined;
    try {
      for (;;) {
        const chunk = await iterator.nextv(scanChunkEntries);
        if (chunk.length === 0) return { entries, more: false };
        for (const [storageKey, value] of chunk) {
          const token = tokenOfDataKey(storageKey);
          // End pages on a token boundary so a cursor never splits one token's keys.
          if (entries.length >= limit && token !== lastToken) return { entries, more: true };
          entries.push({ key: Buffer.from(userKeyOf(storageKey)), token, siblings: decodeSiblings(value) });
          lastToken = token;
        }
      }
    } finally {
      await iterator.close();
    }
  }

  async clear(): Promise<void> {
    await this.drain();
    await this.db.clear({ gte: Buffer.from([dataPrefix]), lt: dataEnd });
    this.records = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drain();
    await this.db.close();
  }

  private readDurable(storageKey: Buffer): Sibling[] {
    const value = this.db.getSync(storageKey);
    return value === undefined ? [] : decodeSiblings(value);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.committing) return;
    this.flushScheduled = true;
    setImmediate(flushStorage, this);
  }

  /** @internal called from setImmediate and after each commit. */
  flush(): void {
    this.flushScheduled = false;
    if (this.committing || this.queue.length === 0) {
      if (!this.committing) this.notifyIdle();
      return;
    }
    const writes = this.queue.length > batchOperationsMax ? this.queue.splice(0, batchOperationsMax) : this.queue;
    if (writes === this.queue) this.queue = [];
    this.committing = true;
    const batch = this.db.batch();
    // Only the newest version of a record in this batch needs writing.
    const written = new Set<PendingRecord>();
    for (let i = writes.length - 1; i >= 0; i--) {
      const { pending } = writes[i]!;
      if (written.has(pending)) continue;
      written.add(pending);
      if (pending.siblings.length === 0) batch.del(pending.storageKey);
      else batch.put(pending.storageKey, encodeSiblings(pending.siblings));
    }
    batch.write().then(
      () => this.committed(writes, undefined),
      (err: Error) => this.committed(writes, new StorageError('STORAGE_IO', `LevelDB write failed: ${err.message}`, { cause: err })),
    );
  }

  private committed(writes: QueuedWrite[], err: StorageError | undefined): void {
    this.committing = false;
    for (const w of writes) {
      if (w.pending.version === w.version && this.pending.get(w.pending.storageKey.toString('latin1')) === w.pending) {
        this.pending.delete(w.pending.storageKey.toString('latin1'));
      }
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
    if (this.queue.length > 0) this.flush();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when every queued write has committed. */
  private drain(): Promise<void> {
    if (!this.committing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

function flushStorage(storage: LevelStorage): void {
  storage.flush();
}

