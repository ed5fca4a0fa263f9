// Cluster membership by gossip (Cassandra Gossiper, Dynamo 2007 §4.8): each
// round a node bumps its own heartbeat and exchanges digests with a random
// peer (sometimes a down one, a seed while it knows few), so every member's
// state spreads epidemically in O(log N) rounds with no coordinator. A member
// is up while its heartbeat keeps advancing as seen here (state.ts isAlive).
// The ring holds every known member with tokens, up or down: a down node is a
// failed replica to route around, not a removed one.

import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage, Transport } from '../peer/transport.js';
import { decodeControl, encodeControl } from '../peer/codec.js';
import { Ring } from '../ring/index.js';
import type { MemberState, MemberStatus } from './state.js';
import { compareStamps, diff, digestsOf, isAlive, ownsTokens, ringPlacementChanged } from './state.js';
import type { GossipAck, GossipSyn, WireState } from './gossip.js';
import {
  answerWants, chooseTargets, fromWire, isNodeId, membersMax, parseAck, parseSyn, toWire, withinBudget,
} from './gossip.js';

/** Between memberlist's LAN 200 ms and Cassandra's 1 s: a heartbeat crosses a 100-node cluster (~7 hops) in ~4 s at ~60 bytes per member per round. */
export const gossipIntervalMsDefault = 500;
/** 10 rounds: a heartbeat needs ~log2(N) rounds to arrive, so this tolerates lost rounds in clusters of hundreds, yet a dead replica is routed around within seconds. */
export const downAfterMsDefault = 5_000;
/** An exchange is two LAN round trips (< 1 ms each); a peer silent for a second is as good as down for this round. */
export const requestTimeoutMsDefault = 1_000;
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
  /** This start's generation (identity.ts). */
  readonly generation: number;
  /** "host:peerPort"; may include this node's own address, which is skipped. */
  readonly seeds: readonly string[];
  readonly transport: Transport;
  /** Replication factor for the ring's preference lists. */
  readonly n: number;
  readonly logger: Logger;
  readonly gossipIntervalMs?: number;
  readonly downAfterMs?: number;
  readonly requestTimeoutMs?: number;
  /** Injected for tests: the clock (ms) and the random source in [0, 1). */
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface MemberView {
  readonly id: string;
  readonly host: string;
  readonly respPort: number;
  readonly peerPort: number;
  readonly status: MemberStatus;
  readonly up: boolean;
  readonly vnodes: number;
  readonly generation: number;
  /** When its heartbeat last advanced as seen here (ms since the epoch; 0 = never). Now for self. */
  readonly lastSeenMs: number;
}

export type MembershipErrorCode = 'GOSSIP_INVALID';

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
  private readonly downAfterMs: number;
  private readonly requestTimeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly selfAddress: string;
  private readonly seeds: readonly string[];
  private readonly states = new Map<string, MemberState>();
  /** Local time at which each member's (generation, version) last increased. */
  private readonly progressAtMs = new Map<string, number>();
  private readonly up = new Set<string>();
  /** A copy of `up`, replaced (never mutated) on every change, so callers may hold it. */
  private upSnapshot: ReadonlySet<string> = new Set();
  private cachedRing: Ring | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private warnedSelfClash = false;
  /** Heard the cluster: a peer answered our gossip, or there is no seed to wait for. */
  private heard: boolean;

  constructor(options: MembershipOptions) {
    this.self = options.self;
    this.transport = options.transport;
    this.logger = options.logger;
    this.n = options.n;
    this.gossipIntervalMs = options.gossipIntervalMs ?? gossipIntervalMsDefault;
    this.downAfterMs = options.downAfterMs ?? downAfterMsDefault;
    this.requestTimeoutMs = options.requestTimeoutMs ?? requestTimeoutMsDefault;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    assert(isNodeId(options.self.id), `bad node id ${options.self.id}`);
    assert(this.gossipIntervalMs > 0, 'gossipIntervalMs must be positive');
    assert(this.downAfterMs >= 3 * this.gossipIntervalMs, 'downAfterMs must span several gossip rounds');
    assert(this.requestTimeoutMs < this.downAfterMs, 'a gossip request must time out before its peer is declared down');
    this.selfAddress = `${options.self.host}:${options.self.peerPort}`;
    this.seeds = [...new Set(options.seeds)].filter((s) => s !== this.selfAddress);
    this.states.set(this.self.id, {
      ...options.self, status: 'normal', generation: options.generation, version: 1,
    });
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  ring(): Ring {
    if (this.cachedRing === undefined) {
      const owners = [...this.states.values()].filter(ownsTokens).map((s) => ({ id: s.id, tokens: s.tokens }));
      this.cachedRing = Ring.build(owners, this.n);
    }
    return this.cachedRing;
  }

  members(): MemberView[] {
    const nowMs = this.now();
    return [...this.states.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((s) => ({
        id: s.id, host: s.host, respPort: s.respPort, peerPort: s.peerPort, status: s.status,
        up: this.up.has(s.id), vnodes: s.tokens.length, generation: s.generation,
        lastSeenMs: s.id === this.self.id ? nowMs : this.progressAtMs.get(s.id) ?? 0,
      }));
  }

  /**
   * True once a peer has answered this node's gossip (or no seed is
   * configured). Until then the ring may hold only this node, and quorums
   * counted on it would be wrong, so the coordinator serves none.
   */
  joined(): boolean {
    return this.heard;
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

  /** Changes this node's status (join, decommission); gossip spreads it. */
  setStatus(status: MemberStatus): void {
    const before = this.selfState();
    if (before.status === status) return;
    const after = { ...before, status, version: before.version + 1 };
    this.states.set(this.self.id, after);
    if (ringPlacementChanged(before, after)) this.cachedRing = undefined;
    this.emitChange();
  }

  /** Called when the ring or any member's liveness changed. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Serves GossipSyn: merge the states it carries, then answer what it lacks and what we want. */
  handleMessage(from: string, msg: PeerMessage): PeerMessage {
    assert(msg.type === MessageType.GossipSyn, `membership got message type ${msg.type}`);
    const syn = parseSyn(decodeControl<unknown>(msg.payload));
    if (typeof syn === 'string') throw new MembershipError('GOSSIP_INVALID', `bad gossip syn from ${from}: ${syn}`);
    this.absorb(syn.states);
    const { send, request } = diff(this.states, syn.digests);
    const theirs = new Map(syn.digests.map((d) => [d.id, d.generation]));
    const ack: GossipAck = { states: withinBudget(send.map((s) => toWire(s, theirs.get(s.id)))), wants: request };
    return { type: MessageType.GossipAck, payload: encodeControl(ack) };
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.round();
      this.schedule();
    }, this.gossipIntervalMs);
  }

  /** One gossip round: heartbeat, liveness, then exchanges that run on while the next round is timed. */
  private round(): void {
    const before = this.selfState();
    this.states.set(this.self.id, { ...before, version: before.version + 1 });
    this.refreshLiveness();
    for (const address of this.targets()) {
      if (this.inFlight.has(address) || this.inFlight.size >= exchangesInFlightMax) continue;
      const done = this.exchange(address)
        .catch((err: unknown) => this.logger.debug({ peer: address, err }, 'gossip exchange failed'))
        .finally(() => this.inFlight.delete(address));
      this.inFlight.set(address, done);
    }
  }

  private targets(): string[] {
    const live: string[] = [];
    const down: string[] = [];
    for (const s of this.states.values()) {
      if (s.id === this.self.id) continue;
      (this.up.has(s.id) ? live : down).push(`${s.host}:${s.peerPort}`);
    }
    return chooseTargets({ live, down, seeds: this.seeds, random: this.random });
  }

  /** SYN → ACK, then a second SYN pushing what the peer asked for (its ACK is merged, its wants left to the next round). */
  private async exchange(address: string): Promise<void> {
    const ack = await this.sendSyn(address, []);
    this.absorb(ack.states);
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
    for (const w of incoming) {
      if (w.id === this.self.id) {
        this.noteSelfClash(w);
        continue;
      }
      const current = this.states.get(w.id);
      const next = fromWire(w, current);
      if (next === undefined) continue;
      if (current !== undefined && compareStamps(next, current) <= 0) continue;
      if (current === undefined && !this.admit(next)) continue;
      this.states.set(next.id, next);
      if (current !== undefined) this.progressAtMs.set(next.id, nowMs);
      if (ringPlacementChanged(current, next)) ringChanged = true;
    }
    if (ringChanged) this.cachedRing = undefined;
    this.refreshLiveness(ringChanged);
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
    for (const id of this.states.keys()) {
      if (id === this.self.id) continue;
      const alive = isAlive(this.progressAtMs.get(id), nowMs, this.downAfterMs);
      if (alive === this.up.has(id)) continue;
      livenessChanged = true;
      if (alive) this.up.add(id);
      else this.up.delete(id);
      this.logger.info({ member: id, generation: this.states.get(id)?.generation }, alive ? 'member up' : 'member down');
    }
    if (livenessChanged) this.upSnapshot = new Set(this.up);
    if (livenessChanged || ringChanged) this.emitChange();
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
