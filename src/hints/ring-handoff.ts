// Moving data when the ring changes (Cassandra's bootstrap, decommission and
// cleanup; Riak's ownership handoff), driven by this node for itself:
//
// - Join: a new node gossips `joining`, waits until every live member has
//   heard so (from then on writes to its future spans reach it as a pending
//   replica: membership.ts pendingReplicas), waits out writes already in
//   flight, then streams every span it gains from the replica it displaces
//   (ring/changes.ts says why that one suffices) and only then turns `normal`
//   and takes reads.
// - Leave: the node gossips `leaving`, waits the same way, pushes every span
//   it holds to the node that inherits it, then gossips `left` and serves no
//   one; its heirs got every write since the start as pending replicas.
// - Cleanup: once the ring has been still for a while, a node hands every
//   record it holds but no longer replicates to the key's replicas and drops
//   it once they all acknowledged — so a copy that only a displaced node held
//   (a W=1 write, a late hint) reaches its owners instead of vanishing.
//
// Every transfer is a page of whole records folded by the receiver through the
// one merge path (range-service.ts), so a page sent twice, a restart on either
// side, or a stream that starts over costs bytes, never correctness. A
// restarted joining or leaving node starts its streaming again from the start.
// Bytes are throttled (transferBytesPerSecDefault) and every request has a timeout.

import type { Logger } from 'pino';
import type { Sibling } from '../clock/types.js';
import { encodeSiblings } from '../clock/record-codec.js';
import type { MemberStatus } from '../membership/state.js';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage } from '../peer/transport.js';
import { gainedSpans, lostSpans, spanChanges, type Ring } from '../ring/index.js';
import type { Storage } from '../storage/storage.js';
import {
  decodeRangePutAck,
  decodeRangeRecordsReply,
  encodeRangePut,
  encodeRangeRecords,
  rangePageBytesDefault,
  rangeSpansMax,
  type RangeRecordsReply,
  type RecordEntry,
  type TokenSpan,
} from './range-messages.js';
import { readSpans } from './range-service.js';
import { ByteThrottle } from './sender.js';
import type { LoadReport, StreamLoad } from './load-monitor.js';
import { StreamPacer, pacerDefaults, pacerDelayTargetMsDefault } from './stream-pacer.js';

/**
 * Streaming rate per node, both directions: 32 MiB/s. A join or a leave moves
 * a node's whole share of the data, so it should run near what a disk and a
 * LAN sustain (Cassandra's stream_throughput_outbound defaults to 24 MiB/s);
 * the throttle keeps it from starving client traffic on the same cores.
 */
export const transferBytesPerSecDefault = 32 * 1024 * 1024;
/**
 * Records folded per synchronous slice of a received page, each slice durable
 * before the next is folded: a fold costs ~10–20 µs (merge, Merkle leaf,
 * cache, batch), so a request that arrives meanwhile waits ~1 ms for the
 * slice in hand instead of ~4 ms for a whole 256 KiB page of 1 KiB records,
 * and a write arriving meanwhile (a pending replica's, which the client's
 * write waits for) commits behind one slice's batch (~64 KiB), not behind a
 * batch of the rest of the page.
 */
export const applySliceRecords = 64;
/** A page is read, sent and folded within this; far above the ~15 ms a 256 KiB page takes. */
export const transferRequestTimeoutMs = 10_000;
/**
 * After every live member has heard of a join or a leave, writes they started
 * before still finish (a forwarded write waits up to ~3 request timeouts):
 * streaming waits this long more, so none of them lands behind the stream.
 */
export const inFlightWritesSettleMs = 4_000;
/** Pause before trying a failed step again (a source down, a page lost). */
export const retryDelayMs = 1_000;
/**
 * Cleanup waits until the ring has been still this long: a node still hearing
 * the change (gossip reaches hundreds of members in ~4 s) may send it a write
 * or a read for a span it gave up; after that nothing new arrives there.
 */
export const cleanupSettleMs = 10_000;
/** How often cleanup looks whether there is anything to do. */
export const cleanupIntervalMs = 3_000;
/**
 * A seed joins without streaming when every owner started within this of it:
 * nodes started together form a cluster (`ringkv cluster`, one seed list for
 * all). A seed started with an empty disk into a cluster running longer than
 * this streams like any new node.
 */
export const formationWindowMs = 60_000;
/** Cleanup's hand-over window when none is given: half the default tombstone grace (1 day). */
export const handOverWindowMsDefault = 12 * 60 * 60 * 1000;
/** A cleanup pass that skipped spans (a replica down) is tried again after this. */
export const cleanupRetryMs = 30_000;
/** Even with no ring change, cleanup walks again this often, for records that reached a non-replica late (a stale view's write). */
export const cleanupRepeatMs = 10 * 60 * 1000;
/**
 * How long RING LEAVE waits for a cleanup pass already under way: the pass
 * hands records this node no longer replicates to their replicas, and a node
 * that left half way through would take the rest with it. A pass over a big
 * store may take longer; the leave is then refused with the reason and can be
 * asked again.
 */
export const leaveCleanupWaitMs = 60_000;

/** What ring-handoff needs of membership (membership.ts Membership). */
export interface HandoffMembership {
  readonly n: number;
  ring(): Ring;
  futureRing(): Ring;
  selfStatus(): MemberStatus;
  setStatus(status: MemberStatus): void;
  /** A peer has answered this node's gossip (Membership.heardCluster). */
  heardCluster(): boolean;
  /** Heard, and some member owns the ring: requests can be served. */
  joined(): boolean;
  isUp(id: string): boolean;
  checkLeave(): void;
  /** Up members that do not yet hold this node's current status. */
  selfStateNotYetSeenBy(): Promise<string[]>;
  /** The dead member this node replaces (`--replace`): same tokens, older generation. */
  replacedMember(): string | undefined;
  /** Removes a dead member from the ring (Membership.remove). */
  removeMember(id: string): void;
  /** The generations (start times, ms) of the members that own the ring now. */
  ownerGenerations(): number[];
  /** Members joining or leaving, other than this node. */
  changing(): readonly { id: string; status: MemberStatus }[];
  onChange(listener: () => void): () => void;
}

export interface HandoffTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `callback` after the I/O waiting now (a page's slices yield with it); without it, a 0 ms timeout. */
  setImmediate?(callback: () => void): unknown;
}

const realTimers: HandoffTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (callback) => setImmediate(callback),
};

export interface RingHandoffOptions {
  readonly selfId: string;
  readonly membership: HandoffMembership;
  readonly storage: Storage;
  readonly request: (id: string, message: PeerMessage, timeoutMs: number) => Promise<PeerMessage>;
  /** Folds a whole record into the local one (Coordinator.applyLocal). */
  readonly apply: (key: Buffer, siblings: readonly Sibling[]) => Promise<unknown>;
  /**
   * Hands every hint this node keeps to the keys' other replicas and deletes
   * it (a leaving node); resolves with how many, rejects when one could not be
   * handed over (the leave tries again).
   */
  readonly handOverHints?: () => Promise<number>;
  /** Makes a status durable before it is gossiped (identity.ts saveStatus). */
  readonly persistStatus: (status: MemberStatus) => Promise<void>;
  readonly logger: Logger;
  readonly gossipIntervalMs: number;
  /** This start's generation (identity.ts): when the node started, ms. */
  readonly selfGeneration: number;
  /** This node's own address is in its seed list: it founds the cluster with the other seeds. */
  readonly foundingSeed?: boolean;
  /** The streaming rate; with load, its ceiling (stream-pacer.ts). */
  readonly transferBytesPerSec?: number;
  /**
   * This node's load monitor (load-monitor.ts), which the node owns and runs
   * from start to stop. Given, streams yield to client traffic: the rate
   * backs off while this node's delay, or that of a source or receiver
   * (returned with its pages), is above the target (stream-pacer.ts). Each
   * page this node streams marks its window as streaming.
   */
  readonly load?: StreamLoad;
  /** The least loop delay streams are cut above (pacerDelayTargetMsDefault); 0 streams at transferBytesPerSec whatever the delay. */
  readonly streamDelayTargetMs?: number;
  /** Spans per range request (rangeSpansMax by default); the simulation asks one at a time, so a stream spans many round trips. */
  readonly spansPerRequest?: number;
  readonly settleMs?: number;
  readonly cleanupSettleMs?: number;
  /**
   * Cleanup hands over only records with a version younger than this, and
   * drops older ones unsent: half the tombstone grace (the node passes it), so
   * no version it sends can be older than a delete the receivers could have
   * reaped (a reaped delete is older than the grace, and newer than what it
   * deleted).
   */
  readonly handOverWindowMs?: number;
  readonly now?: () => number;
  readonly timers?: HandoffTimers;
}

export type HandoffOperation = 'join' | 'leave' | 'cleanup';
export type HandoffPhase = 'announcing' | 'settling' | 'streaming' | 'done' | 'failed';

/** What `ringkv status`, RING TRANSFER and INFO show of the current or last operation. */
export interface HandoffProgress {
  readonly operation: HandoffOperation | undefined;
  readonly phase: HandoffPhase | undefined;
  /** Spans to move, and moved. */
  readonly spansTotal: number;
  readonly spansDone: number;
  readonly records: number;
  readonly bytes: number;
  readonly startedAtMs: number;
  readonly finishedAtMs: number | undefined;
  /** Why the operation is waiting or failed, for the operator. */
  readonly note: string | undefined;
  /** The rate streams are throttled to now (paced by the nodes' loop delays, stream-pacer.ts). */
  readonly rateBytesPerSec: number;
}

export class HandoffError extends Error {
  constructor(readonly code: 'HANDOFF_STOPPED' | 'HANDOFF_FAILED', message: string) {
    super(message);
    this.name = 'HandoffError';
  }
}

export class RingHandoff {
  /** Totals since start, for INFO. */
  readonly stats = { recordsReceived: 0, recordsSent: 0, bytesReceived: 0, bytesSent: 0, recordsCleaned: 0 };
  private progressState: {
    operation: HandoffOperation | undefined; phase: HandoffPhase | undefined; spansTotal: number; spansDone: number;
    records: number; bytes: number; startedAtMs: number; finishedAtMs: number | undefined; note: string | undefined;
  } = { operation: undefined, phase: undefined, spansTotal: 0, spansDone: 0, records: 0, bytes: 0, startedAtMs: 0, finishedAtMs: undefined, note: undefined };
  private readonly throttle: ByteThrottle;
  private readonly rateMax: number;
  private readonly pacer: StreamPacer | undefined;
  /** The last load each peer this operation streams with reported (a source's page, a receiver's ack). */
  private readonly peerLoads = new Map<string, LoadReport>();
  private readonly now: () => number;
  private readonly timers: HandoffTimers;
  private running = false;
  private readonly sleeping = new Set<{ handle: unknown; wake: () => void }>();
  private work: Promise<void> | undefined;
  private cleanupTimer: unknown;
  private cleaning: Promise<void> | undefined;
  private ringChangedAtMs: number;
  private lastRing: Ring | undefined;
  private cleanedRing: Ring | undefined;
  private cleanedAtMs = 0;
  private cleanupSkipped = false;
  private unsubscribe: (() => void) | undefined;
  /** Set from a RING LEAVE's start until its status is durable, so no cleanup pass starts in between. */
  private leaveRequested = false;
  /** (source, span) pairs this join has streamed whole, so a retried step resumes rather than starts over. */
  private readonly streamed = new Set<string>();

  constructor(private readonly options: RingHandoffOptions) {
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
    const rate = options.transferBytesPerSec ?? transferBytesPerSecDefault;
    this.rateMax = rate;
    this.throttle = new ByteThrottle(rate, rate / 4, this.now());
    const delayTargetMs = options.streamDelayTargetMs ?? pacerDelayTargetMsDefault;
    if (options.load !== undefined && delayTargetMs > 0) this.pacer = new StreamPacer({ ...pacerDefaults(rate), delayTargetMs }, this.now());
    this.ringChangedAtMs = this.now();
  }

  progress(): HandoffProgress {
    return { ...this.progressState, rateBytesPerSec: this.pacer?.rateBytesPerSec() ?? this.rateMax };
  }

  /** Resumes a join or a leave the node was in when it stopped, and starts the cleanup loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.membership.onChange(() => {
      // A cleanup pass that skipped spans for a down replica is tried again once membership changes (it may be back).
      if (this.cleanupSkipped) this.cleanedRing = undefined;
      this.noteRing();
    });
    const status = this.options.membership.selfStatus();
    if (status === 'joining') this.work = this.runJoin();
    else if (status === 'leaving') this.work = this.runLeave();
    this.scheduleCleanup();
  }

  /** Stops every loop and transfer at its next step; a join or leave in progress resumes at the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    if (this.cleanupTimer !== undefined) this.timers.clearTimeout(this.cleanupTimer);
    this.cleanupTimer = undefined;
    for (const s of [...this.sleeping]) {
      this.timers.clearTimeout(s.handle);
      s.wake();
    }
    await Promise.allSettled([this.work, this.cleaning]);
  }

  /**
   * Starts to leave the ring (RING LEAVE): refused (MembershipError) unless
   * this node is normal, nothing else is changing and N members would remain.
   * Resolves once `leaving` is durable and announced; the streaming goes on
   * in the background (progress()).
   */
  async leave(): Promise<void> {
    this.options.membership.checkLeave();
    if (this.leaveRequested) throw new HandoffError('HANDOFF_FAILED', 'a leave is already under way');
    this.leaveRequested = true;
    try {
      await this.awaitCleanup();
      this.options.membership.checkLeave();
      if (this.work !== undefined && this.progressState.phase !== 'done' && this.progressState.phase !== 'failed') {
        throw new HandoffError('HANDOFF_FAILED', `a ${this.progressState.operation ?? 'transfer'} is already under way`);
      }
      await this.options.persistStatus('leaving');
      this.options.membership.setStatus('leaving');
      this.work = this.runLeave();
    } finally {
      this.leaveRequested = false;
    }
  }

  /** Waits, at most leaveCleanupWaitMs, for a cleanup pass under way to hand over what it must and end. */
  private async awaitCleanup(): Promise<void> {
    const cleaning = this.cleaning;
    if (cleaning === undefined || this.progressState.operation !== 'cleanup') return;
    this.options.logger.info('leave: waiting for the cleanup pass under way to end');
    let timer: unknown;
    const expired = new Promise<boolean>((resolve) => { timer = this.timers.setTimeout(() => resolve(true), leaveCleanupWaitMs); });
    const ended = await Promise.race([cleaning.then(() => false, () => false), expired]);
    this.timers.clearTimeout(timer);
    if (ended) throw new HandoffError('HANDOFF_FAILED', `a cleanup is still under way after ${leaveCleanupWaitMs / 1000} s; ask again once \`ringkv status\` shows it done`);
  }

  private async runJoin(): Promise<void> {
    const m = this.options.membership;
    this.begin('join');
    this.options.logger.info('joining: waiting to hear the cluster');
    while (this.running && !m.heardCluster()) await this.sleep(this.options.gossipIntervalMs);
    if (!this.running) return;
    // A cluster still forming has nothing this node could lack: fewer than N members own the ring (every
    // key is on all of them and on this node too once it owns), or this node is one of the seeds that
    // founded it, started together with every owner (Cassandra: seeds do not bootstrap).
    const owners = m.ownerGenerations();
    const founding = this.options.foundingSeed === true && owners.every((g) => g >= this.options.selfGeneration - formationWindowMs);
    // A replacement always streams: it takes over ranges that hold data.
    if (m.replacedMember() === undefined && (owners.length < m.n || founding)) {
      this.options.logger.info({ owners: owners.length, n: m.n, founding }, 'joining a cluster still forming: normal at once, nothing to stream');
      await this.become('normal');
      this.finish('done');
      return;
    }
    await this.retrying('joining', async () => {
      await this.announce();
      const gained = gainedSpans(m.ring(), m.futureRing(), this.options.selfId);
      this.options.logger.info({ spans: gained.length }, 'joining: streaming the spans this node gains');
      await this.pull(gained);
      const replaced = m.replacedMember();
      await this.become('normal');
      // The dead member this node replaces leaves the ring for good (as RING REMOVE would): its hints now go to this node.
      if (replaced !== undefined) {
        m.removeMember(replaced);
        this.options.logger.warn({ replaced }, 'replaced a dead member: it is removed from the ring');
      }
      this.finish('done');
      this.options.logger.info({ records: this.progressState.records, bytes: this.progressState.bytes }, 'joined: every gained span streamed; normal');
    });
  }

  private async runLeave(): Promise<void> {
    const m = this.options.membership;
    this.begin('leave');
    await this.retrying('leaving', async () => {
      await this.announce();
      const lost = lostSpans(m.ring(), m.futureRing(), this.options.selfId);
      this.options.logger.info({ spans: lost.length }, 'leaving: handing every span over to its heir');
      // An heir that is down cannot take its spans now: the span's other new replicas that are up take them
      // instead (they replicate it already), so the new list holds every write this node had; the heir
      // gets them later from them by anti-entropy or read repair.
      const up = (id: string) => id !== this.options.selfId && m.isUp(id);
      await this.push(lost.map((s) => ({ first: s.first, last: s.last, to: s.to.every(up) ? s.to : s.after.filter(up) })), false);
      // Hints this node keeps for down replicas would leave with it: each goes to the key's other replicas first.
      const handed = await this.options.handOverHints?.() ?? 0;
      if (handed > 0) this.options.logger.info({ hints: handed }, 'leaving: hints for down replicas handed to the keys\' other replicas');
      await this.become('left');
      // Nodes that have not heard yet still read this node as a replica: it is done once every live member has.
      await this.converge();
      // A hint taken as a fallback between the first handover and the ring hearing this node left.
      await this.options.handOverHints?.();
      this.finish('done');
      this.options.logger.warn({ records: this.progressState.records, bytes: this.progressState.bytes },
        'left the ring: every span handed over; this node serves no one and may be stopped');
    });
  }

  /** Runs `step` until it succeeds or the node stops, noting each failure for the operator and pausing before the next try. */
  private async retrying(doing: string, step: () => Promise<void>): Promise<void> {
    while (this.running) {
      try {
        await step();
        return;
      } catch (err) {
        if (!this.running) return;
        this.progressState.note = (err as Error).message;
        this.options.logger.warn({ err }, `${doing}: a step failed; trying again`);
        await this.sleep(retryDelayMs);
      }
    }
  }

  /** Waits until every live member holds this node's status, then for writes they started before to finish. */
  private async announce(): Promise<void> {
    this.progressState.phase = 'announcing';
    await this.converge();
    this.progressState.phase = 'settling';
    // Writes started before every member heard of the change finish meanwhile.
    await this.sleep(this.options.settleMs ?? inFlightWritesSettleMs);
    this.checkRunning();
    this.progressState.phase = 'streaming';
  }

  /** Waits until every live member holds this node's current status. */
  private async converge(): Promise<void> {
    for (;;) {
      this.checkRunning();
      const behind = await this.options.membership.selfStateNotYetSeenBy();
      if (behind.length === 0) break;
      this.progressState.note = `waiting for ${behind.join(', ')} to hear this node is ${this.options.membership.selfStatus()}`;
      await this.sleep(this.options.gossipIntervalMs);
    }
    this.progressState.note = undefined;
  }

  private async become(status: MemberStatus): Promise<void> {
    this.checkRunning();
    await this.options.persistStatus(status);
    this.options.membership.setStatus(status);
  }

  /** Streams each gained span from the replicas it displaces, or from every up old replica when one of those is down. */
  private async pull(gained: ReturnType<typeof gainedSpans>): Promise<void> {
    const m = this.options.membership;
    const replaced = m.replacedMember();
    const bySource = new Map<string, TokenSpan[]>();
    let total = 0;
    for (const span of gained) {
      // Every displaced replica (two when two nodes join at once): each holds the writes it alone may have
      // acknowledged. One that is down is waited for, as Cassandra's consistent range movement does: streaming
      // from the others could miss a write only it took, and that node, back later with versions its new owners
      // have since deleted and forgotten, must never be the one to hand them over (cleanup drops old versions).
      // A dead one is removed first (ringkv removenode); the join then goes on.
      const displaced = span.sources.filter((id) => !span.after.includes(id));
      let sources: string[];
      if (replaced !== undefined && displaced.includes(replaced)) {
        // Replacing a dead member: its spans come from every other old replica, all of which must be up (a write
        // acknowledged by two of N is on at least one of them; a W=1 write only the dead node took died with it).
        sources = span.before.filter((id) => id !== replaced && id !== this.options.selfId);
        const down = sources.filter((id) => !m.isUp(id));
        if (down.length > 0) throw new HandoffError('HANDOFF_FAILED', `replacing ${replaced}: waiting for ${down.join(', ')} to be up to stream its spans`);
      } else {
        const down = displaced.filter((id) => !m.isUp(id));
        if (down.length > 0) throw new HandoffError('HANDOFF_FAILED', `waiting for ${down.join(', ')} to be up to stream the spans it hands over (or remove it: ringkv removenode)`);
        // With no replica displaced (a ring still smaller than N), every old replica holds the span: the ones up.
        sources = span.sources.filter((id) => m.isUp(id) && id !== this.options.selfId);
      }
      if (sources.length === 0) throw new HandoffError('HANDOFF_FAILED', `no replica of span ${span.first}..${span.last} is up (${span.before.join(', ')})`);
      for (const id of sources) {
        total++;
        // A step tried again (a source restarted, a page lost) resumes: what a source already streamed is not asked again.
        if (this.streamed.has(streamedKey(id, span))) continue;
        let list = bySource.get(id);
        if (list === undefined) bySource.set(id, (list = []));
        list.push({ first: span.first, last: span.last });
      }
    }
    this.progressState.spansTotal = total;
    this.progressState.spansDone = total - [...bySource.values()].reduce((sum, l) => sum + l.length, 0);
    await Promise.all([...bySource].map(([source, spans]) => this.pullFrom(source, spans)));
  }

  /**
   * Streams `spans` from `source`, one page read ahead: the next page is
   * asked for as soon as this one arrives, so the source reads it while this
   * node folds this one (sequential pages cost the sum of both sides' work
   * per page, and the stream ran at ~15 MB/s where either side alone goes
   * ~40-60). The throttle still paces the requests; one page (256 KiB) waits
   * at most.
   */
  private async pullFrom(source: string, spans: readonly TokenSpan[]): Promise<void> {
    const ask = (group: readonly TokenSpan[], fromSpan: number, fromToken: bigint): Promise<RangeRecordsReply & { bytes: number }> => {
      const message = { type: MessageType.RangeRecords, payload: encodeRangeRecords({ spans: group, fromSpan, fromToken, bytesMax: rangePageBytesDefault }) };
      return this.options.request(source, message, transferRequestTimeoutMs).then((reply) => {
        if (reply.type !== MessageType.RangeRecordsReply) throw new HandoffError('HANDOFF_FAILED', `${source} answered a range read with type ${reply.type}`);
        return { ...decodeRangeRecordsReply(reply.payload), bytes: reply.payload.length };
      });
    };
    let ahead: { group: readonly TokenSpan[]; fromSpan: number; fromToken: bigint; reply: Promise<RangeRecordsReply & { bytes: number }> } | undefined;
    await this.eachPage(spans, async (group, fromSpan, fromToken) => {
      const asked = ahead !== undefined && ahead.group === group && ahead.fromSpan === fromSpan && ahead.fromToken === fromToken ? ahead.reply : ask(group, fromSpan, fromToken);
      ahead = undefined;
      const page = await asked;
      this.options.load?.markStreaming();
      this.peerLoads.set(source, page.load);
      if (!page.done) {
        const reply = ask(group, page.nextSpan, page.nextToken);
        // Consumed by the next call, or dropped with the stream when this one fails or the node stops.
        reply.catch(() => {});
        ahead = { group, fromSpan: page.nextSpan, fromToken: page.nextToken, reply };
      }
      await applyPage(page.entries, this.options.apply, this.yieldTurn);
      this.stats.recordsReceived += page.entries.length;
      this.stats.bytesReceived += page.bytes;
      this.counted(page.entries.length, page.bytes);
      for (let i = fromSpan; i < (page.done ? group.length : page.nextSpan); i++) this.streamed.add(streamedKey(source, group[i]!));
      if (!page.done) await this.paced(page.bytes);
      return page;
    });
    // A source done with streams no longer: its last delay holds back the others' no more.
    this.peerLoads.delete(source);
  }

  /**
   * Walks `spans` a group of spansPerRequest at a time and each group a page
   * at a time: `page` reads (or asks for) the page at a cursor and returns
   * where the next one starts. Counts the spans done for progress().
   */
  private async eachPage(
    spans: readonly TokenSpan[],
    page: (group: readonly TokenSpan[], fromSpan: number, fromToken: bigint) => Promise<{ done: boolean; nextSpan: number; nextToken: bigint }>,
  ): Promise<void> {
    const perRequest = this.options.spansPerRequest ?? rangeSpansMax;
    for (let at = 0; at < spans.length; at += perRequest) {
      const group = spans.slice(at, at + perRequest);
      let fromSpan = 0;
      let fromToken = group[0]!.first;
      for (;;) {
        this.checkRunning();
        const next = await page(group, fromSpan, fromToken);
        this.progressState.spansDone += (next.done ? group.length : next.nextSpan) - fromSpan;
        if (next.done) break;
        fromSpan = next.nextSpan;
        fromToken = next.nextToken;
      }
    }
  }

  /**
   * Sends this node's records in each span to every node in its `to` list
   * (all of them must acknowledge). With `dropAfter` (cleanup), a record is
   * deleted here once all acknowledged, unless it changed meanwhile, and spans
   * whose targets are not all up are skipped (counted) for a later pass;
   * without it (a leave), a target down fails the step, to be tried again.
   */
  private async push(spans: readonly { first: bigint; last: bigint; to: readonly string[] }[], dropAfter: boolean): Promise<{ dropped: number; skipped: number }> {
    // Spans sharing a target list travel together, a page at a time.
    const byTargets = new Map<string, { to: readonly string[]; spans: TokenSpan[] }>();
    for (const span of spans) {
      if (span.to.length === 0) continue;
      const key = [...span.to].sort().join(',');
      let group = byTargets.get(key);
      if (group === undefined) byTargets.set(key, (group = { to: span.to, spans: [] }));
      group.spans.push({ first: span.first, last: span.last });
    }
    this.progressState.spansTotal = [...byTargets.values()].reduce((sum, g) => sum + g.spans.length, 0);
    this.progressState.spansDone = 0;
    let dropped = 0;
    let skipped = 0;
    for (const { to, spans: list } of byTargets.values()) {
      if (dropAfter && to.some((id) => !this.options.membership.isUp(id))) {
        skipped += list.length;
        continue;
      }
      await this.eachPage(list, async (group, fromSpan, fromToken) => {
        const down = to.filter((id) => !this.options.membership.isUp(id));
        if (down.length > 0) throw new HandoffError('HANDOFF_FAILED', `waiting for ${down.join(', ')} to be up to take its spans`);
        this.options.load?.markStreaming();
        const page = await readSpans(this.options.storage, group, fromSpan, fromToken, rangePageBytesDefault);
        // Cleanup sends only records written lately (handOverWindowMs) and drops the rest unsent: the new
        // replicas got every older write by streaming, and an old version held here alone may be one whose
        // delete they have since reaped, which sending it would bring back.
        let send = page.entries;
        if (dropAfter) {
          const since = this.now() - (this.options.handOverWindowMs ?? handOverWindowMsDefault);
          const old: RecordEntry[] = [];
          send = [];
          for (const e of page.entries) (e.siblings.some((v) => v.timestamp >= since) ? send : old).push(e);
          if (old.length > 0) dropped += await this.drop(old);
        }
        if (send.length > 0) {
          const payload = encodeRangePut(send);
          await Promise.all(to.map(async (id) => {
            const reply = await this.options.request(id, { type: MessageType.RangePut, payload }, transferRequestTimeoutMs);
            if (reply.type !== MessageType.RangePutAck) throw new HandoffError('HANDOFF_FAILED', `${id} answered a range put with type ${reply.type}`);
            this.peerLoads.set(id, decodeRangePutAck(reply.payload).load);
          }));
          this.stats.recordsSent += send.length * to.length;
          this.stats.bytesSent += payload.length * to.length;
          this.counted(send.length, payload.length * to.length);
          if (dropAfter) dropped += await this.drop(send);
          await this.paced(payload.length * to.length);
        }
        return page;
      });
      for (const id of to) this.peerLoads.delete(id);
    }
    return { dropped, skipped };
  }

  /** Deletes records read for cleanup (sent or not), each only if it is still what was read. */
  private async drop(entries: readonly RecordEntry[]): Promise<number> {
    let dropped = 0;
    await Promise.all(entries.map((e) => {
      const sent = encodeSiblings(e.siblings);
      return this.options.storage.update(e.key, undefined, (current) => {
        if (current.length === 0 || !encodeSiblings(current).equals(sent)) return current;
        dropped++;
        return [];
      });
    }));
    this.stats.recordsCleaned += dropped;
    return dropped;
  }

  private noteRing(): void {
    const ring = this.options.membership.ring();
    if (ring !== this.lastRing) {
      this.lastRing = ring;
      this.ringChangedAtMs = this.now();
    }
  }

  private scheduleCleanup(): void {
    if (!this.running) return;
    this.cleanupTimer = this.timers.setTimeout(() => {
      this.cleanupTimer = undefined;
      this.cleaning = this.cleanup()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'cleanup pass failed; trying again later'))
        .finally(() => {
          this.cleaning = undefined;
          this.scheduleCleanup();
        });
    }, cleanupIntervalMs);
  }

  /**
   * One cleanup pass, when the ring has been still for cleanupSettleMs and
   * nothing is joining or leaving: every span this node does not replicate is
   * handed to the span's replicas, and what they all acknowledged is dropped.
   */
  private async cleanup(): Promise<void> {
    const m = this.options.membership;
    this.noteRing();
    const ring = m.ring();
    const nowMs = this.now();
    if (this.leaveRequested || m.selfStatus() !== 'normal' || !m.joined() || m.changing().length > 0 || ring.tokenCount === 0) return;
    if (nowMs - this.ringChangedAtMs < (this.options.cleanupSettleMs ?? cleanupSettleMs)) return;
    if (this.work !== undefined && this.progressState.phase !== 'done' && this.progressState.phase !== 'failed') return;
    if (ring === this.cleanedRing && nowMs - this.cleanedAtMs < cleanupRepeatMs) return;
    const foreign: { first: bigint; last: bigint; to: readonly string[] }[] = [];
    for (const span of spanChanges(ring, ring)) if (!span.before.includes(this.options.selfId)) foreign.push({ first: span.first, last: span.last, to: span.before });
    const progressBefore = this.progressState;
    this.begin('cleanup');
    this.progressState.phase = 'streaming';
    try {
      const { dropped, skipped } = await this.push(foreign, true);
      this.finish('done');
      // With a replica down some spans wait; the pass is repeated after a while rather than every tick.
      this.cleanedRing = ring;
      this.cleanupSkipped = skipped > 0;
      this.cleanedAtMs = skipped > 0 ? this.now() - cleanupRepeatMs + cleanupRetryMs : this.now();
      if (dropped > 0 || skipped > 0) {
        this.options.logger.info({ dropped, spansSkipped: skipped }, 'cleanup: records this node no longer replicates handed to their replicas and dropped');
      } else if (progressBefore.operation !== undefined && progressBefore.operation !== 'cleanup') {
        this.progressState = progressBefore;
      }
    } catch (err) {
      this.finish('failed');
      this.progressState.note = (err as Error).message;
      throw err;
    }
  }

  private begin(operation: HandoffOperation): void {
    if (operation === 'join') this.streamed.clear();
    if (this.pacer !== undefined) {
      // Each operation's stream starts at the start rate, whatever the last one ended at.
      const rate = this.pacer.restart(this.now());
      this.throttle.setRate(rate, rate / 4, this.now());
    }
    // The peers' loads heard so far are the last operation's.
    this.peerLoads.clear();
    this.progressState = {
      operation, phase: 'announcing', spansTotal: 0, spansDone: 0, records: 0, bytes: 0, startedAtMs: this.now(), finishedAtMs: undefined, note: undefined,
    };
  }

  private finish(phase: 'done' | 'failed'): void {
    this.progressState.phase = phase;
    this.progressState.finishedAtMs = this.now();
    if (phase === 'done') this.progressState.note = undefined;
  }

  private counted(records: number, bytes: number): void {
    this.progressState.records += records;
    this.progressState.bytes += bytes;
  }

  /**
   * Waits as the throttle says before the next page, the throttle's rate set
   * by the pacer once a window from this node's load and its peers' last.
   */
  private async paced(bytes: number): Promise<void> {
    const pacer = this.pacer;
    const load = this.options.load;
    // Also marked when the page came or was read: its fold or send may have run on into the next window.
    load?.markStreaming();
    if (pacer !== undefined && pacer.due(this.now())) {
      const rate = pacer.adjust([load!.report(), ...this.peerLoads.values()], this.now());
      this.throttle.setRate(rate, rate / 4, this.now());
    }
    for (let wait = this.throttle.take(bytes, this.now()); wait > 0; wait = this.throttle.take(bytes, this.now())) {
      await this.sleep(wait);
      this.checkRunning();
    }
  }

  private readonly yieldTurn = (): Promise<void> => new Promise((resolve) => {
    if (this.timers.setImmediate !== undefined) this.timers.setImmediate(resolve);
    else this.timers.setTimeout(resolve, 0);
  });

  private checkRunning(): void {
    if (!this.running) throw new HandoffError('HANDOFF_STOPPED', 'node stopping');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { handle: undefined as unknown, wake: resolve };
      entry.handle = this.timers.setTimeout(() => {
        this.sleeping.delete(entry);
        resolve();
      }, ms);
      this.sleeping.add(entry);
    });
  }
}

/**
 * Folds a page's records a slice at a time (applySliceRecords), each slice
 * durable before the next is folded, and awaits `yieldTurn` between slices so
 * client requests to this node interleave with the stream. Folding on while
 * a slice is written would gather the rest of the page into the next group
 * commit (storage/group-commit.ts), and a client's write arriving then would
 * wait for that whole batch: in stream-cost, a probe write during a 20 MB/s
 * fold waited p50 0.2 ms either way but p99 ~25 ms that way, ~12–17 ms this
 * way. Resolves once every record is durable, rejects with the first fold that
 * failed (the slices after its slice are not folded: the page is asked again).
 */
export async function applyPage(
  entries: readonly RecordEntry[],
  apply: (key: Buffer, siblings: readonly Sibling[]) => Promise<unknown>,
  yieldTurn: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
  sliceRecords = applySliceRecords,
): Promise<void> {
  // Each fold's failure is caught at once: one rejecting before its slice is awaited must not go unhandled.
  let failure: { err: unknown } | undefined;
  const fail = (err: unknown): void => { failure ??= { err }; };
  for (let at = 0; at < entries.length && failure === undefined; at += sliceRecords) {
    if (at > 0) await yieldTurn();
    const end = Math.min(entries.length, at + sliceRecords);
    const folds: Promise<unknown>[] = [];
    for (let i = at; i < end; i++) {
      // apply may throw synchronously (a store closing): that fails the page the same way.
      try {
        folds.push(apply(entries[i]!.key, entries[i]!.siblings).catch(fail));
      } catch (err) {
        fail(err);
      }
    }
    await Promise.all(folds);
  }
  if (failure !== undefined) throw failure.err;
}

function streamedKey(source: string, span: TokenSpan): string {
  return `${source}:${span.first}:${span.last}`;
}
