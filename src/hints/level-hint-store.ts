// Hints in LevelDB (classic-level), in a directory of their own (the node
// uses `<dataDir>/hints`), so hints never mix with the node's records and a
// node's record scans never see them. Layout: hint-layout.ts.
//
// Writes are group-committed as in storage/level-storage.ts: every change
// made during one event-loop turn (and while the previous batch is being
// written) goes to LevelDB as ONE batch, and each caller's promise resolves
// once its batch is in LevelDB's log (survives kill -9 of the process).
// Each change is decided synchronously against the latest state (an overlay
// of changes not yet written, else `getSync`), so read-modify-writes of one
// hint apply in call order.
//
// Only the pending count and bytes per target live in memory (rebuilt at
// open by one pass over the hints), plus the overlay of unwritten changes:
// hint values stay on disk, so memory does not grow with a long outage.
// `versionsOf` reads one key per target that has hints (`getSync`, a few
// microseconds from the memtable or block cache), and nothing at all while
// no hints are pending.

import { ClassicLevel } from 'classic-level';
import { RecordCodecError } from '../clock/record-codec.js';
import { sameVersions } from '../clock/siblings.js';
import { GroupCommit } from '../storage/group-commit.js';
import type { Sibling } from '../clock/types.js';
import {
  decodeHintValue,
  encodeHintValue,
  hintBytes,
  hintKey,
  parseHintKey,
  prefixEnd,
  storedAtOf,
  targetPrefix,
} from './hint-layout.js';
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

/** Hints are read in chunks of this many entries (open, page, expire)... */
const readChunkEntries = 256;
/** ...or of about this many bytes (classic-level's highWaterMarkBytes), whichever comes first: large values are read a few at a time. */
const readChunkBytes = 256 * 1024;
/** Memtable: hints are written once and read once, in bursts while a node is down; 4 MiB absorbs a burst without a compaction stall. */
const writeBufferBytes = 4 * 1024 * 1024;
/** Block cache: reads are one sequential pass per delivery; a small cache suffices. */
const blockCacheBytes = 8 * 1024 * 1024;

/** A change not yet in LevelDB: the latest value (null: deleted) and how many queued writes still carry it. */
interface Unwritten {
  readonly storageKey: Buffer;
  readonly target: string;
  value: Buffer | null;
  writes: number;
}

interface QueuedWrite {
  readonly id: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class LevelHintStore implements HintStore {
  readonly stats = newHintStoreStats();
  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly totals: HintTotalsByTarget;
  /** Changes not yet written, by storage key as a latin1 string. */
  private readonly unwritten = new Map<string, Unwritten>();
  private readonly prefixes = new Map<string, Buffer>();
  private readonly commits = new GroupCommit<QueuedWrite>({
    writeBatch: (writes) => this.writeBatch(writes),
    settled: (writes, err) => this.settled(writes, err),
  });
  private closed = false;

  /** Per target, the oldest stored time the last expiry walk left (Infinity: none left). */
  private readonly oldestKept = new Map<string, number>();

  private constructor(location: string, options: HintStoreOptions) {
    this.db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    this.totals = new HintTotalsByTarget(options.hintBytesPerTargetMax ?? hintBytesPerTargetMaxDefault);
  }

  /** Opens (creating if needed) the hints at `location` and counts them. */
  static async open(location: string, options: HintStoreOptions = {}): Promise<LevelHintStore> {
    const store = new LevelHintStore(location, options);
    try {
      await store.db.open({ writeBufferSize: writeBufferBytes, cacheSize: blockCacheBytes });
    } catch (err) {
      throw new HintError('HINT_STORE_IO', `cannot open the hint store at ${location}: ${(err as Error).message}`, { cause: err });
    }
    try {
      await store.countHints();
    } catch (err) {
      await store.db.close();
      throw new HintError('HINT_STORE_IO', `cannot read the hint store at ${location}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }

  /** Rebuilds the totals per target: one pass over every hint. */
  private async countHints(): Promise<void> {
    const entries = this.db.iterator({ highWaterMarkBytes: readChunkBytes });
    try {
      for (;;) {
        const chunk = await entries.nextv(readChunkEntries);
        if (chunk.length === 0) return;
        for (const [storageKey, value] of chunk) {
          const parsed = parseHintKey(storageKey);
          if (parsed === undefined) this.stats.undecodable++;
          else this.totals.change(parsed.target, 0, hintBytes(storageKey, value));
        }
      }
    } finally {
      await entries.close();
    }
  }

  add(target: string, key: Buffer, siblings: readonly Sibling[], nowMs: number): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    let storageKey: Buffer;
    try {
      storageKey = hintKey(this.prefixOf(target), key);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = storageKey.toString('latin1');
    const currentValue = this.latest(id, storageKey);
    const current = currentValue === undefined ? undefined : this.decodeOrNull(currentValue);
    const next = foldHint(current?.siblings ?? [], siblings);
    if (next.length === 0) return this.commits.drain();
    const storedAtMs = hintAgeFrom(current, next, nowMs);
    // Keep expire's skip honest: a hint older than what the last walk left (none left, or a clock stepped back) lowers it.
    const oldestMs = this.oldestKept.get(target);
    if (oldestMs !== undefined && storedAtMs < oldestMs) this.oldestKept.set(target, storedAtMs);
    const value = encodeHintValue(storedAtMs, next);
    const oldBytes = currentValue === undefined ? 0 : hintBytes(storageKey, currentValue);
    const newBytes = hintBytes(storageKey, value);
    if (!this.totals.fits(target, oldBytes, newBytes)) {
      this.stats.dropped++;
      return Promise.reject(windowFull(target, this.totals.bytesPerTargetMax));
    }
    this.totals.change(target, oldBytes, newBytes);
    return this.write(id, storageKey, target, value).then(() => {
      this.stats.stored++;
    });
  }

  versionsOf(key: Buffer): Sibling[] {
    if (this.closed) throw closedError();
    const found: Sibling[][] = [];
    for (const target of this.totals.targets()) {
      const storageKey = hintKey(this.prefixOf(target), key);
      const value = this.latest(storageKey.toString('latin1'), storageKey);
      const hint = value === undefined ? undefined : this.decodeOrNull(value);
      if (hint !== undefined) found.push(hint.siblings);
    }
    return mergeHinted(found);
  }

  /**
   * Reads LevelDB from a snapshot taken when the page starts, overlaid with
   * the changes not yet written at that moment (taken at the same instant),
   * so the page shows one consistent state without waiting for the write
   * queue (which under sustained adds may never be empty). Hints that cannot
   * be decoded are skipped (counted) and take no room in the page.
   */
  async page(target: string, afterKey: Buffer | undefined, limit: number, bytesMax = Infinity): Promise<Hint[]> {
    if (this.closed) throw closedError();
    if (!this.totals.has(target) || limit <= 0) return [];
    const prefix = this.prefixOf(target);
    const after = afterKey === undefined ? undefined : hintKey(prefix, afterKey);
    const overlay = this.unwrittenOf(target, after);
    const range = after === undefined ? { gte: prefix, lt: prefixEnd(prefix) } : { gt: after, lt: prefixEnd(prefix) };
    const entries = this.db.iterator({ ...range, highWaterMarkBytes: readChunkBytes });
    const found: Hint[] = [];
    let lastRead: Buffer | undefined;
    let exhausted = false;
    try {
      let bytes = 0;
      while (found.length < limit && (found.length === 0 || bytes < bytesMax)) {
        const chunk = await entries.nextv(Math.min(readChunkEntries, limit - found.length));
        if (chunk.length === 0) {
          exhausted = true;
          break;
        }
        for (const [storageKey, value] of chunk) {
          lastRead = storageKey;
          if (overlay.has(storageKey.toString('latin1'))) continue;
          const hint = this.hintOf(target, prefix.length, storageKey, value);
          if (hint === undefined) continue;
          found.push(hint);
          bytes += hint.bytes;
        }
      }
    } finally {
      await entries.close();
    }
    // The page ends at the last key read from LevelDB (unless it was read to
    // the end): past it, LevelDB may hold hints not read yet, so overlay
    // entries beyond it wait for the next page.
    for (const u of overlay.values()) {
      if (u.value === null || (!exhausted && (lastRead === undefined || Buffer.compare(u.storageKey, lastRead) > 0))) continue;
      const hint = this.hintOf(target, prefix.length, u.storageKey, u.value);
      if (hint !== undefined) found.push(hint);
    }
    found.sort((a, b) => Buffer.compare(a.key, b.key));
    return fitPage(found, limit, bytesMax);
  }

  private hintOf(target: string, prefixBytes: number, storageKey: Buffer, value: Buffer): Hint | undefined {
    const decoded = this.decodeOrNull(value);
    if (decoded === undefined) return undefined;
    const key = Buffer.from(storageKey.subarray(prefixBytes));
    return { target, key, siblings: decoded.siblings, storedAtMs: decoded.storedAtMs, bytes: hintBytes(storageKey, value) };
  }

  remove(target: string, key: Buffer, delivered: readonly Sibling[]): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    if (!this.totals.has(target)) return Promise.resolve(false);
    const storageKey = hintKey(this.prefixOf(target), key);
    const id = storageKey.toString('latin1');
    const currentValue = this.latest(id, storageKey);
    const current = currentValue === undefined ? undefined : this.decodeOrNull(currentValue);
    if (current === undefined || !sameVersions(current.siblings, delivered)) return Promise.resolve(false);
    this.totals.change(target, hintBytes(storageKey, currentValue!), 0);
    return this.write(id, storageKey, target, null).then(() => {
      this.stats.delivered++;
      return true;
    });
  }

  /**
   * Walks the target's range a chunk at a time; each hint found old is
   * checked again against its latest state before it is deleted, since an
   * add may have refreshed it while the walk awaited LevelDB.
   */
  async expire(target: string, olderThanMs: number): Promise<number> {
    if (this.closed) throw closedError();
    if (!this.totals.has(target)) return 0;
    // Hints only get younger than the oldest one the last walk kept (an add stores now, a fold keeps an older time):
    // until the cutoff passes it, nothing can be due, and the walk (a read per hint) is skipped.
    const oldestMs = this.oldestKept.get(target);
    if (oldestMs !== undefined && olderThanMs <= oldestMs) return 0;
    let oldestLeft = Infinity;
    const prefix = this.prefixOf(target);
    const writes: Promise<void>[] = [];
    const entries = this.db.keys({ gte: prefix, lt: prefixEnd(prefix), highWaterMarkBytes: readChunkBytes });
    const seen = new Set<string>();
    const expireOne = (storageKey: Buffer): void => {
      const id = storageKey.toString('latin1');
      if (seen.has(id)) return;
      seen.add(id);
      const value = this.latest(id, storageKey);
      if (value === undefined) return;
      const storedAtMs = storedAtOf(value);
      if (storedAtMs !== undefined && storedAtMs >= olderThanMs) {
        oldestLeft = Math.min(oldestLeft, storedAtMs);
        return;
      }
      this.totals.change(target, hintBytes(storageKey, value), 0);
      writes.push(this.write(id, storageKey, target, null));
    };
    try {
      for (;;) {
        const chunk = await entries.nextv(readChunkEntries);
        if (chunk.length === 0) break;
        if (this.closed) throw closedError();
        for (const storageKey of chunk) expireOne(storageKey);
      }
    } finally {
      await entries.close();
    }
    for (const u of this.unwrittenOf(target, undefined).values()) expireOne(u.storageKey);
    await Promise.all(writes);
    this.stats.expired += writes.length;
    this.oldestKept.set(target, oldestLeft);
    return writes.length;
  }

  pending(): ReadonlyMap<string, HintTotals> {
    return this.totals.snapshot();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.drain();
    await this.db.close();
  }

  private prefixOf(target: string): Buffer {
    let prefix = this.prefixes.get(target);
    if (prefix === undefined) {
      prefix = targetPrefix(target);
      // Bounded by the targets ever hinted in this process: the cluster's members.
      this.prefixes.set(target, prefix);
    }
    return prefix;
  }

  /** The hint's latest value: an unwritten change, else LevelDB's; undefined when absent. */
  private latest(id: string, storageKey: Buffer): Buffer | undefined {
    const u = this.unwritten.get(id);
    if (u !== undefined) return u.value ?? undefined;
    return this.db.getSync(storageKey);
  }

  /** A stored hint, or undefined (counted) when it cannot be decoded: a new add then replaces it. */
  private decodeOrNull(value: Buffer): { storedAtMs: number; siblings: Sibling[] } | undefined {
    try {
      return decodeHintValue(value);
    } catch (err) {
      if (!(err instanceof RecordCodecError)) throw err;
      this.stats.undecodable++;
      return undefined;
    }
  }

  /** The target's unwritten changes with keys after `after` (exclusive), as of now. */
  private unwrittenOf(target: string, after: Buffer | undefined): Map<string, Unwritten> {
    const out = new Map<string, Unwritten>();
    const afterId = after?.toString('latin1');
    for (const [id, u] of this.unwritten) {
      if (u.target !== target || (afterId !== undefined && id <= afterId)) continue;
      out.set(id, { ...u });
    }
    return out;
  }

  private write(id: string, storageKey: Buffer, target: string, value: Buffer | null): Promise<void> {
    let u = this.unwritten.get(id);
    if (u === undefined) {
      u = { storageKey, target, value, writes: 0 };
      this.unwritten.set(id, u);
    }
    u.value = value;
    u.writes++;
    return new Promise<void>((resolve, reject) => {
      this.commits.push({ id, resolve, reject });
    });
  }

  /** One LevelDB batch for a turn's changes (storage/group-commit.ts): each hint's latest value once. */
  private writeBatch(writes: readonly QueuedWrite[]): Promise<void> {
    const batch = this.db.batch();
    const written = new Set<string>();
    for (const { id } of writes) {
      if (written.has(id)) continue;
      written.add(id);
      const u = this.unwritten.get(id)!;
      if (u.value === null) batch.del(u.storageKey);
      else batch.put(u.storageKey, u.value);
    }
    return batch.write().catch((err: Error) => {
      throw new HintError('HINT_STORE_IO', `LevelDB write failed: ${err.message}`, { cause: err });
    });
  }

  private settled(writes: readonly QueuedWrite[], err: Error | undefined): void {
    for (const w of writes) {
      const u = this.unwritten.get(w.id)!;
      if (--u.writes === 0) {
        this.unwritten.delete(w.id);
        // A failed batch leaves the totals ahead of the disk: count what LevelDB holds.
        if (err !== undefined) this.recount(u);
      }
    }
  }

  private recount(u: Unwritten): void {
    const assumed = u.value === null ? 0 : hintBytes(u.storageKey, u.value);
    let actual = 0;
    try {
      const value = this.db.getSync(u.storageKey);
      if (value !== undefined) actual = hintBytes(u.storageKey, value);
    } catch {
      // LevelDB cannot be read either: keep the assumed size (the bound errs on the side of the last change).
      actual = assumed;
    }
    this.totals.change(u.target, assumed, actual);
  }
}

/** The first hints of `sorted` that fit in `limit` hints and about `bytesMax` bytes: at least one. */
function fitPage(sorted: Hint[], limit: number, bytesMax: number): Hint[] {
  let bytes = 0;
  let n = 0;
  while (n < sorted.length && n < limit && (n === 0 || bytes < bytesMax)) bytes += sorted[n++]!.bytes;
  return n === sorted.length ? sorted : sorted.slice(0, n);
}

function closedError(): HintError {
  return new HintError('HINT_STORE_CLOSED', 'hint store is closed');
}
