// What a simulation run records, and what the checker (checker.ts) reads:
// every client operation with its invocation and completion in virtual time,
// the node it went through, its quorum and its outcome, and for anything
// that read, the record the read returned. Plain JSON-able data, so a history
// can be hashed (same seed, same bytes), printed, or written by hand in tests.

export type Workload = 'register' | 'set' | 'counter' | 'orset' | 'hash' | 'zset' | 'list';

/**
 * - `incr`: the counter workload's INCRBY of a positive amount: an operation
 *   the key's coordinator applies to the counter it holds (no read first).
 * - `read`: coordinator.get at R.
 * - `set`: a plain SET of a unique value (optionally with an expiry).
 * - `set-ctx`: read at R, then SET with that read's causal context (a client
 *   resolving siblings: SIBLINGS WITHVCLOCK, then SET … VCLOCK).
 * - `del`: read at R, then a tombstone with that read's context (DEL).
 * - `add`: the set workload's read-merge-write: read at R, write the union
 *   of the live siblings' elements plus one new element, with that context.
 */
export type OpKind = 'read' | 'set' | 'set-ctx' | 'del' | 'add' | 'incr' | TypedOpKind;

/**
 * The convergent collections' operations, applied at the key's coordinator
 * (no read first): `sadd` adds a unique element to a set, `srem` removes one
 * earlier element (any, added or not); `hset` sets a unique field of a hash,
 * `hincr` HINCRBYs its field "n" by a positive amount;
 * `zadd` adds a unique member to a sorted set, `zrem` removes an earlier one,
 * `zincr` ZINCRBYs its member "n" by a positive amount; `lpush`/`rpush`
 * push a unique element onto a list, `lpop`/`rpop` pop one, `lrem` removes
 * an earlier element by value.
 */
export type TypedOpKind = 'sadd' | 'srem' | 'hset' | 'hincr' | 'zadd' | 'zrem' | 'zincr' | 'lpush' | 'rpush' | 'lpop' | 'rpop' | 'lrem';

/** The operations that take an element away: each names the element it removed (or, for a pop, those it returned). */
export const removalKinds: ReadonlySet<OpKind> = new Set(['srem', 'zrem', 'lrem', 'lpop', 'rpop']);
/** The operations that add a unique element (its name is the op's value). */
export const additionKinds: ReadonlySet<OpKind> = new Set(['sadd', 'hset', 'zadd', 'lpush', 'rpush']);

/**
 * - `ok`: acknowledged (a read returned a record; a write met W).
 * - `fail`: known not to have happened (the node was down, the read part of
 *   a read-then-write failed so nothing was written, a refusal before any
 *   storage).
 * - `info`: indeterminate: a write whose quorum failed, or whose node
 *   crashed under it, may or may not have been stored somewhere.
 */
export type Outcome = 'ok' | 'fail' | 'info';

/** One sibling as a read returned it. */
export interface SeenVersion {
  readonly value: string;
  readonly deleted?: true;
  readonly expiresAt?: number;
}

/** The record a read returned, and the virtual time liveness is judged at. */
export interface ReadResult {
  readonly atMs: number;
  /** Every sibling, tombstones and expired versions included, sorted. */
  readonly versions: readonly SeenVersion[];
  /** Counter workload: the value a client sees (the merge of every live counter version), '' when none is live. */
  readonly counter?: string;
  /**
   * Collection workloads: the set's or sorted set's members or the hash's
   * fields other than "n", sorted, or the list's elements in list order;
   * comma-joined ('' when none).
   */
  readonly elements?: string;
}

export interface Op {
  /** Position in the seed's plan (final reads come after the plan). */
  readonly index: number;
  readonly client: number;
  readonly node: string;
  readonly key: string;
  readonly kind: OpKind;
  readonly r?: number;
  readonly w?: number;
  /** set/set-ctx: the unique value written; add: the element added. */
  readonly value?: string;
  /** add: the whole value written (elements joined by commas). */
  readonly written?: string;
  /**
   * An acknowledged removal: the elements its coordinator took away (SREM,
   * ZREM, LREM of an element it held; the elements LPOP/RPOP returned). It
   * saw their adds, so they stay gone wherever it is seen.
   */
  readonly removed?: readonly string[];
  /** incr: the amount added (positive). */
  readonly amount?: number;
  /** incr, acknowledged: the value the coordinator's new version holds. */
  readonly counterAfter?: string;
  /** set/set-ctx: absolute expiry (ms), possibly already past. */
  readonly expiresAt?: number;
  readonly invokeMs: number;
  readonly completeMs: number;
  /** For a read-then-write: when its read answered. */
  readonly readCompleteMs?: number;
  readonly outcome: Outcome;
  readonly error?: string;
  /** read, and the read part of set-ctx/del/add, when it answered. */
  readonly read?: ReadResult;
  /** Final reads after healing: the round (1, 2, …); the last round is what the end state is judged on. */
  readonly finalRound?: number;
  /** An acknowledged write no primary held: only fallbacks kept it, as hints (every primary was down). */
  readonly hintedOnly?: true;
}

/** A fault, for the report: printed beside the operations. */
export interface FaultEvent {
  readonly atMs: number;
  readonly what: string;
}

/** A node's data was lost between `fromMs` (it went down) and `toMs` (it came back empty). */
export interface Wipe {
  readonly node: string;
  readonly fromMs: number;
  readonly toMs: number;
}

export interface History {
  readonly workload: Workload;
  /** Replication factor: R + W > n is the quorum intersection. */
  readonly n: number;
  /** The longest one-way delivery delay in the run: a write's versions are all minted by its completion plus this. */
  readonly maxDelayMs: number;
  readonly ops: readonly Op[];
  readonly wipes: readonly Wipe[];
  readonly faults: readonly FaultEvent[];
  /** Rounds of final reads done; 0 when the run did not reach them. */
  readonly finalRounds: number;
  /**
   * Sloppy quorums (hinted handoff on): a fallback's ack counts toward W, so
   * R + W > N promises nothing while replicas are down (Dynamo §4.6). Only
   * the final reads, after everything healed and hints had time to go home,
   * must then see every acknowledged write.
   */
  readonly sloppy?: boolean;
  /**
   * Keys some of whose hints were dropped past their window. A write
   * acknowledged while every primary of its key was down lives only as hints,
   * so it is only as durable as the hint window (Cassandra's ANY has the same
   * limit): on these keys such writes are judged as indeterminate.
   */
  readonly hintsExpiredKeys?: readonly string[];
  /** With anti-entropy on: every key's replicas' live versions after a quiet period, before any final read. */
  readonly replicaStates?: readonly ReplicaStates[];
}

/** What each replica of a key holds live (its versions' dots, sorted), at one instant. */
export interface ReplicaStates {
  readonly key: string;
  readonly replicas: readonly { readonly node: string; readonly live: readonly string[] }[];
}

export interface Violation {
  readonly kind: ViolationKind;
  readonly key: string;
  readonly message: string;
  /** The operations that show it (indices into the plan). */
  readonly ops: readonly number[];
}

export type ViolationKind =
  | 'lost-write'
  | 'stale-read'
  | 'resurrected'
  | 'unknown-value'
  | 'diverged'
  | 'replicas-diverged'
  | 'final-read-failed'
  | 'counter-out-of-bounds'
  /** A list read shows one pushed element more than once. */
  | 'duplicated';

/** The values a read saw live at its `atMs`. */
export function liveValues(read: ReadResult): string[] {
  const out: string[] = [];
  for (const v of read.versions) if (isLive(v, read.atMs)) out.push(v.value);
  return out;
}

export function isLive(version: SeenVersion, atMs: number): boolean {
  return version.deleted !== true && (version.expiresAt === undefined || version.expiresAt > atMs);
}

/** The set workload's elements in a value: comma-separated ids. */
export function elementsOf(value: string): string[] {
  return value === '' ? [] : value.split(',');
}

/** One line per operation, for failure reports. */
export function formatOp(op: Op, epochMs: number): string {
  // Virtual ms since the run began; an absolute time before it (PXAT 1) as it was given.
  const t = (ms: number) => (ms < epochMs ? `@${ms}` : `${ms - epochMs}`);
  const quorum = [op.r === undefined ? '' : `R=${op.r}`, op.w === undefined ? '' : `W=${op.w}`].filter(Boolean).join(' ');
  const expiry = op.expiresAt === undefined ? '' : ` expiresAt=${t(op.expiresAt)}`;
  let what: string;
  switch (op.kind) {
    case 'read':
      what = op.finalRound === undefined ? 'GET' : `FINAL-GET(round ${op.finalRound})`;
      break;
    case 'set':
      what = `SET ${op.value}${expiry}`;
      break;
    case 'set-ctx':
      what = `SET ${op.value}${expiry} VCLOCK <its read>`;
      break;
    case 'del':
      what = 'DEL (read, then tombstone)';
      break;
    case 'add':
      what = `ADD ${op.value} (writes ${op.written ?? '?'})`;
      break;
    case 'incr':
      what = `INCRBY ${op.amount}${op.counterAfter === undefined ? '' : ` → ${op.counterAfter}`}`;
      break;
    case 'sadd':
    case 'srem':
    case 'hset':
      what = `${op.kind.toUpperCase()} ${op.value}${op.removed === undefined ? '' : ` (removed [${op.removed.join(',')}])`}`;
      break;
    case 'hincr':
      what = `HINCRBY n ${op.amount}`;
      break;
    case 'zadd':
    case 'zrem':
    case 'lpush':
    case 'rpush':
    case 'lrem':
      what = `${op.kind.toUpperCase()} ${op.value}${op.removed === undefined ? '' : ` (removed [${op.removed.join(',')}])`}`;
      break;
    case 'zincr':
      what = `ZINCRBY n ${op.amount}`;
      break;
    case 'lpop':
    case 'rpop':
      what = `${op.kind.toUpperCase()}${op.removed === undefined ? '' : ` → [${op.removed.join(',')}]`}`;
      break;
  }
  const elements = op.read?.elements === undefined ? '' : ` elements=[${op.read.elements}]`;
  const counter = (op.read?.counter === undefined ? '' : ` counter=${op.read.counter}`) + elements;
  const seen = op.read === undefined ? '' : ` read→[${op.read.versions.map((v) => formatVersion(v, op.read!.atMs, t)).join(' ')}]${counter}`;
  const outcome = op.outcome === 'ok' ? 'OK' : op.outcome === 'fail' ? `FAIL(${op.error ?? ''})` : `INDETERMINATE(${op.error ?? ''})`;
  return `#${op.index} c${op.client} via ${op.node} ${t(op.invokeMs)}..${t(op.completeMs)} ${op.key} ${what} ${quorum}${seen} → ${outcome}`;
}

function formatVersion(v: SeenVersion, atMs: number, t: (ms: number) => string): string {
  if (v.deleted === true) return '†tombstone';
  const expiry = v.expiresAt === undefined ? '' : `(exp ${t(v.expiresAt)}${isLive(v, atMs) ? '' : ', expired'})`;
  return `${v.value}${expiry}`;
}
