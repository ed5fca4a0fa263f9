// One anti-entropy exchange, initiator side: this node and one peer compare
// one tree (one replica set's keys) and repair every key that differs, moving
// only those. Roots first, then level by level only into the nodes whose
// hashes differ, then the entries (key, record hash) of the differing leaves,
// then whole records both ways: what the peer has that we lack or hold
// differently is fetched and folded here through the one merge path; what
// we have that the peer lacks or held differently is sent back after the
// fold, so both end holding the fold of both. Dynamo 2007 §4.7; riak_core's
// hashtree.erl compare/4 and riak_kv_exchange_fsm (a tree exchange between
// two index owners, repairing through the normal merge).
//
// All I/O goes through two small interfaces (LocalReplica, PeerLink), so the
// exchange runs in unit tests against in-memory replicas and a lossy fake link.
// It is polite: every byte each way passes a byte-rate throttle (shared with
// the other exchanges of a node when one is passed in), it holds at most one
// batch of leaves in memory, every request has a timeout, an AbortSignal
// stops it between steps, and progress goes to a callback (`ringkv repair`'s
// bar). A failed exchange leaves nothing inconsistent: every record folded or
// sent is a whole record, and a fold of whole records is always safe to
// repeat or to leave half done (clock/siblings.ts); the next exchange resumes.

import assert from 'node:assert/strict';
import type { Sibling } from '../clock/types.js';
import { ByteThrottle, realHandoffTimers, type HandoffTimers } from '../hints/sender.js';
import { recordEntryBytes } from '../clock/record-entries.js';
import { CodecError } from '../peer/codec.js';
import { MessageType } from '../peer/message-types.js';
import { requestTimeoutMsMax, type PeerMessage } from '../peer/transport.js';
import { tokenOf } from '../storage/keys.js';
import { childrenOf, differingNodes, fanoutBits, leafOfDigest, type MerkleTree } from './merkle-tree.js';
import {
  decodeLeafEntriesReply,
  decodeRecordsGetReply,
  decodeRecordsPutAck,
  decodeTreeLevelReply,
  encodeLeafEntries,
  encodeRecordsGet,
  encodeRecordsPut,
  encodeTreeLevel,
  leafEntriesLeavesMax,
  recordsBytesTarget,
  recordsKeysMax,
  treeLevelIndicesMax,
  type LeafListing,
  type RecordEntry,
} from './messages.js';
import { recordHash } from './version-hash.js';

/**
 * Default byte rate of one node's exchanges, both directions summed: 8 MiB/s,
 * twice hinted handoff's (hints/sender.ts), since repairing a replaced disk
 * moves far more than a hint backlog (10 GiB in ~21 min), yet still ~6% of a
 * 1 Gbit link and a small share of a LevelDB node's write rate. Comparing two
 * trees that agree costs one 8-byte root and nothing else.
 */
export const exchangeRateBytesPerSecDefault = 8 * 1024 * 1024;
/** An idle throttle lets this much time's worth of bytes go at once, then paces (as handoff does). */
export const exchangeBurstMs = 100;
/**
 * Per request: a LeafEntries request makes the responder scan up to 256
 * leaves (256 range reads, each re-hashing its records) and ship ~1 MiB, and
 * a RecordsPut folds up to 512 records through group commit: ~1-2 s on a
 * loaded disk, so 5 s, well above the 1 s a single replica request gets.
 */
export const exchangeRequestTimeoutMsDefault = 5_000;

assert(exchangeRequestTimeoutMsDefault <= requestTimeoutMsMax, 'the transport would cut the timeout short');

/**
 * A key whose record here holds a version written this recently (by its
 * timestamp, on this node's clock) is in flight: the write path is still
 * replicating it (twice the 1 s a replica request gets), and is left to a
 * later exchange. Its trees differ while it is being written, so an exchange
 * moved it every time — for a hot 80k-field hash a fold and a whole encode
 * of 0.2-0.5 s on each node's loop per exchange, until a client's write to
 * it timed out (NOQUORUM). A replica that truly lacks its writes is repaired
 * by the write path meanwhile (a delta it cannot apply is answered with the
 * whole record), and by the first exchange after the writes pause. A version
 * timestamped ahead of this clock (skew) is not taken as recent: skew can
 * delay a key's repair by at most this long, never hold it off.
 */
export const inFlightWriteMs = 2_000;

/** One key of a leaf with its record hash (tree-keeper.ts's LeafEntry, same shape). */
export interface LeafEntry {
  readonly key: Buffer;
  readonly hi: number;
  readonly lo: number;
}

/** What an exchange needs of this node: its trees, its records and its one merge path. */
export interface LocalReplica {
  /** The tree of a replica set; undefined while it is being built (or self is not in that set). */
  tree(treeId: string): MerkleTree | undefined;
  /** Every record of the tree within one leaf, with its record hash (TreeKeeper.leafEntries). */
  leafEntries(treeId: string, leaf: number): Promise<LeafEntry[]>;
  /** The stored records of `keys`, in order ([] for a key not held): storage only, never hints. */
  records(keys: readonly Buffer[]): Promise<Sibling[][]>;
  /** Folds a whole record into the local one through the one merge path (Coordinator.applyLocal). */
  apply(key: Buffer, siblings: readonly Sibling[]): Promise<unknown>;
}

/** One peer, as the exchange talks to it: a request and its reply (Transport.request bound to an address). */
export interface PeerLink {
  request(message: PeerMessage, timeoutMs: number): Promise<PeerMessage>;
}

export interface ExchangeProgress {
  /** Tree levels compared (1 when the roots agree). */
  readonly levels: number;
  readonly differingLeaves: number;
  /** Keys listed by either side in the differing leaves. */
  readonly keysCompared: number;
  /** Records sent to the peer (RecordsPut). */
  readonly recordsSent: number;
  /** Non-empty records received from the peer and folded here. */
  readonly recordsReceived: number;
  /** Payload bytes of requests sent and replies received. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/**
 * in-sync: the roots agreed. repaired: the trees differed and every differing
 * leaf was compared and repaired. no-local-tree / no-peer-tree: one side
 * keeps no such tree (being built, or ring views differ), found at the start
 * or midway: skipped, not an error (what was repaired stays repaired); the
 * scheduler tries again later.
 */
export type ExchangeOutcome = 'in-sync' | 'repaired' | 'no-local-tree' | 'no-peer-tree';

export interface ExchangeResult extends ExchangeProgress {
  readonly outcome: ExchangeOutcome;
}

export type ExchangeErrorCode =
  | 'EXCHANGE_ABORTED'      // the caller's AbortSignal fired
  | 'EXCHANGE_TIMEOUT'      // a request got no reply within its timeout
  | 'EXCHANGE_PEER_FAILED'  // the link failed the request (PeerError as cause)
  | 'EXCHANGE_BAD_REPLY'    // the reply was malformed or does not answer the request
  | 'EXCHANGE_TOO_LARGE';   // a leaf listing or a record cannot fit one frame (responder side)

export class ExchangeError extends Error {
  constructor(readonly code: ExchangeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExchangeError';
  }
}

export type ExchangeTimers = HandoffTimers;

export interface ExchangeOptions {
  /** The tree to compare (a replica-set id, "n1,n2,n3"). */
  readonly treeId: string;
  readonly local: LocalReplica;
  readonly peer: PeerLink;
  readonly signal?: AbortSignal;
  readonly requestTimeoutMs?: number;
  /** Shared by a node's exchanges so their sum keeps to one rate; else one at exchangeRateBytesPerSecDefault. */
  readonly throttle?: ByteThrottle;
  readonly timers?: ExchangeTimers;
  /** Called after every step that changed a count, with a snapshot. Must not throw. */
  readonly onProgress?: (progress: ExchangeProgress) => void;
}

/** A throttle at `rateBytesPerSec` with exchangeBurstMs of burst: what a node shares between its exchanges. */
export function exchangeThrottle(rateBytesPerSec: number = exchangeRateBytesPerSecDefault, timers: ExchangeTimers = realHandoffTimers): ByteThrottle {
  return new ByteThrottle(rateBytesPerSec, (rateBytesPerSec * exchangeBurstMs) / 1000, timers.now());
}

/** Runs one exchange of one tree with one peer. Rejects with ExchangeError (or the LocalReplica's own error). */
export function exchange(options: ExchangeOptions): Promise<ExchangeResult> {
  return new Exchange(options).run();
}

/** A leaf's keys that need moving, found by comparing both sides' entries. */
interface LeafDiff {
  /** The peer lists them and we do not, or with another hash: fetch, fold, then maybe send back. */
  readonly fetch: Buffer[];
  /** Only we list them: send. */
  readonly send: Buffer[];
}

const scratch = new Uint32Array(2);

class Exchange {
  private readonly treeId: string;
  private readonly local: LocalReplica;
  private readonly peer: PeerLink;
  private readonly timers: ExchangeTimers;
  private readonly throttle: ByteThrottle;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  /** The local tree's, taken when the walk starts: the peer's listings are checked against it. */
  private leafBits = 0;
  private readonly counts = { levels: 0, differingLeaves: 0, keysCompared: 0, recordsSent: 0, recordsReceived: 0, bytesSent: 0, bytesReceived: 0 };

  constructor(private readonly options: ExchangeOptions) {
    this.treeId = options.treeId;
    this.local = options.local;
    this.peer = options.peer;
    this.timers = options.timers ?? realHandoffTimers;
    this.throttle = options.throttle ?? exchangeThrottle(exchangeRateBytesPerSecDefault, this.timers);
    const timeoutMs = options.requestTimeoutMs ?? exchangeRequestTimeoutMsDefault;
    assert(timeoutMs > 0 && timeoutMs <= requestTimeoutMsMax, `requestTimeoutMs ${timeoutMs} outside 1..${requestTimeoutMsMax}`);
    this.timeoutMs = timeoutMs;
    this.signal = options.signal;
  }

  async run(): Promise<ExchangeResult> {
    this.checkAborted();
    const outcome = await this.walk();
    return { outcome, ...this.counts };
  }

  /** Descends from the root through the differing nodes; repairs the differing leaves a chunk at a time. */
  private async walk(): Promise<ExchangeOutcome> {
    const tree = this.local.tree(this.treeId);
    if (tree === undefined) return 'no-local-tree';
    this.leafBits = tree.leafBits;
    let differing: number[] = [];
    for (let level = 0; level <= tree.depth; level++) {
      const next: number[] = [];
      // A request's worth of nodes at a time: at the leaves each chunk is repaired before the next is asked for.
      for (const indices of levelChunks(level, differing)) {
        const found = await this.compareNodes(level, indices);
        if (found === undefined) return this.local.tree(this.treeId) === undefined ? 'no-local-tree' : 'no-peer-tree';
        if (level < tree.depth) next.push(...found);
        else if (!(await this.repairLeaves(found))) return 'no-peer-tree';
      }
      if (level > 0 && differing.length === 0) break; // the difference vanished (writes meanwhile)
      this.counts.levels++;
      this.report();
      if (level === 0 && next.length === 0) return 'in-sync';
      differing = next;
    }
    return 'repaired';
  }

  /** Of `indices` at `level`, those whose hashes differ; undefined when either side lost its tree. */
  private async compareNodes(level: number, indices: number[]): Promise<number[] | undefined> {
    const payload = await this.call(MessageType.TreeLevel, encodeTreeLevel({ tree: this.treeId, level, indices }), MessageType.TreeLevelReply);
    const reply = this.decoded(() => decodeTreeLevelReply(payload, indices.length));
    // Asked again: the keeper may have dropped or replaced the tree while the request was out.
    const tree = this.local.tree(this.treeId);
    if (!reply.found || tree === undefined) return undefined;
    return differingNodes(tree, level, indices, reply.hashes);
  }

  /** Lists, compares and repairs differing leaves, one batch (one LeafEntries request) at a time. False: the peer dropped the tree. */
  private async repairLeaves(leaves: readonly number[]): Promise<boolean> {
    this.counts.differingLeaves += leaves.length;
    for (let from = 0; from < leaves.length; from += leafEntriesLeavesMax) {
      let pending = leaves.slice(from, from + leafEntriesLeavesMax);
      while (pending.length > 0) {
        const listed = await this.peerLeaves(pending);
        if (listed === undefined) return false;
        // The whole reply's differences at once: a RecordsGet carries up to 512 keys, most leaves differ in one or two.
        const diff: LeafDiff = { fetch: [], send: [] };
        for (const listing of listed) await this.diffLeaf(listing, diff);
        this.report();
        await this.repairKeys(diff);
        pending = pending.slice(listed.length);
      }
    }
    return true;
  }

  /**
   * The peer's listings of a prefix of `leaves` (all of them unless its reply
   * was truncated); undefined when it no longer keeps the tree (a ring change
   * or a rebuild began meanwhile).
   */
  private async peerLeaves(leaves: number[]): Promise<readonly LeafListing[] | undefined> {
    const payload = await this.call(MessageType.LeafEntries, encodeLeafEntries({ tree: this.treeId, leaves }), MessageType.LeafEntriesReply);
    const reply = this.decoded(() => decodeLeafEntriesReply(payload));
    if (!reply.found) return undefined;
    const listed = reply.leaves;
    const complete = reply.truncatedAfterLeaf === undefined;
    const prefix = listed.length > 0 && listed.length <= leaves.length && listed.every((l, i) => l.leaf === leaves[i]);
    if (!prefix || (complete && listed.length !== leaves.length)) {
      throw new ExchangeError('EXCHANGE_BAD_REPLY', 'LeafEntriesReply does not list the leaves asked for');
    }
    return listed;
  }

  /** Compares one leaf's entries on both sides, adding the keys that differ to `diff`. */
  private async diffLeaf(listing: LeafListing, diff: LeafDiff): Promise<void> {
    const ours = new Map<string, LeafEntry>();
    for (const e of await this.local.leafEntries(this.treeId, listing.leaf)) ours.set(e.key.toString('latin1'), e);
    const theirs = new Set<string>();
    for (const e of listing.entries) {
      const id = e.key.toString('latin1');
      if (theirs.has(id)) throw new ExchangeError('EXCHANGE_BAD_REPLY', `leaf ${listing.leaf} lists a key twice`);
      // A key outside the leaf would be fetched into a span its tree does not cover.
      if (leafOfDigest(tokenOf(e.key), this.leafBits) !== listing.leaf) {
        throw new ExchangeError('EXCHANGE_BAD_REPLY', `leaf ${listing.leaf} lists a key of another leaf`);
      }
      theirs.add(id);
      const mine = ours.get(id);
      if (mine === undefined || mine.hi !== e.hi || mine.lo !== e.lo) diff.fetch.push(e.key);
    }
    let onlyOurs = 0;
    for (const [id, e] of ours) {
      if (theirs.has(id)) continue;
      diff.send.push(e.key);
      onlyOurs++;
    }
    this.counts.keysCompared += theirs.size + onlyOurs;
  }

  private async repairKeys(diff: LeafDiff): Promise<void> {
    for (const keys of keyChunks(diff.fetch)) {
      const records = await this.local.records(keys);
      const settled = keys.filter((_, i) => !this.inFlight(records[i]!));
      if (settled.length > 0) await this.pullAndPush(settled);
    }
    for (const keys of keyChunks(diff.send)) {
      this.checkAborted();
      const records = await this.local.records(keys);
      await this.push(keys.flatMap((key, i) => (records[i]!.length > 0 && !this.inFlight(records[i]!) ? [{ key, siblings: records[i]! }] : [])));
    }
  }

  /** True when a version of the record was written here within inFlightWriteMs: the write path still moves it. */
  private inFlight(record: readonly Sibling[]): boolean {
    const now = this.timers.now();
    for (const version of record) {
      const ageMs = now - version.timestamp;
      if (ageMs >= 0 && ageMs < inFlightWriteMs) return true;
    }
    return false;
  }

  /**
   * Fetches the peer's records of `keys`, folds them here, and sends back
   * each fold the peer lacks: one RecordsGet reply at a time, so no more
   * than one reply's records (≈ recordsBytesTarget) are held at once.
   */
  private async pullAndPush(keys: readonly Buffer[]): Promise<void> {
    for (let from = 0; from < keys.length; ) {
      const asked = keys.slice(from);
      const payload = await this.call(MessageType.RecordsGet, encodeRecordsGet(asked), MessageType.RecordsGetReply);
      const theirs = this.decoded(() => decodeRecordsGetReply(payload));
      // A prefix of the keys asked, at least one: none would never end.
      if (theirs.length === 0 || theirs.length > asked.length) {
        throw new ExchangeError('EXCHANGE_BAD_REPLY', `RecordsGetReply has ${theirs.length} records for ${asked.length} keys`);
      }
      const got = asked.slice(0, theirs.length);
      await Promise.all(got.map((key, i) => (theirs[i]!.length > 0 ? this.local.apply(key, theirs[i]!) : undefined)));
      this.counts.recordsReceived += theirs.filter((r) => r.length > 0).length;
      this.report();
      this.checkAborted();
      const folded = await this.local.records(got);
      const back: RecordEntry[] = [];
      for (let i = 0; i < got.length; i++) {
        if (folded[i]!.length > 0 && !sameHash(got[i]!, folded[i]!, theirs[i]!)) back.push({ key: got[i]!, siblings: folded[i]! });
      }
      await this.push(back);
      from += got.length;
    }
  }

  /** Sends whole records, as many RecordsPut as the frame bounds need. */
  private async push(entries: readonly RecordEntry[]): Promise<void> {
    let from = 0;
    while (from < entries.length) {
      let to = from;
      let bytes = 0;
      // Up to the bytes target (a record larger than it goes alone).
      while (to < entries.length && to - from < recordsKeysMax) {
        const entryBytes = recordEntryBytes(entries[to]!.key, entries[to]!.siblings);
        if (to > from && bytes + entryBytes > recordsBytesTarget) break;
        bytes += entryBytes;
        to++;
      }
      const batch = entries.slice(from, to);
      const payload = await this.call(MessageType.RecordsPut, encodeRecordsPut(batch), MessageType.RecordsPutAck);
      const folded = this.decoded(() => decodeRecordsPutAck(payload));
      if (folded !== batch.length) throw new ExchangeError('EXCHANGE_BAD_REPLY', `RecordsPutAck for ${folded} of ${batch.length} records`);
      this.counts.recordsSent += batch.length;
      this.report();
      from = to;
    }
  }

  /** One request and its reply's payload: paced both ways, bounded in time, abortable. */
  private async call(type: number, payload: Buffer, replyType: number): Promise<Buffer> {
    await this.pace(payload.length);
    this.counts.bytesSent += payload.length;
    // Through a promise, so a link that throws instead of rejecting fails the same way.
    const request = Promise.resolve().then(() => this.peer.request({ type, payload }, this.timeoutMs));
    const reply = await this.bounded(request);
    if (reply.type !== replyType) throw new ExchangeError('EXCHANGE_BAD_REPLY', `reply of type ${reply.type} to a request of type ${type}`);
    this.counts.bytesReceived += reply.payload.length;
    this.report();
    await this.pace(reply.payload.length);
    return reply.payload;
  }

  private decoded<T>(decode: () => T): T {
    try {
      return decode();
    } catch (cause) {
      if (cause instanceof CodecError) throw new ExchangeError('EXCHANGE_BAD_REPLY', cause.message, { cause });
      throw cause;
    }
  }

  /** Waits until the throttle lets `bytes` go; abortable. */
  private async pace(bytes: number): Promise<void> {
    for (;;) {
      this.checkAborted();
      const waitMs = this.throttle.take(bytes, this.timers.now());
      if (waitMs === 0) return;
      await this.race(undefined, waitMs);
    }
  }

  /** The reply, or EXCHANGE_TIMEOUT / EXCHANGE_PEER_FAILED / EXCHANGE_ABORTED, whichever comes first. */
  private bounded(request: Promise<PeerMessage>): Promise<PeerMessage> {
    const failed = (cause: unknown) =>
      new ExchangeError('EXCHANGE_PEER_FAILED', `peer request failed: ${(cause as Error | undefined)?.message ?? String(cause)}`, { cause });
    return this.race(
      request.catch((cause: unknown) => Promise.reject(failed(cause))),
      this.timeoutMs,
    ) as Promise<PeerMessage>;
  }

  /**
   * `work` settled, else after `ms` a timeout (or, with no work, a plain
   * sleep), else the abort: whichever comes first. Leaves no timer or listener.
   */
  private race<T>(work: Promise<T> | undefined, ms: number): Promise<T | void> {
    const signal = this.signal;
    return new Promise<T | void>((resolve, reject) => {
      const settle = () => {
        this.timers.clearTimeout(handle);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        settle();
        reject(abortError(signal!));
      };
      if (signal?.aborted) return reject(abortError(signal));
      const handle = this.timers.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        if (work === undefined) resolve();
        else reject(new ExchangeError('EXCHANGE_TIMEOUT', `no reply from the peer within ${ms} ms`));
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      work?.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  private checkAborted(): void {
    if (this.signal?.aborted) throw abortError(this.signal);
  }

  private report(): void {
    this.options.onProgress?.({ ...this.counts });
  }
}

/** Nodes to ask about at `level`, one request's worth at a time: the root, then the children of the nodes that differed above. */
function* levelChunks(level: number, differingAbove: readonly number[]): Generator<number[]> {
  if (level === 0) {
    yield [0];
    return;
  }
  const parentsPerRequest = treeLevelIndicesMax >> fanoutBits;
  for (let from = 0; from < differingAbove.length; from += parentsPerRequest) {
    yield childrenOf(differingAbove.slice(from, from + parentsPerRequest));
  }
}

function abortError(signal: AbortSignal): ExchangeError {
  return new ExchangeError('EXCHANGE_ABORTED', 'exchange aborted', { cause: signal.reason });
}

/** Keys a RecordsGet at a time: at most recordsKeysMax, and about recordsBytesTarget of key bytes (at least one key). */
function keyChunks(keys: readonly Buffer[]): Buffer[][] {
  const chunks: Buffer[][] = [];
  let chunk: Buffer[] = [];
  let bytes = 0;
  for (const key of keys) {
    if (chunk.length === recordsKeysMax || (chunk.length > 0 && bytes + key.length > recordsBytesTarget)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(key);
    bytes += key.length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Whether two records of `key` hold the same versions (by record hash, as the trees compare them). */
function sameHash(key: Buffer, a: readonly Sibling[], b: readonly Sibling[]): boolean {
  const digest = tokenOf(key);
  recordHash(digest, a, scratch);
  const hi = scratch[0];
  const lo = scratch[1];
  recordHash(digest, b, scratch);
  return hi === scratch[0] && lo === scratch[1];
}
