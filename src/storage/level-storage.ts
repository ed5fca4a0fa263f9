// Records in LevelDB (classic-level), with group commit (group-commit.ts): every change made
// during one event-loop turn (and while the previous batch is being written)
// goes to disk as ONE LevelDB batch, and each caller's promise resolves when
// its batch is in the write-ahead log. LevelDB appends the batch to its log
// with write(2) before the call returns, so an acknowledged write survives
// kill -9 of the process (not power loss: that would take sync:true and an
// fsync per batch, which the `--fsync` option may add later).
//
// Reads are synchronous (`getSync`) behind a record cache: a hit costs a Map
// lookup, a miss a LevelDB read from its memtable or block cache (a few
// microseconds) where an async get would cost a thread-pool round trip. The
// price of a miss that goes to disk is a blocked loop for one read; records
// are small and a node's working set is expected to sit in memory.
//
// A Bloom filter over every key the store may hold (key-filter.ts) spares
// that read for a key it has never held: a joiner streaming its new spans, a
// load of new keys.
//
// The cache holds each key's latest record, including changes still waiting
// in a batch (so read-modify-write sees them); it is bounded by
// `cacheBytesMax` and evicts least recently used records that are durable.
//
// A large collection written by operations is a chain (crdt/value-chain.ts):
// its last whole record plus each operation's delta. Such a write appends the
// new links under the link namespace (keys.ts linkKey) instead of rewriting
// the record, so an SADD to a 100k-member set writes a few dozen bytes; the
// record is written whole again when the chain is cut (a new base), or the
// key's record is anything but the next links of the chain on disk. A read
// from disk replays the links onto the record (no decoding: the version is
// chained again). Links and the whole record never disagree: each link
// follows the one before it (its past covers it), so links left on disk under
// a newer whole record (a cut keeps them, to be written over by the next
// chain) are told apart and never replayed; a delete or an untyped record
// deletes them in the same batch.
//
// An observer (storage.ts StorageObserver) hears each change inside update()
// and adds its metadata to every batch, under the 0x02 namespace of the same
// LevelDB, so records and the trees derived from them reach the disk together.

import { ClassicLevel } from 'classic-level';
import { createHistogram } from 'node:perf_hooks';
import { chainOf, restoreChain, valueBytesOf, withValue, type ChainLink } from '../crdt/value-chain.js';
import { RecordCodecError, decodeSiblings, encodeSiblings } from '../clock/record-codec.js';
import { covers } from '../clock/vclock.js';
import type { Sibling } from '../clock/types.js';
import assert from 'node:assert';
import {
  dataEnd,
  dataKey,
  dataKeyAfterToken,
  dataKeyAtToken,
  dataPrefix,
  linkEnd,
  linkKey,
  linkOf,
  linkStart,
  metaPrefix,
  prefixEnd,
  tokenBytes,
  tokenMax,
  tokenOf,
  tokenOfDataKey,
  userKeyOf,
} from './keys.js';
import { GroupCommit } from './group-commit.js';
import { KeyFilter } from './key-filter.js';
import { KeyspaceTally, type KeyspaceCounts } from './keyspace-tally.js';
import { StorageError, ownedVersions, type MetaBatch, type ScanPage, type Storage, type StorageObserver, type UpdateOptions } from './storage.js';

/** Scan pages are read in chunks of this many entries. */
const scanChunkEntries = 256;
/**
 * Default record cache, in recordBytes' estimate: ~300k small records. Their
 * real heap is about 2.7× that: a heap snapshot of 95k cached SET records
 * (16-byte keys, 3-byte values) held ~950 bytes a record (a third of it the
 * 8 KiB Buffer pool slabs their small key and value slices keep alive) where
 * recordBytes counts ~350. Counting it honestly at this budget would cache
 * a third as many records; raise the two together, measured.
 */
export const cacheBytesDefault = 64 * 1024 * 1024;
/**
 * A full cache is swept down to this share of its budget, not just under it:
 * each sweep walks from the Map's oldest entries, past the holes earlier
 * deletions left there, so sweeping one record per insert made eviction the
 * hottest function of a node receiving a stream (a joiner at ~14 MB/s);
 * sweeping 10% at a time makes that walk rare.
 */
const cacheLowWaterFraction = 0.9;
/** Bookkeeping per cached record beyond its values (objects, clock entries, map slot). */
const cachedRecordOverheadBytes = 160;
/** LevelDB memtable: large enough that bursts of small writes do not stall on L0 compaction. */
const writeBufferBytes = 32 * 1024 * 1024;
/** A chain link's objects beyond its delta's bytes (crdt/value-chain.ts): its link, its fields and their clock (the head also its version). */
const chainLinkOverheadBytes = 200;
/** Records per iterator step when counting at open: ~4 MB of 1 KiB records held at once. */
const openScanChunkRecords = 4096;
/** LevelDB block cache for records that fell out of ours. */
const blockCacheBytes = 32 * 1024 * 1024;

/** What the disk holds of a record that is one typed version: the chain's base as the record, then `links` links, the last `last`. */
interface DiskChain {
  readonly base: Buffer;
  last: ChainLink | undefined;
  links: number;
}

interface CachedRecord {
  /** The cache's key: the user key's bytes as a latin1 string (the token is a function of it). */
  readonly id: string;
  readonly storageKey: Buffer;
  siblings: Sibling[];
  bytes: number;
  /** Writes queued or in flight: such a record must stay cached until they commit. */
  unflushed: number;
  /** Used since the eviction sweep last passed it (CLOCK's second chance: no reordering on the hot path). */
  referenced: boolean;
  /** The chain the disk holds for this key, when its record is one typed version (a chain can be appended to it). */
  disk?: DiskChain | undefined;
  /** The key filter's epoch when this record's key was added to it (undefined: not added by a write through this cache). */
  filtered?: number;
  /** Cached only by bulk writes (storage.ts UpdateOptions) and not used otherwise since: dropped once durable. */
  bulk: boolean;
}

interface QueuedWrite {
  /** undefined: no record, a commit only for the observer's metadata (commitMetadata). */
  readonly record: CachedRecord | undefined;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

function recordBytes(storageKey: Buffer, siblings: readonly Sibling[]): number {
  let bytes = cachedRecordOverheadBytes + storageKey.length * 2;
  for (const s of siblings) bytes += valueBytesOf(s) + 96 + s.past.length * 40 + (chainOf(s)?.position ?? 0) * chainLinkOverheadBytes;
  return bytes;
}


/** The record's one typed, live version: the only kind of record links on disk may follow (a chain's base). */
function chainBaseOf(siblings: readonly Sibling[]): Sibling | undefined {
  const only = siblings.length === 1 ? siblings[0]! : undefined;
  return only === undefined || only.type === undefined || only.deleted === true ? undefined : only;
}

export class LevelStorage implements Storage {
  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly cache = new Map<string, CachedRecord>();
  private cacheBytes = 0;
  private readonly groupCommit = new GroupCommit<QueuedWrite>({
    writeBatch: (writes) => this.writeBatch(writes),
    settled: (writes, err) => this.settled(writes, err),
  });
  private closed = false;
  private records = 0;
  private readonly tally = new KeyspaceTally();
  /** Every key on disk at open and every key updated since: a key it does not hold is read from nowhere. */
  private readonly filter = new KeyFilter();
  /** Bumped by each reset of the filter: a record added before it must be added again. */
  private filterEpoch = 0;
  /** Reads of LevelDB the filter spared, for tests and INFO. */
  private readsSkipped = 0;
  private observer: StorageObserver | undefined;
  /**
   * Per key (the cache's id), the highest link number that may be on disk:
   * raised when links are queued, cleared once a whole write (which deletes
   * them) is durable. A read from disk replays links 1.. up to the first absent.
   */
  private readonly linkCounts = new Map<string, number>();
  private linksWritten = 0;
  /** Each batch's LevelDB write, call to callback, in ns (HdrHistogram_c underneath: a record is a bucket increment). */
  private readonly commitLatency = createHistogram({ lowest: 1, highest: 60e9, figures: 3 });
  private batchWrites = 0;
  private batchStartedNs = 0n;
  /** linkCounts as the batch in flight leaves them, once it lands (0: none); until then linkCounts holds the most that may be on disk. */
  private linkCountsAfter = new Map<string, number>();

  private constructor(location: string, private readonly cacheBytesMax: number) {
    this.db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  }

  static async open(location: string, cacheBytesMax = cacheBytesDefault): Promise<LevelStorage> {
    const storage = new LevelStorage(location, cacheBytesMax);
    try {
      await storage.db.open({ writeBufferSize: writeBufferBytes, cacheSize: blockCacheBytes });
    } catch (err) {
      throw new StorageError('STORAGE_IO', `cannot open LevelDB at ${location}: ${(err as Error).message}`, { cause: err });
    }
    storage.records = await storage.countRecords();
    await storage.countLinks();
    return storage;
  }

  /**
   * Counts the records and builds the keyspace tally at open: one pass over
   * the records (the blocks a keys-only pass would read anyway), decoding
   * each; a record that cannot be decoded counts as a record, not as a key.
   */
  private async countRecords(): Promise<number> {
    let count = 0;
    const entries = this.db.iterator({ gte: Buffer.from([dataPrefix]), lt: dataEnd });
    try {
      for (;;) {
        const chunk = await entries.nextv(openScanChunkRecords);
        if (chunk.length === 0) return count;
        count += chunk.length;
        for (const [storageKey, value] of chunk) {
          this.filter.add(storageKey, 1);
          let siblings: Sibling[];
          try {
            siblings = decodeSiblings(value);
          } catch (err) {
            if (err instanceof RecordCodecError) continue;
            throw err;
          }
          this.tally.change([], siblings);
        }
      }
    } finally {
      await entries.close();
    }
  }

  /** Builds linkCounts from the links on disk: keys only. */
  private async countLinks(): Promise<void> {
    const keys = this.db.keys({ gte: linkStart, lt: linkEnd });
    try {
      for (;;) {
        const chunk = await keys.nextv(openScanChunkRecords);
        if (chunk.length === 0) return;
        for (const key of chunk) {
          const { storageKey, n } = linkOf(key);
          const id = userKeyOf(storageKey).toString('latin1');
          if (n > (this.linkCounts.get(id) ?? 0)) this.linkCounts.set(id, n);
        }
      }
    } finally {
      await keys.close();
    }
  }

  recordCount(): number {
    return this.records;
  }

  commits(): { batches: number; writes: number; p50Us: number; p99Us: number; p999Us: number; maxUs: number } {
    const h = this.commitLatency;
    const us = (ns: number) => (h.count === 0 ? 0 : Math.round(ns / 1000));
    return { batches: h.count, writes: this.batchWrites, p50Us: us(h.percentile(50)), p99Us: us(h.percentile(99)), p999Us: us(h.percentile(99.9)), maxUs: us(h.max) };
  }

  chains(): { linksWritten: number; chainedRecords: number } {
    return { linksWritten: this.linksWritten, chainedRecords: this.linkCounts.size };
  }

  keyspace(nowMs: number): KeyspaceCounts {
    return this.tally.counts(nowMs);
  }

  /** What the record cache holds now: records and their estimated bytes (never above its budget once writes are durable). */
  cacheUsage(): { records: number; bytes: number } {
    return { records: this.cache.size, bytes: this.cacheBytes };
  }

  get(key: Buffer, token: Buffer | undefined): Sibling[] {
    const id = key.toString('latin1');
    const cached = this.cache.get(id);
    if (cached !== undefined) {
      cached.referenced = true;
      cached.bulk = false;
      return cached.siblings;
    }
    const storageKey = dataKey(token ?? tokenOf(key), key);
    const { siblings, disk } = this.readDurable(id, storageKey);
    this.remember({ id, storageKey, siblings, bytes: recordBytes(storageKey, siblings), unflushed: 0, referenced: false, disk, bulk: false });
    return siblings;
  }

  update(key: Buffer, token: Buffer | undefined, change: (current: Sibling[]) => Sibling[], options?: UpdateOptions): Promise<Sibling[]> {
    if (this.closed) return Promise.reject(new StorageError('STORAGE_CLOSED', 'storage is closed'));
    const id = key.toString('latin1');
    let record = this.cache.get(id);
    // The digest the storage key was built from; a cached record's is read back from its key when needed.
    const digest = record !== undefined ? undefined : (token ?? tokenOf(key));
    const storageKey = record !== undefined ? record.storageKey : dataKey(digest!, key);
    const durable = record !== undefined ? undefined : this.readDurable(id, storageKey);
    const current = record !== undefined ? record.siblings : durable!.siblings;
    // Added before the change is queued: from here until the next open the key may be on disk. A record this
    // filter already holds (written through it since its last reset) is not hashed in again: ~0.2 µs a SET.
    if (record === undefined || record.filtered !== this.filterEpoch) {
      this.filter.add(storageKey, 1);
      if (record !== undefined) record.filtered = this.filterEpoch;
    }
    const next = ownedVersions(change(current), current);
    const observer = this.observer;
    if (observer !== undefined) observer.changed(key, digest ?? storageKey.subarray(1, 1 + tokenBytes), current, next);
    if (current.length === 0 && next.length > 0) this.records++;
    else if (current.length > 0 && next.length === 0) this.records--;
    this.tally.change(current, next);
    if (record === undefined) {
      record = {
        id, storageKey, siblings: next, bytes: recordBytes(storageKey, next), unflushed: 1, referenced: false, disk: durable!.disk, filtered: this.filterEpoch, bulk: options?.bulk === true,
      };
      this.remember(record);
    } else {
      this.cacheBytes -= record.bytes;
      record.siblings = next;
      record.bytes = recordBytes(storageKey, next);
      this.cacheBytes += record.bytes;
      record.unflushed++;
      if (options?.bulk !== true) {
        record.referenced = true;
        record.bulk = false;
      }
    }
    const queued = record;
    return new Promise<Sibling[]>((resolve, reject) => {
      this.groupCommit.push({ record: queued, resolve: () => resolve(next), reject });
    });
  }

  private remember(record: CachedRecord): void {
    this.cache.set(record.id, record);
    this.cacheBytes += record.bytes;
    if (this.cacheBytes > this.cacheBytesMax) this.evict(this.cacheBytesMax * cacheLowWaterFraction);
  }

  /**
   * Drops durable records, oldest insertion first, until the cache is down
   * to `targetBytes`; a record used since the last sweep gets a second chance
   * (moved to the back), which approximates LRU without reordering on every
   * hit.
   */
  private evict(targetBytes: number): void {
    let visits = this.cache.size * 2;
    for (const [id, record] of this.cache) {
      if (this.cacheBytes <= targetBytes || visits-- <= 0) return;
      if (record.unflushed > 0) continue;
      this.cache.delete(id);
      if (record.referenced) {
        record.referenced = false;
        this.cache.set(id, record);
      } else {
        this.cacheBytes -= record.bytes;
      }
    }
  }

  /**
   * Reads LevelDB directly, without waiting for the write queue (which under
   * sustained writes is never empty), and overlays the record cache: a key
   * whose cached record is newer than its durable one is returned with the
   * cached siblings, or left out when that record is empty (a delete not yet
   * flushed). A key created and not yet flushed is not on disk yet and may be
   * missed by this page — as SCAN allows for keys added during a scan.
   */
  scan(fromToken: bigint, limit: number): Promise<ScanPage> {
    return this.readSpan(fromToken, tokenMax, limit);
  }

  /**
   * As scan, bounded by `last`, after the writes queued before the call are on
   * disk: the iterator's snapshot then holds every record created before the
   * call, and the cache overlay every later change to the records it meets.
   */
  async scanSpan(first: bigint, last: bigint, limit: number): Promise<ScanPage> {
    if (this.closed) throw new StorageError('STORAGE_CLOSED', 'storage is closed');
    await this.groupCommit.settledSoFar();
    return this.readSpan(first, last, limit);
  }

  private async readSpan(first: bigint, last: bigint, limit: number): Promise<ScanPage> {
    if (this.closed) throw new StorageError('STORAGE_CLOSED', 'storage is closed');
    const iterator = this.db.iterator({ gte: dataKeyAtToken(first), lt: dataKeyAfterToken(last) });
    const entries: ScanPage['entries'] = [];
    let lastToken: bigint | undefined;
    let undecodable = 0;
    try {
      for (;;) {
        const chunk = await iterator.nextv(scanChunkEntries);
        if (chunk.length === 0) return { entries, more: false, undecodable };
        for (const [storageKey, value] of chunk) {
          const token = tokenOfDataKey(storageKey);
          // End pages on a token boundary so a cursor never splits one token's keys.
          if (entries.length >= limit && token !== lastToken) return { entries, more: true, undecodable };
          const key = Buffer.from(userKeyOf(storageKey));
          const id = key.toString('latin1');
          let siblings = this.cache.get(id)?.siblings;
          let encoded: Buffer | undefined;
          if (siblings === undefined) {
            // One bad record must not stop every scan (and the collector) for good: skip it, count it.
            try {
              const disk = this.withLinks(id, storageKey, decodeSiblings(value));
              siblings = disk.siblings;
              // Decoded from these bytes alone (a chain's are its base and links): a stream sends them as they are.
              if (disk.disk === undefined || disk.disk.links === 0) encoded = value;
            } catch (err) {
              if (!(err instanceof RecordCodecError)) throw err;
              undecodable++;
              continue;
            }
          }
          if (siblings.length === 0) continue;
          entries.push({ key, token, siblings, encoded });
          lastToken = token;
        }
      }
    } finally {
      await iterator.close();
    }
  }

  async clear(): Promise<void> {
    // Reset first, so a key updated while the clear runs (and written after it) is in the new filter.
    this.filter.reset();
    this.filterEpoch++;
    await this.groupCommit.drain();
    await this.db.clear({ gte: Buffer.from([dataPrefix]), lt: dataEnd });
    await this.db.clear({ gte: linkStart, lt: linkEnd });
    this.linkCounts.clear();
    this.cache.clear();
    this.cacheBytes = 0;
    this.records = 0;
    this.tally.reset();
    const observer = this.observer;
    if (observer?.cleared === undefined) return;
    observer.cleared();
    await this.commitMetadata();
  }

  setObserver(observer: StorageObserver | undefined): void {
    this.observer = observer;
  }

  async metaEntries(prefix: Buffer): Promise<[Buffer, Buffer][]> {
    assert(prefix.length > 0 && prefix[0] === metaPrefix, 'a metadata prefix starts with metaPrefix');
    if (this.closed) throw new StorageError('STORAGE_CLOSED', 'storage is closed');
    const iterator = this.db.iterator({ gte: prefix, lt: prefixEnd(prefix) });
    const entries: [Buffer, Buffer][] = [];
    try {
      for (;;) {
        const chunk = await iterator.nextv(scanChunkEntries);
        if (chunk.length === 0) return entries;
        for (const entry of chunk) entries.push(entry);
      }
    } finally {
      await iterator.close();
    }
  }

  commitMetadata(): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('STORAGE_CLOSED', 'storage is closed'));
    return new Promise<void>((resolve, reject) => this.groupCommit.push({ record: undefined, resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.groupCommit.drain();
    await this.db.close();
  }

  /** What the filter has spared and holds. */
  filterUsage(): { readsSkipped: number; bytes: number; saturated: boolean } {
    const { bytes, saturated } = this.filter.usage();
    return { readsSkipped: this.readsSkipped, bytes, saturated };
  }

  /** The key's durable record; the filter answers for a key never held (the storage key holds its token at offset 1). */
  private readDurable(id: string, storageKey: Buffer): { siblings: Sibling[]; disk: DiskChain | undefined } {
    if (!this.filter.mayHold(storageKey, 1)) {
      this.readsSkipped++;
      return { siblings: [], disk: undefined };
    }
    const value = this.db.getSync(storageKey);
    return value === undefined ? { siblings: [], disk: undefined } : this.withLinks(id, storageKey, decodeSiblings(value));
  }

  /**
   * A record read from disk with its links replayed: one typed version
   * followed by links is that version's chain, its value not decoded. Links
   * are read up to the first absent one (a batch that failed may have counted
   * links it never wrote).
   */
  private withLinks(id: string, storageKey: Buffer, siblings: Sibling[]): { siblings: Sibling[]; disk: DiskChain | undefined } {
    const base = chainBaseOf(siblings);
    if (base === undefined) return { siblings, disk: undefined };
    const steps: { fields: Omit<Sibling, 'value'>; delta: Buffer }[] = [];
    const count = this.linkCounts.get(id) ?? 0;
    let previous = base.dot;
    for (let n = 1; n <= count; n++) {
      const bytes = this.db.getSync(linkKey(storageKey, n));
      if (bytes === undefined) break;
      const [entry] = decodeSiblings(bytes);
      if (entry === undefined) throw new RecordCodecError(`link ${n} of a ${base.type} record holds no version`);
      // Every link follows the one before it (value-chain.ts extendChain): one that does not is from an older chain, left
      // under this record's version (writeWhole), and so is every link after it.
      if (!covers(entry.past, previous)) break;
      if (entry.type !== base.type) throw new RecordCodecError(`link ${n} of a ${base.type} record is a version of another type`);
      const { value: delta, ...fields } = entry;
      steps.push({ fields, delta });
      previous = entry.dot;
    }
    if (steps.length === 0) return { siblings, disk: { base: base.value, last: undefined, links: 0 } };
    const version = restoreChain(base, steps);
    return { siblings: [version], disk: { base: base.value, last: chainOf(version), links: steps.length } };
  }

  /** One LevelDB batch for a turn's writes (group-commit.ts): only the newest version of a record needs writing. */
  private writeBatch(writes: readonly QueuedWrite[]): Promise<void> {
    const batch = this.db.batch();
    const written = new Set<CachedRecord>();
    for (let i = writes.length - 1; i >= 0; i--) {
      const { record } = writes[i]!;
      if (record === undefined || written.has(record)) continue;
      written.add(record);
      if (!this.appendLinks(batch, record)) this.writeWhole(batch, record);
    }
    // Every change in this batch has been through `changed` (it ran in update()), so what the
    // observer derived covers them. A queue split at batchOperationsMax leaves changes for the next
    // batch that the metadata already counts: after a crash just then, a leaf repair mends it.
    const observer = this.observer;
    if (observer?.persist !== undefined) observer.persist(new LevelMetaBatch(batch));
    this.batchWrites += writes.length;
    this.batchStartedNs = process.hrtime.bigint();
    return batch.write().catch((err: Error) => {
      throw new StorageError('STORAGE_IO', `LevelDB write failed: ${err.message}`, { cause: err });
    });
  }

  /**
   * Appends the record's new links when it is the chain the disk holds,
   * extended (the links since the last written are found by walking back to
   * it: the same link object, not merely the same position). False when the
   * record must be written whole.
   */
  private appendLinks(batch: LevelBatch, record: CachedRecord): boolean {
    const disk = record.disk;
    const head = record.siblings.length === 1 ? chainOf(record.siblings[0]!) : undefined;
    if (disk === undefined || head === undefined || head.base !== disk.base) return false;
    const written = disk.links;
    const fresh: ChainLink[] = [];
    let link: ChainLink | undefined = head;
    for (; link !== undefined && link.position > written; link = link.previous) fresh.push(link);
    if (link !== disk.last) return false;
    for (let i = fresh.length - 1; i >= 0; i--) {
      batch.put(linkKey(record.storageKey, fresh[i]!.position), encodeSiblings([linkEntry(fresh[i]!)]));
    }
    this.linksWritten += fresh.length;
    disk.last = head;
    disk.links = head.position;
    if (disk.links > (this.linkCounts.get(record.id) ?? 0)) this.linkCounts.set(record.id, disk.links);
    return true;
  }

  /**
   * The record whole, or its delete, and its links deleted. A chained
   * version is written as the plain version its chain starts from and every
   * link (a chain begun in this batch, over a record the disk holds
   * otherwise): its value is never encoded here.
   */
  private writeWhole(batch: LevelBatch, record: CachedRecord): void {
    const { siblings, storageKey, id } = record;
    const base = chainBaseOf(siblings);
    const head = base === undefined ? undefined : chainOf(base);
    if (siblings.length === 0) batch.del(storageKey);
    else batch.put(storageKey, encodeSiblings(head === undefined ? siblings : [head.origin]));
    const stored = this.linkCounts.get(id) ?? 0;
    // A record that may be a chain's base keeps the links on disk: a read stops at the first (each is older than the
    // version, withLinks), and the chain that follows writes over them in place. Deleting them made every cut of a
    // long chain a batch of one delete per link: 30-80 ms for the 20k links of an 80k-field hash, on every replica.
    if (base === undefined && stored > 0) {
      for (let n = 1; n <= stored; n++) batch.del(linkKey(storageKey, n));
      this.linkCountsAfter.set(id, 0);
    }
    if (head !== undefined) {
      for (let link: ChainLink | undefined = head; link !== undefined; link = link.previous) {
        batch.put(linkKey(storageKey, link.position), encodeSiblings([linkEntry(link)]));
      }
      this.linksWritten += head.position;
      if (head.position > stored) this.linkCounts.set(id, head.position);
    }
    if (base === undefined) {
      record.disk = undefined;
      return;
    }
    record.disk = head === undefined
      ? { base: base.value, last: undefined, links: 0 }
      : { base: head.base, last: head, links: head.position };
  }

  private settled(writes: readonly QueuedWrite[], err: Error | undefined): void {
    if (err === undefined) this.commitLatency.record(Math.max(1, Number(process.hrtime.bigint() - this.batchStartedNs)));
    for (const w of writes) {
      const record = w.record;
      if (record === undefined) continue;
      record.unflushed--;
      // A bulk write's record leaves once durable, as a read of it would then find it on disk.
      if (record.bulk && record.unflushed === 0 && err === undefined && this.cache.get(record.id) === record) {
        this.cache.delete(record.id);
        this.cacheBytes -= record.bytes;
      }
    }
    const after = this.linkCountsAfter;
    this.linkCountsAfter = new Map();
    if (err === undefined) {
      for (const [id, count] of after) {
        if (count === 0) this.linkCounts.delete(id);
        else this.linkCounts.set(id, count);
      }
    } else {
      // What the disk holds of these records is not what was planned: their next write is whole.
      for (const w of writes) if (w.record !== undefined) w.record.disk = undefined;
    }
    if (err !== undefined) this.forgetUnflushed(writes);
    if (this.cacheBytes > this.cacheBytesMax) this.evict(this.cacheBytesMax * cacheLowWaterFraction);
  }

  /** After a failed batch the cache may be ahead of the disk: drop those records so reads go to LevelDB. */
  private forgetUnflushed(writes: readonly QueuedWrite[]): void {
    for (const { record } of writes) {
      if (record !== undefined && this.cache.get(record.id) === record && record.unflushed === 0) {
        this.cache.delete(record.id);
        this.cacheBytes -= record.bytes;
      }
    }
  }
}

type LevelBatch = ReturnType<ClassicLevel<Buffer, Buffer>['batch']>;

/** A link as stored: its version with the delta as the value. */
function linkEntry(link: ChainLink): Sibling {
  return withValue(link.fields, link.delta);
}

/** The observer's view of a batch: metadata keys only, so it can never overwrite a record. */
class LevelMetaBatch implements MetaBatch {
  constructor(private readonly batch: ReturnType<ClassicLevel<Buffer, Buffer>['batch']>) {}

  put(key: Buffer, value: Buffer): void {
    assert(key[0] === metaPrefix, 'metadata keys start with metaPrefix');
    this.batch.put(key, value);
  }

  del(key: Buffer): void {
    assert(key[0] === metaPrefix, 'metadata keys start with metaPrefix');
    this.batch.del(key);
  }
}
