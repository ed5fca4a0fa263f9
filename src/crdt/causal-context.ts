// The causal layer every convergent type shares: what a replica has seen
// (its causal context) and the join of "dot stores" over it (Almeida,
// Shoker, Baquero, "Delta State Replicated Data Types", 2018, §5: DotSet,
// DotFun, DotMap). An item in a store is alive while it is stored; it is
// removed once a state has seen it (its tag is in the context) but no longer
// stores it. Merge keeps an item if both sides store it, or if one side
// stores it and the other has never seen it: so removing needs no new dot,
// only the removed items' tags in the delta's context, and an add concurrent
// with a remove survives it (add-wins), because the remover never saw it.
//
// Two departures from the paper, both forced by ringkv's dots:
//
// 1. Tags are (dot, item key), not bare dots. One write carries one dot
//    (the record's), yet SADD k a b c or RPUSH k x y creates several items,
//    which must be removable one at a time. So the context knows whole
//    operations (their dots) and, for operations it has not seen whole,
//    single items of them (`items`: only a delta that removes some of an
//    operation's items, or a state that merged such a delta before the
//    operation itself arrived, ever holds these; they fold away as soon as
//    the operation's dot is known).
//
// 2. Counters are node-wide (storage/actor.ts), so one actor's dots on one
//    key are sparse (5, 17, 203, …) and a plain set of seen dots would never
//    compact into a version vector. An operation's delta therefore claims
//    the whole gap below its dot: every counter of its actor above the
//    highest one this state has seen of that actor, up to the dot. The
//    counters in the gap were minted for other keys, so claiming them seen
//    removes nothing here — provided the operation is made over a state that
//    holds every earlier operation of its actor on this key. The coordinator
//    applies each operation to its own replica, so that holds as it does for
//    the record layer's plain writes (coordinator/versioning.ts gives a new
//    version a past covering every earlier event of its own actor). With the
//    gap claimed, a replica that received all of an actor's operations holds
//    one range [1, n] for it: the context stays one range per actor (a
//    version vector), and only a replica that missed some operation holds a
//    second range until the missing one arrives. Nothing else is kept for
//    removed items, so no type here needs tombstones or their collection.
//
// States are plain data. Arrays and sets inside a context are replaced, never
// mutated, once a context may be shared, so a join can share them safely.

import assert from 'node:assert/strict';
import { counterMax } from '../clock/vclock.js';
import type { Dot } from '../clock/types.js';

export interface CausalContext {
  /**
   * Per actor, the counters of operations seen whole: sorted, disjoint,
   * non-adjacent closed ranges flattened as [lo, hi, lo, hi, …], 1 ≤ lo ≤ hi ≤ counterMax.
   */
  readonly ops: Map<string, readonly number[]>;
  /** Items seen singly, of operations not seen whole: dotKey → item keys (never empty). */
  readonly items: Map<string, ReadonlySet<string>>;
}

export function emptyContext(): CausalContext {
  return { ops: new Map(), items: new Map() };
}

/** A copy that shares the (immutable) range arrays and item sets. */
export function cloneContext(ctx: CausalContext): CausalContext {
  // The clone shares the item sets: neither may grow them in place any more.
  releaseItems(ctx);
  return { ops: new Map(ctx.ops), items: new Map(ctx.items) };
}

/** A dot as a Map key: "counter actor" (a counter has no space, so the first space splits it). */
export function dotKey(dot: Dot): string {
  return `${dot.counter} ${dot.actor}`;
}

export function dotOfKey(key: string): Dot {
  const at = key.indexOf(' ');
  return { actor: key.slice(at + 1), counter: Number(key.slice(0, at)) };
}

export function sameDot(a: Dot, b: Dot): boolean {
  return a.counter === b.counter && a.actor === b.actor;
}

/**
 * The order among dots that picks a deterministic winner wherever concurrent
 * writes must show one value: the greater counter wins, then the greater
 * actor id. A greater counter comes from a node that has minted more dots,
 * a weak hint of "later" that every replica reads alike; there is no clock
 * time in a state to do better.
 */
export function compareDots(a: Dot, b: Dot): number {
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : 0;
}

/** True when `ctx` saw operation `dot` whole. */
export function knowsOp(ctx: CausalContext, dot: Dot): boolean {
  const ranges = ctx.ops.get(dot.actor);
  if (ranges === undefined) return false;
  // The last range whose lo ≤ counter.
  let lo = 0;
  let hi = ranges.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[2 * mid]! <= dot.counter) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && ranges[2 * lo - 1]! >= dot.counter;
}

/** True when `ctx` saw item `item` of operation `dot`. */
export function knows(ctx: CausalContext, dot: Dot, item: string): boolean {
  if (knowsOp(ctx, dot)) return true;
  if (ctx.items.size === 0) return false;
  return ctx.items.get(dotKey(dot))?.has(item) ?? false;
}

/** The highest counter of `actor` that `ctx` mentions at all (0 when none). */
export function highestCounter(ctx: CausalContext, actor: string): number {
  const ranges = ctx.ops.get(actor);
  let max = ranges === undefined ? 0 : ranges[ranges.length - 1]!;
  for (const key of ctx.items.keys()) {
    const dot = dotOfKey(key);
    if (dot.actor === actor && dot.counter > max) max = dot.counter;
  }
  return max;
}

/**
 * Records operation `dot` as seen in `state` and `delta` (both changed in
 * place), claiming the gap below it (see the module comment). The dot must be
 * above every counter of its actor the state has seen: the caller mints it
 * with `actor.next(highestCounter(ctx, actor.id))`.
 */
export function claimOp(state: CausalContext, delta: CausalContext, dot: Dot): void {
  const lo = highestCounter(state, dot.actor) + 1;
  assert(Number.isSafeInteger(dot.counter) && dot.counter >= lo && dot.counter <= counterMax, `dot ${dotKey(dot)} is not above the counters this state has seen of its actor (${lo - 1})`);
  addRange(state, dot.actor, lo, dot.counter);
  addRange(delta, dot.actor, lo, dot.counter);
}

/** Adds the closed range [lo, hi] of `actor`'s operations to `ctx` (in place). */
export function addRange(ctx: CausalContext, actor: string, lo: number, hi: number): void {
  const old = ctx.ops.get(actor);
  ctx.ops.set(actor, old === undefined ? [lo, hi] : extendsLast(old, lo) ? withLastHi(old, hi) : unionRanges(old, [lo, hi]));
  if (ctx.items.size > 0) dropItemsOfKnownOps(ctx);
}

/** Adds item `item` of operation `dot` to `ctx` (in place); nothing when the operation is known whole. */
export function addItem(ctx: CausalContext, dot: Dot, item: string): void {
  if (knowsOp(ctx, dot)) return;
  const key = dotKey(dot);
  const old = ctx.items.get(key);
  if (old?.has(item)) return;
  // A set only this context holds grows in place; a shared one is copied once, then owned.
  if (old !== undefined && (old as OwnedItems)[ownerOf] === ctx) {
    (old as OwnedItems).add(item);
    return;
  }
  const next: OwnedItems = new Set(old);
  next.add(item);
  next[ownerOf] = ctx;
  ctx.items.set(key, next);
}

/**
 * The context that made an item set itself and shares it with no other:
 * addItem grows it in place. Removing k items of one operation (LPOP of a
 * count, LTRIM, SREM of many members of one SADD) copied the set k times:
 * 24 s to pop 20,000 elements of one push. Contexts share sets by reference
 * (cloneContext, joinContexts), so sharing one ends its owner's claim
 * (releaseItems). Kept on the set itself: a WeakMap of contexts to WeakSets
 * of their sets cost every re-tagging SADD or HSET two weak tables, a large
 * share of its garbage collection.
 */
const ownerOf = Symbol('item set owner');

type OwnedItems = Set<string> & { [ownerOf]?: CausalContext | undefined };

/** Ends `ctx`'s claim on its item sets: it is about to share them. */
function releaseItems(ctx: CausalContext): void {
  if (ctx.items.size === 0) return;
  for (const set of ctx.items.values()) if ((set as OwnedItems)[ownerOf] === ctx) (set as OwnedItems)[ownerOf] = undefined;
}

/** The least context that saw everything `a` and `b` saw. */
export function joinContexts(a: CausalContext, b: CausalContext): CausalContext {
  const out = cloneContext(a);
  for (const [actor, rb] of b.ops) {
    const ra = out.ops.get(actor);
    out.ops.set(actor, ra === undefined ? rb : unionRanges(ra, rb));
  }
  // `out` shares b's item sets: b may no longer grow them in place.
  releaseItems(b);
  for (const [key, sb] of b.items) {
    const sa = out.items.get(key);
    if (sa === undefined) out.items.set(key, sb);
    else if (sa !== sb) out.items.set(key, new Set([...sa, ...sb]));
  }
  if (out.items.size > 0) dropItemsOfKnownOps(out);
  return out;
}

export function contextEquals(a: CausalContext, b: CausalContext): boolean {
  if (a.ops.size !== b.ops.size || a.items.size !== b.items.size) return false;
  for (const [actor, ra] of a.ops) {
    const rb = b.ops.get(actor);
    if (rb === undefined || ra.length !== rb.length) return false;
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return false;
  }
  for (const [key, sa] of a.items) {
    const sb = b.items.get(key);
    if (sb === undefined || sa.size !== sb.size) return false;
    for (const item of sa) if (!sb.has(item)) return false;
  }
  return true;
}

/** True when `ctx` keeps its invariants (for decoders and tests). */
export function isValidContext(ctx: CausalContext): boolean {
  for (const [actor, ranges] of ctx.ops) {
    if (actor.length === 0 || ranges.length === 0 || ranges.length % 2 !== 0) return false;
    for (let i = 0; i < ranges.length; i += 2) {
      const lo = ranges[i]!;
      const hi = ranges[i + 1]!;
      if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 1 || hi < lo || hi > counterMax) return false;
      if (i > 0 && lo <= ranges[i - 1]! + 1) return false;
    }
  }
  for (const [key, set] of ctx.items) {
    if (set.size === 0) return false;
    const dot = dotOfKey(key);
    if (dot.actor.length === 0 || !Number.isSafeInteger(dot.counter) || dot.counter < 1 || dot.counter > counterMax || knowsOp(ctx, dot)) return false;
  }
  return true;
}

/** The union of two range lists, adjacent ranges coalesced. */
/** True when [lo, …] starts inside or just past the last range of `ranges`: an actor's next operation, the common case. */
function extendsLast(ranges: readonly number[], lo: number): boolean {
  const n = ranges.length;
  return n > 0 && lo >= ranges[n - 2]! && lo <= ranges[n - 1]! + 1;
}

/** `ranges` with its last range reaching at least `hi`: a copy (range arrays are shared between contexts, never changed). */
function withLastHi(ranges: readonly number[], hi: number): number[] {
  const out = ranges.slice();
  if (hi > out[out.length - 1]!) out[out.length - 1] = hi;
  return out;
}

function unionRanges(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let lo: number;
    let hi: number;
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
      lo = a[i]!;
      hi = a[i + 1]!;
      i += 2;
    } else {
      lo = b[j]!;
      hi = b[j + 1]!;
      j += 2;
    }
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) {
      if (hi > out[last]!) out[last] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

function dropItemsOfKnownOps(ctx: CausalContext): void {
  for (const key of [...ctx.items.keys()]) {
    if (knowsOp(ctx, dotOfKey(key))) ctx.items.delete(key);
  }
}

/**
 * The item keys whose tags a delta's context may remove from a state, when
 * they can be named without visiting the state's items: when every range of
 * operations the delta claims is one the state knows nothing of, no tag the
 * state stores lies in it (a state stores only tags its context knows), so
 * only the items the delta names singly can go. An operation's delta claims
 * the gap above what its coordinator's state had seen of its actor, so this
 * holds for every replica that is not ahead of the coordinator: merging a
 * delta then costs the delta, not the state (a chain's replay, crdt/
 * value-chain.ts, and a replica's apply). Undefined when a claimed range
 * overlaps what the state knows: then every item must be visited.
 */
export function itemsDeltaRemoves(state: CausalContext, delta: CausalContext): Iterable<string> | undefined {
  if (!claimsNothingSeen(state, delta)) return undefined;
  if (delta.items.size === 0) return noItems;
  if (delta.items.size === 1) return delta.items.values().next().value!;
  const out = new Set<string>();
  for (const items of delta.items.values()) for (const item of items) out.add(item);
  return out;
}

/**
 * True when no range of operations `delta` claims meets what `state` has
 * seen: then only the items `delta` names singly (its `items`) can remove
 * anything `state` stores (see itemsDeltaRemoves).
 */
export function claimsNothingSeen(state: CausalContext, delta: CausalContext): boolean {
  for (const [actor, ranges] of delta.ops) {
    const known = state.ops.get(actor);
    for (let i = 0; i < ranges.length; i += 2) {
      if (known !== undefined && overlaps(known, ranges[i]!, ranges[i + 1]!)) return false;
      for (const key of state.items.keys()) {
        const dot = dotOfKey(key);
        if (dot.actor === actor && dot.counter >= ranges[i]! && dot.counter <= ranges[i + 1]!) return false;
      }
    }
  }
  return true;
}

const noItems: readonly string[] = Object.freeze([]);

/** True when the sorted, disjoint range list `ranges` meets [lo, hi]. */
function overlaps(ranges: readonly number[], lo: number, hi: number): boolean {
  // The last range whose start ≤ hi: it is the only one that can reach back to lo.
  let a = 0;
  let b = ranges.length / 2;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (ranges[2 * mid]! <= hi) a = mid + 1;
    else b = mid;
  }
  return a > 0 && ranges[2 * a - 1]! >= lo;
}

// Dot stores -------------------------------------------------------------

/** An entry of a dot store: something alive under the tag (its dot, the store's item key). */
export interface Tagged {
  readonly dot: Dot;
}

/**
 * The join of one item key's entries in two stores (a DotSet or DotFun
 * under a DotMap key): an entry stays if both sides hold it, or if one holds
 * it and the other never saw it. Entries are sorted by compareDots and the
 * result is too; an entry under one dot is the same on both sides (dots are
 * never reused), so either copy will do. Returns `a` itself when nothing of
 * it is dropped and nothing is added, so joins of unchanged entries allocate nothing.
 */
export function joinEntries<T extends Tagged>(a: readonly T[], b: readonly T[], ctxA: CausalContext, ctxB: CausalContext, item: string): readonly T[] {
  if (a === b) return a;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  let same = true;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : compareDots(a[i]!.dot, b[j]!.dot);
    if (c === 0) {
      out.push(a[i++]!);
      j++;
    } else if (c < 0) {
      const e = a[i++]!;
      if (!knows(ctxB, e.dot, item)) out.push(e);
      else same = false;
    } else {
      const e = b[j++]!;
      if (!knows(ctxA, e.dot, item)) {
        out.push(e);
        same = false;
      }
    }
  }
  if (same && out.length === a.length) return a;
  // One entry (a write that replaced what it saw) as a literal of one: `out`, grown by push, has room for 17.
  return out.length === 1 ? [out[0]!] : out;
}

/** The entries of `entries` that a side which saw `ctx` but stores nothing under `item` keeps: those it never saw. */
export function survivors<T extends Tagged>(entries: readonly T[], ctx: CausalContext, item: string): readonly T[] {
  let out: T[] | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (knows(ctx, e.dot, item)) {
      if (out === undefined) out = entries.slice(0, i);
    } else if (out !== undefined) out.push(e);
  }
  return out ?? entries;
}

/** Adds the tags of `entries` under `item` to `ctx`, so a delta carrying `ctx` removes them. */
export function forgetEntries(ctx: CausalContext, entries: readonly Tagged[], item: string): void {
  for (const e of entries) addItem(ctx, e.dot, item);
}

/** The greatest entry by compareDots (entries are kept sorted, so the last). */
export function winner<T extends Tagged>(entries: readonly T[]): T | undefined {
  return entries[entries.length - 1];
}
