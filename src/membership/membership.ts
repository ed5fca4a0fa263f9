// Cluster membership by gossip (Cassandra Gossiper, Dynamo 2007 §4.8): each
// round a node bumps its own heartbeat and exchanges digests with a random
// peer (sometimes a down one, a seed while it knows few), so every member's
// state spreads epidemically in O(log N) rounds with no coordinator. Each time
// a member's heartbeat advances as seen here (first-hand or relayed) is an
// arrival for the phi-accrual failure detector (phi.ts), whose verdict is the
// member's liveness.
// The ring holds every known member with tokens, up or down: a down node is a
// failed replica to route around, not a removed one. A dead member leaves the
// ring only when an operator removes it (`remove`, RING REMOVE): any node then
// gossips a `left` state for it, which every node keeps for leftRetentionMs
// and which a removed node started again on its old disk learns of and obeys.

import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage, Transport } from '../peer/transport.js';
import { decodeControl, encodeControl } from '../peer/codec.js';
import { pendingReplicasFor, Ring } from '../ring/index.js';
import type { MemberState, MemberStatus } from './state.js';
import {
  compareStamps, diff, digestsOf, leftAtMs, leftRetentionMs, memberStatuses, ownsFutureTokens, ownsTokens, removedState, ringPlacementChanged,
} from './state.js';
import type { Liveness } from './phi.js';
import { PhiDetector, phiSamplesMaxDefault } from './phi.js';
import type { GossipAck, GossipSyn, WireState } from './gossip.js';
import {
  answerWants, chooseTargets, fromWire, isNodeId, membersMax, parseAck, parseSyn, toWire, withinBudget,
} from './gossip.js';

/** Between memberlist's LAN 200 ms and Cassandra's 1 s: a heartbeat crosses a 100-node cluster (~7 hops) in ~4 s at ~60 bytes per member per round. */
export const gossipIntervalMsDefault = 500;
/**
 * Cassandra's and Akka's phi_convict_threshold: a member is down when the
 * silence since its last arrival had a 1 in 10^8 chance under its measured
 * rhythm. At the defaults below that is ~2–3 s in clusters of 3–10
 * (measured: README "Failure detection").
 */
export const phiConvictThresholdDefault = 8;
/**
 * Silence tolerated on top of the measured mean: a stalled event loop or a
 * garbage collection of half a second on either side, or a gossip exchange
 * lost, should not convict. Absolute, not a multiple of the gossip interval:
 * pauses are what the process does, not what gossip does.
 */
export const phiAcceptablePauseMsDefault = 500;
/**
 * The floor on the measured deviation, so the model is never surer than the
 * network deserves. On 2 nodes heartbeats arrive like a metronome (deviation
 * ~2 ms), and on 3 some pairs nearly so (under 150 ms): one lost exchange
 * then convicts a live member (0.7–1.3 times a pair-hour at 1% message loss
 * in simulation). A 200 ms floor (twice Akka's, 0.4 rounds) cut that 2–10×
 * and moved median detection by under 50 ms; from 4 nodes the measured
 * deviation (~250–450 ms) is above it anyway.
 */
export const phiStdDeviationMsMinDefault = 200;
/**
 * A member's heartbeat reaches a node about once a round in small clusters
 * and less often in large ones (measured means 500–770 ms at 3–10 nodes, one
 * in 10^4 intervals over 2 s at 10): a new member's window starts as if its
 * heartbeats came every two rounds, so its first gaps are not convicted
 * before real samples outnumber the guess.
 */
export const phiFirstIntervalRounds = 2;
/**
 * An upper bound on the silence phi may tolerate: a member silent this long
 * is down whatever its phi says, so a dead replica is routed around within
 * this even after the network taught the detector to be patient. 10 rounds;
 * phi convicts first unless the deviation passes ~800 ms.
 */
export const downAfterMsDefault = 5_000;
/** An exchange is two LAN round trips (< 1 ms each); a peer silent for a second is as good as down for this round. */
export const requestTimeoutMsDefault = 1_000;
/** setTimeout's limit (2^31 - 1 ms); a longer delay would fire at once. A check due later simply looks again then. */
const timerDelayMsMax = 2 ** 31 - 1;
/** A round starts at most 3 exchanges (live, down, seed); the bound keeps a slow network from piling them up. */
const exchangesInFlightMax = 6;

export interface SelfInfo {
  readonly id: string;
  readonly host: string;
  readonly respPort: number;
  readonly peerPort: number;
  readonly tokens: readonly bigint[];
}

export interface MembershipOptions {
  readonly self: SelfInfo;
  /** Where this node is in its life on the ring (persisted by the caller): `joining` for a new node that will stream its ranges first. Normal by default. */
  readonly status?: MemberStatus;
  /** This start's generation (identity.ts). */
  readonly generation: number;
  /** "host:peerPort"; may include this node's own address, which is skipped. */
  readonly seeds: readonly string[];
  readonly transport: Transport;
  /** Replication factor for the ring's preference lists. */
  readonly n: number;
  readonly logger: Logger;
  readonly gossipIntervalMs?: number;
  /** The failure detector: phi threshold, acceptable pause, deviation floor, and the silence that convicts whatever phi says. */
  readonly phiConvictThreshold?: number;
  readonly phiAcceptablePauseMs?: number;
  readonly phiStdDeviationMsMin?: number;
  readonly downAfterMs?: number;
  readonly requestTimeoutMs?: number;
  /** Injected for tests: the clock (ms) and the random source in [0, 1). */
  readonly now?: () => number;
  readonly random?: () => number;
  /** Injected for tests: where the gossip round is timed (virtual time in a simulation). */
  readonly timers?: GossipTimers;
}

export interface GossipTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: GossipTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface MemberView {
  readonly id: string;
  readonly host: string;
  readonly respPort: number;
  readonly peerPort: number;
  readonly status: MemberStatus;
  /** The detector's verdict when this view was taken (isUp and upSet agree with it). */
  readonly liveness: Liveness;
  readonly up: boolean;
  /** Suspicion of the member at that moment: 0 for self, Infinity before its first arrival here. */
  readonly phi: number;
  readonly vnodes: number;
  readonly generation: number;
  /** When its heartbeat last advanced as seen here (the membership clock, ms; 0 = never). Now for self. */
  readonly lastSeenMs: number;
}

export type MembershipErrorCode =
  | 'GOSSIP_INVALID'
  | 'REMOVE_UNKNOWN'     // no such member
  | 'REMOVE_SELF'        // a node cannot remove itself (decommission it)
  | 'REMOVE_UP'          // the member is up: only a dead member is removed
  | 'REMOVE_TOO_FEW'     // fewer than N members would own the ring
  | 'REMOVE_LEFT'        // it has already left
  | 'CHANGE_BUSY'        // another member is joining or leaving: one change at a time
  | 'LEAVE_NOT_NORMAL'   // only a normal member can start to leave
  | 'LEAVE_TOO_FEW';     // fewer than N members would own the ring

export class MembershipError extends Error {
  constructor(readonly code: MembershipErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MembershipError';
  }
}

export class Membership {
  readonly self: SelfInfo;
  private readonly transport: Transport;
  private readonly logger: Logger;
  private readonly n: number;
  private readonly gossipIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly selfAddress: string;
  private readonly seeds: readonly string[];
  private readonly states = new Map<string, MemberState>();
  /** Arrivals of each member's heartbeat (its (generation, version) increased here), and the verdicts. */
  readonly detector: PhiDetector;
  private readonly up = new Set<string>();
  /** A copy of `up`, replaced (never mutated) on every change, so callers may hold it. */
  private upSnapshot: ReadonlySet<string> = new Set();
  private cachedRing: Ring | undefined;
  /** The ring once every joining member is normal and every leaving one has left; the current ring when nothing is changing. */
  private cachedFutureRing: Ring | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Members whose detector history is one direct contact only (heardDirectly); bounded by the member table. */
  private readonly standInArrivals = new Set<string>();
  private readonly timers: GossipTimers;
  private timer: unknown;
  /** Wakes liveness at the earliest moment an up member would be convicted, so a verdict waits for no gossip round. */
  private checkTimer: unknown;
  private checkAtMs = Infinity;
  private running = false;
  private warnedSelfClash = false;
  /** Heard the cluster: a peer answered our gossip, or there is no seed to wait for. */
  private heard: boolean;
  /** A peer gossips that this node was removed: it must not serve (it owns nothing any more). */
  private removedSelf = false;

  constructor(options: MembershipOptions) {
    this.self = options.self;
    this.transport = options.transport;
    this.logger = options.logger;
    this.n = options.n;
    this.gossipIntervalMs = options.gossipIntervalMs ?? gossipIntervalMsDefault;
    const downAfterMs = options.downAfterMs ?? downAfterMsDefault;
    this.requestTimeoutMs = options.requestTimeoutMs ?? requestTimeoutMsDefault;
    this.now = options.now ?? monotonicNow;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? realTimers;
    assert(isNodeId(options.self.id), `bad node id ${options.self.id}`);
    assert(this.gossipIntervalMs > 0, 'gossipIntervalMs must be positive');
    assert(downAfterMs >= 3 * this.gossipIntervalMs, 'downAfterMs must span several gossip rounds');
    assert(this.requestTimeoutMs < downAfterMs, 'a gossip request must time out before its peer is declared down');
    this.detector = new PhiDetector({
      convictThreshold: options.phiConvictThreshold ?? phiConvictThresholdDefault,
      samplesMax: phiSamplesMaxDefault,
      stdDeviationMsMin: options.phiStdDeviationMsMin ?? phiStdDeviationMsMinDefault,
      acceptablePauseMs: options.phiAcceptablePauseMs ?? phiAcceptablePauseMsDefault,
      firstIntervalMs: phiFirstIntervalRounds * this.gossipIntervalMs,
      silenceMsMax: downAfterMs,
    });
    this.selfAddress = `${options.self.host}:${options.self.peerPort}`;
    this.seeds = [...new Set(options.seeds)].filter((s) => s !== this.selfAddress);
    this.states.set(this.self.id, {
      ...options.self, status: options.status ?? 'normal', generation: options.generation, version: 1,
    });
    if (options.status === 'left') this.removedSelf = true;
    this.heard = this.seeds.length === 0;
    this.up.add(this.self.id);
    this.upSnapshot = new Set(this.up);
  }

  /** Gossips at once (a starting node wants its seeds' view now), then every gossipIntervalMs. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.logger.info({ seeds: this.seeds, generation: this.selfState().generation }, 'gossip started');
    this.round();
    this.schedule();
  }

  /** Stops the loop and waits for exchanges in flight (each bounded by the request timeout). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.scheduleCheck(Infinity, 0);
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** The ring that serves reads and writes now: normal and leaving members. */
  ring(): Ring {
    if (this.cachedRing === undefined) {
      const states = [...this.states.values()];
      let owners = states.filter(ownsTokens);
      // A ring smaller than N has every key on every member, so a member joining it has nothing to stream and
      // becomes normal at once (hints/ring-handoff.ts): it owns its tokens from the start, and a cluster forming
      // (every node joining at first) can serve as soon as its members have heard each other.
      if (owners.length < this.n) owners = states.filter((s) => ownsTokens(s) || (s.status === 'joining' && s.tokens.length > 0));
      this.cachedRing = Ring.build(latestPerTokens(owners), this.n);
    }
    return this.cachedRing;
  }

  /**
   * The ring after the changes under way: joining members own their tokens,
   * leaving ones do not. The same object as ring() when nothing is changing,
   * so callers compare by identity.
   */
  futureRing(): Ring {
    const ring = this.ring();
    if (this.cachedFutureRing === undefined) {
      const changing = [...this.states.values()].some((s) => s.status === 'joining' || s.status === 'leaving');
      this.cachedFutureRing = changing ? Ring.build(latestPerTokens([...this.states.values()].filter(ownsFutureTokens)), this.n) : ring;
    }
    return this.cachedFutureRing;
  }

  /**
   * Nodes that will replicate the key once the change under way completes (a
   * joining node, the heir of a leaving one) and do not yet (Cassandra's
   * pending ranges). The coordinator asks one more answer per pending node of
   * every write and every read of the key, over its preference list and these
   * together: so at least W copies of a write, and R of the answers to a read,
   * come from each of the old and the new list, and a read meets every write
   * whichever list the reading and the writing node believed in — including
   * while some nodes have heard the change complete and others not.
   * `token` is the key's digest (tokenOf). Empty (shared) when nothing changes.
   */
  pendingReplicas(token: Buffer): readonly string[] {
    return pendingReplicasFor(this.ring(), this.futureRing(), token);
  }

  /**
   * The member this node replaces (`ringkv start --replace`): the one that
   * holds exactly this node's tokens under an older generation and has not
   * left. Undefined for an ordinary node.
   */
  replacedMember(): string | undefined {
    const self = this.selfState();
    for (const s of this.states.values()) {
      if (s.id !== self.id && s.status !== 'left' && s.generation < self.generation && sameTokens(s.tokens, self.tokens)) return s.id;
    }
    return undefined;
  }

  /** This node's own status. */
  selfStatus(): MemberStatus {
    return this.selfState().status;
  }

  /** Members joining or leaving now (a change under way), other than this node. */
  changing(): MemberState[] {
    return [...this.states.values()].filter((s) => s.id !== this.self.id && (s.status === 'joining' || s.status === 'leaving'));
  }

  /** The generations of the members that own the ring now (normal or leaving), this node excluded. */
  ownerGenerations(): number[] {
    return [...this.states.values()].filter((s) => s.id !== this.self.id && ownsTokens(s)).map((s) => s.generation);
  }

  /** Every member, sorted by id; liveness is brought up to date first, so each one's verdict matches its phi. */
  members(): MemberView[] {
    this.refreshLiveness();
    const nowMs = this.now();
    return [...this.states.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((s) => {
        const self = s.id === this.self.id;
        const up = this.up.has(s.id);
        return {
          id: s.id, host: s.host, respPort: s.respPort, peerPort: s.peerPort, status: s.status,
          liveness: up ? 'up' : 'down', up, phi: self ? 0 : this.detector.phi(s.id, nowMs),
          vnodes: s.tokens.length, generation: s.generation,
          lastSeenMs: self ? nowMs : this.detector.window(s.id)?.lastMs ?? 0,
        };
      });
  }

  /**
   * True once a peer has answered this node's gossip (or no seed is
   * configured). Until then the ring may hold only this node, and quorums
   * counted on it would be wrong, so the coordinator serves none.
   */
  joined(): boolean {
    // Heard, and some member owns the ring: in a cluster forming, every node may still be joining.
    return this.heardCluster() && this.ring().tokenCount > 0;
  }

  /** A peer has answered this node's gossip (or no seed is configured), and this node has not left. */
  heardCluster(): boolean {
    return this.heard && !this.removedSelf;
  }

  /** True once this node has heard that it was removed from the cluster (RING REMOVE elsewhere). */
  removed(): boolean {
    return this.removedSelf;
  }

  /**
   * Removes a dead member from the ring (Cassandra's `nodetool removenode`):
   * gossips a `left` state for it, so every node drops it from the ring and
   * its ranges fall to the next nodes clockwise, which anti-entropy then fills
   * from the surviving replicas. Refused for this node itself, a member that
   * is up, or one whose removal would leave fewer than N members owning the ring.
   */
  remove(id: string): void {
    const s = this.states.get(id);
    if (s === undefined) throw new MembershipError('REMOVE_UNKNOWN', `no member ${id}`);
    if (id === this.self.id) throw new MembershipError('REMOVE_SELF', `${id} is this node: decommission it, or remove it from another node once it is down`);
    if (s.status === 'left') throw new MembershipError('REMOVE_LEFT', `${id} has already left`);
    this.refreshLiveness();
    if (this.up.has(id)) throw new MembershipError('REMOVE_UP', `${id} is up: only a dead member is removed (stop it first)`);
    const owners = [...this.states.values()].filter((m) => m.id !== id && ownsTokens(m)).length;
    if (owners < this.n) throw new MembershipError('REMOVE_TOO_FEW', `removing ${id} would leave ${owners} members for N=${this.n}`);
    const removed = removedState(s, this.now());
    this.states.set(id, removed);
    this.detector.forget(id);
    this.standInArrivals.delete(id);
    this.logger.warn({ member: id, generation: s.generation }, 'member removed from the ring');
    if (ringPlacementChanged(s, removed)) this.cachedRing = undefined;
    this.cachedFutureRing = undefined;
    this.emitChange();
  }

  isUp(id: string): boolean {
    return this.up.has(id);
  }

  /** Up members, self included; a stable snapshot that later changes do not touch. */
  upSet(): ReadonlySet<string> {
    return this.upSnapshot;
  }

  /** The peer-protocol address of a known member; asking for an unknown one is a bug. */
  peerAddress(id: string): string {
    const s = this.states.get(id);
    assert(s !== undefined, `unknown member ${id}`);
    return `${s.host}:${s.peerPort}`;
  }

  /**
   * Changes this node's status (join, decommission); gossip spreads it. A node
   * that has left takes removedState's version (the wall time), as a removal
   * does, so every node knows when to forget it; it then serves no one.
   */
  setStatus(status: MemberStatus): void {
    const before = this.selfState();
    if (before.status === status) return;
    const after = status === 'left' ? removedState(before, this.now()) : { ...before, status, version: before.version + 1 };
    this.states.set(this.self.id, after);
    this.cachedRing = undefined;
    this.cachedFutureRing = undefined;
    if (status === 'left') this.removedSelf = true;
    this.emitChange();
  }

  /**
   * Checks that this node may start to leave (`ringkv decommission`): it is
   * normal, no other member is joining or leaving, and at least N members
   * would still own the ring. Throws MembershipError otherwise.
   */
  checkLeave(): void {
    const self = this.selfState();
    if (self.status !== 'normal') throw new MembershipError('LEAVE_NOT_NORMAL', `${self.id} is ${self.status}, not normal`);
    const busy = this.changing();
    if (busy.length > 0) throw new MembershipError('CHANGE_BUSY', `${busy.map((s) => `${s.id} is ${s.status}`).join(', ')}: one change at a time`);
    const owners = [...this.states.values()].filter((m) => m.id !== self.id && ownsTokens(m)).length;
    if (owners < this.n) throw new MembershipError('LEAVE_TOO_FEW', `leaving would leave ${owners} members for N=${this.n}`);
  }

  /** What this node holds for member `id` (MemberStateGet), or undefined. */
  stateOf(id: string): MemberState | undefined {
    return this.states.get(id);
  }

  /**
   * Asks the member `id` what it holds for this node: how a change to this
   * node's status is known to have reached it. Rejects on a timeout or a peer error.
   */
  async askSelfState(id: string): Promise<{ status: MemberStatus; generation: number; version: number } | undefined> {
    const reply = await this.transport.request(
      this.peerAddress(id), { type: MessageType.MemberStateGet, payload: encodeControl({ id: this.self.id }) }, this.requestTimeoutMs, id);
    if (reply.type !== MessageType.MemberStateReply) throw new MembershipError('GOSSIP_INVALID', `${id} answered a state query with type ${reply.type}`);
    const body = decodeControl<{ status?: unknown; generation?: unknown; version?: unknown } | null>(reply.payload);
    if (body === null) return undefined;
    if (typeof body.status !== 'string' || !(memberStatuses as readonly string[]).includes(body.status) || typeof body.generation !== 'number' || typeof body.version !== 'number') {
      throw new MembershipError('GOSSIP_INVALID', `${id} answered a malformed state`);
    }
    return { status: body.status as MemberStatus, generation: body.generation, version: body.version };
  }

  /**
   * Whether every other member that is up holds this node's current state
   * (this status at this generation, at least this version), asked now. The
   * list of those that do not yet, empty when all do.
   */
  async selfStateNotYetSeenBy(): Promise<string[]> {
    const self = this.selfState();
    const others = [...this.upSet()].filter((id) => id !== self.id && this.states.get(id)?.status !== 'left');
    const answers = await Promise.allSettled(others.map((id) => this.askSelfState(id)));
    return others.filter((_, i) => {
      const a = answers[i]!;
      if (a.status === 'rejected' || a.value === undefined) return true;
      return a.value.status !== self.status || a.value.generation !== self.generation;
    });
  }

  /** Called when the ring or any member's liveness changed. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Serves GossipSyn: merge the states it carries, then answer what it lacks and what we want. */
  handleMessage(from: string, msg: PeerMessage): PeerMessage {
    if (msg.type === MessageType.MemberStateGet) {
      const body = decodeControl<{ id?: unknown; tokens?: unknown }>(msg.payload);
      if (typeof body?.id !== 'string') throw new MembershipError('GOSSIP_INVALID', `bad member state query from ${from}`);
      const s = this.states.get(body.id);
      if (s === undefined) return { type: MessageType.MemberStateReply, payload: encodeControl(null) };
      this.refreshLiveness();
      // With tokens (a node about to replace this member asks for them), and whether it is up as seen here.
      const extra = body.tokens === true ? { tokens: s.tokens.map(String), up: this.up.has(s.id) } : {};
      return { type: MessageType.MemberStateReply, payload: encodeControl({ status: s.status, generation: s.generation, version: s.version, ...extra }) };
    }
    assert(msg.type === MessageType.GossipSyn, `membership got message type ${msg.type}`);
    const syn = parseSyn(decodeControl<unknown>(msg.payload));
    if (typeof syn === 'string') throw new MembershipError('GOSSIP_INVALID', `bad gossip syn from ${from}: ${syn}`);
    this.absorb(syn.states);
    this.heardDirectly(from);
    const { send, request } = diff(this.states, syn.digests);
    const theirs = new Map(syn.digests.map((d) => [d.id, d.generation]));
    const ack: GossipAck = { states: withinBudget(send.map((s) => toWire(s, theirs.get(s.id)))), wants: request };
    return { type: MessageType.GossipAck, payload: encodeControl(ack) };
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.round();
      this.schedule();
    }, this.gossipIntervalMs);
  }

  /** One gossip round: heartbeat, liveness, then exchanges that run on while the next round is timed. */
  private round(): void {
    const before = this.selfState();
    this.states.set(this.self.id, { ...before, version: before.version + 1 });
    this.forgetLeft();
    this.refreshLiveness();
    for (const address of this.targets()) this.startExchange(address);
  }

  private startExchange(address: string): void {
    if (!this.running || this.inFlight.has(address) || this.inFlight.size >= exchangesInFlightMax) return;
    const done = this.exchange(address)
      .catch((err: unknown) => this.logger.debug({ peer: address, err }, 'gossip exchange failed'))
      .finally(() => this.inFlight.delete(address));
    this.inFlight.set(address, done);
  }

  private targets(): string[] {
    const live: string[] = [];
    const down: string[] = [];
    for (const s of this.states.values()) {
      if (s.id === this.self.id || s.status === 'left') continue;
      (this.up.has(s.id) ? live : down).push(`${s.host}:${s.peerPort}`);
    }
    return chooseTargets({ live, down, seeds: this.seeds, random: this.random });
  }

  /** SYN → ACK, then a second SYN pushing what the peer asked for (its ACK is merged, its wants left to the next round). */
  private async exchange(address: string): Promise<void> {
    const ack = await this.sendSyn(address, []);
    this.absorb(ack.states);
    const responder = ack.states.find((w) => `${w.host}:${w.peerPort}` === address);
    if (responder !== undefined) this.heardDirectly(responder.id);
    if (!this.heard) {
      this.heard = true;
      this.logger.info({ peer: address }, 'joined the cluster: serving quorum reads and writes');
      this.emitChange();
    }
    if (ack.wants.length === 0) return;
    const push = withinBudget(answerWants(this.states, ack.wants));
    if (push.length === 0) return;
    const reply = await this.sendSyn(address, push);
    this.absorb(reply.states);
  }

  private async sendSyn(address: string, states: readonly WireState[]): Promise<GossipAck> {
    const syn: GossipSyn = { digests: digestsOf(this.states), states };
    const reply = await this.transport.request(
      address, { type: MessageType.GossipSyn, payload: encodeControl(syn) }, this.requestTimeoutMs);
    if (reply.type !== MessageType.GossipAck) {
      throw new MembershipError('GOSSIP_INVALID', `peer ${address} answered a gossip syn with type ${reply.type}`);
    }
    const ack = parseAck(decodeControl<unknown>(reply.payload));
    if (typeof ack === 'string') throw new MembershipError('GOSSIP_INVALID', `bad gossip ack from ${address}: ${ack}`);
    return ack;
  }

  /** Merges states from a peer: newer ones replace ours and count as heartbeat progress. */
  private absorb(incoming: readonly WireState[]): void {
    const nowMs = this.now();
    let ringChanged = false;
    const discovered: string[] = [];
    for (const w of incoming) {
      if (w.id === this.self.id) {
        if (w.status === 'left') this.noteRemoved(w);
        else this.noteSelfClash(w);
        continue;
      }
      const current = this.states.get(w.id);
      const next = fromWire(w, current);
      if (next === undefined) continue;
      if (current !== undefined && compareStamps(next, current) <= 0) continue;
      if (next.status === 'left' && nowMs - leftAtMs(next) > leftRetentionMs) continue; // long forgotten: not brought back
      // A removed member's later life (its old disk started again) stays out: it learns it left and does not serve.
      if (current?.status === 'left' && next.status !== 'left') continue;
      if (current === undefined && !this.admit(next)) continue;
      this.states.set(next.id, next);
      // A member heard of through another is asked at once: its answer is the heartbeat that shows it up
      // (heardDirectly) now rather than a gossip round or two later.
      if (current === undefined && next.status !== 'left') discovered.push(`${next.host}:${next.peerPort}`);
      // A removal is no heartbeat: the member is no more alive for it. A node that left by itself
      // keeps gossiping until it is stopped, and is up meanwhile (a node that has not heard it left
      // still reads it as a replica), though it owns nothing.
      if (current !== undefined && !(next.status === 'left' && current.status !== 'left')) {
        // The first real heartbeat starts the history afresh over a direct contact's stand-in (heardDirectly).
        if (this.standInArrivals.delete(next.id)) this.detector.forget(next.id);
        this.detector.heartbeat(next.id, nowMs);
      }
      // Whether a joining member owns tokens now depends on how many others do (ring()): any change of a
      // member's status or tokens rebuilds both rings.
      if (current === undefined || current.status !== next.status || ringPlacementChanged(current, next)) ringChanged = true;
    }
    if (ringChanged) {
      this.cachedRing = undefined;
      this.cachedFutureRing = undefined;
    }
    this.refreshLiveness(ringChanged);
    for (const address of discovered) this.startExchange(address);
  }

  /** A first-heard member starts down: a relayed state may be old; its next heartbeat proves it alive. */
  private admit(s: MemberState): boolean {
    if (this.states.size >= membersMax) {
      this.logger.warn({ member: s.id, membersMax }, 'member table full; ignoring new member');
      return false;
    }
    this.logger.info({ member: s.id, address: `${s.host}:${s.peerPort}`, generation: s.generation }, 'member discovered');
    return true;
  }

  /**
   * A member that talked to this node itself is alive now, whatever its
   * relayed state says: a member first heard that way starts up instead of
   * waiting a gossip round for its heartbeat to move (so `ringkv status`
   * just after a start does not show live peers down). Only the first
   * arrival, and a stand-in one: direct contacts come at the peer's whim, so
   * the member's first real heartbeat replaces it rather than adding an
   * interval that would skew the history phi is built on.
   */
  private heardDirectly(id: string): void {
    if (id === this.self.id || !this.states.has(id) || this.detector.window(id) !== undefined) return;
    if (this.states.get(id)!.status === 'left') return;
    this.detector.heartbeat(id, this.now());
    this.standInArrivals.add(id);
    this.refreshLiveness();
  }

  /** A peer holds a `left` state for this node's id: it was removed (RING REMOVE) while it was down. */
  private noteRemoved(w: WireState): void {
    if (this.removedSelf) return;
    this.removedSelf = true;
    this.logger.error({ removedAtMs: w.version, generation: w.generation },
      'this node was removed from the cluster while it was down: it owns no ranges and serves no one. ' +
      'To join again as a new member, stop it and start it with an empty --data directory');
    this.emitChange();
  }

  /** Members that left longer ago than leftRetentionMs are forgotten. */
  private forgetLeft(): void {
    const nowMs = this.now();
    for (const s of [...this.states.values()]) {
      if (s.status !== 'left' || nowMs - leftAtMs(s) <= leftRetentionMs) continue;
      this.states.delete(s.id);
      this.cachedFutureRing = undefined;
      this.detector.forget(s.id);
      this.standInArrivals.delete(s.id);
      this.logger.info({ member: s.id }, 'forgot a member that left');
    }
  }

  /** Someone gossips a newer state under our id: another process claims it, or our clock went back. */
  private noteSelfClash(w: WireState): void {
    if (this.warnedSelfClash || compareStamps(w, this.selfState()) <= 0) return;
    this.warnedSelfClash = true;
    this.logger.warn({ theirs: { generation: w.generation, version: w.version, host: w.host, peerPort: w.peerPort } },
      'a peer holds a newer state for this node id: duplicate node id or clock went back');
  }

  private refreshLiveness(ringChanged = false): void {
    const nowMs = this.now();
    let livenessChanged = false;
    let nextCheckMs = Infinity;
    for (const [id, state] of this.states) {
      if (id === this.self.id) continue;
      const alive = this.detector.verdict(id, nowMs) === 'up';
      if (alive) nextCheckMs = Math.min(nextCheckMs, this.detector.convictionAtMs(id, nowMs));
      if (alive === this.up.has(id)) continue;
      livenessChanged = true;
      if (alive) this.up.add(id);
      else this.up.delete(id);
      this.logger.info({ member: id, generation: this.states.get(id)?.generation, phi: round2(this.detector.phi(id, nowMs)) },
        alive ? 'member up' : 'member down');
    }
    if (livenessChanged) this.upSnapshot = new Set(this.up);
    this.scheduleCheck(nextCheckMs, nowMs);
    if (livenessChanged || ringChanged) this.emitChange();
  }

  /** (Re)arms the liveness check for `atMs` (Infinity: none); at least 1 ms ahead, so a verdict due now never spins. */
  private scheduleCheck(atMs: number, nowMs: number): void {
    if (atMs === this.checkAtMs || (!this.running && atMs !== Infinity)) return;
    if (this.checkTimer !== undefined) this.timers.clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
    this.checkAtMs = atMs;
    if (atMs === Infinity) return;
    this.checkTimer = this.timers.setTimeout(() => {
      this.checkTimer = undefined;
      this.checkAtMs = Infinity;
      this.refreshLiveness();
    }, Math.min(timerDelayMsMax, Math.max(1, Math.ceil(atMs - nowMs))));
  }

  private emitChange(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'membership change listener threw');
      }
    }
  }

  private selfState(): MemberState {
    const s = this.states.get(this.self.id);
    assert(s !== undefined, 'own state missing');
    return s;
  }
}

/**
 * The default clock: milliseconds since the epoch that never go back (the
 * process's monotonic clock anchored at its start), so a wall clock stepped
 * back by NTP cannot make a silent member look freshly heard.
 */
function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}


/**
 * The ring's owners, one per token list: a node started with `--replace`
 * takes a dead member's very tokens, and of two members holding the same
 * list the later generation (the replacement) owns it. Any other two members
 * share no token in practice (1,024 random 64-bit tokens each).
 */
function latestPerTokens(owners: readonly MemberState[]): { id: string; tokens: readonly bigint[] }[] {
  const byTokens = new Map<string, MemberState>();
  for (const s of owners) {
    const key = tokensKey(s.tokens);
    const other = byTokens.get(key);
    if (other === undefined || other.generation < s.generation) byTokens.set(key, s);
  }
  return [...byTokens.values()].map((s) => ({ id: s.id, tokens: s.tokens }));
}

const tokenKeys = new WeakMap<readonly bigint[], string>();

function tokensKey(tokens: readonly bigint[]): string {
  let key = tokenKeys.get(tokens);
  if (key === undefined) tokenKeys.set(tokens, (key = tokens.join(',')));
  return key;
}

function sameTokens(a: readonly bigint[], b: readonly bigint[]): boolean {
  return a.length === b.length && tokensKey(a) === tokensKey(b);
}


function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
