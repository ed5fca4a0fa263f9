// An in-process cluster for seeded simulation: K nodes, each a MemoryStorage,
// a Coordinator and a ReplicaService wired to a MemoryTransport, all on one
// MemoryNetwork that drops, delays, partitions and takes nodes down from a
// seed. Membership is static (a Ring built once from seeded tokens) and a
// node's view of who is up is the network's own, as a perfect failure
// detector would report it — so these tests exercise the quorum paths, not
// gossip. The same idea as TigerBeetle's VOPR and FoundationDB's simulator:
// the whole cluster in one process, faults from a seed, failures that replay.
// Deliberately free of ava, so benchmarks and scripts can use it too.

import { pino } from 'pino';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { MemoryActor } from '../../src/storage/actor.js';
import { MemoryHintStore } from '../../src/hints/memory-hint-store.js';
import { HandoffSender } from '../../src/hints/sender.js';
import type { ClusterView } from '../../src/coordinator/cluster-view.js';
import { Coordinator, type PutResult } from '../../src/coordinator/coordinator.js';
import { ReplicaService } from '../../src/coordinator/replica-service.js';
import type { DeltaLimits } from '../../src/coordinator/delta.js';
import { MemoryNetwork, MemoryTransport, mulberry32 } from '../../src/peer/memory-transport.js';
import type { PeerMessage } from '../../src/peer/transport.js';
import { fallbacksForDigest, generateTokens, Ring, splitmix64 } from '../../src/ring/index.js';
import { tokenOf } from '../../src/storage/keys.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

export interface SimOptions {
  readonly nodes: number;
  /** Replication factor. */
  readonly n: number;
  /** Seeds the ring's tokens and the network's faults. */
  readonly seed: number;
  /** Per-request peer timeout; small, so lost messages cost little wall time. */
  readonly requestTimeoutMs?: number;
  readonly vnodes?: number;
  readonly dropRate?: number;
  readonly delayMsMin?: number;
  readonly delayMsMax?: number;
  /** Defaults to a day, so nothing is reaped unless a test asks for it. */
  readonly tombstoneGraceMs?: number;
  /** The coordinators' clock (ms); defaults to Date.now. */
  readonly now?: () => number;
  /** Sloppy quorum with hinted handoff: each node gets a memory hint store and a handoff sender. */
  readonly hints?: boolean;
  /** When a write replicates a delta instead of its record (coordinator/delta.ts); the named limits by default. */
  readonly deltas?: DeltaLimits;
}

export interface SimNode {
  readonly id: string;
  /** Bumped when the node is rebuilt without its disk: its actor is then new. */
  readonly epoch: number;
  /** The node's address on the memory network; distinct from its id, so a mix-up shows. */
  readonly address: string;
  readonly storage: MemoryStorage;
  readonly transport: MemoryTransport;
  readonly coordinator: Coordinator;
  readonly hints: MemoryHintStore | undefined;
  readonly handoff: HandoffSender | undefined;
}

/**
 * Default peer timeout. Down nodes and partitions fail requests at once, so
 * most scenarios never wait for it; it only has to outlast a loaded test
 * machine's event-loop stalls (a few hundred ms seen with ava running files
 * in parallel). Scenarios about timeouts pass a smaller one.
 */
export const simRequestTimeoutMs = 1_000;
const simVnodes = 64;
const pollIntervalMs = 5;

/** Node ids a, b, c, … in ring-id order (members sort by id). */
export function simNodeId(index: number): string {
  return String.fromCharCode(0x61 + index);
}

const addressOf = (id: string) => `${id}.sim:7000`;
const silent = pino({ level: 'silent' });

/** One node's storage, coordinator and replica service on its transport; `epoch` names its actor. */
function wire(id: string, epoch: number, transport: MemoryTransport, storage: MemoryStorage, ring: Ring, network: MemoryNetwork, options: SimOptions, requestTimeoutMs: number): SimNode {
  const address = addressOf(id);
  const view: ClusterView = {
    selfId: id,
    preferenceList: (_key, token) => ring.preferenceListForDigest(token),
    isUp: (other) => network.reachable(address, addressOf(other)),
    fallbacks: (_key, token, max) => fallbacksForDigest(ring, token, (other) => network.reachable(address, addressOf(other)), max),
    peerAddress: addressOf,
    memberIds: () => ring.members,
    replicationFactor: () => ring.n,
    joined: () => true,
  };
  const hints = options.hints === true ? new MemoryHintStore() : undefined;
  const coordinator = new Coordinator(storage, view, transport, {
    ...(hints === undefined ? {} : { hints }),
    requestTimeoutMs,
    siblingsMax: 100,
    siblingsWarn: 25,
    tombstoneGraceMs: options.tombstoneGraceMs ?? 24 * 60 * 60 * 1000,
    actor: new MemoryActor(`${id}#${epoch}`),
    readRepairsInFlightMax: 100,
    logger: silent,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.deltas === undefined ? {} : { deltas: options.deltas }),
  });
  const replicas = new ReplicaService(coordinator);
  transport.setHandler((from: string, message: PeerMessage) => {
    if (ReplicaService.handles(message.type)) return replicas.handle(from, message);
    throw new Error(`unexpected peer message type ${message.type}`);
  });
  const handoff = hints === undefined ? undefined : new HandoffSender({
    store: hints,
    deliver: (target, key, siblings) => coordinator.deliverHint(target, key, siblings),
    isUp: (other) => network.reachable(address, addressOf(other)),
    logger: silent,
    passIntervalMs: 50,
  });
  handoff?.start();
  return { id, epoch, address, storage, transport, coordinator, hints, handoff };
}

export class SimCluster {
  private readonly byId = new Map<string, SimNode>();

  private constructor(
    readonly network: MemoryNetwork,
    readonly ring: Ring,
    readonly nodes: SimNode[],
    readonly requestTimeoutMs: number,
    private readonly options: SimOptions,
  ) {
    for (const node of nodes) this.byId.set(node.id, node);
  }

  /** Rebuilds `id` with an empty disk: new storage, new actor epoch, same node id and address. */
  async wipe(id: string): Promise<SimNode> {
    const old = this.node(id);
    await old.handoff?.stop();
    await old.storage.close();
    const node = wire(id, old.epoch + 1, old.transport, new MemoryStorage(), this.ring, this.network, this.options, this.requestTimeoutMs);
    this.nodes[this.nodes.indexOf(old)] = node;
    this.byId.set(id, node);
    return node;
  }

  static async start(options: SimOptions): Promise<SimCluster> {
    const requestTimeoutMs = options.requestTimeoutMs ?? simRequestTimeoutMs;
    const network = new MemoryNetwork({
      seed: options.seed,
      dropRate: options.dropRate ?? 0,
      delayMsMin: options.delayMsMin ?? 0,
      delayMsMax: options.delayMsMax ?? options.delayMsMin ?? 0,
    });
    const random = splitmix64(BigInt(options.seed));
    const ids = Array.from({ length: options.nodes }, (_, i) => simNodeId(i));
    const ring = Ring.build(ids.map((id) => ({ id, tokens: generateTokens(id, options.vnodes ?? simVnodes, random) })), options.n);
    const nodes: SimNode[] = [];
    for (const id of ids) {
      const transport = new MemoryTransport({ network, nodeId: id, address: addressOf(id), requestTimeoutMs });
      nodes.push(wire(id, 1, transport, new MemoryStorage(), ring, network, options, requestTimeoutMs));
      await transport.listen();
    }
    return new SimCluster(network, ring, nodes, requestTimeoutMs, options);
  }

  node(id: string): SimNode {
    const node = this.byId.get(id);
    if (node === undefined) throw new Error(`no sim node ${id}`);
    return node;
  }

  /** The key's N replicas in ring order. */
  replicasOf(key: string | Buffer): readonly string[] {
    const k = typeof key === 'string' ? Buffer.from(key) : key;
    return this.ring.preferenceListForDigest(tokenOf(k));
  }

  /** A key whose preference list satisfies `accept`, found by trying key-0, key-1, … (deterministic). */
  findKey(prefix: string, accept: (replicas: readonly string[]) => boolean): string {
    for (let i = 0; i < 100_000; i++) {
      const key = `${prefix}-${i}`;
      if (accept(this.replicasOf(key))) return key;
    }
    throw new Error(`no key with prefix ${prefix} fits`);
  }

  down(id: string): void {
    this.network.down(this.node(id).address);
  }

  up(id: string): void {
    this.network.up(this.node(id).address);
  }

  partition(a: readonly string[], b: readonly string[]): void {
    this.network.partition(a.map((id) => this.node(id).address), b.map((id) => this.node(id).address));
  }

  heal(): void {
    this.network.heal();
  }

  /** SET through `via`'s coordinator. */
  put(via: string, key: string, value: string, w: number): Promise<PutResult> {
    return this.node(via).coordinator.put(Buffer.from(key), { kind: 'value', value: Buffer.from(value) }, { w });
  }

  del(via: string, key: string, w: number): Promise<PutResult> {
    return this.node(via).coordinator.put(Buffer.from(key), { kind: 'delete' }, { w });
  }

  /** The reconciled record (tombstones included) read through `via` at R. */
  async get(via: string, key: string, r: number): Promise<Sibling[]> {
    return this.node(via).coordinator.get(Buffer.from(key), r);
  }

  /** The live values read through `via` at R, sorted. */
  async liveValues(via: string, key: string, r: number): Promise<string[]> {
    return values(live(await this.get(via, key, r), Date.now()));
  }

  /** What `id` itself stores for the key, without asking anyone. */
  local(id: string, key: string): Sibling[] {
    const k = Buffer.from(key);
    return this.node(id).storage.get(k, tokenOf(k));
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.handoff?.stop();
    for (const node of this.nodes) await node.transport.close();
    for (const node of this.nodes) await node.storage.close();
  }
}

/** The siblings' values as strings, sorted. */
export function values(siblings: readonly Sibling[]): string[] {
  return siblings.map((s) => s.value.toString()).sort();
}

/** Polls `check` until it holds; false once `timeoutMs` has passed without it. */
export async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

/** mulberry32, as the memory network uses: a seeded PRNG for simulation plans (same seed, same plan). */
export const seededRandom = mulberry32;
