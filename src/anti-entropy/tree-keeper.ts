// The Merkle trees of one node, kept current write by write: one tree per replica set the
// node belongs to (tree-layout.ts), each leaf the XOR of its records' hashes, so a write
// toggles the old record hash out and the new one in (riak_kv_index_hashtree's "active
// anti-entropy": trees maintained on the write path, compared with peers' trees later).
//
// The keeper is the storage's observer (storage.ts StorageObserver): it hears every change
// synchronously inside update(), and adds the leaves it changed to the very batch that
// writes the records, under the metadata namespace. What is on disk is therefore always
// records and leaves of one moment, and a restart on the same ring loads the leaves
// instead of reading every record. The ring fingerprint record ('F') says the leaves on
// disk are complete for that ring; it is deleted in the first batch written while any
// tree is not current (being built or loaded, leaves not yet written out), so a crash
// then leads to a rebuild, never to trees that miss writes.
//
// A build reads the records span by span while writes go on (segments of 2^8 leaves): a
// write into a segment already read updates the new tree too, a write into the leaves
// being read marks that leaf to be read again, a write beyond is seen when the scan gets
// there. Every tree is rebuilt from the records every `treeRebuildIntervalMs` (a week,
// Riak's anti_entropy_expire), which bounds how long a silent divergence between a tree
// and its records (a failed batch, a bad disk) can last; listing a leaf for an exchange
// mends that leaf at once when what it read disagrees with the tree (leafRepairs).
//
// Time comes from injected timers (the simulation runs on virtual time); I/O only through
// Storage.
//
// Cost on the write path (5 nodes × 1024 vnodes, N=3: 6 trees; 200k LevelStorage.update
// calls, 500 per turn, a throwaway script): changed() ~0.28 µs a call; a whole update with
// its commit ~9.5 µs against ~6 µs without the keeper, most of the difference being the
// leaf written beside each record (writes spread over 393k leaves rarely share one in a
// batch). A full build reads ~200k records a second per node; a restart on the same ring
// loads 6 trees in ~0.15 s.

import assert from 'node:assert';
import type { Logger } from 'pino';
import type { Sibling } from '../clock/types.js';
import type { Ring } from '../ring/ring.js';
import type { MetaBatch, ScanEntry, Storage, StorageObserver } from '../storage/storage.js';
import { MerkleTree, leafBits as leafBitsDefault, leafOfDigest, leafSpan } from './merkle-tree.js';
import {
  decodeFingerprint,
  decodePrefixes,
  encodeFingerprint,
  encodePrefixes,
  fingerprintKey,
  leavesPerSegment,
  segmentKey,
  segmentOfEntry,
  segmentValue,
  namesKey,
  persistedLeafBitsMax,
  planTrees,
  ringFingerprint,
} from './tree-layout.js';
import { recordHash } from './version-hash.js';

/**
 * Every tree is rebuilt from the records this often: one week, Riak's default tree expiry
 * (anti_entropy_expire). A rebuild reads every record once; weekly keeps that under a
 * thousandth of the disk's time for any store that fits a node, and caps how long a tree
 * can silently disagree with its records (a failed batch, bit rot) at a week.
 */
export const treeRebuildIntervalMs = 7 * 24 * 60 * 60 * 1000;
/**
 * Changed leaves are written to disk at most this often (and at stop), a whole segment
 * of 256 leaves to a LevelDB value (tree-layout.ts), not beside every record: with 2^16
 * leaves per tree nearly every write touches a leaf no other write of its batch touches,
 * so writing leaves with their records doubled the puts of the write path (measured
 * 6.1 → 9.6 µs per LevelStorage.update, 5 nodes × 1024 vnodes). Between flushes the
 * fingerprint is off the disk, so a crash costs a rebuild from the records at the next
 * start (~1 s per 200k records, as Riak rebuilds its trees after an unclean shutdown); a
 * clean stop writes everything and the next start loads it.
 */
export const leafFlushIntervalMs = 10_000;
/** A build reads 2^8 leaves at a time (1/256 of the ring; with 2^16 leaves, 256 spans per pass). */
export const segmentLeafBits = 8;
/** Records per page of a build's or a leaf listing's scan: bounds the memory of one read (~1k records). */
export const scanPageRecords = 1024;
/**
 * Leaves (or dropped trees' leaves deleted) written per batch: ~16k × 30 bytes ≈ 0.5 MB, so
 * writing a freshly built tree out (up to 65,536 leaves each) never makes one group commit
 * large enough to stall the writes sharing it.
 */
export const metaWritesPerBatchMax = 16_384;
/** Persisted segments (2 KiB each) written per batch: 512 KiB, so a flush never makes one group commit large enough to stall the writes sharing it. */
export const segmentWritesPerBatchMax = 256;
/**
 * A leaf written to while it was being read is read again, up to this many times; past it
 * the build keeps what it has (counted: leavesUnsettled) and the leaf's next listing or the
 * next rebuild mends it. Eight reads of one leaf (1/65,536 of the ring) all disturbed means a
 * key written continuously; waiting for it could take forever.
 */
export const leafRereadsMax = 8;
/** setTimeout fires at once for delays past 2^31 - 1 ms (~24.8 days): longer waits are taken in steps. */
const timerDelayMaxMs = 2 ** 31 - 1;

/** The timers the keeper needs; the real ones by default, a virtual clock in the simulation. */
export interface TreeTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: TreeTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TreeKeeperOptions {
  readonly storage: Storage;
  readonly selfId: string;
  readonly logger: Logger;
  /** Wall clock (ms): when trees were built. Date.now by default. */
  readonly now?: () => number;
  readonly timers?: TreeTimers;
  readonly rebuildIntervalMs?: number;
  /** Leaves per tree as a power of two (merkle-tree.ts leafBits by default); at most 16, the on-disk leaf number's size. */
  readonly leafBits?: number;
}

export interface LeafEntry {
  readonly key: Buffer;
  readonly hi: number;
  readonly lo: number;
}

export interface TreeKeeperStats {
  /** Trees built from a scan of the records. */
  readonly builds: number;
  /** Trees loaded from their persisted leaves. */
  readonly loads: number;
  /** Leaves a listing found out of step with their records, and mended. */
  readonly leafRepairs: number;
  /** Leaves a build read again because they were written to while being read. */
  readonly leafRereads: number;
  /** Leaves a build gave up reading exactly (written to on every read; see leafRereadsMax). */
  readonly leavesUnsettled: number;
  /** True while trees are being loaded or built. */
  readonly working: boolean;
  /** When each current tree was built (loaded trees: when they were first built), ms. */
  readonly builtAtMs: Readonly<Record<string, number>>;
}

/** An operating error: the tree asked for is not kept here now (other ring view, being built). */
export class TreeUnavailableError extends Error {
  readonly code = 'TREE_UNAVAILABLE';
  constructor(readonly treeId: string) {
    super(`no current tree ${treeId}`);
    this.name = 'TreeUnavailableError';
  }
}

interface Slot {
  readonly id: string;
  readonly members: readonly string[];
  readonly prefix: Buffer;
  /** prefix as latin1: the key of sets of names. */
  readonly name: string;
  /** The current tree: compared with peers and kept on disk. undefined until built or loaded. */
  tree: MerkleTree | undefined;
  /** The tree being loaded or built; it replaces `tree` when done. */
  next: MerkleTree | undefined;
  /** `next` is being loaded: every change toggles it (XOR commutes with what is loaded) and is noted in `touched`. */
  loading: boolean;
  touched: Set<number> | undefined;
  /** Leaves whose copy on disk may differ from `tree`, beyond tree.takeDirtyLeaves(): written by persist. */
  unwritten: Set<number>;
  builtAtMs: number;
}

/** Where a build's scan is: decides what a concurrent write does to the trees being built. */
class SegmentBuild {
  /** Leaves below it were read, except those in `rereads`. */
  frontier = 0;
  /** The leaves being read now (inclusive); -1 when none. */
  readFrom = -1;
  readTo = -1;
  /** Leaves written to while being read. */
  readonly disturbed = new Set<number>();
  /** Leaves to read again (not being read now). */
  readonly rereads = new Set<number>();

  constructor(readonly slots: readonly Slot[]) {}

  /** Whether a write into `leaf` must be toggled into the new tree (the scan will not see it). */
  takes(leaf: number): boolean {
    if (leaf >= this.readFrom && leaf <= this.readTo) {
      this.disturbed.add(leaf);
      return false;
    }
    return leaf < this.frontier && !this.rereads.has(leaf);
  }
}

interface LeafWatch {
  disturbed: boolean;
}

interface Deletion {
  readonly name: string;
  readonly keys: Buffer[];
  at: number;
}

type JobKind = 'load' | 'build' | 'rebuild';

/** Scratch for hashes: every use is synchronous. */
const hashA = new Uint32Array(2);
const hashB = new Uint32Array(2);

export class TreeKeeper implements StorageObserver {
  private readonly storage: Storage;
  private readonly selfId: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly timers: TreeTimers;
  private readonly rebuildIntervalMs: number;
  private readonly leafBits: number;
  private readonly leafCount: number;

  private ring: Ring | undefined;
  private fingerprint: Buffer | undefined;
  /** Tree slot index for every ring token index, or -1. */
  private table: Int32Array = new Int32Array(0);
  private slots: Slot[] = [];
  private slotsById = new Map<string, Slot>();
  private slotsByName = new Map<string, Slot>();

  private started = false;
  /** start() has read what is on disk: ring changes now lead to jobs. */
  private opened = false;
  private stopped = false;
  /** The fingerprint record read at start, until the first ring decides between loading and building. */
  private storedFingerprint: { fingerprint: Buffer; builtAtMs: number } | undefined;
  /** When the trees being loaded were built (the fingerprint record says). */
  private loadBuiltAtMs = 0;
  /** False once a change went by that loaded leaves would miss (no ring to route it, no tree to toggle). */
  private mayLoad = true;
  /** The fingerprint record this keeper last put (undefined: deleted, or not known): saves putting it again. */
  private fingerprintOnDisk: Buffer | undefined;
  /** Prefixes (latin1) of trees that may have leaves on disk, as the names record lists them. */
  private namesOnDisk = new Map<string, Buffer>();
  private namesChanged = false;

  /** Bumped to cancel the job in progress (ring change, stop, clear); a job checks it after every await. */
  private generation = 0;
  private job: Promise<void> = Promise.resolve();
  private working = false;
  private build: SegmentBuild | undefined;
  private timer: unknown;

  private readonly dropQueue: string[] = [];
  private deletion: Deletion | undefined;
  private cleaning: Promise<void> | undefined;

  /** Listings in progress, by slot index × leafCount + leaf: a write into the leaf makes a listing's hash unusable for repair. */
  private readonly watches = new Map<number, LeafWatch[]>();
  private readonly digest = Buffer.alloc(8);
  private readonly counters = { builds: 0, loads: 0, leafRepairs: 0, leafRereads: 0, leavesUnsettled: 0 };
  /** Batches persist() wrote into: writeOut checks the storage still calls it. */
  private persists = 0;
  /** writeOut calls in progress: every batch meanwhile writes leaves out. */
  private flushing = 0;
  /** When every changed leaf was last on disk (leafFlushIntervalMs). */
  private flushedAtMs = -Infinity;
  private flushTimer: unknown;

  constructor(options: TreeKeeperOptions) {
    this.storage = options.storage;
    this.selfId = options.selfId;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
    this.rebuildIntervalMs = options.rebuildIntervalMs ?? treeRebuildIntervalMs;
    this.leafBits = options.leafBits ?? leafBitsDefault;
    assert(this.leafBits <= persistedLeafBitsMax, `leafBits ${this.leafBits} above ${persistedLeafBitsMax}, the on-disk leaf number's size`);
    this.leafCount = new MerkleTree(this.leafBits).leafCount;
    assert(this.rebuildIntervalMs > 0, 'rebuild interval must be positive');
  }

  /** The replica sets self belongs to, sorted: the ids of the trees kept (current or being built). */
  treeIds(): string[] {
    return this.slots.map((slot) => slot.id);
  }

  members(treeId: string): string[] {
    return this.slotsById.get(treeId)?.members.slice() ?? [];
  }

  /** The current tree, or undefined while it is first being built or loaded (a periodic rebuild keeps the old one current). */
  tree(treeId: string): MerkleTree | undefined {
    return this.slotsById.get(treeId)?.tree;
  }

  treeOfDigest(digest: Buffer): string | undefined {
    const ring = this.ring;
    if (ring === undefined || this.slots.length === 0) return undefined;
    const index = this.table[ring.tokenIndexOfDigest(digest)]!;
    return index < 0 ? undefined : this.slots[index]!.id;
  }

  get stats(): TreeKeeperStats {
    const builtAtMs: Record<string, number> = {};
    for (const slot of this.slots) if (slot.tree !== undefined) builtAtMs[slot.id] = slot.builtAtMs;
    return { ...this.counters, working: this.working, builtAtMs };
  }

  /**
   * Tells the keeper the ring (undefined: none known) and N. The same ring again changes
   * nothing; another one drops the trees and builds the new ring's (with vnodes, any change
   * of membership moves keys between nearly every replica set, so no tree stays valid).
   */
  setRing(ring: Ring | undefined, n: number): void {
    assert(ring === undefined || ring.n === n, `ring built for n=${ring?.n}, told n=${n}`);
    const fingerprint = ring === undefined ? undefined : ringFingerprint(ring, n, this.selfId, this.leafBits);
    if (fingerprint !== undefined && this.fingerprint !== undefined && fingerprint.equals(this.fingerprint)) {
      this.ring = ring; // the same tokens and owners: the same preference list at every index
      return;
    }
    if (ring === undefined && this.ring === undefined) return;
    this.ring = ring;
    this.fingerprint = fingerprint;
    const plan = ring === undefined ? { table: new Int32Array(0), trees: [] } : planTrees(ring, this.selfId);
    this.table = plan.table;
    this.slots = plan.trees.map((t) => ({
      ...t,
      name: t.prefix.toString('latin1'),
      tree: undefined,
      next: undefined,
      loading: false,
      touched: undefined,
      unwritten: new Set<number>(),
      builtAtMs: 0,
    }));
    this.slotsById = new Map(this.slots.map((slot) => [slot.id, slot]));
    this.slotsByName = new Map(this.slots.map((slot) => [slot.name, slot]));
    this.ringChanged();
  }

  /**
   * Observes the storage and opens the trees: loads the persisted leaves if they were
   * complete for the first ring given (before or after start), else builds from the
   * records. Resolves when the trees of the ring known now are current. Call it before
   * the node takes writes: a change the keeper does not hear is missing from its trees
   * until the next rebuild or listing of that leaf.
   */
  async start(): Promise<void> {
    assert(!this.started, 'start() once');
    this.started = true;
    this.storage.setObserver(this);
    // Changes from now on are caught, in case the leaves on disk turn out to be loadable.
    if (this.ring !== undefined) this.beginLoading();
    const [fingerprint] = await this.storage.metaEntries(fingerprintKey);
    const [names] = await this.storage.metaEntries(namesKey);
    if (this.stopped) return;
    this.storedFingerprint = fingerprint === undefined ? undefined : decodeFingerprint(fingerprint[1]);
    if (names !== undefined) for (const prefix of decodePrefixes(names[1])) this.namesOnDisk.set(prefix.toString('latin1'), prefix);
    this.opened = true;
    this.ringChanged();
    await this.job;
  }

  /** Rebuilds every tree from the records; the current trees stay in use until their replacements are done. */
  rebuild(): Promise<void> {
    assert(this.started, 'start() before rebuild()');
    if (this.stopped || this.ring === undefined) return Promise.resolve();
    return this.launch('rebuild');
  }

  /** Cancels any build or load, stops the timer, writes out what is pending and stops observing. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    this.cancelWork();
    this.clearTimer();
    if (this.flushTimer !== undefined) this.timers.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.working = false;
    await this.job;
    await this.cleaning;
    if (!this.started) return;
    try {
      await this.writeOut(this.generation);
    } catch (err) {
      this.logger.debug({ err }, 'trees not written out at stop (storage closed first)');
    }
    this.storage.setObserver(undefined);
  }

  /**
   * Every record of the tree within one leaf, with its record hash. The XOR of those hashes
   * is the leaf's hash by definition: when no write touched the leaf during the listing and
   * the tree says otherwise, the tree is mended (leafRepairs). Throws TreeUnavailableError
   * when the tree is not current here.
   */
  async leafEntries(treeId: string, leaf: number): Promise<LeafEntry[]> {
    const slot = this.slotsById.get(treeId);
    const tree = slot?.tree;
    if (slot === undefined || tree === undefined) throw new TreeUnavailableError(treeId);
    assert(Number.isInteger(leaf) && leaf >= 0 && leaf < this.leafCount, `leaf ${leaf} outside 0..${this.leafCount - 1}`);
    const watchKey = this.slots.indexOf(slot) * this.leafCount + leaf;
    const watch: LeafWatch = { disturbed: false };
    this.addWatch(watchKey, watch);
    try {
      const entries: LeafEntry[] = [];
      const sum = new Uint32Array(2);
      const { first, last } = leafSpan(leaf, this.leafBits);
      for (let from = first; ; ) {
        const page = await this.storage.scanSpan(from, last, scanPageRecords);
        if (this.slotsById.get(treeId) !== slot) throw new TreeUnavailableError(treeId); // the ring changed
        this.listEntries(page.entries, slot, entries, sum);
        if (!page.more) break;
        from = page.entries[page.entries.length - 1]!.token + 1n;
      }
      // A tree replaced meanwhile (a rebuild finished) was built from the records: nothing to mend.
      if (!watch.disturbed && slot.tree === tree) this.repairLeaf(slot, tree, leaf, sum);
      return entries;
    } finally {
      this.removeWatch(watchKey, watch);
    }
  }

  // --- StorageObserver ---

  changed(_key: Buffer, digest: Buffer, before: readonly Sibling[], after: readonly Sibling[]): void {
    const ring = this.ring;
    if (ring === undefined || this.slots.length === 0) {
      this.mayLoad = false;
      return;
    }
    const index = this.table[ring.tokenIndexOfDigest(digest)]!;
    if (index < 0) return;
    recordHash(digest, before, hashA);
    recordHash(digest, after, hashB);
    const hi = (hashA[0]! ^ hashB[0]!) >>> 0;
    const lo = (hashA[1]! ^ hashB[1]!) >>> 0;
    if ((hi | lo) === 0) return; // the same versions: no tree changes
    const slot = this.slots[index]!;
    const leaf = leafOfDigest(digest, this.leafBits);
    if (this.watches.size !== 0) this.disturb(index * this.leafCount + leaf);
    if (slot.tree !== undefined) slot.tree.toggle(leaf, hi, lo);
    const next = slot.next;
    if (next === undefined) {
      if (slot.tree === undefined) this.mayLoad = false;
    } else if (slot.loading) {
      next.toggle(leaf, hi, lo);
      slot.touched!.add(leaf);
    } else if (this.build !== undefined && this.build.takes(leaf)) {
      next.toggle(leaf, hi, lo);
    }
  }

  persist(batch: MetaBatch): void {
    this.persists++;
    let budget = segmentWritesPerBatchMax;
    let allWritten = true;
    const flush = this.flushing > 0 || this.now() - this.flushedAtMs >= leafFlushIntervalMs;
    for (const slot of this.slots) {
      if (slot.tree === undefined) continue;
      if (flush) budget = this.persistLeaves(slot, slot.tree, batch, budget);
      else for (const leaf of slot.tree.takeDirtyLeaves()) slot.unwritten.add(leaf);
      if (slot.unwritten.size > 0) allWritten = false;
    }
    if (flush && allWritten) this.flushedAtMs = this.now();
    if (!allWritten) this.scheduleFlush();
    this.persistDeletion(batch, budget);
    if (this.namesChanged) {
      this.namesChanged = false;
      batch.put(namesKey, encodePrefixes(this.namesOnDisk.values()));
    }
    const wanted = allWritten ? this.fingerprintWanted() : undefined;
    // Deleted in every batch while not wanted, whatever this keeper believes is on disk: a failed
    // batch that held the deletion must not leave a fingerprint vouching for incomplete leaves.
    if (wanted === undefined) batch.del(fingerprintKey);
    else if (!(this.fingerprintOnDisk?.equals(wanted) ?? false)) batch.put(fingerprintKey, wanted);
    this.fingerprintOnDisk = wanted;
  }

  cleared(): void {
    this.mayLoad = false;
    for (const slot of this.slots) slot.tree?.clear(); // non-zero leaves turn dirty: persisted as deletions
    if (!this.opened || this.stopped) return;
    if (this.slots.some((slot) => slot.next !== undefined)) void this.launch('build'); // what was read is gone
    else {
      const generation = this.generation;
      this.writeOut(generation).catch((err: unknown) => this.logger.warn({ err }, 'anti-entropy trees: writing cleared trees out failed'));
    }
  }

  // --- jobs: loading and building ---

  /** After the ring (or, at start, what is on disk) changed: decides how the trees get current. */
  private ringChanged(): void {
    if (!this.opened || this.stopped) return;
    if (this.ring === undefined) {
      this.generation++;
      this.cancelWork();
      this.clearTimer();
      this.working = false;
      return;
    }
    for (const [name] of this.namesOnDisk) {
      if (!this.slotsByName.has(name) && !this.dropQueue.includes(name)) this.dropQueue.push(name);
    }
    this.startCleaning();
    const stored = this.storedFingerprint;
    const load = this.mayLoad && stored !== undefined && stored.fingerprint.equals(this.fingerprint!);
    this.mayLoad = false;
    this.storedFingerprint = undefined;
    this.loadBuiltAtMs = stored?.builtAtMs ?? 0;
    void this.launch(load ? 'load' : 'build');
  }

  /** Cancels the job in progress and runs `kind` once it has wound down. */
  private launch(kind: JobKind): Promise<void> {
    const generation = ++this.generation;
    this.clearTimer();
    if (kind !== 'load') this.cancelWork();
    else if (!this.slots.every((slot) => slot.loading)) this.beginLoading(); // start() may have begun already
    this.working = true;
    const run = this.job
      .then(() => this.runJob(generation, kind))
      .catch((err: unknown) => {
        if (generation === this.generation && !this.stopped) this.logger.error({ err }, 'anti-entropy trees: build failed; trees not current until the next ring change or rebuild');
      })
      .finally(() => {
        if (generation === this.generation) this.working = false;
      });
    this.job = run;
    return run;
  }

  private async runJob(generation: number, kind: JobKind): Promise<void> {
    if (generation !== this.generation) return;
    if (kind === 'load' && !(await this.loadTrees(generation))) return;
    const targets = kind === 'rebuild' ? this.slots : this.slots.filter((slot) => slot.tree === undefined);
    if (targets.length > 0 && !(await this.buildTrees(generation, targets))) return;
    await this.writeOut(generation);
    if (generation === this.generation) this.scheduleRebuild();
  }

  /** Every slot's leaves start loading now, so no change is missed between here and its read. */
  private beginLoading(): void {
    for (const slot of this.slots) {
      slot.next = new MerkleTree(this.leafBits);
      slot.loading = true;
      slot.touched = new Set();
    }
  }

  /** Loads each slot's persisted leaves; a slot whose leaves do not parse is left to be built. */
  private async loadTrees(generation: number): Promise<boolean> {
    const builtAtMs = this.loadBuiltAtMs;
    for (const slot of this.slots) {
      const entries = await this.storage.metaEntries(slot.prefix);
      if (generation !== this.generation) return false;
      const next = slot.next!;
      const bad = entries.find(([key, value]) => !this.toggleEntry(next, slot.prefix, key, value));
      if (bad !== undefined) this.logger.warn({ tree: slot.id, key: bad[0].toString('hex') }, 'persisted tree leaf unreadable; building that tree from the records');
      else {
        next.takeDirtyLeaves(); // what was loaded is on disk already
        slot.unwritten = slot.touched!;
        slot.tree = next;
        slot.builtAtMs = builtAtMs;
        this.counters.loads++;
      }
      slot.next = undefined;
      slot.loading = false;
      slot.touched = undefined;
    }
    return true;
  }

  private toggleEntry(tree: MerkleTree, prefix: Buffer, key: Buffer, value: Buffer): boolean {
    const leaves = leavesPerSegment(this.leafBits);
    const segment = segmentOfEntry(prefix, key, value, leaves);
    if (segment === undefined || (segment + 1) * leaves > this.leafCount) return false;
    for (let i = 0; i < leaves; i++) tree.toggle(segment * leaves + i, value.readUInt32BE(8 * i), value.readUInt32BE(8 * i + 4));
    return true;
  }

  /** Builds `targets` from one scan of the records, then makes them current. */
  private async buildTrees(generation: number, targets: readonly Slot[]): Promise<boolean> {
    for (const slot of targets) slot.next = new MerkleTree(this.leafBits);
    const build = new SegmentBuild(targets);
    this.build = build;
    if (!(await this.scanSegments(generation, build))) return false;
    for (const slot of targets) slot.next!.takeDirtyLeaves();
    // A tree new here may have leaves on disk from an earlier life: those that differ get rewritten.
    const differing = new Map<Slot, Set<number>>();
    const fromDisk = targets.filter((slot) => slot.tree === undefined && this.namesOnDisk.has(slot.name));
    if (fromDisk.length > 0) await this.storage.commitMetadata(); // no batch still in flight changes what is read next
    for (const slot of fromDisk) {
      const entries = await this.storage.metaEntries(slot.prefix);
      if (generation !== this.generation) return false;
      differing.set(slot, this.diffFromDisk(slot, slot.next!, entries));
    }
    const now = this.now();
    for (const slot of targets) this.replaceTree(slot, slot.next!, differing.get(slot), now);
    this.build = undefined;
    return true;
  }

  private async scanSegments(generation: number, build: SegmentBuild): Promise<boolean> {
    const segmentLeaves = 2 ** Math.min(segmentLeafBits, this.leafBits);
    for (let first = 0; first < this.leafCount; first += segmentLeaves) {
      const last = first + segmentLeaves - 1;
      build.readFrom = first;
      build.readTo = last;
      if (!(await this.readLeaves(generation, build, first, last))) return false;
      build.readFrom = build.readTo = -1;
      build.frontier = last + 1;
      for (const leaf of build.disturbed) build.rereads.add(leaf);
      build.disturbed.clear();
      if (!(await this.rereadLeaves(generation, build))) return false;
    }
    return true;
  }

  /** Reads again, one at a time, the leaves written to while they were read. */
  private async rereadLeaves(generation: number, build: SegmentBuild): Promise<boolean> {
    const reads = new Map<number, number>();
    for (const leaf of build.rereads) {
      build.rereads.delete(leaf);
      this.counters.leafRereads++;
      for (const slot of build.slots) slot.next!.setLeaf(leaf, 0, 0);
      build.readFrom = build.readTo = leaf;
      if (!(await this.readLeaves(generation, build, leaf, leaf))) return false;
      build.readFrom = build.readTo = -1;
      if (!build.disturbed.delete(leaf)) continue;
      const count = (reads.get(leaf) ?? 0) + 1;
      reads.set(leaf, count);
      if (count < leafRereadsMax) build.rereads.add(leaf); // a Set visits what is added during iteration
      else {
        this.counters.leavesUnsettled++;
        this.logger.warn({ leaf, rereads: count }, 'tree leaf written to on every read during a build; kept as read, to be mended by its next listing');
      }
    }
    return true;
  }

  private async readLeaves(generation: number, build: SegmentBuild, firstLeaf: number, lastLeaf: number): Promise<boolean> {
    const last = leafSpan(lastLeaf, this.leafBits).last;
    for (let from = leafSpan(firstLeaf, this.leafBits).first; ; ) {
      const page = await this.storage.scanSpan(from, last, scanPageRecords);
      if (generation !== this.generation) return false;
      this.hashIntoBuild(page.entries, build);
      if (!page.more) return true;
      from = page.entries[page.entries.length - 1]!.token + 1n;
    }
  }

  private hashIntoBuild(entries: readonly ScanEntry[], build: SegmentBuild): void {
    const ring = this.ring!;
    const digest = this.digest;
    for (const entry of entries) {
      digest.writeBigUInt64BE(entry.token);
      const index = this.table[ring.tokenIndexOfDigest(digest)]!;
      if (index < 0) continue;
      const slot = this.slots[index]!;
      if (slot.next === undefined || slot.loading || !build.slots.includes(slot)) continue;
      recordHash(digest, entry.siblings, hashA);
      slot.next.toggle(leafOfDigest(digest, this.leafBits), hashA[0]!, hashA[1]!);
    }
  }

  /** Leaves where `tree` and the persisted copy of this slot's leaves differ. */
  private diffFromDisk(slot: Slot, tree: MerkleTree, entries: readonly [Buffer, Buffer][]): Set<number> {
    const differing = new Set<number>();
    const onDisk = new Uint8Array(this.leafCount);
    const leaves = leavesPerSegment(this.leafBits);
    for (const [key, value] of entries) {
      const segment = segmentOfEntry(slot.prefix, key, value, leaves);
      if (segment === undefined || (segment + 1) * leaves > this.leafCount) continue; // not ours to read; left alone
      for (let i = 0; i < leaves; i++) {
        const leaf = segment * leaves + i;
        onDisk[leaf] = 1;
        tree.leafHash(leaf, hashA);
        if (hashA[0] !== value.readUInt32BE(8 * i) || hashA[1] !== value.readUInt32BE(8 * i + 4)) differing.add(leaf);
      }
    }
    for (let leaf = 0; leaf < this.leafCount; leaf++) {
      if (onDisk[leaf] === 1) continue;
      tree.leafHash(leaf, hashA);
      if ((hashA[0]! | hashA[1]!) !== 0) differing.add(leaf);
    }
    return differing;
  }

  /**
   * Makes a built tree current. What must be written: against the tree it replaces (whose
   * leaves are on disk except its dirty ones), the leaves that differ; against the disk
   * (`differing`), those; with nothing on disk, every non-zero leaf.
   */
  private replaceTree(slot: Slot, built: MerkleTree, differing: Set<number> | undefined, now: number): void {
    const old = slot.tree;
    let unwritten = differing;
    if (old !== undefined) {
      unwritten = slot.unwritten;
      for (const leaf of old.takeDirtyLeaves()) unwritten.add(leaf);
      for (let leaf = 0; leaf < this.leafCount; leaf++) {
        old.leafHash(leaf, hashA);
        built.leafHash(leaf, hashB);
        if (hashA[0] !== hashB[0] || hashA[1] !== hashB[1]) unwritten.add(leaf);
      }
    } else if (unwritten === undefined) {
      unwritten = new Set();
      for (let leaf = 0; leaf < this.leafCount; leaf++) {
        built.leafHash(leaf, hashA);
        if ((hashA[0]! | hashA[1]!) !== 0) unwritten.add(leaf);
      }
    }
    slot.tree = built;
    slot.next = undefined;
    slot.unwritten = unwritten;
    slot.builtAtMs = now;
    this.counters.builds++;
  }

  /** Commits batches until every current tree's leaves are on disk (and so the fingerprint). */
  private async writeOut(generation: number): Promise<void> {
    this.flushing++;
    try {
      do {
        const persists = this.persists;
        await this.storage.commitMetadata();
        assert(this.persists > persists, 'the storage committed a batch without calling persist: is another observer set?');
      } while (generation === this.generation && this.slots.some((slot) => slot.unwritten.size > 0 || slot.tree?.hasDirtyLeaves() === true));
    } finally {
      this.flushing--;
    }
  }

  /** Leaves waiting to be written go out within leafFlushIntervalMs even when no record is written. */
  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.stopped) return;
    this.flushTimer = this.timers.setTimeout(() => {
      this.flushTimer = undefined;
      if (this.stopped) return;
      const generation = this.generation;
      this.writeOut(generation).catch((err: unknown) => this.logger.warn({ err }, 'anti-entropy trees: writing leaves out failed; the next flush retries'));
    }, leafFlushIntervalMs);
  }

  /** Drops what a cancelled job left: trees being built or loaded. */
  private cancelWork(): void {
    this.build = undefined;
    for (const slot of this.slots) {
      slot.next = undefined;
      slot.loading = false;
      slot.touched = undefined;
    }
  }

  // --- persistence ---

  /** Writes the segments holding this slot's changed leaves, whole, at most `budget` of them; returns what is left of it. */
  private persistLeaves(slot: Slot, tree: MerkleTree, batch: MetaBatch, budget: number): number {
    for (const leaf of tree.takeDirtyLeaves()) slot.unwritten.add(leaf);
    if (slot.unwritten.size === 0) return budget;
    if (!this.namesOnDisk.has(slot.name)) {
      this.namesOnDisk.set(slot.name, slot.prefix);
      this.namesChanged = true;
    }
    const leaves = leavesPerSegment(this.leafBits);
    const segments = new Set<number>();
    for (const leaf of slot.unwritten) segments.add(Math.floor(leaf / leaves));
    for (const segment of segments) {
      if (budget === 0) break;
      budget--;
      for (let i = 0; i < leaves; i++) slot.unwritten.delete(segment * leaves + i);
      const key = segmentKey(slot.prefix, segment);
      const value = segmentValue((leaf, out) => tree.leafHash(leaf, out), segment, leaves);
      if (value === undefined) batch.del(key);
      else batch.put(key, value);
    }
    return budget;
  }

  /** The fingerprint record, when every tree of the ring is current (the caller checks that all leaves are written). */
  private fingerprintWanted(): Buffer | undefined {
    if (this.ring === undefined || this.fingerprint === undefined) return undefined;
    let oldest = Infinity;
    for (const slot of this.slots) {
      if (slot.tree === undefined) return undefined;
      oldest = Math.min(oldest, slot.builtAtMs);
    }
    return encodeFingerprint(this.fingerprint, oldest === Infinity ? 0 : oldest);
  }

  private persistDeletion(batch: MetaBatch, budget: number): void {
    const deletion = this.deletion;
    if (deletion === undefined || deletion.at === deletion.keys.length) return;
    if (this.slotsByName.has(deletion.name)) {
      deletion.at = deletion.keys.length; // the tree is back: its build compares with the disk instead
      return;
    }
    while (budget-- > 0 && deletion.at < deletion.keys.length) batch.del(deletion.keys[deletion.at++]!);
    if (deletion.at === deletion.keys.length) {
      this.namesOnDisk.delete(deletion.name);
      this.namesChanged = true;
    }
  }

  /** Deletes the persisted leaves of trees the ring no longer has, one tree at a time, in the batches persist writes. */
  private startCleaning(): void {
    if (this.cleaning !== undefined || this.dropQueue.length === 0) return;
    this.cleaning = this.cleanDropped()
      .catch((err: unknown) => {
        if (!this.stopped) this.logger.warn({ err }, 'anti-entropy trees: deleting the leaves of dropped trees failed; retried on the next ring change');
      })
      .finally(() => {
        this.cleaning = undefined;
        this.deletion = undefined;
      });
  }

  private async cleanDropped(): Promise<void> {
    while (!this.stopped && this.dropQueue.length > 0) {
      const name = this.dropQueue.shift()!;
      const prefix = this.namesOnDisk.get(name);
      if (prefix === undefined || this.slotsByName.has(name)) continue;
      await this.storage.commitMetadata(); // batches already holding its leaves are on disk
      const entries = await this.storage.metaEntries(prefix);
      if (this.stopped || this.slotsByName.has(name)) continue;
      const deletion: Deletion = { name, keys: entries.map(([key]) => key), at: 0 };
      this.deletion = deletion;
      do await this.storage.commitMetadata();
      while (!this.stopped && deletion.at < deletion.keys.length);
      this.deletion = undefined;
    }
  }

  // --- leaf listing ---

  private listEntries(page: readonly ScanEntry[], slot: Slot, entries: LeafEntry[], sum: Uint32Array): void {
    const ring = this.ring!;
    const digest = this.digest;
    for (const entry of page) {
      digest.writeBigUInt64BE(entry.token);
      if (this.slots[this.table[ring.tokenIndexOfDigest(digest)]!] !== slot) continue;
      recordHash(digest, entry.siblings, hashA);
      entries.push({ key: entry.key, hi: hashA[0]!, lo: hashA[1]! });
      sum[0] ^= hashA[0]!;
      sum[1] ^= hashA[1]!;
    }
  }

  private repairLeaf(slot: Slot, tree: MerkleTree, leaf: number, sum: Uint32Array): void {
    tree.leafHash(leaf, hashA);
    if (hashA[0] === sum[0] && hashA[1] === sum[1]) return;
    tree.setLeaf(leaf, sum[0]!, sum[1]!);
    this.counters.leafRepairs++;
    this.logger.warn({ tree: slot.id, leaf }, 'tree leaf disagreed with its records; mended from a listing');
  }

  private addWatch(key: number, watch: LeafWatch): void {
    const list = this.watches.get(key);
    if (list === undefined) this.watches.set(key, [watch]);
    else list.push(watch);
  }

  private removeWatch(key: number, watch: LeafWatch): void {
    const list = this.watches.get(key)!;
    list.splice(list.indexOf(watch), 1);
    if (list.length === 0) this.watches.delete(key);
  }

  private disturb(key: number): void {
    const list = this.watches.get(key);
    if (list !== undefined) for (const watch of list) watch.disturbed = true;
  }

  // --- the periodic rebuild ---

  private scheduleRebuild(): void {
    this.clearTimer();
    if (this.stopped || this.slots.length === 0) return;
    const dueMs = Math.min(...this.slots.map((slot) => slot.builtAtMs)) + this.rebuildIntervalMs;
    const delayMs = Math.min(Math.max(0, dueMs - this.now()), timerDelayMaxMs);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.now() < dueMs) this.scheduleRebuild();
      else void this.rebuild();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
