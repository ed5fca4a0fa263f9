// One simulation run: a seed's plan (plan.ts) played against a simulated
// cluster (world.ts) on virtual time, every client operation recorded
// (history.ts), then every fault healed, every node brought back, and the
// keys read at R=N through every node, round after round so read repair
// converges; the history goes to the checker (checker.ts). The same seed
// gives the same history, byte for byte: `hash` shows it. Shrinking replays
// the seed with fewer operations to find a short history that still fails.
// Deliberately free of ava: the CLI runner (main.ts) and the test share it.

import { createHash } from 'node:crypto';
import { causalContext, live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import type { PutResult } from '../../src/coordinator/coordinator.js';
import type { Mutation } from '../../src/coordinator/versioning.js';
import { counterText, counterType, encodeCounterOperation } from '../../src/crdt/counter.js';
import { encodeHashOperation } from '../../src/crdt/hash-operations.js';
import { fieldKeys, getField, hashType } from '../../src/crdt/hash.js';
import { decodeListOutcome, encodeListOperation } from '../../src/crdt/list-operation.js';
import { listType, values as listValues } from '../../src/crdt/list.js';
import { decodeCountOutcome, encodeSetOperation } from '../../src/crdt/set-operations.js';
import { decodeZsetOutcome, encodeZsetOperation } from '../../src/crdt/zset-operation.js';
import { ordered, score, zsetType } from '../../src/crdt/zset.js';
import { memberKeys, setType } from '../../src/crdt/set.js';
import { typedValue } from '../../src/crdt/view.js';
import { stringOf } from '../../src/commands/data.js';
import { check } from './checker.js';
import { elementsOf, formatOp, type ReplicaStates, type History, type Op, type Outcome, type ReadResult, type SeenVersion, type Violation, type Workload } from './history.js';
import { delayMsMax, makePlan, simN, simRequestTimeoutMs, type Burst, type PlannedExpiry, type PlannedOp, type SimConfig } from './plan.js';
import { simEpochMs, VirtualTime } from './virtual-time.js';
import { SimWorld, type CallResult, type DeltaStats, type SimNode } from './world.js';

/** Operations per seed unless told otherwise. */
export const simOpsDefault = 60;
/** Rounds of final reads at R=N through every node: the first repairs, the last is judged. */
const finalRounds = 3;
/** Attempts per final read before it counts as failed (everything is healed by then). */
const finalReadAttempts = 3;
/** Virtual quiet after healing, so writes and repairs still in flight land (a forwarded write waits 2 timeouts + 250 ms). */
const settleMs = 3_000;
/**
 * With anti-entropy, a further quiet period before the replicas' states are
 * judged: a 5-node ring gives each node 6 trees × 2 other replicas = 12
 * pairs, one per 500 ms tick (simAntiEntropyIntervalMs), so 20 s is over
 * three full rounds.
 */
const antiEntropyQuietMs = 20_000;
/** Virtual pause between final rounds, for the repairs a round sent. */
const roundPauseMs = 1_000;
/** A run whose virtual time passes its plan's gaps plus this much per burst has hung. */
const burstBudgetMs = 120_000;

export interface RunOptions {
  readonly seed: number;
  readonly ops?: number;
  readonly workload?: Workload;
}

export interface RunResult {
  readonly config: SimConfig;
  readonly ops: number;
  readonly history: History;
  readonly violations: Violation[];
  /** Faults injected: partitions, crashes, messages dropped and duplicated. */
  readonly faults: number;
  readonly faultCounts: Record<string, number>;
  /** Records the nodes' garbage collectors removed. */
  readonly collected: number;
  /** Hinted handoff: writes that used a fallback, and hints delivered to their primaries. */
  readonly hinted: { readonly writes: number; readonly byFallback: number; readonly delivered: number };
  /** Records anti-entropy moved (0 when the seed runs without it). */
  readonly aaeRecordsMoved: number;
  /** Delta replication: deltas sent, applied and held by replicas, and whole records sent after one (coordinator/delta.ts). */
  readonly deltas: DeltaStats;
  /** Joins and leaves completed, records streamed and cleaned up (world.ts ringChangeStats). */
  readonly ringChanges: { joins: number; leaves: number; streamed: number; cleaned: number };
  /** sha256 of the history, shortened: equal for equal seeds. */
  readonly hash: string;
  readonly virtualMs: number;
  readonly timersFired: number;
}

export async function runSeed(options: RunOptions): Promise<RunResult> {
  const ops = options.ops ?? simOpsDefault;
  const plan = makePlan(options.seed, { ops, ...(options.workload === undefined ? {} : { workload: options.workload }) });
  const time = new VirtualTime();
  const world = new SimWorld(plan.config, time);
  const run = new Run(world, time);
  let finished = false;
  const change = plan.config.ringChange;
  if (change !== undefined) {
    time.setTimeout(() => {
      if (change.kind === 'join') world.startJoiner(change.node);
      else void world.leave(change.node);
    }, change.atMs);
  }
  const main = (async () => {
    for (const burst of plan.bursts) await run.burst(burst);
    await run.final(ops);
  })().finally(() => {
    finished = true;
  });
  const budgetMs = plan.bursts.reduce((sum, b) => sum + b.gapMs + burstBudgetMs, burstBudgetMs);
  await time.runUntil(() => finished, budgetMs);
  await main;
  const history: History = {
    workload: plan.config.workload,
    n: simN,
    maxDelayMs: delayMsMax,
    ops: run.ops.sort((a, b) => a.index - b.index),
    wipes: world.wipes,
    faults: world.faults,
    finalRounds,
    sloppy: plan.config.hints,
    hintsExpiredKeys: [...world.hintsExpiredKeys].sort(),
    ...(run.replicaStates === undefined ? {} : { replicaStates: run.replicaStates }),
  };
  const faultCounts = {
    partitions: world.stats.partitions,
    crashes: world.stats.crashes,
    wipes: world.stats.wipes,
    dropped: world.network.stats.dropped,
    duplicated: world.network.stats.duplicated,
  };
  return {
    config: plan.config,
    ops,
    history,
    violations: check(history),
    faults: faultCounts.partitions + faultCounts.crashes + faultCounts.dropped + faultCounts.duplicated,
    faultCounts,
    collected: world.stats.collections,
    hinted: world.hintStats(),
    aaeRecordsMoved: world.aaeRecordsMoved(),
    deltas: world.deltaStats(),
    ringChanges: world.ringChangeStats(),
    hash: createHash('sha256').update(JSON.stringify(history)).digest('hex').slice(0, 16),
    virtualMs: time.now() - simEpochMs,
    timersFired: time.fired,
  };
}

/** Plays a plan's operations and records them. */
class Run {
  readonly ops: Op[] = [];
  private finalIndex = 0;
  /** With anti-entropy: each key's replicas' live versions after the quiet period, before any final read. */
  replicaStates: ReplicaStates[] | undefined;

  constructor(
    private readonly world: SimWorld,
    private readonly time: VirtualTime,
  ) {}

  /** A burst: its network settings and faults, its clients' operations, then its quiet gap. */
  async burst(burst: Burst): Promise<void> {
    this.world.setNet(burst.net);
    for (const fault of burst.faults) {
      this.time.setTimeout(() => {
        if (fault.kind === 'partition') this.world.partition(fault.side, fault.healAfterMs);
        else this.world.crash(fault.node, fault.downMs, fault.wipe);
      }, fault.atMs);
    }
    const byClient = new Map<number, PlannedOp[]>();
    for (const op of burst.ops) {
      const list = byClient.get(op.client);
      if (list === undefined) byClient.set(op.client, [op]);
      else list.push(op);
    }
    await Promise.all([...byClient.values()].map((list) => this.client(list)));
    await this.time.sleep(burst.gapMs);
  }

  private async client(list: readonly PlannedOp[]): Promise<void> {
    for (const op of list) {
      if (op.thinkMs > 0) await this.time.sleep(op.thinkMs);
      this.ops.push(await this.op(op));
    }
  }

  private async op(op: PlannedOp): Promise<Op> {
    const node = this.world.nodes[op.node]!;
    const base = { index: op.index, client: op.client, node: node.id, key: op.key, kind: op.kind, invokeMs: this.time.now() };
    const typed = typedOperation(op);
    const quorums = op.kind === 'read' ? { r: op.r } : op.kind === 'set' || op.kind === 'incr' || typed !== undefined ? { w: op.w } : { r: op.r, w: op.w };
    const value = op.kind === 'add' || op.kind === 'sadd' || op.kind === 'zadd' || op.kind === 'lpush' || op.kind === 'rpush' ? `e${op.index}`
      : op.kind === 'hset' ? `f${op.index}` : op.kind === 'srem' || op.kind === 'zrem' || op.kind === 'lrem' ? op.target
        : op.kind === 'set' || op.kind === 'set-ctx' ? `v${op.index}` : undefined;
    if (!node.up) return { ...base, ...quorums, ...(value === undefined ? {} : { value }), completeMs: base.invokeMs, outcome: 'fail', error: 'node down' };
    const key = Buffer.from(op.key);
    if (op.kind === 'incr') {
      const amount = op.amount!;
      const mutation: Mutation = { kind: 'operate', type: 'counter', operation: encodeCounterOperation({ kind: 'by', increment: BigInt(amount) }) };
      const written = await this.world.call(node, (p) => p.coordinator.put(key, mutation, { w: op.w }));
      const after = written.ok ? { counterAfter: counterText(counterType.decode((written.value as PutResult).version.value)) } : {};
      return { ...base, ...quorums, amount, ...after, ...this.writeEnd(written) };
    }
    if (typed !== undefined) {
      const written = await this.world.call(node, (p) => p.coordinator.put(key, typed, { w: op.w }));
      const removed = written.ok ? removedBy(op, (written.value as PutResult).outcome) : undefined;
      return {
        ...base, ...quorums, ...(value === undefined ? {} : { value }), ...(op.amount === undefined ? {} : { amount: op.amount }),
        ...(removed === undefined ? {} : { removed }), ...this.writeEnd(written),
      };
    }
    if (op.kind === 'set') {
      const expiresAt = expiryOf(op.expiry, base.invokeMs);
      const written = await this.world.call(node, (p) => p.coordinator.put(key, valueMutation(value!, expiresAt), { w: op.w }));
      return { ...base, ...quorums, value, ...(expiresAt === undefined ? {} : { expiresAt }), ...this.writeEnd(written) };
    }
    const read = await this.world.call(node, (p) => p.coordinator.get(key, op.r));
    if (!read.ok) return { ...base, ...quorums, ...(value === undefined ? {} : { value }), completeMs: this.time.now(), outcome: 'fail', error: errorText(read) };
    const seen = this.seen(read.value);
    const readPart = { ...base, ...quorums, read: seen, readCompleteMs: this.time.now() };
    if (op.kind === 'read') return { ...readPart, completeMs: readPart.readCompleteMs, outcome: 'ok' };
    const context = causalContext(read.value);
    if (op.kind === 'del') {
      // DEL of a key with no versions at all writes nothing (commands/keys.ts deleteKey).
      if (read.value.length === 0) return { ...readPart, completeMs: readPart.readCompleteMs, outcome: 'fail', error: 'nothing to delete' };
      const written = await this.world.call(node, (p) => p.coordinator.put(key, { kind: 'delete' }, { w: op.w, context }));
      return { ...readPart, ...this.writeEnd(written) };
    }
    if (op.kind === 'set-ctx') {
      const expiresAt = expiryOf(op.expiry, base.invokeMs);
      const written = await this.world.call(node, (p) => p.coordinator.put(key, valueMutation(value!, expiresAt), { w: op.w, context }));
      return { ...readPart, value, ...(expiresAt === undefined ? {} : { expiresAt }), ...this.writeEnd(written) };
    }
    // add: the union of the live siblings' elements, plus one new element, under the read's context.
    const element = value!;
    const elements = new Set(live(read.value, this.time.now()).flatMap((s) => elementsOf(s.value.toString('latin1'))));
    elements.add(element);
    const union = [...elements].sort().join(',');
    const written = await this.world.call(node, (p) => p.coordinator.put(key, { kind: 'value', value: Buffer.from(union, 'latin1') }, { w: op.w, context }));
    return { ...readPart, value: element, written: union, ...this.writeEnd(written) };
  }

  /** How a write ended: acknowledged, known not applied, or indeterminate. */
  private writeEnd(result: CallResult<unknown>): { completeMs: number; outcome: Outcome; error?: string; hintedOnly?: true } {
    const completeMs = this.time.now();
    if (result.ok) return (result.value as PutResult).hintedOnly === true ? { completeMs, outcome: 'ok', hintedOnly: true } : { completeMs, outcome: 'ok' };
    const code = (result.error as { code?: unknown } | null)?.code;
    // A sibling-limit refusal is thrown before anything is stored; anything else may have been stored somewhere.
    const outcome: Outcome = code === 'SIBLINGS_MAX' ? 'fail' : 'info';
    return { completeMs, outcome, error: errorText(result) };
  }

  private seen(record: readonly Sibling[]): ReadResult {
    const versions = record.map(seenVersion).sort(versionOrder);
    const atMs = this.time.now();
    const workload = this.world.config.workload;
    if (workload === 'orset' || workload === 'hash' || workload === 'zset' || workload === 'list') return { atMs, versions, ...collectionRead(record, atMs, workload) };
    if (workload !== 'counter') return { atMs, versions };
    const current = typedValue(live(record, atMs));
    return { atMs, versions, counter: current === undefined ? '' : stringOf(current).toString('latin1') };
  }

  /** Heals everything, lets the cluster settle, then reads every key at R=N through every node, round after round. */
  async final(planOps: number): Promise<void> {
    this.world.healAll();
    await this.time.sleep(settleMs);
    if (this.world.config.antiEntropy) {
      // No read yet: what the replicas hold now is anti-entropy's (and handoff's) doing alone.
      await this.time.sleep(antiEntropyQuietMs);
      this.replicaStates = this.world.config.keys.map((key) => ({ key, replicas: this.world.replicaStates(key) }));
    }
    this.finalIndex = planOps;
    for (let round = 1; round <= finalRounds; round++) {
      const reads: Promise<void>[] = [];
      // A node that left the ring serves no one (it answers LOADING): the members are read.
      const members = this.world.nodes.filter((node) => this.world.membership.statusOf(node.id) !== 'left');
      for (const key of this.world.config.keys) for (const node of members) reads.push(this.finalRead(node, key, round));
      await Promise.all(reads);
      await this.time.sleep(roundPauseMs);
    }
  }

  private async finalRead(node: SimNode, key: string, round: number): Promise<void> {
    for (let attempt = 1; attempt <= finalReadAttempts; attempt++) {
      const index = this.finalIndex++;
      const invokeMs = this.time.now();
      const result = await this.world.call(node, (p) => p.coordinator.get(Buffer.from(key), simN));
      const base = { index, client: -1, node: node.id, key, kind: 'read' as const, r: simN, invokeMs, completeMs: this.time.now(), finalRound: round };
      if (result.ok) {
        this.ops.push({ ...base, outcome: 'ok', read: this.seen(result.value) });
        return;
      }
      this.ops.push({ ...base, outcome: 'fail', error: errorText(result) });
      await this.time.sleep(simRequestTimeoutMs);
    }
  }
}

/** The set and hash workloads' operations, as the commands send them (SADD, SREM, HSET, HINCRBY). */
function typedOperation(op: PlannedOp): Mutation | undefined {
  const b = (s: string) => Buffer.from(s, 'latin1');
  switch (op.kind) {
    case 'sadd': return { kind: 'operate', type: 'set', operation: encodeSetOperation({ kind: 'add', members: [b(`e${op.index}`)] }) };
    case 'srem': return { kind: 'operate', type: 'set', operation: encodeSetOperation({ kind: 'remove', members: [b(op.target!)] }) };
    case 'hset': return { kind: 'operate', type: 'hash', operation: encodeHashOperation({ kind: 'set', pairs: [[b(`f${op.index}`), b('1')]] }) };
    case 'hincr': return { kind: 'operate', type: 'hash', operation: encodeHashOperation({ kind: 'incrby', field: b('n'), increment: BigInt(op.amount!) }) };
    case 'zadd': return { kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'add', flags: zaddPlain, pairs: [[op.index, b(`e${op.index}`)]] }) };
    case 'zincr': return { kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'add', flags: { ...zaddPlain, incr: true }, pairs: [[op.amount!, b('n')]] }) };
    case 'zrem': return { kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'remove', members: [b(op.target!)] }) };
    case 'lpush':
    case 'rpush': return { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'push', end: op.kind === 'lpush' ? 'head' : 'tail', values: [b(`e${op.index}`)], onlyIfExists: false }) };
    case 'lpop':
    case 'rpop': return { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'pop', end: op.kind === 'lpop' ? 'head' : 'tail', count: 1 }) };
    case 'lrem': return { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'remove', count: 0, element: b(op.target!) }) };
    default: return undefined;
  }
}

const zaddPlain = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false } as const;

/** What an acknowledged removal took away, from its outcome: its target when it counted one, or the elements a pop returned. */
function removedBy(op: PlannedOp, outcome: Buffer | undefined): string[] | undefined {
  switch (op.kind) {
    case 'srem': return decodeCountOutcome(outcome) > 0 ? [op.target!] : [];
    case 'zrem': {
      const answer = decodeZsetOutcome(outcome!);
      return answer.kind === 'count' && answer.count > 0 ? [op.target!] : [];
    }
    case 'lrem': {
      const answer = decodeListOutcome(outcome!);
      return answer.kind === 'integer' && answer.value > 0 ? [op.target!] : [];
    }
    case 'lpop':
    case 'rpop': {
      const answer = decodeListOutcome(outcome!);
      return answer.kind === 'elements' ? (answer.values ?? []).map((v) => v.toString('latin1')) : [];
    }
    default: return undefined;
  }
}

/**
 * What SMEMBERS, HGET n and HKEYS, ZSCORE n and ZRANGE, or LRANGE show of a
 * record: the merge of every live version of its type.
 */
function collectionRead(record: readonly Sibling[], atMs: number, workload: 'orset' | 'hash' | 'zset' | 'list'): { counter?: string; elements: string } {
  const current = typedValue(live(record as Sibling[], atMs));
  if (current === undefined) return workload === 'hash' || workload === 'zset' ? { counter: '', elements: '' } : { elements: '' };
  if (workload === 'orset') return { elements: memberKeys(setType.decode(current.value)).join(',') };
  if (workload === 'list') return { elements: listValues(listType.decode(current.value)).map((v) => v.toString('latin1')).join(',') };
  if (workload === 'zset') {
    const state = zsetType.decode(current.value);
    const n = score(state, Buffer.from('n'));
    // Members by score (each ZADD's score is its index), as ZRANGE shows them; sorted again by name for the checker's sets.
    return { counter: n === undefined ? '' : String(n), elements: ordered(state).map((e) => e.key).filter((m) => m !== 'n').sort().join(',') };
  }
  const state = hashType.decode(current.value);
  return { counter: getField(state, Buffer.from('n'))?.toString('latin1') ?? '', elements: fieldKeys(state).filter((f) => f !== 'n').join(',') };
}

function valueMutation(value: string, expiresAt: number | undefined): Mutation {
  const bytes = Buffer.from(value, 'latin1');
  return expiresAt === undefined ? { kind: 'value', value: bytes } : { kind: 'value', value: bytes, expiresAt };
}

/** The absolute expiry a SET carries, from the plan's description and the SET's start. */
function expiryOf(expiry: PlannedExpiry | undefined, nowMs: number): number | undefined {
  if (expiry === undefined) return undefined;
  if (expiry.mode === 'px' || expiry.mode === 'pxat') return nowMs + expiry.ms;
  return expiry.agoMs === 'epoch' ? 1 : nowMs - expiry.agoMs;
}

function seenVersion(s: Sibling): SeenVersion {
  // A counter version as its own digits (the read's merged value is ReadResult.counter).
  const value = s.type === 'counter' ? `counter:${counterText(counterType.decode(s.value))}`
    : s.type === 'set' || s.type === 'hash' || s.type === 'zset' || s.type === 'list' ? `${s.type}:${s.dot.actor}:${s.dot.counter}${s.emptied === true ? ':emptied' : ''}` : s.value.toString('latin1');
  if (s.deleted === true) return { value, deleted: true };
  return s.expiresAt === undefined ? { value } : { value, expiresAt: s.expiresAt };
}

function versionOrder(a: SeenVersion, b: SeenVersion): number {
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  if ((a.deleted === true) !== (b.deleted === true)) return a.deleted === true ? 1 : -1;
  return (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || 0;
}

function errorText(result: CallResult<unknown>): string {
  if (result.ok) return '';
  if (result.crashed) return 'node crashed';
  const error = result.error as { code?: unknown; message?: unknown } | null;
  const code = typeof error?.code === 'string' ? `${error.code}: ` : '';
  return `${code}${String(error?.message ?? error)}`.slice(0, 160);
}

/** The smallest plan prefix found that still shows `kind` on `key`, and that run. */
export interface Shrunk {
  readonly ops: number;
  readonly result: RunResult;
}

/** Replays per shrink: a bisection over the prefix length, bounded. */
const shrinkRunsMax = 16;

/**
 * Replays the seed with fewer operations (the plan for M operations is a
 * prefix of the plan for more) and keeps the shortest run that still shows a
 * violation of the same kind on the same key. Not every shorter prefix fails
 * (timing shifts with the operations cut), so this bisects and keeps the best
 * seen: a short history, not necessarily the shortest.
 */
export async function shrink(options: RunOptions & { readonly ops: number }, violation: Violation): Promise<Shrunk> {
  const fails = async (ops: number): Promise<RunResult | undefined> => {
    const result = await runSeed({ ...options, ops });
    return result.violations.some((v) => v.kind === violation.kind && v.key === violation.key) ? result : undefined;
  };
  const planned = violation.ops.filter((i) => i < options.ops);
  let best: Shrunk | undefined;
  let runs = 0;
  const first = planned.length === 0 ? options.ops : Math.max(...planned) + 1;
  if (first < options.ops) {
    runs++;
    const result = await fails(first);
    if (result !== undefined) best = { ops: first, result };
  }
  if (best === undefined) best = { ops: options.ops, result: (await fails(options.ops)) ?? (await runSeed(options)) };
  let low = 1;
  let high = best.ops - 1;
  while (low <= high && runs < shrinkRunsMax) {
    const mid = Math.floor((low + high) / 2);
    runs++;
    const result = await fails(mid);
    if (result !== undefined) {
      best = { ops: mid, result };
      high = mid - 1;
    } else {
      low = mid + 1;
    }
  }
  return best;
}

/** The operations on `key`, with the faults, in time order: what a failure report prints. */
export function describeKey(history: History, key: string): string[] {
  const lines: { atMs: number; order: number; text: string }[] = [];
  for (const op of history.ops) if (op.key === key) lines.push({ atMs: op.invokeMs, order: op.index, text: formatOp(op, simEpochMs) });
  for (const [i, fault] of history.faults.entries()) lines.push({ atMs: fault.atMs, order: i - history.faults.length, text: `-- ${fault.atMs - simEpochMs}: ${fault.what}` });
  lines.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  return lines.map((l) => l.text);
}

/** The command that replays a run. */
export function replayCommand(seed: number, workload: Workload, ops: number): string {
  return `npm run sim -- --seed ${seed} --workload ${workload} --ops ${ops}`;
}
