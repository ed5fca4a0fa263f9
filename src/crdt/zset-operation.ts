// The operations sorted-set commands send to a key's coordinator (ZADD,
// ZINCRBY, ZREM, ZPOPMIN/ZPOPMAX, ZRANGESTORE's destination), their bytes,
// and how the coordinator applies one to the merged state of the key's live
// sorted-set versions (zset.ts) in one synchronous step — so ZADD NX/XX/GT/LT
// judge the score this coordinator holds, and two ZPOPMINs meeting at one
// coordinator never pop the same member. Each answers what Redis would
// (added count, new score, popped pairs) as an outcome beside the state
// (registry.ts operate), since the new state alone cannot show it.
//
// A ZADD INCR / ZINCRBY is an increment of the member's score counter, so
// concurrent ones all count; a plain ZADD sets the score register.

import { collectionStart } from './view.js';
import { Reader, Writer as ByteWriter } from './codec.js';
import { TypeOperationError, type OperandView, type Operated, type Writer } from './operation.js';
import { addScores, card, emptyZset, incrementScore, memberKey, ordered, removeMembers, score, zsetType, memberBytes, type Claim, type ZsetState } from './zset.js';
import { applyImport, readImportHeader, writeImportHeader, type ImportHooks, type ImportOperation } from './import-operation.js';

export interface ZaddFlags {
  readonly nx: boolean;
  readonly xx: boolean;
  readonly gt: boolean;
  readonly lt: boolean;
  readonly ch: boolean;
  readonly incr: boolean;
}

export type ZsetOperation =
  /** ZADD (and ZINCRBY as ZADD INCR): score, member pairs in the order given. */
  | { readonly kind: 'add'; readonly flags: ZaddFlags; readonly pairs: readonly (readonly [score: number, member: Buffer])[] }
  | { readonly kind: 'remove'; readonly members: readonly Buffer[] }
  | { readonly kind: 'pop'; readonly end: 'min' | 'max'; readonly count: number }
  /** ZRANGESTORE's destination: whatever it held (of any type) replaced by these pairs. */
  | { readonly kind: 'replace'; readonly pairs: readonly (readonly [score: number, member: Buffer])[] }
  /** IMPORT of a sorted set copied from Redis, a page of score/member pairs (import-operation.ts). */
  | ImportOperation<readonly [score: number, member: Buffer]>;

/** Operation kinds on the wire. ONLY APPEND: peers of other versions read them. */
const opAdd = 1;
const opRemove = 2;
const opPop = 3;
const opReplace = 4;
const opImport = 5;

const flagBits: readonly (keyof ZaddFlags)[] = ['nx', 'xx', 'gt', 'lt', 'ch', 'incr'];

export function encodeZsetOperation(op: ZsetOperation): Buffer {
  const w = new ByteWriter();
  switch (op.kind) {
    case 'add': {
      w.u8(opAdd);
      let bits = 0;
      flagBits.forEach((name, i) => { if (op.flags[name]) bits |= 1 << i; });
      w.u8(bits);
      writePairs(w, op.pairs);
      break;
    }
    case 'remove':
      w.u8(opRemove);
      w.varint(op.members.length);
      for (const m of op.members) w.bytes(m);
      break;
    case 'pop':
      w.u8(opPop);
      w.u8(op.end === 'min' ? 0 : 1);
      w.varint(op.count);
      break;
    case 'replace':
      w.u8(opReplace);
      writePairs(w, op.pairs);
      break;
    case 'import':
      w.u8(opImport);
      writeImportHeader(w, op);
      writePairs(w, op.items);
      break;
  }
  return w.finish();
}

export function decodeZsetOperation(bytes: Buffer): ZsetOperation {
  try {
    const r = new Reader(bytes);
    const kind = r.u8();
    let op: ZsetOperation;
    if (kind === opAdd) {
      const bits = r.u8();
      if (bits >> flagBits.length !== 0) throw new Error('unknown ZADD flag');
      const flags = Object.fromEntries(flagBits.map((name, i) => [name, (bits & (1 << i)) !== 0])) as unknown as ZaddFlags;
      op = { kind: 'add', flags, pairs: readPairs(r) };
    } else if (kind === opRemove) {
      const members: Buffer[] = [];
      for (let n = r.count(); n > 0; n--) members.push(r.bytes());
      op = { kind: 'remove', members };
    } else if (kind === opPop) {
      const end = r.u8();
      if (end > 1) throw new Error('bad end');
      op = { kind: 'pop', end: end === 0 ? 'min' : 'max', count: r.varint() };
    } else if (kind === opReplace) {
      op = { kind: 'replace', pairs: readPairs(r) };
    } else if (kind === opImport) {
      const header = readImportHeader(r);
      op = { ...header, items: readPairs(r) };
    } else {
      throw new Error(`unknown zset operation ${kind}`);
    }
    r.end();
    return op;
  } catch (err) {
    throw new TypeOperationError('BAD_OPERATION', `malformed zset operation: ${(err as Error).message}`);
  }
}

function writePairs(w: ByteWriter, pairs: readonly (readonly [number, Buffer])[]): void {
  w.varint(pairs.length);
  for (const [s, m] of pairs) {
    w.f64(s);
    w.bytes(m);
  }
}

function readPairs(r: Reader): [number, Buffer][] {
  const pairs: [number, Buffer][] = [];
  for (let n = r.count(9); n > 0; n--) {
    const s = r.f64();
    if (Number.isNaN(s)) throw new Error('a NaN score');
    pairs.push([s, r.bytes()]);
  }
  return pairs;
}

// Outcomes ------------------------------------------------------------------------

/** What a zset operation answers: a count, nothing (ZADD INCR that did not apply), a score, or popped pairs. */
export type ZsetOutcome =
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'nil' }
  | { readonly kind: 'score'; readonly score: number }
  | { readonly kind: 'pairs'; readonly pairs: readonly (readonly [member: Buffer, score: number])[] };

export function encodeZsetOutcome(outcome: ZsetOutcome): Buffer {
  const w = new ByteWriter();
  if (outcome.kind === 'count') {
    w.u8(0);
    w.varint(outcome.count);
  } else if (outcome.kind === 'nil') {
    w.u8(1);
  } else if (outcome.kind === 'score') {
    w.u8(2);
    w.f64(outcome.score);
  } else {
    w.u8(3);
    w.varint(outcome.pairs.length);
    for (const [m, s] of outcome.pairs) {
      w.bytes(m);
      w.f64(s);
    }
  }
  return w.finish();
}

export function decodeZsetOutcome(bytes: Buffer): ZsetOutcome {
  const r = new Reader(bytes);
  const kind = r.u8();
  let out: ZsetOutcome;
  if (kind === 0) out = { kind: 'count', count: r.varint() };
  else if (kind === 1) out = { kind: 'nil' };
  else if (kind === 2) out = { kind: 'score', score: r.f64() };
  else if (kind === 3) {
    const pairs: [Buffer, number][] = [];
    for (let n = r.count(9); n > 0; n--) {
      const m = r.bytes();
      pairs.push([m, r.f64()]);
    }
    out = { kind: 'pairs', pairs };
  } else throw new TypeOperationError('BAD_OPERATION', `unknown zset outcome ${kind}`);
  r.end();
  return out;
}

// Applying ------------------------------------------------------------------------

export function applyZsetOperation(view: OperandView | undefined, op: ZsetOperation, writer: Writer): Operated<ZsetState> {
  if (op.kind === 'import') return applyImport(view, op, writer, zsetImport);
  const how: Claim = writer.freshRun ? 'dot' : 'gap';
  if (op.kind === 'replace') {
    // The destination is overwritten whatever it held; a sorted set's seen members are dropped so a concurrent copy of them does not bring them back.
    const old = collectionStart(view, zsetType, true);
    const state = removeMembers(old, [...old.members.keys()].map(memberBytes)).state;
    const last = new Map<string, readonly [Buffer, number]>();
    for (const [s, m] of op.pairs) last.set(memberKey(m), [m, s === 0 ? 0 : s]);
    if (last.size > 0) addScores(state, [...last.values()], writer.dot, how);
    return { state, outcome: encodeZsetOutcome({ kind: 'count', count: card(state) }), replacesValue: true };
  }
  // An emptied sorted set starts from its empty state: its context removes what it removed from concurrent versions.
  const state = collectionStart(view, zsetType);
  switch (op.kind) {
    case 'add':
      return op.flags.incr ? addIncrement(state, op, writer, how) : addPairs(state, op, writer, how);
    case 'remove': {
      const present = new Map<string, Buffer>();
      for (const m of op.members) if (score(state, m) !== undefined) present.set(memberKey(m), m);
      const { delta } = removeMembers(state, [...present.values()]);
      return { state, delta, outcome: encodeZsetOutcome({ kind: 'count', count: present.size }) };
    }
    case 'pop': {
      const order = ordered(state);
      const n = Math.min(op.count, order.length);
      const taken = op.end === 'min' ? order.slice(0, n) : order.slice(order.length - n).reverse();
      const pairs = taken.map((e) => [memberBytes(e.key), e.score] as const);
      const { delta } = removeMembers(state, pairs.map(([m]) => m));
      return { state, delta, outcome: encodeZsetOutcome({ kind: 'pairs', pairs }) };
    }
  }
}

/** A sorted set takes an import's pairs as ZADD would (the last score given for a member wins; -0 kept as 0). */
const zsetImport: ImportHooks<ZsetState, readonly [number, Buffer]> = {
  convergent: zsetType,
  add: (state, items, dot, how) => {
    const last = new Map<string, readonly [Buffer, number]>();
    for (const [s, m] of items) last.set(memberKey(m), [m, s === 0 ? 0 : s]);
    addScores(state, [...last.values()], dot, how);
  },
};

/** ZADD without INCR, as Redis's zsetAdd per pair in order: NX/XX/GT/LT judge the score as the earlier pairs left it. */
function addPairs(state: ZsetState, op: Extract<ZsetOperation, { kind: 'add' }>, writer: Writer, how: Claim): Operated<ZsetState> {
  const { nx, xx, gt, lt, ch } = op.flags;
  const pending = new Map<string, readonly [Buffer, number]>();
  let added = 0;
  let updated = 0;
  for (const [given, m] of op.pairs) {
    // -0 is kept as 0, as Redis's listpack keeps it ("0").
    const s = given === 0 ? 0 : given;
    const key = memberKey(m);
    const current = pending.has(key) ? pending.get(key)![1] : score(state, m);
    if (current !== undefined) {
      if (nx) continue;
      if ((lt && s >= current) || (gt && s <= current)) continue;
      if (s !== current) {
        pending.set(key, [m, s]);
        updated++;
      }
    } else if (!xx) {
      pending.set(key, [m, s]);
      added++;
    }
  }
  const delta = pending.size > 0 ? addScores(state, [...pending.values()], writer.dot, how).delta : emptyZset();
  return { state, delta, outcome: encodeZsetOutcome({ kind: 'count', count: ch ? added + updated : added }) };
}

/** ZADD INCR and ZINCRBY: one increment of the member's score counter, so concurrent ones all count. */
function addIncrement(state: ZsetState, op: Extract<ZsetOperation, { kind: 'add' }>, writer: Writer, how: Claim): Operated<ZsetState> {
  const { nx, xx, gt, lt } = op.flags;
  if (op.pairs.length !== 1) throw new TypeOperationError('BAD_OPERATION', 'ZADD INCR takes one pair');
  const [by, member] = op.pairs[0]!;
  const nil = { state, delta: emptyZset(), outcome: encodeZsetOutcome({ kind: 'nil' }) };
  const current = score(state, member);
  if (current === undefined ? xx : nx) return nil;
  const next = (current ?? 0) + by;
  if (Number.isNaN(next)) throw new TypeOperationError('SCORE_NAN');
  if (current !== undefined && ((lt && next >= current) || (gt && next <= current))) return nil;
  const result = incrementScore(state, member, by === 0 ? 0 : by, writer.dot, how);
  // Redis answers the -0 a new member's increment of -0 computes, though it keeps 0.
  return { state, delta: result.delta, outcome: encodeZsetOutcome({ kind: 'score', score: current === undefined && by === 0 ? by : result.score }) };
}
