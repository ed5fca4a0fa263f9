// The storage seam: what a node keeps of the records it replicates. The
// coordinator and replica handlers see only this interface; LevelDB
// (level-storage.ts) and memory (memory-storage.ts) stand behind it.
//
// Every change to a record is a read-modify-write through `update`, so the
// one merge function (clock/siblings.ts reconcile) decides every outcome and
// concurrent writers to one key cannot interleave.
//
// An observer (the anti-entropy trees, anti-entropy/tree-keeper.ts) hears of
// every change synchronously inside `update`, and writes the state it derives
// from the records in the same batch as those records (`persist`), so what is
// on disk after a crash is records and derived metadata of one moment: no
// replay log, no full rescan on restart (Riak's hashtree keeps its own
// LevelDB and rebuilds after an unclean stop; sharing the batch avoids that).

import type { Sibling } from '../clock/types.js';
import type { KeyspaceCounts } from './keyspace-tally.js';
import { chainOf } from '../crdt/value-chain.js';

export interface ScanEntry {
  readonly key: Buffer;
  readonly token: bigint;
  readonly siblings: Sibling[];
  /**
   * The record's bytes as stored, when `siblings` were decoded from exactly
   * these (read from disk, not cached, no chain links): a sender copies them
   * instead of encoding the siblings again (hints/range-messages.ts).
   */
  readonly encoded?: Buffer | undefined;
}

export interface UpdateOptions {
  /**
   * A bulk write (a range streamed in by a join, handed over by a leave): the
   * record is not kept in a read cache once durable, unless it was cached
   * already or is read or written otherwise meanwhile. A stream passes every
   * record of a node's share through once; cached, each would push a record
   * clients use out of the cache and live on through the young generation's
   * collections into the old one, for nothing.
   */
  readonly bulk?: boolean;
}

export interface ScanPage {
  readonly entries: ScanEntry[];
  /** True when keys with greater tokens remain. Pages end on a token boundary. */
  readonly more: boolean;
  /** Records in the page's range that could not be decoded and were left out (a corrupt disk, a bug). */
  readonly undecodable?: number;
}

/** Writes into the metadata namespace (keys start with keys.ts `metaPrefix`) of the batch being built. */
export interface MetaBatch {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

export interface StorageObserver {
  /**
   * Runs synchronously inside update() once the new record is decided, before
   * the store changes anything (a throw fails that update; it must not throw).
   * `digest` is the key's 8-byte token; it may be a view into the store's own
   * key buffer, so it must not be retained (copy it). `before` and `after` are
   * the record as it was and as it will be ([] for absent).
   */
  changed(key: Buffer, digest: Buffer, before: readonly Sibling[], after: readonly Sibling[]): void;
  /**
   * Called while each group commit's batch is built (MemoryStorage: at its
   * "commit"), after every change in it was reported by `changed`: what it
   * writes lands atomically with those records.
   */
  persist?(batch: MetaBatch): void;
  /**
   * Called by clear() once every record is gone, instead of `changed` per
   * record (a cost proportional to the store). The observer resets what it
   * derived; a `persist` follows at once so the reset is durable.
   */
  cleared?(): void;
}

export interface Storage {
  /**
   * The key's stored siblings, [] when absent. Sees writes not yet durable.
   * `token` is the key's tokenOf digest when the caller has it; otherwise the
   * store computes it if it needs it.
   */
  get(key: Buffer, token: Buffer | undefined): Sibling[];
  /**
   * Replaces the key's record with `change(current)` ([] deletes it) and
   * resolves with the new record once it is durable (survives kill -9).
   * `change` runs synchronously, before update returns (a `change` that
   * throws makes update throw and changes nothing), so changes to one key
   * apply in call order and the caller may act on the new record at once.
   */
  update(key: Buffer, token: Buffer | undefined, change: (current: Sibling[]) => Sibling[], options?: UpdateOptions): Promise<Sibling[]>;
  /** Records with token ≥ fromToken in ring order, at most about `limit` keys. */
  scan(fromToken: bigint, limit: number): Promise<ScanPage>;
  /**
   * Records with first ≤ token ≤ last in ring order, at most about `limit`
   * keys (a page ends on a token boundary); `more` when the span has keys
   * beyond the page. Unlike scan, a page holds every change made before the
   * call (LevelStorage waits for the writes queued so far to reach the disk: a
   * bounded wait), so it can be checked against what an observer derived.
   */
  scanSpan(first: bigint, last: bigint, limit: number): Promise<ScanPage>;
  /** Sets (or with undefined, removes) the one observer of changes; see StorageObserver. */
  setObserver(observer: StorageObserver | undefined): void;
  /** Every durable metadata entry whose key starts with `prefix` (which starts with metaPrefix), in key order. */
  metaEntries(prefix: Buffer): Promise<[Buffer, Buffer][]>;
  /**
   * Commits a batch after every change made so far, even if no record changed,
   * so the observer's `persist` runs; resolves once it is durable.
   */
  commitMetadata(): Promise<void>;
  /** Records stored on this node (replicas and tombstones included): cheap, for INFO. */
  recordCount(): number;
  /**
   * The group commit as measured (group-commit.ts): batches written, the
   * writes they carried, and the latency of one batch's LevelDB write (from
   * the call to its callback: the wait a write's acknowledgement adds beyond
   * the batch it waited for), in microseconds. Absent: the store does not batch.
   */
  commits?(): { batches: number; writes: number; p50Us: number; p99Us: number; p999Us: number; maxUs: number };
  /** Chained records (crdt/value-chain.ts) as stored: links appended so far, records holding links now. Absent: the store keeps no links. */
  chains?(): { linksWritten: number; chainedRecords: number };
  /** INFO keyspace's figures for the records on this node (keyspace-tally.ts); cheap. */
  keyspace(nowMs: number): KeyspaceCounts;
  /** Removes every record (not the metadata: the observer hears `cleared` and resets its own). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Values allocated for the record they go into (ownValue): nothing else holds
 * or reuses their memory. Marked and stored in one synchronous step (a
 * coordinator's change, a replica's rebuilt delta), so every ownedVersions
 * empties the list. A short array searched by identity: usually one value is
 * marked between two stores, and a Set's add and delete cost each counter and
 * collection write ~0.4 µs (its table is rebuilt as deleted entries fill it),
 * a WeakSet more. A value marked and not stored by the next change is copied
 * like any other: correct, only dearer.
 */
const ownValues: Buffer[] = [];
/** A bound for marks no store ever takes (an operation refused after encoding): they are dropped past it. */
const ownValuesMax = 64;

/**
 * Marks `value` as made for the version it goes into (a convergent type's
 * freshly encoded state): storage keeps it as it is instead of copying it,
 * which for a large collection would copy the whole value on every write
 * and leave the version a new object (crdt/state-cache.ts keys on it).
 */
export function ownValue(value: Buffer): Buffer {
  if (ownValues.length >= ownValuesMax) ownValues.length = 0;
  ownValues.push(value);
  return value;
}

/**
 * The record a store keeps: versions new in `next` may be views into a
 * larger buffer (a socket chunk, a peer frame) that would stay pinned, or be
 * reused, while the record lives; they get their own copy, unless their
 * value was made for them (ownValue).
 */
export function ownedVersions(next: Sibling[], current: readonly Sibling[]): Sibling[] {
  let out = next;
  for (let i = 0; i < next.length; i++) {
    const s = next[i]!;
    // A chained version's value is made from buffers of its own (crdt/value-chain.ts), and is not encoded yet: reading it here would encode it.
    if (current.includes(s) || chainOf(s) !== undefined || s.value.length === 0 || ownValues.includes(s.value)) continue;
    if (out === next) out = next.slice();
    out[i] = { ...s, value: Buffer.from(s.value) };
  }
  ownValues.length = 0;
  return out;
}

export class StorageError extends Error {
  constructor(readonly code: 'STORAGE_CLOSED' | 'STORAGE_IO', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}
