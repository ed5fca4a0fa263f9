// The coordinator: every client read and write becomes a quorum operation
// over the key's preference list (Dynamo §4.5). Writes are versioned at a
// node of the preference list (a node outside it forwards the write there, so
// only replicas ever mint clock entries), stored locally, sent to the other
// replicas and acknowledged at W; reads ask the N replicas, answer at R with
// the reconciled record, and repair replicas found behind once the rest of
// the answers are in (read repair).
//
// Why forward writes instead of coordinating anywhere: a clock entry per
// coordinating node would grow every clock with the cluster size (Riak moved
// to vnode clocks for this reason), and the forward costs one hop only when
// the client's node is not a replica — never in a cluster of N nodes or fewer.

import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import type { Sibling, VClock } from '../clock/types.js';
import type { Actor } from '../storage/actor.js';
import {
  decodeReplicaDeltaPutReply, decodeReplicaGetReply, encodeReplicaDeltaPut, encodeReplicaGet, encodeReplicaPut, type DeltaReply, type ReplicaDeltaPut,
} from './replica-messages.js';
import { keepState } from '../crdt/state-cache.js';
import { chainOf, recordBytesEstimate, valueBytesOf, withValue } from '../crdt/value-chain.js';
import { applyDelta, deltaLimitsDefault, deltaWorthIt, encodeDelta, valueDigest, type DeltaLimits, type VersionDelta } from './delta.js';
import { leavesNothingStale, live, reconcile } from '../clock/siblings.js';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage, Transport } from '../peer/transport.js';
import { tokenOf } from '../storage/keys.js';
import type { Storage, UpdateOptions } from '../storage/storage.js';
import type { ClusterView } from './cluster-view.js';
import {
  ClusterUnavailableError, HintsOffError, KeyPresentError, NotJoinedError, QuorumError, RecordTooLargeError, SiblingLimitError, ValueTooLargeError,
} from './errors.js';
import { frameBytesMax } from '../peer/frame.js';
import { callQuorum } from './quorum-call.js';
import { decodeCoordinatePutReply, encodeCoordinatePut, operationIdBytes, type CoordinatePutRequest } from './messages.js';
import { randomBytes } from 'node:crypto';
import { checkRecordContext, foldVersions, newVersion, onlyWhereAbsent, takeMinted, type Minted, type Mutation } from './versioning.js';
import { quorumRead, type ReadReplicas } from './quorum-read.js';
import { KeyspaceScanner, type ScanResult } from './keyspace.js';
import { Collector } from './collector.js';
import { QuorumLog } from './quorum-log.js';
import { StateChanges } from '../logs/state-changes.js';

/**
 * The largest value that fits a ReplicaPut frame, keeping room for the key,
 * clocks and siblings' metadata: a larger one could be stored here but never
 * replicated, so it is refused when N > 1.
 */
export const replicatedValueBytesMax = frameBytesMax - 1024 * 1024;
/**
 * A whole record (every sibling) travels in one ReplicaPut or ReplicaGet
 * reply frame; a coordinator refuses a write that would grow the record past
 * this, so a key never becomes unreadable for being too big to send.
 */
export const replicatedRecordBytesMax = frameBytesMax - 64 * 1024;

/** The many-siblings warning: once per key per this long, for at most this many keys remembered (logs/state-changes.ts). */
const siblingsWarnEveryMs = 60_000;
const siblingsWarnKeysMax = 1024;
/** A key is remembered for the warning by its first bytes: enough to tell keys apart, bounded whatever the key's size. */
const siblingsWarnKeyBytes = 128;

/** Slack on a forwarded write's timeout beyond the replica's own quorum wait. */
const forwardMarginMs = 250;

export interface CoordinatorOptions {
  readonly requestTimeoutMs: number;
  /** Writes that would leave more siblings than this are refused (Riak: max_siblings 100). */
  readonly siblingsMax: number;
  /** Records growing past this many siblings are logged (Riak: warn_siblings 25). */
  readonly siblingsWarn: number;
  readonly tombstoneGraceMs: number;
  /** This node's write actor: the dots it mints (storage/actor.ts). */
  readonly actor: Actor;
  /** Hints this node keeps as a fallback; absent = hints off (--hint-window-ms 0): a down primary is a failed replica. */
  readonly hints?: HintSink;
  /** Background repairs in flight; past it a repair is skipped and left to anti-entropy. */
  readonly readRepairsInFlightMax: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * When a write's delta replaces its whole record (delta.ts): the named
   * limits by default. recordBytesMin Infinity replicates every write whole
   * (the benchmark's "before"); the simulation uses 0 and 0 so its small
   * collections take the delta path.
   */
  readonly deltas?: DeltaLimits;
}

/**
 * The options CONFIG SET may change while the node runs (README
 * "Configuration"), read at each use: a change applies to the requests that
 * start after it; one in flight keeps the timeout it started with.
 */
export interface CoordinatorTunables {
  requestTimeoutMs: number;
  siblingsMax: number;
  siblingsWarn: number;
}

export interface PutOptions {
  readonly w: number;
  /** The causal context the client supplied (SET … VCLOCK); absent = everything the coordinator knows. */
  readonly context?: VClock;
  /** Count only the key's primaries toward W (Riak's PW; CONSISTENCY … STRICT); default sloppy. */
  readonly strict?: boolean;
}

/**
 * Where a fallback keeps the writes it takes for a down primary (hints/).
 * The coordinator only stores and reads hints; handing them off is the
 * hints/ sender's job.
 */
export interface HintSink {
  /** Folds the versions into the hint for (target, key); resolves once durable; rejects when the target's hints are full. */
  add(target: string, key: Buffer, siblings: readonly Sibling[], nowMs: number): Promise<void>;
  /** Every hinted version of the key, any target. */
  versionsOf(key: Buffer): Sibling[];
  /** Hints waiting per target (INFO, ringkv status). */
  pending(): ReadonlyMap<string, { readonly count: number; readonly bytes: number }>;
  readonly stats: { readonly stored: number; readonly delivered: number; readonly dropped: number; readonly expired: number };
}

export interface PutResult {
  /** The coordinator's record after the write. */
  readonly stored: readonly Sibling[];
  /** The version the write made (an operation's reply, e.g. INCR's new value, is read from it). */
  readonly version: Sibling;
  /**
   * Every primary was down: only fallbacks hold the write, as hints, so it
   * lasts only as long as the hint window unless a primary returns in time.
   */
  readonly hintedOnly?: true;
  /** What the operation answered beside its state (SADD's or ZADD's count, LPOP's elements; crdt/operation.ts Operated), encoded by its type. */
  readonly outcome?: Buffer;
}

/** What a write's change made, read by its coordinator right after the store ran it. */
interface MadeVersion {
  record: Sibling[] | undefined;
  version: Sibling | undefined;
  /** What the version's operation gave beside it (versioning.ts takeMinted), taken as it was made. */
  minted: Minted | undefined;
}

/** The result of a write that made `version`, with its operation's outcome when there is one. */
function putResult(stored: readonly Sibling[], version: Sibling, outcome: Buffer | undefined, hintedOnly?: true): PutResult {
  const result: { -readonly [K in keyof PutResult]: PutResult[K] } = { stored, version };
  if (hintedOnly === true) result.hintedOnly = true;
  if (outcome !== undefined) result.outcome = outcome;
  return result;
}

export class CoordinatorStats {
  readRepairs = 0;
  readRepairsSkipped = 0;
  readQuorumFailures = 0;
  writeQuorumFailures = 0;
  siblingReads = 0;
  forwardedWrites = 0;
  siblingLimitRefusals = 0;
  /** Writes that sent at least one copy to a fallback (sloppy quorum). */
  writesWithFallbacks = 0;
  /** Reads that asked at least one fallback. */
  readsWithFallbacks = 0;
  /** Hinted copies this node took as a fallback. */
  hintsTaken = 0;
  /** Writes this node coordinated as a fallback because every primary of the key was down. */
  fallbackCoordinated = 0;
  /** Replica writes sent as a delta instead of the whole record (delta.ts). */
  deltasSent = 0;
  /** Deltas a replica answered by asking for the whole record (it lacked a base, or rebuilt other bytes): each cost one more round trip. */
  deltaFallbacks = 0;
  /** Of those, the replica rebuilt bytes other than this node's: a bug to look into, never a divergent version (the whole record went instead). */
  deltaMismatches = 0;
  /** Deltas this node, as a replica, rebuilt and stored. */
  deltasApplied = 0;
  /** Deltas this node, as a replica, already held (a duplicate, or delayed past a newer write). */
  deltasHeld = 0;
}

export class Coordinator {
  readonly stats = new CoordinatorStats();
  readonly now: () => number;
  private readRepairsInFlight = 0;
  /** What a quorum read asks of this node (quorum-read.ts). */
  private readonly readReplicas: ReadReplicas;
  private readonly keyspace: KeyspaceScanner;
  /** Removes tombstones and expired values past their grace period. */
  readonly collector: Collector;
  /** Their start values come from `options`; retune() changes them (CONFIG SET). */
  private readonly tunables: CoordinatorTunables;
  /** Quorum failures and many-siblings warnings, logged once per episode or period rather than per request. */
  private readonly quorumLog: QuorumLog;
  private readonly siblingsWarned = new StateChanges<'many'>({ keysMax: siblingsWarnKeysMax, repeatAfterMs: siblingsWarnEveryMs });

  constructor(
    readonly storage: Storage,
    readonly view: ClusterView,
    private readonly transport: Transport | undefined,
    readonly options: CoordinatorOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.tunables = { requestTimeoutMs: options.requestTimeoutMs, siblingsMax: options.siblingsMax, siblingsWarn: options.siblingsWarn };
    this.quorumLog = new QuorumLog(options.logger, this.now);
    this.readReplicas = {
      selfId: view.selfId,
      readLocal: (key, token) => this.localVersions(key, token),
      readRemote: (id, key) => this.readRemote(id, encodeReplicaGet(key)),
      repair: (key, token, merged, behind) => this.readRepair(key, token, merged, behind),
      isUp: (id) => this.view.isUp(id),
    };
    this.keyspace = new KeyspaceScanner(storage, view, transport, () => this.tunables.requestTimeoutMs, this.now);
    this.collector = new Collector(this, options.tombstoneGraceMs, options.logger);
  }

  get selfId(): string {
    return this.view.selfId;
  }

  /** Changes the limits CONFIG SET may change; the caller has checked them (cli/runtime-config.ts). */
  retune(changes: Partial<CoordinatorTunables>): void {
    const next = { ...this.tunables, ...changes };
    assert(Number.isSafeInteger(next.requestTimeoutMs) && next.requestTimeoutMs > 0, 'requestTimeoutMs must be a positive integer');
    assert(Number.isSafeInteger(next.siblingsWarn) && next.siblingsWarn >= 1 && next.siblingsWarn <= next.siblingsMax, 'siblingsWarn must be 1..siblingsMax');
    Object.assign(this.tunables, next);
  }

  /** The limits in force now. */
  limits(): Readonly<CoordinatorTunables> {
    return this.tunables;
  }

  /**
   * The key's reconciled record from R replicas (tombstones and expired
   * versions included). Synchronous when this node is the only replica, so a
   * single-node GET costs no promise.
   */
  get(key: Buffer, r: number, strict = false): Sibling[] | Promise<Sibling[]> {
    if (!this.view.joined()) return Promise.reject(new NotJoinedError());
    const token = this.routingToken(key);
    const primaries = this.replicasOf(key, token);
    const pending = this.pendingOf(token);
    if (pending.length === 0 && primaries.length === 1 && primaries[0] === this.selfId && r <= 1) return this.storage.get(key, token);
    // While the ring changes, the key's pending replicas are read too, and each adds one answer to R:
    // R of the answers then come from the old list and R from the new one (membership.ts pendingReplicas).
    const replicas = pending.length === 0 ? primaries : [...primaries, ...pending];
    const needed = pending.length === 0 ? r : Math.min(r + pending.length, Math.max(r, replicas.length));
    const standIns = strict ? undefined : this.fallbackQueue(key, token, primaries.length, pending);
    return quorumRead(this.readReplicas, key, token, replicas, needed, standIns).then(
      ({ record, usedFallback }) => {
        if (usedFallback) this.stats.readsWithFallbacks++;
        if (live(record, this.now()).length > 1) this.stats.siblingReads++;
        this.quorumLog.met('read');
        return record;
      },
      (err: unknown) => {
        if (err instanceof QuorumError) {
          this.stats.readQuorumFailures++;
          this.quorumLog.failed(err);
        }
        throw err;
      },
    );
  }

  /**
   * The key's token when routing needs it. In a ring of one every key lives
   * here, and the hash (xxhash-addon's native call, ~0.6-1 µs, a quarter of
   * a GET's CPU) is left to storage, which needs it only to read a record it
   * has not cached.
   */
  private routingToken(key: Buffer): Buffer | undefined {
    return this.view.memberIds().length > 1 ? tokenOf(key) : undefined;
  }

  /** The key's preference list; a ring of one (no token) is its only member. */
  private replicasOf(key: Buffer, token: Buffer | undefined): readonly string[] {
    return token === undefined ? this.view.memberIds() : this.view.preferenceList(key, token);
  }

  /**
   * True when a write of `key` would be coordinated here rather than
   * forwarded: always when the ring has no more members than N (every node
   * replicates every key), else when this node is in the key's preference list.
   */
  coordinatesLocally(key: Buffer): boolean {
    const members = this.view.memberIds();
    if (members.length <= this.view.replicationFactor()) return members.length === 0 || members.includes(this.selfId);
    return this.view.preferenceList(key, tokenOf(key)).includes(this.selfId);
  }

  put(key: Buffer, mutation: Mutation, options: PutOptions): Promise<PutResult> {
    if (!this.view.joined()) return Promise.reject(new NotJoinedError());
    const token = this.routingToken(key);
    const replicas = this.replicasOf(key, token);
    if (mutation.kind === 'value' && replicas.length > 1 && mutation.value.length > replicatedValueBytesMax) {
      return Promise.reject(new ValueTooLargeError(mutation.value.length, replicatedValueBytesMax));
    }
    const result = replicas.includes(this.selfId) ? this.coordinatePut(key, token, mutation, options, replicas) : this.forwardPut(key, mutation, options, replicas);
    // A ring of one never misses a quorum: its writes skip the watch (and its promise).
    return replicas.length > 1 ? this.quorumLog.watch('write', result) : result;
  }

  /**
   * As put, for a caller that answers only "done" (a plain SET's +OK): where
   * this node alone is the quorum (a ring of one, W=1), the store's own
   * promise, without the PutResult and the promise that would build it — on
   * the hot path of every single-node write. Otherwise put's promise.
   */
  putAcknowledged(key: Buffer, mutation: Mutation, options: PutOptions): Promise<unknown> {
    const members = this.view.memberIds();
    if (options.w > 1 || members.length !== 1 || members[0] !== this.selfId || !this.view.joined()) return this.put(key, mutation, options);
    try {
      return this.storeVersion(key, undefined, mutation, options, members, undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Versions, stores and replicates a write; this node is one of `replicas`.
   * The new record exists as soon as the local change has run (storage
   * applies changes synchronously), so it goes to the other replicas at once,
   * in parallel with the local commit: the write costs one commit latency,
   * not two in a row. The local commit is one of the W acknowledgements.
   */
  coordinatePut(key: Buffer, token: Buffer | undefined, mutation: Mutation, options: PutOptions, replicas: readonly string[]): Promise<PutResult> {
    const made: MadeVersion = { record: undefined, version: undefined, minted: undefined };
    let durable: Promise<Sibling[]>;
    try {
      durable = this.storeVersion(key, token, mutation, options, replicas, made);
    } catch (err) {
      return Promise.reject(err);
    }
    const record = made.record;
    const pending = this.pendingOf(token);
    // One replica asked for one ack: the local commit is the quorum. (No
    // record means storage refused the change, closing: `durable` rejects.)
    if ((replicas.length === 1 && options.w <= 1 && pending.length === 0) || record === undefined || made.version === undefined) {
      const { version, minted } = made;
      return durable.then((stored) => putResult(stored, version!, minted?.outcome));
    }
    const stored = record;
    const { version, minted } = made;
    return this.replicate(key, token, stored, replicas, pending, options, durable, version, minted?.delta).then(() => putResult(stored, version, minted?.outcome));
  }

  /**
   * Mints the write's version over the local record and stores the fold (the
   * store runs the change synchronously, so `made`, when given, holds the
   * new record and version once this returns); resolves once durable.
   * Throws what the change refuses (KeyPresentError, the sibling and size limits).
   */
  private storeVersion(
    key: Buffer, token: Buffer | undefined, mutation: Mutation, options: PutOptions, replicas: readonly string[], made: MadeVersion | undefined,
  ): Promise<Sibling[]> {
    return this.storage.update(key, token, (current) => {
      if (onlyWhereAbsent(mutation) && current.length > 0) throw new KeyPresentError();
      const version = newVersion(current, mutation, options.context, this.options.actor, this.now());
      // Taken whether or not the caller wants them: a chained version lives as long as its chain, and so would they.
      // Only an operation leaves any (a plain value's write skips the lookup).
      const minted = mutation.kind === 'operate' ? takeMinted(version) : undefined;
      const next = foldVersions(current, [version]);
      this.checkSiblingLimit(key, current, next);
      if (next.length > current.length) checkRecordContext(next);
      if (replicas.length > 1) this.checkRecordSize(next);
      if (made !== undefined) {
        made.record = next;
        made.version = version;
        made.minted = minted;
      }
      return next;
    });
  }

  /**
   * A delta of `version` to send replicas instead of `record`, when its
   * operation gave one and it is worth it (delta.ts deltaWorthIt); undefined
   * to send the whole record.
   */
  private deltaPayload(key: Buffer, record: readonly Sibling[], version: Sibling, delta: VersionDelta | undefined): Buffer | undefined {
    const limits = this.options.deltas ?? deltaLimitsDefault;
    if (delta === undefined || delta.endsChain === true || valueBytesOf(version) < limits.recordBytesMin) return undefined;
    // A chained version was never encoded (crdt/value-chain.ts): the replica chains the delta too, unchecked.
    const check = chainOf(version) === undefined ? { digest: valueDigest(version.value), valueBytes: version.value.length } : undefined;
    const payload = encodeReplicaDeltaPut(key, {
      version: withValue(version, emptyValue), bases: delta.bases, delta: encodeDelta(delta), ...(check === undefined ? {} : { check }),
    });
    return deltaWorthIt(recordBytesEstimate(record), payload.length, limits) ? payload : undefined;
  }

  /**
   * A delta to one replica; where the replica needs the whole record (it
   * lacks a base version, rebuilt other bytes, or is a node that predates
   * deltas and refused the message), the whole record follows: one more
   * round trip, counted. Resolves once the replica holds the version durably.
   */
  private putDelta(transport: Transport, id: string, payload: Buffer, whole: () => Promise<unknown>): Promise<unknown> {
    this.stats.deltasSent++;
    const request = transport.request(this.view.peerAddress(id), { type: MessageType.ReplicaDeltaPut, payload }, this.tunables.requestTimeoutMs, id);
    return request.then(
      (reply) => {
        const verdict = decodeReplicaDeltaPutReply(reply.payload);
        if (verdict === 'applied' || verdict === 'held') return reply;
        this.stats.deltaFallbacks++;
        if (verdict === 'mismatch') this.stats.deltaMismatches++;
        return whole();
      },
      (err: unknown) => {
        if ((err as { code?: string }).code !== 'PEER_REMOTE_ERROR') throw err;
        this.stats.deltaFallbacks++;
        return whole();
      },
    );
  }

  /**
   * A delta from a coordinator (delta.ts applyDelta): rebuilt on this node's
   * record and folded like any replica write, or answered with what the
   * coordinator must do instead. Resolves once what it answers is durable.
   */
  applyDeltaLocal(put: ReplicaDeltaPut): Promise<DeltaReply> {
    const verdict = applyDelta(this.storage.get(put.key, undefined), put);
    switch (verdict.kind) {
      case 'missing-base':
      case 'mismatch':
        return Promise.resolve(verdict.kind);
      case 'held':
        // Held, maybe by a write still committing (the original of this duplicate): answered once that is durable.
        this.stats.deltasHeld++;
        return this.storage.commitMetadata().then(() => 'held');
      case 'rebuilt':
        this.stats.deltasApplied++;
        // The next delta (or this node's next operation on the key) starts from the decoded state rather than decoding the value again.
        if (verdict.state !== undefined) keepState(verdict.version, verdict.state);
        // storage.get and this update run in one synchronous step: the record the verdict was made on is the one folded into.
        return this.applyLocal(put.key, undefined, [verdict.version]).then(() => 'applied');
    }
  }

  /** Applies versions from elsewhere (a replica write, read repair, a streamed range: `bulk`, storage.ts UpdateOptions) to this node's record. */
  applyLocal(key: Buffer, token: Buffer | undefined, incoming: readonly Sibling[], options?: UpdateOptions): Promise<Sibling[]> {
    return this.storage.update(key, token, (current) => {
      const next = foldVersions(current, incoming);
      if (next.length > this.tunables.siblingsWarn && next.length > current.length) this.warnSiblings(key, next.length);
      return next;
    }, options);
  }

  scan(cursor: bigint, count: number): Promise<ScanResult> {
    return this.keyspace.scan(cursor, count);
  }

  /** Every live key of the cluster, a page at a time (KEYS). */
  allKeys(): AsyncGenerator<Buffer[]> {
    return this.keyspace.all();
  }

  dbsize(): Promise<number> {
    return this.keyspace.count();
  }

  async flushAll(): Promise<void> {
    const down = this.view.memberIds().filter((id) => id !== this.selfId && !this.view.isUp(id));
    if (down.length > 0) {
      throw new ClusterUnavailableError(`FLUSHALL needs every member up; down: ${down.join(', ')}`);
    }
    await this.keyspace.flushAll();
  }

  private checkSiblingLimit(key: Buffer, current: readonly Sibling[], next: readonly Sibling[]): void {
    if (next.length <= current.length) return;
    if (next.length > this.tunables.siblingsMax) {
      this.stats.siblingLimitRefusals++;
      throw new SiblingLimitError(next.length, this.tunables.siblingsMax);
    }
    if (next.length > this.tunables.siblingsWarn) this.warnSiblings(key, next.length);
  }

  private checkRecordSize(next: readonly Sibling[]): void {
    const bytes = recordBytesEstimate(next);
    if (bytes > replicatedRecordBytesMax) throw new RecordTooLargeError(bytes, replicatedRecordBytesMax);
  }

  /** Once per key per siblingsWarnEveryMs, saying how many writes grew it meanwhile: a line per write would drown the log. */
  private warnSiblings(key: Buffer, count: number): void {
    const id = key.length <= siblingsWarnKeyBytes ? key.toString('latin1') : `${key.toString('latin1', 0, siblingsWarnKeyBytes)}…${key.length}`;
    const line = this.siblingsWarned.report(id, 'many', this.now());
    if (line === undefined) return;
    this.options.logger.warn({ key: key.toString('utf8', 0, Math.min(key.length, 64)), siblings: count, ...(line.unlogged > 0 ? { writesSinceLastLine: line.unlogged } : {}) },
      'key has many siblings: resolve them with SIBLINGS/VCLOCK');
  }

  /**
   * Sends the record to every other primary and counts `local` (this node's
   * commit) as one more: resolves at W acknowledgements, rejects with
   * QuorumError once W can no longer be met (quorum-call.ts). Sloppy quorum
   * (Dynamo §4.6): a primary that is down, or fails or times out on this
   * write, is replaced by the next fallback (an up node beyond the preference
   * list), which keeps the record as a hint for it and whose ack counts
   * instead. STRICT counts only primaries (the hint is still left, for the
   * primary's return). Replicas answering after the decision still get it.
   */
  private replicate(
    key: Buffer, token: Buffer | undefined, record: readonly Sibling[], primaries: readonly string[], pending: readonly string[], options: PutOptions, local: Promise<unknown>,
    version: Sibling, versionDelta: VersionDelta | undefined,
  ): Promise<void> {
    const transport = this.transport;
    const strict = options.strict === true;
    const fallbacks = this.fallbackQueue(key, token, primaries.length, pending);
    // While the ring changes, the nodes that are about to replicate the key (or
    // just stopped) get the write too, and each adds one ack to W: then the
    // old and the new preference lists both hold W copies (Cassandra's
    // pending ranges: blockFor = W + pending).
    const targets = pending.length === 0 ? primaries : [...primaries, ...pending];
    let payload: Buffer | undefined;
    // A replica that holds what the operation was built on gets only its delta; hints stay whole (a fallback holds no base).
    const delta = transport === undefined ? undefined : this.deltaPayload(key, record, version, versionDelta);
    let usedFallback = false;
    const send = (id: string, hintFor?: string): Promise<unknown> => {
      if (transport === undefined) return Promise.reject(new Error('no transport'));
      const whole = () => {
        const body = hintFor === undefined ? (payload ??= encodeReplicaPut(key, record)) : encodeReplicaPut(key, record, hintFor);
        return transport.request(this.view.peerAddress(id), { type: MessageType.ReplicaPut, payload: body }, this.tunables.requestTimeoutMs, id);
      };
      return hintFor === undefined && delta !== undefined ? this.putDelta(transport, id, delta, whole) : whole();
    };
    const hinted = (primary: string): Promise<unknown> => {
      const fallback = fallbacks.next();
      if (fallback === undefined) return Promise.reject(new QuorumError('write', options.w, 0, primaries.length, false));
      if (!usedFallback) {
        usedFallback = true;
        this.stats.writesWithFallbacks++;
      }
      // The fallback's own failure is this slot's failure: one substitute per primary per write.
      return send(fallback, primary);
    };
    const standIn = (primary: string, err: () => unknown): Promise<unknown> => {
      if (!strict) return hinted(primary);
      hinted(primary).catch(ignore);
      return Promise.reject(err());
    };
    // Built only when STRICT needs it: an error captures a stack, too dear for every hinted write.
    const primaryDown = () => new QuorumError('write', options.w, 0, primaries.length, false);
    return callQuorum<unknown>({
      operation: 'write',
      replicas: targets,
      // Capped at the targets there are: in a ring still smaller than W, a node joining it is what makes W reachable.
      needed: Math.min(options.w + pending.length, Math.max(options.w, targets.length)),
      selfIndex: targets.indexOf(this.selfId),
      ask: (id) => {
        if (id === this.selfId) return local;
        if (!this.view.isUp(id) && fallbacks.available()) return standIn(id, primaryDown);
        return send(id).catch((err: unknown) => (fallbacks.available() ? standIn(id, () => err) : Promise.reject(err)));
      },
    }).catch((err: unknown) => {
      if (err instanceof QuorumError) this.stats.writeQuorumFailures++;
      throw err;
    });
  }

  /** Nodes a write must also reach while the ring changes (ClusterView.pendingReplicas); none in a ring of one. */
  private pendingOf(token: Buffer | undefined): readonly string[] {
    if (token === undefined || this.view.pendingReplicas === undefined) return noNodes;
    return this.view.pendingReplicas(token);
  }

  /** The key's fallbacks, looked up only when a write or read first needs one; never a pending replica, which gets the write anyway. */
  private fallbackQueue(
    key: Buffer, token: Buffer | undefined, n: number, pending: readonly string[] = noNodes,
  ): { available(): boolean; next(): string | undefined; all(): readonly string[] } {
    let list: readonly string[] | undefined;
    let taken = 0;
    const lookup = (t: Buffer) => {
      const found = this.view.fallbacks(key, t, n + pending.length);
      return pending.length === 0 ? found : found.filter((id) => !pending.includes(id)).slice(0, n);
    };
    const load = () => (list ??= this.options.hints === undefined || token === undefined ? [] : lookup(token));
    return {
      available: () => taken < load().length,
      next: () => load()[taken++],
      all: load,
    };
  }

  /** Stores versions this node takes as a fallback for `target` (a hinted replica write). */
  storeHint(target: string, key: Buffer, siblings: readonly Sibling[]): Promise<void> {
    const hints = this.options.hints;
    if (hints === undefined) return Promise.reject(new HintsOffError());
    this.stats.hintsTaken++;
    return hints.add(target, key, siblings, this.now());
  }

  /**
   * Hands one hinted record to the primary it was kept for: a plain replica
   * write to that very node. Where the ring changed since (the target left or
   * was removed, or no longer replicates the key), the record goes to the
   * key's replicas now instead, and while a change is under way to its
   * pending replicas too — a hint must never land only on a node that is
   * handing the key over. Resolves once every one of them has it.
   */
  deliverHint(target: string, key: Buffer, siblings: readonly Sibling[]): Promise<void> {
    const transport = this.transport;
    if (transport === undefined) return Promise.reject(new Error('no transport'));
    const payload = encodeReplicaPut(key, siblings);
    const token = tokenOf(key);
    const replicas = this.view.preferenceList(key, token);
    const pending = this.pendingOf(token);
    const homes = replicas.includes(target) ? [target] : replicas;
    const targets = pending.length === 0 ? homes : [...new Set([...homes, ...pending])];
    return Promise.all(targets.map((id) => (id === this.selfId ? this.applyLocal(key, token, siblings) : this.putRemote(transport, id, payload)))).then(() => undefined);
  }

  /** A ReplicaPut of `payload` (encodeReplicaPut) to one node, within the request timeout. */
  private putRemote(transport: Transport, id: string, payload: Buffer): Promise<PeerMessage> {
    return transport.request(this.view.peerAddress(id), { type: MessageType.ReplicaPut, payload }, this.tunables.requestTimeoutMs, id);
  }

  /**
   * A node leaving the ring hands over a hint it still holds for a replica
   * that is down: the record goes to every other up replica of the key (and
   * its pending ones), which keep it as their own; the down replica gets it
   * from them later by anti-entropy or read repair. Resolves once at least one
   * of them holds it, so the hint may be deleted without losing the write.
   */
  async handOverHint(key: Buffer, siblings: readonly Sibling[]): Promise<void> {
    const transport = this.transport;
    if (transport === undefined) throw new Error('no transport');
    const token = tokenOf(key);
    const others = [...new Set([...this.view.preferenceList(key, token), ...this.pendingOf(token)])]
      .filter((id) => id !== this.selfId && this.view.isUp(id));
    if (others.length === 0) throw new QuorumError('write', 1, 0, 0, false);
    const payload = encodeReplicaPut(key, siblings);
    const answers = await Promise.allSettled(others.map((id) => this.putRemote(transport, id, payload)));
    const held = answers.filter((a) => a.status === 'fulfilled').length;
    if (held === 0) throw new QuorumError('write', 1, 0, others.length, answers.some((a) => a.status === 'rejected' && (a.reason as { code?: string })?.code === 'PEER_TIMEOUT'));
  }

  /** What this node holds of a key for a replica read: its record and any hints it keeps for the key. */
  localVersions(key: Buffer, token: Buffer | undefined): Sibling[] {
    const record = this.storage.get(key, token);
    const hinted = this.options.hints?.versionsOf(key);
    if (hinted === undefined || hinted.length === 0) return record;
    return record.length === 0 ? hinted : reconcile([...record, ...hinted]);
  }

  /** This node is not a replica of the key: a replica coordinates the write (tried in ring order). */
  private async forwardPut(key: Buffer, mutation: Mutation, options: PutOptions, replicas: readonly string[]): Promise<PutResult> {
    const transport = this.transport;
    const candidates = replicas.filter((id) => this.view.isUp(id));
    if (transport === undefined) {
      this.stats.writeQuorumFailures++;
      throw new QuorumError('write', options.w, 0, replicas.length, false);
    }
    if (candidates.length === 0) return this.forwardToFallback(key, mutation, options, replicas);
    this.stats.forwardedWrites++;
    const request: CoordinatePutRequest = {
      key, mutation, w: options.w, context: options.context, ...(options.strict === true ? { strict: true } : {}), ...operationId(mutation),
    };
    const payload = encodeCoordinatePut(request);
    let lastError: unknown;
    let reachedAny = false;
    for (const id of candidates) {
      let reply;
      try {
        reply = await this.requestCoordinatePut(transport, id, payload);
      } catch (err) {
        lastError = err;
        // A replica that never got the request, or died with it, is skipped: at
        // worst the write is coordinated twice and leaves a sibling of itself.
        // One that timed out is alive and deciding; a second coordinator then
        // would race it, so the client hears NOQUORUM (timed out) instead.
        if (neverReached(err, mutation)) continue;
        reachedAny = true;
        break;
      }
      reachedAny = true;
      // The replica coordinated: its outcome, success or quorum failure, is
      // final — unless it refused as no replica of the key (its view differs).
      try {
        return decodeCoordinatePutReply(reply.payload);
      } catch (err) {
        if ((err as { code?: string }).code !== 'NOT_REPLICA') throw err;
        lastError = err;
      }
    }
    // No primary ever saw the write (all died since the detector last looked): a fallback may take it.
    if (!reachedAny) return this.forwardToFallback(key, mutation, options, replicas);
    this.stats.writeQuorumFailures++;
    throw new QuorumError('write', options.w, 0, replicas.length, (lastError as { code?: string })?.code === 'PEER_TIMEOUT');
  }

  /** A forwarded write: the coordinator there waits up to twice requestTimeoutMs for its own quorum (a primary, then its fallback), so this waits longer for its verdict. */
  private requestCoordinatePut(transport: Transport, id: string, payload: Buffer) {
    return transport.request(this.view.peerAddress(id), { type: MessageType.CoordinatePut, payload }, 3 * this.tunables.requestTimeoutMs + forwardMarginMs, id);
  }

  /**
   * Every primary of the key is down: with a sloppy quorum the write still
   * succeeds on W fallbacks (Dynamo §4.6: "always writeable"). It is
   * coordinated at the key's first up fallback — one node, so successive
   * writes of the key during the outage see each other's hints and supersede
   * them instead of piling up siblings — which is this node or the one it
   * forwards to. STRICT (or hints off) refuses, as before.
   */
  private async forwardToFallback(key: Buffer, mutation: Mutation, options: PutOptions, primaries: readonly string[]): Promise<PutResult> {
    const token = tokenOf(key);
    const fallbacks = options.strict === true ? [] : this.fallbackQueue(key, token, primaries.length).all();
    const transport = this.transport;
    if (fallbacks.length === 0 || transport === undefined) {
      this.stats.writeQuorumFailures++;
      throw new QuorumError('write', options.w, 0, primaries.length, false);
    }
    if (fallbacks[0] === this.selfId) return this.coordinateAsFallback(key, token, mutation, options, primaries);
    this.stats.forwardedWrites++;
    const payload = encodeCoordinatePut({ key, mutation, w: options.w, context: options.context, fallback: true, ...operationId(mutation) });
    let lastError: unknown;
    for (const id of fallbacks) {
      if (id === this.selfId) return this.coordinateAsFallback(key, token, mutation, options, primaries);
      let reply;
      try {
        reply = await this.requestCoordinatePut(transport, id, payload);
      } catch (err) {
        lastError = err;
        if (neverReached(err, mutation)) continue;
        break;
      }
      return decodeCoordinatePutReply(reply.payload);
    }
    this.stats.writeQuorumFailures++;
    throw new QuorumError('write', options.w, 0, primaries.length, (lastError as { code?: string })?.code === 'PEER_TIMEOUT');
  }

  /**
   * Versions a write here although this node is no replica of the key, and
   * stores it only as hints: every down primary gets one, kept by this node
   * and the key's other up fallbacks (round robin when fewer fallbacks than
   * primaries are up), and the write is acknowledged once W distinct nodes
   * hold it durably. The version is minted with this node's own actor (a
   * dot is unique whoever mints it); its context is what this node knows of
   * the key — its hints, i.e. the outage's earlier writes — so it stands
   * beside, not over, a value only the down primaries hold: the primaries'
   * return shows both as siblings unless the client wrote with VCLOCK.
   */
  async coordinateAsFallback(key: Buffer, token: Buffer, mutation: Mutation, options: PutOptions, primaries: readonly string[]): Promise<PutResult> {
    const hints = this.options.hints;
    if (hints === undefined || options.strict === true) {
      this.stats.writeQuorumFailures++;
      throw new QuorumError('write', options.w, 0, primaries.length, false);
    }
    const others = this.view.fallbacks(key, token, primaries.length).filter((id) => id !== this.selfId);
    const holders = [this.selfId, ...others].slice(0, primaries.length);
    const current = this.localVersions(key, token);
    if (onlyWhereAbsent(mutation) && current.length > 0) throw new KeyPresentError();
    // Its hints go home and are dropped: this node's view of the key may lack its own earlier updates.
    const version = newVersion(current, mutation, options.context, this.options.actor, this.now(), { freshRun: true });
    const { outcome } = takeMinted(version);
    const next = foldVersions(current, [version]);
    this.checkSiblingLimit(key, current, next);
    if (next.length > current.length) checkRecordContext(next);
    this.checkRecordSize(next);
    this.stats.fallbackCoordinated++;
    this.stats.writesWithFallbacks++;
    const targetsOf = (holder: number) => primaries.filter((_, j) => j % holders.length === holder);
    const transport = this.transport;
    return callQuorum<unknown>({
      operation: 'write',
      replicas: holders,
      needed: options.w,
      selfIndex: 0,
      ask: (id, index) => {
        const targets = targetsOf(index);
        if (id === this.selfId) return Promise.all(targets.map((target) => this.storeHint(target, key, next)));
        if (transport === undefined) return Promise.reject(new Error('no transport'));
        return Promise.all(targets.map((target) =>
          transport.request(this.view.peerAddress(id), { type: MessageType.ReplicaPut, payload: encodeReplicaPut(key, next, target) }, this.tunables.requestTimeoutMs, id)));
      },
    }).then(
      (): PutResult => putResult(next, version, outcome, true),
      (err: unknown) => {
        if (err instanceof QuorumError) this.stats.writeQuorumFailures++;
        throw err;
      },
    );
  }

  /**
   * Whether every other replica of the key, asked now, holds nothing that the
   * dead versions in `dead` supersede (collector.ts explains the rule).
   * Replicas found behind are sent `dead` so a later pass can confirm.
   */
  async confirmReap(key: Buffer, dead: readonly Sibling[]): Promise<'confirmed' | 'unconfirmed' | 'repaired'> {
    const token = this.routingToken(key);
    // A node about to replicate the key must hold the delete too, or it would bring the value back once it does.
    const others = [...this.replicasOf(key, token), ...this.pendingOf(token)].filter((id) => id !== this.selfId);
    if (others.length === 0) return 'confirmed';
    if (!this.view.joined()) return 'unconfirmed';
    const request = encodeReplicaGet(key);
    const answers = await Promise.allSettled(others.map((id) => this.readRemote(id, request)));
    let verdict: 'confirmed' | 'unconfirmed' | 'repaired' = 'confirmed';
    const behind: string[] = [];
    answers.forEach((answer, i) => {
      if (answer.status === 'rejected') verdict = 'unconfirmed';
      else if (!leavesNothingStale(dead, answer.value)) behind.push(others[i]!);
    });
    if (behind.length === 0) return verdict;
    this.readRepair(key, token, dead, behind);
    return 'repaired';
  }

  /** Sends `merged` to the replicas found behind it, bounded by readRepairsInFlightMax. */
  private readRepair(key: Buffer, token: Buffer | undefined, merged: readonly Sibling[], behind: readonly string[]): void {
    let payload: Buffer | undefined;
    for (const id of behind) {
      if (this.readRepairsInFlight >= this.options.readRepairsInFlightMax) {
        this.stats.readRepairsSkipped++;
        continue;
      }
      this.readRepairsInFlight++;
      this.stats.readRepairs++;
      const done = () => {
        this.readRepairsInFlight--;
      };
      if (id === this.selfId) {
        this.applyLocal(key, token, merged).then(done, done);
      } else if (this.transport !== undefined) {
        payload ??= encodeReplicaPut(key, merged);
        this.putRemote(this.transport, id, payload).then(done, done);
      } else {
        done();
      }
    }
  }

  /** `request` is encodeReplicaGet(key). */
  private readRemote(id: string, request: Buffer): Promise<Sibling[]> {
    const transport = this.transport;
    if (transport === undefined) return Promise.reject(new Error('no transport'));
    return transport
      .request(this.view.peerAddress(id), { type: MessageType.ReplicaGet, payload: request }, this.tunables.requestTimeoutMs, id)
      .then((reply) => decodeReplicaGetReply(reply.payload));
  }
}

function ignore(): void {}

const emptyValue = Buffer.alloc(0);

const noNodes: readonly string[] = Object.freeze([]);

/**
 * A request that failed before the peer could have acted on it: another node
 * may safely take the write instead. A connection closed under a sent request
 * may have delivered it: a value written twice is one value beside itself,
 * but an operation applied twice counts twice, so for an operation it counts
 * as reached (the client hears the failure, as for any write that may or may
 * not have happened).
 */
function neverReached(err: unknown, mutation: Mutation): boolean {
  const code = (err as { code?: string }).code;
  if (code === 'PEER_CLOSED') return mutation.kind !== 'operate';
  return code === 'PEER_UNREACHABLE' || code === 'PEER_REFUSED' || code === 'PEER_WRONG_NODE';
}

/** A forwarded operation carries an id, so a duplicate of the request is answered, not applied again (replica-service.ts). */
function operationId(mutation: Mutation): { id?: Buffer } {
  return mutation.kind === 'operate' ? { id: randomBytes(operationIdBytes) } : {};
}
