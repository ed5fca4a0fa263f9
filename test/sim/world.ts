// The simulated cluster: K nodes on one MemoryNetwork, all on one virtual
// clock, with the faults a plan can throw at them — partitions, crashes that
// keep the disk (what was committed survives, what was pending is lost) or
// lose it (a wipe), and each node's garbage collector stepping on a virtual
// schedule. Each node routes by its own view of the members' ring statuses
// (membership.ts: spread as gossip spreads, so views disagree while a node
// joins or leaves), and its view of who is up is the network's own, as a
// perfect failure detector would report it: the quorum paths and the ring
// handoff are under test, not gossip. A seed may grow the cluster by one node
// or shrink it by one (plan.ts ringChange), run by the nodes' own RingHandoff.
//
// Every node is built in one place (`buildNode`), so a change to the
// coordinator's constructor is one edit here; see the ACTOR marker there.
// SIM_NO_PENDING=1 turns the pending replicas off (writes and reads then
// ignore a joining or leaving node's future spans): a mutation that shows the
// checker catches what they prevent.

import { setChainLimits } from '../../src/crdt/value-chain.js';
import { pino, type Logger } from 'pino';
import { AntiEntropy } from '../../src/anti-entropy/anti-entropy.js';
import { ExchangeService } from '../../src/anti-entropy/exchange-service.js';
import { localReplica } from '../../src/anti-entropy/local-replica.js';
import { TreeKeeper } from '../../src/anti-entropy/tree-keeper.js';
import { MemoryActor } from '../../src/storage/actor.js';
import type { Hint } from '../../src/hints/hint-store.js';
import { MemoryHintStore } from '../../src/hints/memory-hint-store.js';
import { HandoffSender } from '../../src/hints/sender.js';
import type { ClusterView } from '../../src/coordinator/cluster-view.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import { ReplicaService } from '../../src/coordinator/replica-service.js';
import { MemoryNetwork, MemoryTransport, mulberry32 } from '../../src/peer/memory-transport.js';
import type { PeerMessage } from '../../src/peer/transport.js';
import { handOverHints } from '../../src/hints/hand-over.js';
import { RangeService } from '../../src/hints/range-service.js';
import { RingHandoff } from '../../src/hints/ring-handoff.js';
import type { MemberStatus } from '../../src/membership/state.js';
import { fallbacksForDigest, generateTokens, pendingReplicasFor, Ring, splitmix64 } from '../../src/ring/index.js';
import { MemoryStorage, type CommitScheduler } from '../../src/storage/memory-storage.js';
import type { FaultEvent, Wipe } from './history.js';
import { simAntiEntropyIntervalMs, simHintWindowMs, simRequestTimeoutMs, simTombstoneGraceMs, type NetSettings, type SimConfig } from './plan.js';
import { SimMembership } from './membership.js';
import type { VirtualTime } from './virtual-time.js';

// Every collection version the workloads make past the first is a chain (crdt/value-chain.ts), cut every few links,
// so chained values, replicas chaining deltas and cut chains are all exercised by collections of a few members.
setChainLimits({ baseBytesMin: 0, linksMax: 6 });

const simVnodes = 16;
/** A storage commit takes 0..this virtual ms: a crash in that window loses the change. */
const commitLatencyMsMax = 2;
/** Riak's max_siblings / warn_siblings, as the node defaults. */
const siblingsMax = 100;
const siblingsWarn = 25;
const readRepairsInFlightMax = 100;
/** Merkle tree size in the simulation (2^8 leaves). */
const simTreeLeafBits = 8;
/** Ring handoff on virtual time: a gossip round, the wait for writes in flight (a forwarded write's ~3 timeouts), and cleanup's still ring. */
const simHandoffGossipMs = 100;
const simHandoffSettleMs = 4 * simRequestTimeoutMs + 100;
const simCleanupSettleMs = 2_000;

/** What a node is made of while it runs; replaced whole when it restarts. */
export interface NodeParts {
  readonly storage: MemoryStorage;
  readonly hints: MemoryHintStore | undefined;
  readonly handoff: HandoffSender | undefined;
  readonly transport: MemoryTransport;
  readonly coordinator: Coordinator;
  /** Merkle trees and the background exchange loop, when the seed runs anti-entropy. */
  readonly antiEntropy: { readonly trees: TreeKeeper; readonly loop: AntiEntropy } | undefined;
  /** Joins, leaves and cleanup, as a real node runs them. */
  readonly ringHandoff: RingHandoff;
  /** Stops the trees following this life's view of the ring. */
  readonly unfollowRing: (() => void) | undefined;
  collecting: boolean;
}

export interface SimNode {
  readonly index: number;
  readonly id: string;
  readonly address: string;
  /** Incremented by every restart without the disk: the node's identity as a writer must be new then. */
  epoch: number;
  up: boolean;
  /** Its status on the ring as its disk keeps it (identity.json in a real node); undefined before it first started. */
  ringStatus: MemberStatus | undefined;
  parts: NodeParts;
  /** Aborts the client operations in flight through this node (it crashed under them). */
  readonly inFlight: Set<() => void>;
  /** The planned restart of a node that is down: on `disk`, or empty when it has none. */
  restart?: { readonly handle: unknown; readonly disk: MemoryStorage | undefined; readonly hintDisk: MemoryHintStore | undefined; readonly downSinceMs: number };
}

export interface WorldStats {
  partitions: number;
  crashes: number;
  wipes: number;
  collections: number;
}

/** The result of one call into a node: a crash under it is an outcome too. */
export type CallResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown; readonly crashed: boolean };

export class SimWorld {
  readonly network: MemoryNetwork;
  readonly membership: SimMembership;
  readonly nodes: SimNode[] = [];
  readonly faults: FaultEvent[] = [];
  readonly wipes: Wipe[] = [];
  readonly stats: WorldStats = { partitions: 0, crashes: 0, wipes: 0, collections: 0 };
  /** Records anti-entropy moved in node lives that ended in a crash. */
  private aaeRecordsMovedInPastLives = 0;

  /** Ring-handoff totals over node lives that ended in a crash. */
  private handoffInPastLives = { streamed: 0, cleaned: 0 };
  /** Joins and leaves the nodes completed, and records streamed (pulled by joiners, pushed by leavers) and dropped by cleanup. */
  ringChangeStats(): { joins: number; leaves: number; streamed: number; cleaned: number } {
    const totals = { ...this.handoffInPastLives };
    for (const node of this.nodes) {
      const stats = node.parts?.ringHandoff.stats;
      if (stats === undefined) continue;
      totals.streamed += stats.recordsReceived + stats.recordsSent;
      totals.cleaned += stats.recordsCleaned;
    }
    const joins = this.faults.filter((f) => / normal$/.test(f.what)).length;
    const leaves = this.faults.filter((f) => / left$/.test(f.what)).length;
    return { joins, leaves, ...totals };
  }

  /** Records anti-entropy moved, both directions, over every node's lives. */
  aaeRecordsMoved(): number {
    return this.nodes.reduce((sum, node) => {
      const stats = node.parts?.antiEntropy?.loop.stats;
      return sum + (stats === undefined ? 0 : stats.recordsSent + stats.recordsReceived);
    }, this.aaeRecordsMovedInPastLives);
  }

  /**
   * What each replica of `key` itself holds live now (storage only, no hints):
   * the dots of its live versions, sorted. After anti-entropy had time,
   * every replica must hold the same.
   */
  replicaStates(key: string): { node: string; live: string[] }[] {
    const bytes = Buffer.from(key);
    return this.finalRing().preferenceList(bytes).map((id) => {
      const node = this.nodes[id.charCodeAt(0) - 0x61]!;
      const now = this.time.now();
      const record = node.parts.storage.get(bytes, undefined);
      const live = record.filter((s) => s.deleted !== true && (s.expiresAt === undefined || s.expiresAt > now));
      return { node: id, live: live.map((s) => `${s.dot.actor}:${s.dot.counter}`).sort() };
    });
  }

  /** Keys some of whose hints were dropped past their window, over every node's lives. */
  readonly hintsExpiredKeys = new Set<string>();
  /** Set by `healAll`: faults still scheduled from the plan no longer strike. */
  private healed = false;
  private readonly logger: Logger = pino({ level: 'silent' });
  private readonly commitScheduler: CommitScheduler;
  private readonly actors = new Map<string, MemoryActor>();

  constructor(
    readonly config: SimConfig,
    readonly time: VirtualTime,
  ) {
    this.network = new MemoryNetwork({ seed: config.seed, timers: time });
    const commitRandom = mulberry32(config.seed ^ 0x5eed);
    this.commitScheduler = {
      setImmediate: (callback, ...args) => time.setTimeout(callback, Math.floor(commitRandom() * (commitLatencyMsMax + 1)), ...args),
    };
    const tokenRandom = splitmix64(BigInt(config.seed));
    const ids = Array.from({ length: config.nodes }, (_, i) => String.fromCharCode(0x61 + i));
    const tokens = new Map(ids.map((id) => [id, generateTokens(id, simVnodes, tokenRandom)]));
    const gossipRandom = mulberry32(config.seed ^ 0x6055);
    this.membership = new SimMembership(time, this.network, tokens, (id) => this.addressOf(id), (id) => this.nodes[id.charCodeAt(0) - 0x61]?.up === true, gossipRandom, 3);
    // A node that joins later is not started yet: it is no member until it starts (run.ts).
    const joiner = config.ringChange?.kind === 'join' ? config.ringChange.node : -1;
    for (const [index, id] of ids.entries()) if (index !== joiner) this.membership.seed(id, 'normal');
    for (const [index, id] of ids.entries()) {
      const address = `${id}.sim:7000`;
      const starts = index !== joiner;
      const node: SimNode = { index, id, address, epoch: 0, up: starts, ringStatus: starts ? 'normal' : undefined, parts: undefined!, inFlight: new Set() };
      this.nodes.push(node);
    }
    for (const node of this.nodes) {
      if (node.up) node.parts = this.buildNode(node, new MemoryStorage({ scheduler: this.commitScheduler }), this.newHintStore());
    }
    for (const node of this.nodes) this.scheduleCollection(node, Math.floor((config.collectEveryMs * (node.index + 1)) / this.nodes.length));
  }

  /**
   * The node's write actor: the same object across a restart with the disk
   * (its counter models actor.json's persisted ceiling, which is always above
   * every counter handed out, even one whose commit the crash lost), a new
   * one after a restart without it (restart() bumps the epoch first).
   */
  private actorOf(node: SimNode): MemoryActor {
    const id = `${node.id}#${node.epoch}`;
    let actor = this.actors.get(id);
    if (actor === undefined) {
      actor = new MemoryActor(id);
      this.actors.set(id, actor);
    }
    return actor;
  }

  /** Storage + Coordinator + ReplicaService + MemoryTransport for `node`, listening at its address. */
  private newHintStore(): MemoryHintStore | undefined {
    const onExpired = (hint: Hint) => this.hintsExpiredKeys.add(hint.key.toString('latin1'));
    return this.config.hints ? new MemoryHintStore({ scheduler: this.commitScheduler, onExpired }) : undefined;
  }

  /** The ring every node agrees on once the change (if any) is over: what the final replica states are judged by. */
  finalRing(): Ring {
    return this.membership.ringsOf(this.nodes.find((n) => this.membership.statusOf(n.id) === 'normal')!.id).ring;
  }

  private buildNode(node: SimNode, storage: MemoryStorage, hints: MemoryHintStore | undefined): NodeParts {
    if (node.parts !== undefined) this.retireDeltaStats(node.parts.coordinator);
    const transport = new MemoryTransport({ network: this.network, nodeId: node.id, address: node.address, requestTimeoutMs: simRequestTimeoutMs });
    const m = this.membership;
    const ring = () => m.ringsOf(node.id).ring;
    const reachable = (other: string) => this.network.reachable(node.address, this.addressOf(other));
    const view: ClusterView = {
      selfId: node.id,
      preferenceList: (_key, token) => ring().preferenceListForDigest(token),
      pendingReplicas: (token) => (process.env.SIM_NO_PENDING ? [] : pendingReplicasFor(ring(), m.ringsOf(node.id).future, token)),
      isUp: reachable,
      fallbacks: (_key, token, max) => fallbacksForDigest(ring(), token, reachable, max),
      peerAddress: (other) => this.addressOf(other),
      memberIds: () => ring().members,
      replicationFactor: () => ring().n,
      joined: () => ring().tokenCount > 0 && m.viewOf(node.id, node.id) !== 'left',
    };
    const coordinator = new Coordinator(storage, view, transport, {
      requestTimeoutMs: simRequestTimeoutMs,
      siblingsMax,
      siblingsWarn,
      tombstoneGraceMs: simTombstoneGraceMs,
      ...(hints === undefined ? {} : { hints }),
      actor: this.actorOf(node),
      readRepairsInFlightMax,
      // Every delta a write makes is sent, however small the collection, so the workloads' few-member sets take the delta path.
      deltas: { recordBytesMin: 0, wholeToDeltaBytesMin: 0 },
      logger: this.logger,
      now: () => this.time.now(),
    });
    const replicas = new ReplicaService(coordinator);
    const antiEntropy = this.config.antiEntropy ? this.startAntiEntropy(node, storage, coordinator, transport) : undefined;
    const apply = (key: Buffer, siblings: readonly import('../../src/clock/types.js').Sibling[]) => coordinator.applyLocal(key, undefined, siblings);
    const ranges = new RangeService({ storage, apply });
    const ringHandoff = new RingHandoff({
      selfId: node.id,
      membership: {
        n: 3,
        ring,
        futureRing: () => m.ringsOf(node.id).future,
        selfStatus: () => node.ringStatus ?? 'joining',
        setStatus: (status) => {
          node.ringStatus = status;
          m.set(node.id, status);
          this.event(`${node.id} ${status}`);
        },
        heardCluster: () => true,
        joined: () => view.joined(),
        isUp: reachable,
        checkLeave: () => {
          if (node.ringStatus !== 'normal') throw Object.assign(new Error(`${node.id} is ${node.ringStatus}`), { code: 'LEAVE_NOT_NORMAL' });
          if (m.changing(node.id).length > 0) throw Object.assign(new Error('another change runs'), { code: 'CHANGE_BUSY' });
          if (ring().members.filter((id) => id !== node.id).length < 3) throw Object.assign(new Error('too few'), { code: 'LEAVE_TOO_FEW' });
        },
        selfStateNotYetSeenBy: () => Promise.resolve(m.notYetSeenBy(node.id)),
        changing: () => m.changing(node.id),
        // Every member started at the run's start (generation 0); none of them a founding seed of this node.
        ownerGenerations: () => ring().members.filter((id) => id !== node.id).map(() => 0),
        // The simulation does not replace nodes.
        replacedMember: () => undefined,
        removeMember: () => undefined,
        onChange: (listener) => m.onChange(node.id, listener),
      },
      storage,
      request: (other, message, timeoutMs) => transport.request(this.addressOf(other), message, timeoutMs, other),
      apply,
      persistStatus: async () => undefined,
      ...(hints === undefined ? {} : { handOverHints: () => handOverHints(hints, (key, siblings) => coordinator.handOverHint(key, siblings)) }),
      logger: this.logger,
      gossipIntervalMs: simHandoffGossipMs,
      selfGeneration: 0,
      settleMs: simHandoffSettleMs,
      cleanupSettleMs: simCleanupSettleMs,
      handOverWindowMs: simTombstoneGraceMs / 2,
      // One span per request: a stream takes many round trips, so writes and faults land in the middle of it.
      spansPerRequest: 1,
      now: () => this.time.now(),
      timers: this.time,
    });
    transport.setHandler((from: string, message: PeerMessage) => {
      if (ReplicaService.handles(message.type)) return replicas.handle(from, message);
      if (RangeService.handles(message.type)) return ranges.handle(from, message);
      if (antiEntropy !== undefined && ExchangeService.handles(message.type)) return antiEntropy.exchanges.handle(from, message);
      throw new Error(`unexpected peer message type ${message.type}`);
    });
    void transport.listen();
    const handoff = hints === undefined ? undefined : new HandoffSender({
      store: hints,
      deliver: (target, key, siblings) => coordinator.deliverHint(target, key, siblings),
      isUp: (other) => this.network.reachable(node.address, this.addressOf(other)),
      logger: this.logger,
      timers: this.time,
      windowMs: simHintWindowMs,
    });
    handoff?.start();
    m.restarted(node.id);
    // A node started for the first time joins (it has seeds); one restarted resumes what its disk says.
    if (node.ringStatus === undefined) {
      node.ringStatus = 'joining';
      m.set(node.id, 'joining');
      this.event(`${node.id} joining`);
    }
    ringHandoff.start();
    return { storage, hints, handoff, transport, coordinator, antiEntropy, ringHandoff, unfollowRing: antiEntropy?.unfollow, collecting: false };
  }

  /** The node starts to leave the ring (RING LEAVE); refused as a real node refuses. */
  async leave(index: number): Promise<void> {
    const node = this.nodes[index]!;
    if (!node.up) {
      this.event(`${node.id} cannot leave: down`);
      return;
    }
    try {
      await node.parts.ringHandoff.leave();
    } catch (err) {
      this.event(`${node.id} cannot leave: ${(err as Error).message}`);
    }
  }

  /** A node that was never started starts now, with seeds: it joins. */
  startJoiner(index: number): void {
    const node = this.nodes[index]!;
    if (node.up || node.restart !== undefined || node.ringStatus !== undefined) return;
    node.parts = this.buildNode(node, new MemoryStorage({ scheduler: this.commitScheduler }), this.newHintStore());
    this.network.up(node.address);
    node.up = true;
  }

  /** The node's trees (loaded from its disk's metadata, or built) and its background exchanges, as a real node wires them. */
  private startAntiEntropy(node: SimNode, storage: MemoryStorage, coordinator: Coordinator, transport: MemoryTransport) {
    // 256 leaves, not 65,536: the same code paths at a fraction of the cost for the few keys a seed writes.
    const trees = new TreeKeeper({ storage, selfId: node.id, logger: this.logger, now: () => this.time.now(), timers: this.time, leafBits: simTreeLeafBits });
    const followRing = () => {
      const ring = this.membership.ringsOf(node.id).ring;
      trees.setRing(ring, ring.n);
    };
    followRing();
    const unfollow = this.membership.onChange(node.id, followRing);
    trees.start().catch((err: unknown) => this.logger.error({ err }, 'tree keeper failed to start'));
    const local = localReplica(trees, storage, (key, siblings) => coordinator.applyLocal(key, undefined, siblings));
    const loop = new AntiEntropy({
      selfId: node.id,
      trees: { treeIds: () => trees.treeIds(), members: (id) => trees.members(id), builtAtMs: (id) => trees.stats.builtAtMs[id] },
      local,
      peer: (other) => ({ request: (message, timeoutMs) => transport.request(this.addressOf(other), message, timeoutMs, other) }),
      isUp: (other) => this.network.reachable(node.address, this.addressOf(other)),
      intervalMs: simAntiEntropyIntervalMs,
      timers: this.time,
      logger: this.logger,
    });
    loop.start();
    return { trees, loop, exchanges: new ExchangeService(local), unfollow };
  }

  private addressOf(id: string): string {
    return this.nodes[id.charCodeAt(0) - 0x61]!.address;
  }

  setNet(net: NetSettings): void {
    if (this.healed) return;
    this.network.setDropRate(net.dropRate);
    this.network.setDuplicateRate(net.duplicateRate);
    this.network.setDelay(0, net.delayMsMax);
  }

  partition(side: readonly number[], healAfterMs: number): void {
    if (this.healed) return;
    const inside = new Set(side);
    const a = this.nodes.filter((n) => inside.has(n.index));
    const b = this.nodes.filter((n) => !inside.has(n.index));
    this.network.partition(a.map((n) => n.address), b.map((n) => n.address));
    this.stats.partitions++;
    this.event(`partition {${a.map((n) => n.id).join(',')}} | {${b.map((n) => n.id).join(',')}}`);
    this.time.setTimeout(() => {
      if (this.healed) return;
      this.network.heal();
      this.event('partitions healed');
    }, healAfterMs);
  }

  /**
   * The node's process dies: client operations through it are cut off, its
   * transport closes, and its storage keeps only what was committed. It comes
   * back after `downMs`, with that disk, or empty when `wipe` — a wipe only
   * when every other node is up at the crash (else the disk is kept), so
   * the wipe does not strike where another outage already thinned copies.
   */
  crash(index: number, downMs: number, wipe: boolean): void {
    const node = this.nodes[index]!;
    if (this.healed || !node.up) return;
    const wipes = wipe && this.nodes.every((n) => n === node || n.up);
    node.up = false;
    this.stats.crashes++;
    for (const abort of [...node.inFlight]) abort();
    node.inFlight.clear();
    void node.parts.transport.close();
    this.network.down(node.address);
    const disk = node.parts.storage.crash();
    const hintDisk = node.parts.hints?.crash();
    void node.parts.handoff?.stop();
    void node.parts.ringHandoff.stop();
    this.handoffInPastLives.streamed += node.parts.ringHandoff.stats.recordsReceived + node.parts.ringHandoff.stats.recordsSent;
    this.handoffInPastLives.cleaned += node.parts.ringHandoff.stats.recordsCleaned;
    node.parts.unfollowRing?.();
    if (node.parts.antiEntropy !== undefined) {
      this.aaeRecordsMovedInPastLives += node.parts.antiEntropy.loop.stats.recordsSent + node.parts.antiEntropy.loop.stats.recordsReceived;
      void node.parts.antiEntropy.loop.stop();
      void node.parts.antiEntropy.trees.stop();
    }
    const handle = this.time.setTimeout(() => this.restart(node), downMs);
    node.restart = { handle, disk: wipes ? undefined : disk, hintDisk: wipes ? undefined : hintDisk, downSinceMs: this.time.now() };
    this.event(`crash ${node.id}${wipes ? ' (its disk will be lost)' : ''}, down for ${downMs} ms`);
  }

  /** Delta replication over every life of every node (coordinator/delta.ts): sent, applied, held, and whole records sent after one. */
  deltaStats(): DeltaStats {
    const out = { ...this.retiredDeltas };
    for (const node of this.nodes) if (node.parts !== undefined) addDeltaStats(out, node.parts.coordinator);
    return out;
  }

  private readonly retiredDeltas: DeltaStats = { sent: 0, applied: 0, held: 0, fallbacks: 0, mismatches: 0 };

  private retireDeltaStats(coordinator: Coordinator): void {
    addDeltaStats(this.retiredDeltas, coordinator);
  }

  /** Writes that used a fallback and hints delivered, over the nodes' current lives. */
  hintStats(): { writes: number; byFallback: number; delivered: number } {
    let writes = 0;
    let byFallback = 0;
    let delivered = 0;
    for (const node of this.nodes) {
      if (node.parts === undefined) continue; // a joiner not started yet
      writes += node.parts.coordinator.stats.writesWithFallbacks;
      byFallback += node.parts.coordinator.stats.fallbackCoordinated;
      delivered += node.parts.hints?.stats.delivered ?? 0;
    }
    return { writes, byFallback, delivered };
  }

  /** Brings a down node back as planned: on its disk, or empty (a new epoch). */
  private restart(node: SimNode): void {
    const pending = node.restart;
    if (node.up || pending === undefined) return;
    this.time.clearTimeout(pending.handle);
    node.restart = undefined;
    const disk = pending.disk;
    if (disk === undefined) {
      node.epoch++;
      this.stats.wipes++;
      this.wipes.push({ node: node.id, fromMs: pending.downSinceMs, toMs: this.time.now() });
    }
    node.parts = this.buildNode(node, disk ?? new MemoryStorage({ scheduler: this.commitScheduler }), disk === undefined ? this.newHintStore() : pending.hintDisk);
    this.network.up(node.address);
    node.up = true;
    // The others see it back: their hints for it go at once (membership's "member up" in a real node).
    for (const other of this.nodes) if (other.up && other !== node) other.parts.handoff?.kick(node.id);
    this.event(`restart ${node.id} ${disk === undefined ? `EMPTY (epoch ${node.epoch})` : 'with its disk'}`);
  }

  /** Ends every fault for good: network clean, partitions healed, down nodes back as planned (with or without disk). */
  healAll(): void {
    this.healed = true;
    this.network.heal();
    this.network.setDropRate(0);
    this.network.setDuplicateRate(0);
    this.network.setDelay(0, 1);
    for (const node of this.nodes) this.restart(node);
    // A joiner whose start the plan put after the run's end starts now, so every seed ends with its planned ring.
    const change = this.config.ringChange;
    if (change?.kind === 'join') this.startJoiner(change.node);
    this.event('healed: network clean, every node up');
  }

  /**
   * Runs `start` against the node's current parts. Resolves, never rejects:
   * with the value, the error, or `crashed` if the node died first.
   */
  call<T>(node: SimNode, start: (parts: NodeParts) => T | Promise<T>): Promise<CallResult<T>> {
    if (node.parts === undefined) return Promise.resolve({ ok: false, error: new Error(`${node.id} has not started`), crashed: true });
    return new Promise((resolve) => {
      const abort = () => resolve({ ok: false, error: new Error(`${node.id} crashed`), crashed: true });
      node.inFlight.add(abort);
      let promise: Promise<T>;
      try {
        promise = Promise.resolve(start(node.parts));
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(
        (value) => {
          node.inFlight.delete(abort);
          resolve({ ok: true, value });
        },
        (error: unknown) => {
          node.inFlight.delete(abort);
          resolve({ ok: false, error, crashed: false });
        },
      );
    });
  }

  /** Each node's collector steps every collectEveryMs while the node is up, one step at a time. */
  private scheduleCollection(node: SimNode, afterMs: number): void {
    this.time.setTimeout(() => {
      const parts = node.parts;
      if (node.up && parts !== undefined && !parts.collecting) {
        parts.collecting = true;
        void parts.coordinator.collector.step().then((removed) => {
          this.stats.collections += removed;
          parts.collecting = false;
        });
      }
      this.scheduleCollection(node, this.config.collectEveryMs);
    }, afterMs);
  }

  private event(what: string): void {
    this.faults.push({ atMs: this.time.now(), what });
  }
}

export interface DeltaStats {
  sent: number;
  applied: number;
  held: number;
  fallbacks: number;
  mismatches: number;
}

function addDeltaStats(into: DeltaStats, coordinator: Coordinator): void {
  const s = coordinator.stats;
  into.sent += s.deltasSent;
  into.applied += s.deltasApplied;
  into.held += s.deltasHeld;
  into.fallbacks += s.deltaFallbacks;
  into.mismatches += s.deltaMismatches;
}
