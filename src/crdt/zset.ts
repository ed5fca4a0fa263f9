// Sorted sets as observed-remove maps of member → cell (cell.ts): the score
// is a multi-value register that ZADD sets plus a counter that ZINCRBY adds
// to, reset by the ZADDs that saw it, so concurrent ZINCRBYs all count and a
// ZINCRBY concurrent with a ZADD adds on top of the ZADD's score. Concurrent
// ZADDs of one member keep both scores until a later ZADD covers them; the
// one with the greatest dot counts (compareDots). ZREM drops what it saw, so
// a concurrent ZADD or ZINCRBY keeps the member (add-wins).
//
// Scores are doubles as in Redis, and a sequence of ZINCRBYs on one replica
// reads exactly the double Redis computes (cell.ts: the increment's own
// result answers while nothing concurrent happened).
//
// Order: by score, then member bytes, as Redis orders. Reads go through a
// sorted array of (member, score) built on demand and cached until the next
// change: building it is O(n log n) (~60 ms for 100k members), then rank,
// index and score or lex bounds are O(log n) binary searches and ranges
// O(log n + k). A removal patches the cached array in place (O(n) move, no
// re-sort), so ZPOPMIN/ZPOPMAX loops stay cheap; an add drops it.
//
// Operations change the state they are given and return it (see set.ts).

import type { Dot } from '../clock/types.js';
import type { Convergent, Update } from './kind.js';
import { keyOrderMovesMax } from './key-order.js';
import { CrdtCodecError } from './kind.js';
import { addRange, claimOp, cloneContext, contextEquals, emptyContext, joinContexts, type CausalContext } from './causal-context.js';
import {
  forgetCell,
  incrementCell,
  joinCellMaps,
  joinCellMapsInto,
  readCell,
  readCellEntries,
  sameCellMaps,
  setCell,
  writeCell,
  type Arith,
  type Cell,
} from './cell.js';
import { decodeState, header, readContext, writeContext, Writer, type Reader } from './codec.js';

export type MemberCell = Cell<number, number>;

export interface ZsetState {
  /** Member (latin1 key) → its score cell, never empty. */
  readonly members: Map<string, MemberCell>;
  readonly ctx: CausalContext;
}

/** A member in order: its latin1 key (byte order under `<`) and its score. */
export interface ZEntry {
  readonly key: string;
  readonly score: number;
}

const typeCode = 0x7a; // 'z'

/**
 * Score arithmetic. A sum of +inf and -inf is 0, not NaN: Redis never holds a
 * NaN score (ZINCRBY refuses one), but increments made on the two sides of a
 * partition meet only in the merge, where nothing can refuse them. A NaN
 * would break the order every range and rank reads (it compares false with
 * everything), and a NaN in an actor's running sum makes a state no replica
 * decodes. The counts are summed in dot order, the same on every replica.
 */
const doubleArith: Arith<number, number> = {
  zero: 0,
  add: (a, b) => {
    const sum = a + b;
    return sum === sum ? sum : 0;
  },
  numberOf: (v) => v,
  shown: (n) => n,
};

/** The order, and the members moved in it since a read last asked for it (see orderMovesMax). */
type ZOrder = ZEntry[] & { moves?: number };
const orderCache = new WeakMap<ZsetState, ZOrder>();

export function emptyZset(): ZsetState {
  return { members: new Map(), ctx: emptyContext() };
}

export function cloneZset(state: ZsetState): ZsetState {
  return { members: new Map(state.members), ctx: cloneContext(state.ctx) };
}

export function memberKey(member: Buffer): string {
  return member.toString('latin1');
}

export function memberBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/**
 * How an operation's dot enters the context: 'gap' claims the actor's
 * counters below it that this state has not seen (they were minted for other
 * keys: claimOp), 'dot' only the dot itself — for a writer whose view may
 * lack its own earlier operations on the key (Writer.freshRun), whose gap
 * claim would mark those operations' adds as seen and so removed.
 */
export type Claim = 'gap' | 'dot';

function claim(state: ZsetState, delta: ZsetState, dot: Dot, how: Claim): void {
  if (how === 'gap') return claimOp(state.ctx, delta.ctx, dot);
  addRange(state.ctx, dot.actor, dot.counter, dot.counter);
  addRange(delta.ctx, dot.actor, dot.counter, dot.counter);
}

/** ZADD's write: sets each member's score, resetting the increments it saw. A member given twice takes the last score, as in Redis. */
export function addScores(state: ZsetState, pairs: readonly (readonly [member: Buffer, score: number])[], dot: Dot, how: Claim = 'gap'): Update<ZsetState> {
  const delta = emptyZset();
  claim(state, delta, dot, how);
  const order = pairs.length <= orderMovesMax ? keptInStep(state, pairs.length) : undefined;
  for (const [member, score] of pairs) {
    const key = memberKey(member);
    const old = state.members.get(key);
    const cell = setCell<number, number>(old, score, dot, delta.ctx, key);
    state.members.set(key, cell);
    delta.members.set(key, cell);
    if (order !== undefined) move(order, key, old, cell);
  }
  if (order === undefined) orderCache.delete(state);
  return { state, delta };
}

/**
 * Members the writes between two reads may move in the cached order one by
 * one (a splice out and a splice in each, O(n) moves of pointers); past it
 * the order is dropped and sorted again when next read. A leaderboard's ZADD
 * then ZRANGE 0 9 on 100k members re-sorted them all on every read; and
 * without the bound, ZADDs that nobody reads paid two splices each for as
 * long as one old read's order lived. The bound is the one sets and hashes
 * keep theirs by (key-order.ts keyOrderMovesMax).
 */
const orderMovesMax = keyOrderMovesMax;

/** The cached order, if `moves` more keep it within orderMovesMax since the last read; undefined (drop it) otherwise. */
function keptInStep(state: ZsetState, moves: number): ZOrder | undefined {
  const order = orderCache.get(state);
  if (order === undefined) return undefined;
  order.moves = (order.moves ?? 0) + moves;
  return order.moves <= orderMovesMax ? order : undefined;
}

/** Moves `key` in `order` from where `before` put it (absent: nowhere) to where `after` puts it. */
function move(order: ZEntry[], key: string, before: MemberCell | undefined, after: MemberCell): void {
  if (before !== undefined) order.splice(rankOf(order, key, scoreOfCell(before)), 1);
  const score = scoreOfCell(after);
  order.splice(rankOf(order, key, score), 0, { key, score });
}

/** ZINCRBY (and ZADD INCR): adds `by` to the member's score (a missing member starts at 0). Returns the new score as this replica reads it. */
export function incrementScore(state: ZsetState, member: Buffer, by: number, dot: Dot, how: Claim = 'gap'): Update<ZsetState> & { readonly score: number } {
  const delta = emptyZset();
  claim(state, delta, dot, how);
  const key = memberKey(member);
  const old = state.members.get(key);
  const result = incrementCell(old, by, dot, delta.ctx, key, doubleArith);
  state.members.set(key, result.cell);
  delta.members.set(key, result.delta);
  const order = keptInStep(state, 1);
  if (order !== undefined) move(order, key, old, result.cell);
  else orderCache.delete(state);
  return { state, delta, score: result.value };
}

/** ZREM (and the removal of ZPOPMIN/ZPOPMAX): drops every tag seen on each member. */
export function removeMembers(state: ZsetState, members: readonly Buffer[]): Update<ZsetState> {
  const delta = emptyZset();
  for (const member of members) {
    const key = memberKey(member);
    const cell = state.members.get(key);
    if (cell === undefined) continue;
    const order = orderCache.get(state);
    if (order !== undefined) {
      const at = rankOf(order, key, scoreOfCell(cell));
      // The ends are ZPOPMIN/ZPOPMAX's: shift and pop skip the O(n) move of a splice.
      if (at === 0) order.shift();
      else if (at === order.length - 1) order.pop();
      else order.splice(at, 1);
    }
    forgetCell(cell, delta.ctx, key);
    state.members.delete(key);
  }
  return { state, delta };
}

/** ZSCORE: the member's score, or undefined. */
export function score(state: ZsetState, member: Buffer): number | undefined {
  const cell = state.members.get(memberKey(member));
  return cell === undefined ? undefined : scoreOfCell(cell);
}

/** Every score concurrent ZADDs left on the member (the counting one last), and whether increments add to it. */
export function scoreConflict(state: ZsetState, member: Buffer): { readonly scores: number[]; readonly counting: boolean } | undefined {
  const cell = state.members.get(memberKey(member));
  if (cell === undefined) return undefined;
  return { scores: cell.values.map((v) => v.value), counting: cell.counts.length > 0 };
}

/** ZCARD. */
export function card(state: ZsetState): number {
  return state.members.size;
}

/** Every member by (score, member bytes). Cached; do not mutate. */
export function ordered(state: ZsetState): readonly ZEntry[] {
  let order = orderCache.get(state);
  if (order === undefined) {
    order = [];
    for (const [key, cell] of state.members) order.push({ key, score: scoreOfCell(cell) });
    order.sort(compareEntries);
    orderCache.set(state, order);
  }
  order.moves = 0;
  return order;
}

/** ZRANK: the member's 0-based index by (score, member), or undefined. */
export function rank(state: ZsetState, member: Buffer): number | undefined {
  const key = memberKey(member);
  const cell = state.members.get(key);
  return cell === undefined ? undefined : rankOf(ordered(state), key, scoreOfCell(cell));
}

/** The index of the first member whose score is ≥ `min` (> `min` when `exclusive`): ZCOUNT and BYSCORE bounds. */
export function firstAtScore(state: ZsetState, min: number, exclusive: boolean): number {
  const order = ordered(state);
  return lowerBound(order.length, (i) => (exclusive ? order[i]!.score <= min : order[i]!.score < min));
}

/** The index of the first member whose key is ≥ `key` (> when `exclusive`), for BYLEX ranges (meaningful when all scores are equal, as in Redis). */
export function firstAtMember(state: ZsetState, member: Buffer, exclusive: boolean): number {
  const order = ordered(state);
  const key = memberKey(member);
  return lowerBound(order.length, (i) => (exclusive ? order[i]!.key <= key : order[i]!.key < key));
}

function scoreOfCell(cell: MemberCell): number {
  return readCell(cell, doubleArith)!.value;
}

function compareEntries(a: ZEntry, b: ZEntry): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function rankOf(order: readonly ZEntry[], key: string, s: number): number {
  const probe = { key, score: s };
  return lowerBound(order.length, (i) => compareEntries(order[i]!, probe) < 0);
}

/** The first index in [0, n) where `before` turns false (it must be true then false). */
function lowerBound(n: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function merge(a: ZsetState, b: ZsetState): ZsetState {
  return { members: joinCellMaps(a.members, a.ctx, b.members, b.ctx), ctx: joinContexts(a.ctx, b.ctx) };
}

/** merge(state, delta) reusing state's map (kind.ts mergeDelta). */
export function mergeDelta(state: ZsetState, delta: ZsetState): ZsetState {
  orderCache.delete(state);
  return { members: joinCellMapsInto(state.members, state.ctx, delta.members, delta.ctx), ctx: joinContexts(state.ctx, delta.ctx) };
}

export function equals(a: ZsetState, b: ZsetState): boolean {
  return contextEquals(a.ctx, b.ctx) && sameCellMaps(a.members, b.members);
}

// Layout: header, context, varint memberCount, per member: key, cell (cell.ts) with f64 scores and sums.
export function encode(state: ZsetState): Buffer {
  const w = new Writer();
  header(w, typeCode);
  writeContext(w, state.ctx);
  w.varint(state.members.size);
  for (const [key, cell] of state.members) {
    w.key(key);
    writeCell(w, cell, writeDouble, writeDouble);
  }
  return w.finish();
}

export function decode(bytes: Buffer): ZsetState {
  return decodeState(bytes, typeCode, 'zset', (r) => {
    const ctx = readContext(r);
    const members = new Map<string, MemberCell>();
    for (let n = r.count(3); n > 0; n--) {
      const key = r.key();
      if (members.has(key)) throw new CrdtCodecError('member twice');
      members.set(key, readCellEntries(r, ctx, key, readDouble, readDouble));
    }
    return { members, ctx };
  });
}

function writeDouble(w: Writer, v: number): void {
  w.f64(v);
}

function readDouble(r: Reader): number {
  const v = r.f64();
  if (Number.isNaN(v)) throw new CrdtCodecError('a score that is not a number');
  return v;
}

export const zsetType: Convergent<ZsetState> = { type: 'zset', empty: emptyZset, merge, mergeDelta, equals, encode, decode };
