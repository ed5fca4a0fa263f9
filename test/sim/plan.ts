// A seed's plan: the cluster's configuration, then bursts of client
// operations with the faults that hit during each and the quiet gap after
// it. The plan is drawn from the seed alone, before anything runs, and one
// operation at a time: it never depends on outcomes, and the plan for M
// operations is the plan for more, cut after the M-th (the last burst is
// drawn whole, then cut), so a failing run can be replayed shorter
// (shrinking, run.ts).

import { mulberry32 } from '../../src/peer/memory-transport.js';
import type { OpKind, Workload } from './history.js';

/** Replication factor of every simulated cluster. */
export const simN = 3;
/** The longest one-way delivery delay the plan ever sets (ms); the checker's horizon uses it. */
export const delayMsMax = 40;
/** Per-request peer timeout (virtual ms): several round trips at the longest delay. */
export const simRequestTimeoutMs = 200;
/** Tombstone grace period: short, so collection happens within a run. */
export const simTombstoneGraceMs = 2_000;
/** Shorter than the grace, as config requires: no hint outlives a tombstone that superseded it. */
export const simHintWindowMs = 1_500;
/** Background anti-entropy: one (tree, replica) pair per node this often (virtual ms). */
export const simAntiEntropyIntervalMs = 500;

/** In a seed that changes the ring, the first bursts are this close together (ms)… */
const ringChangeGapMsMax = 300;
/** …this many of them: about the length of a join (gossip, settle, a span per round trip). */
const ringChangeBusyBursts = 8;

export interface SimConfig {
  readonly seed: number;
  readonly workload: Workload;
  readonly nodes: number;
  readonly keys: readonly string[];
  readonly clients: number;
  /** Each node's garbage collector steps this often (virtual ms). */
  readonly collectEveryMs: number;
  /** Sloppy quorum with hinted handoff (a fallback's hint counts toward W; reads use fallbacks). */
  readonly hints: boolean;
  /** Merkle-tree anti-entropy in the background; the end state of every key's replicas is then judged too. */
  readonly antiEntropy: boolean;
  /**
   * A membership change during the run: the last node starts late and joins
   * (streaming its ranges), or one node leaves (handing them over), at `atMs`
   * after the run starts. Only with 4 or more nodes, so N=3 members remain.
   */
  readonly ringChange?: { readonly kind: 'join' | 'leave'; readonly node: number; readonly atMs: number };
}

/** How a SET's expiry is given, resolved to an absolute time when the SET starts. */
export type PlannedExpiry =
  | { readonly mode: 'px'; readonly ms: number }
  | { readonly mode: 'pxat'; readonly ms: number }
  /** An absolute expiry already past: PXAT 1, or a moment ago. */
  | { readonly mode: 'pxat-past'; readonly agoMs: number | 'epoch' };

export interface PlannedOp {
  readonly index: number;
  readonly client: number;
  /** Index of the node the client talks to. */
  readonly node: number;
  readonly key: string;
  readonly kind: OpKind;
  /** srem: the element removed (an earlier operation's, added to this key or not). */
  readonly target?: string;
  /** incr: the positive amount added. */
  readonly amount?: number;
  readonly r: number;
  readonly w: number;
  /** The client's pause before this operation (virtual ms). */
  readonly thinkMs: number;
  readonly expiry?: PlannedExpiry;
}

export type PlannedFault =
  | { readonly kind: 'partition'; readonly atMs: number; readonly side: readonly number[]; readonly healAfterMs: number }
  | { readonly kind: 'crash'; readonly atMs: number; readonly node: number; readonly downMs: number; readonly wipe: boolean };

export interface NetSettings {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly delayMsMax: number;
}

export interface Burst {
  readonly net: NetSettings;
  readonly ops: readonly PlannedOp[];
  /** Offsets from the burst's start (virtual ms). */
  readonly faults: readonly PlannedFault[];
  /** Quiet time after the burst's last operation (virtual ms). */
  readonly gapMs: number;
}

export interface Plan {
  readonly config: SimConfig;
  readonly bursts: readonly Burst[];
  readonly opCount: number;
}


export interface PlanOptions {
  readonly ops: number;
  /** Overrides the seed's own choice of workload. */
  readonly workload?: Workload;
}

export function makePlan(seed: number, options: PlanOptions): Plan {
  const draw = new Draw(seed);
  const config = drawConfig(seed, draw, options.workload);
  const bursts: Burst[] = [];
  let index = 0;
  let wipePlanned = false;
  while (index < options.ops) {
    const size = draw.int(3, 15);
    const net = drawNet(draw);
    const faults = drawFaults(draw, config, !wipePlanned);
    if (faults.some((f) => f.kind === 'crash' && f.wipe)) wipePlanned = true;
    const ops: PlannedOp[] = [];
    for (let i = 0; i < size; i++) {
      const op = drawOp(draw, config, index++);
      if (op.index < options.ops) ops.push(op);
    }
    const gapMs = drawGapMs(draw);
    // A seed that changes the ring keeps its first bursts close together, so operations run all through the
    // join or leave (announce, settle, streaming, the switch) instead of waiting in a long gap.
    bursts.push({ net, ops, faults, gapMs: config.ringChange !== undefined && bursts.length < ringChangeBusyBursts ? Math.min(gapMs, ringChangeGapMsMax) : gapMs });
  }
  return { config, bursts, opCount: options.ops };
}

/**
 * The workload a seed runs unless told: one seed in eight runs a collection
 * (orset, hash, zset, list in turn); of the rest, every third the counter,
 * else even seeds the set, odd seeds the register.
 */
export function defaultWorkload(seed: number): Workload {
  if (seed % 8 === 7) return collectionWorkloads[Math.floor(seed / 8) % collectionWorkloads.length]!;
  if (seed % 3 === 0) return 'counter';
  return seed % 2 === 0 ? 'set' : 'register';
}

const collectionWorkloads: readonly Workload[] = ['orset', 'hash', 'zset', 'list'];

function drawConfig(seed: number, draw: Draw, workload: Workload | undefined): SimConfig {
  const chosen = workload ?? defaultWorkload(seed);
  const keyCount = chosen === 'register' ? draw.int(1, 3) : draw.int(1, 2);
  const nodes = draw.int(3, 5);
  const clients = draw.int(3, 6);
  const config = {
    seed,
    workload: chosen,
    nodes,
    keys: Array.from({ length: keyCount }, (_, i) => `k${i}`),
    clients,
    collectEveryMs: draw.int(500, 3_000),
    hints: draw.chance(0.5),
    antiEntropy: draw.chance(0.5),
  };
  // Drawn from a PRNG of its own, so the seeds' other draws (and so their histories) stay what they were.
  const change = new Draw(seed ^ 0x7a11);
  if (nodes < 4 || !change.chance(0.4)) return config;
  const kind = change.chance(0.5) ? 'join' : 'leave';
  return { ...config, ringChange: { kind, node: kind === 'join' ? nodes - 1 : change.int(0, nodes - 1), atMs: change.int(0, 1_000) } };
}

function drawNet(draw: Draw): NetSettings {
  return {
    dropRate: draw.chance(0.5) ? 0 : draw.int(1, 10) / 100,
    duplicateRate: draw.chance(0.6) ? 0 : draw.int(1, 10) / 100,
    delayMsMax: draw.pick([1, 5, 20, delayMsMax]),
  };
}

function drawFaults(draw: Draw, config: SimConfig, wipeAllowed: boolean): PlannedFault[] {
  const faults: PlannedFault[] = [];
  if (draw.chance(0.35)) {
    const side = Array.from({ length: config.nodes }, (_, i) => i).filter(() => draw.chance(0.5));
    if (side.length > 0 && side.length < config.nodes) {
      faults.push({ kind: 'partition', atMs: draw.int(0, 200), side, healAfterMs: draw.int(20, 3_000) });
    }
  }
  if (draw.chance(0.3)) {
    // Half the crashes are short; the rest keep the node down past a grace period or a whole gap.
    const downMs = draw.chance(0.5) ? draw.int(10, 1_000) : draw.int(1_000, 120_000);
    faults.push({ kind: 'crash', atMs: draw.int(0, 300), node: draw.int(0, config.nodes - 1), downMs, wipe: wipeAllowed && draw.chance(0.15) });
  }
  if (config.nodes >= 5 && draw.chance(0.1)) {
    // A correlated outage (a rack, a bad deploy): three nodes at once, the whole replica set of some keys, whose
    // writes then live only on fallbacks as hints, coordinated by a fallback.
    const atMs = draw.int(0, 300);
    // Mostly within the hint window, so the writes the fallbacks took are judged; sometimes past it.
    const downMs = draw.chance(0.8) ? draw.int(10, simHintWindowMs - 300) : draw.int(simHintWindowMs, 30_000);
    const first = draw.int(0, config.nodes - 1);
    for (let i = 0; i < 3; i++) faults.push({ kind: 'crash', atMs, node: (first + i * 2) % config.nodes, downMs, wipe: false });
  }
  return faults;
}

/** Quorum sizes: mostly 2, sometimes 1 or 3. */
function drawQuorum(draw: Draw): number {
  const x = draw.next();
  return x < 0.7 ? 2 : x < 0.85 ? 1 : 3;
}

function drawOp(draw: Draw, config: SimConfig, index: number): PlannedOp {
  const base = {
    index,
    client: draw.int(0, config.clients - 1),
    node: draw.int(0, config.nodes - 1),
    key: draw.pick(config.keys),
    r: drawQuorum(draw),
    w: drawQuorum(draw),
    thinkMs: draw.chance(0.5) ? 0 : draw.int(1, 30),
  };
  if (config.workload === 'set') return { ...base, kind: draw.chance(0.7) ? 'add' : 'read' };
  if (config.workload === 'counter') return draw.chance(0.7) ? { ...base, kind: 'incr', amount: draw.int(1, 5) } : { ...base, kind: 'read' };
  if (config.workload === 'orset') {
    const x = draw.next();
    if (x < 0.55 || index === 0) return { ...base, kind: 'sadd' };
    return x < 0.7 ? { ...base, kind: 'srem', target: `e${draw.int(0, index - 1)}` } : { ...base, kind: 'read' };
  }
  if (config.workload === 'hash') {
    const x = draw.next();
    return x < 0.4 ? { ...base, kind: 'hincr', amount: draw.int(1, 5) } : x < 0.7 ? { ...base, kind: 'hset' } : { ...base, kind: 'read' };
  }
  if (config.workload === 'zset') {
    const x = draw.next();
    if (x < 0.4 || index === 0) return { ...base, kind: 'zadd' };
    if (x < 0.55) return { ...base, kind: 'zrem', target: `e${draw.int(0, index - 1)}` };
    return x < 0.75 ? { ...base, kind: 'zincr', amount: draw.int(1, 5) } : { ...base, kind: 'read' };
  }
  if (config.workload === 'list') {
    const x = draw.next();
    if (x < 0.5 || index === 0) return { ...base, kind: draw.chance(0.5) ? 'lpush' : 'rpush' };
    if (x < 0.65) return { ...base, kind: draw.chance(0.5) ? 'lpop' : 'rpop' };
    return x < 0.72 ? { ...base, kind: 'lrem', target: `e${draw.int(0, index - 1)}` } : { ...base, kind: 'read' };
  }
  const x = draw.next();
  const kind = x < 0.3 ? 'read' : x < 0.6 ? 'set' : x < 0.8 ? 'set-ctx' : 'del';
  if ((kind === 'set' || kind === 'set-ctx') && draw.chance(0.3)) return { ...base, kind, expiry: drawExpiry(draw) };
  return { ...base, kind };
}

function drawExpiry(draw: Draw): PlannedExpiry {
  const x = draw.next();
  if (x < 0.4) return { mode: 'px', ms: draw.int(50, 5_000) };
  if (x < 0.7) return { mode: 'pxat', ms: draw.int(500, 20_000) };
  return { mode: 'pxat-past', agoMs: draw.chance(0.5) ? 'epoch' : draw.int(1, 10_000) };
}

/** Half the gaps are short; the rest span grace periods, some of them minutes. */
function drawGapMs(draw: Draw): number {
  const x = draw.next();
  if (x < 0.5) return draw.int(100, 3_000);
  if (x < 0.8) return draw.int(3_000, 60_000);
  return draw.int(60_000, 300_000);
}

/** The plan's PRNG (mulberry32, as the memory network's). */
class Draw {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = mulberry32(seed ^ 0x9e3779b9);
  }

  next(): number {
    return this.random();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }
}
