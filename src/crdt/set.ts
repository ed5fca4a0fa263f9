// Sets as add-wins observed-remove sets (the AWSet of "Delta State
// Replicated Data Types", an ORSWOT as Riak's sets: no tombstones, removed
// members live on only as tags in the causal context). A member is alive
// while some write's tag stays stored under it; SADD tags it anew (and drops
// the tags it saw, so a member carries one tag unless adds were concurrent),
// SREM drops the tags it saw. A concurrent SADD's tag was not seen by the
// SREM, so the member stays: add wins.
//
// Members are byte strings, kept as latin1 strings (one char per byte, so
// binary-safe, and `<` on them is byte order) in a Map: O(1) add, remove
// and lookup at any size. Reads that list members sort once and cache the
// order until the next change (O(n log n), ~35 ms for 100k members).
//
// Operations change the state they are given and return it as the update's
// state (a caller that still needs the old state clones it first); merge
// and the codec never change their arguments. Entry arrays are never
// mutated, so states may share them.

import assert from 'node:assert/strict';
import type { Dot } from '../clock/types.js';
import type { Convergent, Update } from './kind.js';
import {
  addRange,
  claimOp,
  cloneContext,
  compareDots,
  contextEquals,
  emptyContext,
  forgetEntries,
  itemsDeltaRemoves,
  joinContexts,
  joinEntries,
  knows,
  survivors,
  type CausalContext,
  type Tagged,
} from './causal-context.js';
import { readOrder, sortedOrder, stepOrder, type KeyOrder } from './key-order.js';
import { checkSeen, decodeState, header, readContext, writeContext, Writer, type Reader } from './codec.js';
import { CrdtCodecError } from './kind.js';

export interface SetState {
  /** Member (latin1 key) → the tags keeping it alive, sorted by compareDots, never empty. */
  readonly members: Map<string, readonly Tagged[]>;
  readonly ctx: CausalContext;
}

const typeCode = 0x73; // 's'

/** Members in byte order, per state, kept in step with small changes (key-order.ts). */
const orderCache = new WeakMap<SetState, KeyOrder>();

export function emptySet(): SetState {
  return { members: new Map(), ctx: emptyContext() };
}

export function cloneSet(state: SetState): SetState {
  return { members: new Map(state.members), ctx: cloneContext(state.ctx) };
}

export function memberKey(member: Buffer): string {
  return member.toString('latin1');
}

/**
 * SADD: tags every member with `dot`, replacing the tags it saw on them.
 * `claimGap` false claims only the dot itself, not the gap below it
 * (causal-context.ts): for a writer whose state may lack its own earlier
 * operations on the key (operation.ts Writer.freshRun), which the gap claim
 * would mark removed.
 */
export function add(state: SetState, members: readonly Buffer[], dot: Dot, claimGap = true): Update<SetState> {
  const delta = emptySet();
  claim(state.ctx, delta.ctx, dot, claimGap);
  const entry: readonly Tagged[] = [{ dot }];
  let order = orderCache.get(state);
  for (const member of members) {
    const key = memberKey(member);
    const old = state.members.get(key);
    if (old !== undefined && old !== entry) forgetEntries(delta.ctx, old, key);
    // A member already there keeps its place in the order; a new one is moved in, or the order dropped.
    if (old === undefined) order = stepOrder(orderCache, state, order, key, true);
    state.members.set(key, entry);
    delta.members.set(key, entry);
  }
  return { state, delta };
}

/** SREM (and SPOP's removal): drops the tags seen on each member. Members not present change nothing. */
export function remove(state: SetState, members: readonly Buffer[]): Update<SetState> {
  const delta = emptySet();
  let order = orderCache.get(state);
  for (const member of members) {
    const key = memberKey(member);
    const old = state.members.get(key);
    if (old === undefined) continue;
    forgetEntries(delta.ctx, old, key);
    state.members.delete(key);
    order = stepOrder(orderCache, state, order, key, false);
  }
  return { state, delta };
}

/** claimOp, or (no gap) only the dot itself in both contexts. */
export function claim(state: CausalContext, delta: CausalContext, dot: Dot, claimGap: boolean): void {
  if (claimGap) claimOp(state, delta, dot);
  else {
    addRange(state, dot.actor, dot.counter, dot.counter);
    addRange(delta, dot.actor, dot.counter, dot.counter);
  }
}

export function has(state: SetState, member: Buffer): boolean {
  return state.members.has(memberKey(member));
}

export function size(state: SetState): number {
  return state.members.size;
}

/** The members in byte order (deterministic on every replica). */
export function members(state: SetState): Buffer[] {
  return memberKeys(state).map((k) => Buffer.from(k, 'latin1'));
}

/**
 * A member's latin1 key by position, 0 ≤ index < size: in byte order when
 * that is cached, else in the map's own order, walked to it (O(index), no
 * sort: SRANDMEMBER right after a write on a 100k-member set would otherwise
 * sort it, ~35 ms, to draw one member).
 */
export function memberKeyAt(state: SetState, index: number): string {
  const order = orderCache.get(state);
  if (order !== undefined) return order.keys[index]!;
  for (const key of state.members.keys()) if (index-- === 0) return key;
  assert.fail(`memberKeyAt: position past the set's ${state.members.size} members`);
}

/** The members' latin1 keys in byte order; cached until the state changes. Do not mutate. */
export function memberKeys(state: SetState): readonly string[] {
  let order = orderCache.get(state);
  if (order === undefined) {
    order = sortedOrder(state.members.keys());
    orderCache.set(state, order);
  }
  return readOrder(order);
}

export function merge(a: SetState, b: SetState): SetState {
  const out = new Map<string, readonly Tagged[]>();
  for (const [key, ea] of a.members) {
    const eb = b.members.get(key);
    const joined = eb === undefined ? survivors(ea, b.ctx, key) : joinEntries(ea, eb, a.ctx, b.ctx, key);
    if (joined.length > 0) out.set(key, joined);
  }
  for (const [key, eb] of b.members) {
    if (a.members.has(key)) continue;
    const kept = survivors(eb, a.ctx, key);
    if (kept.length > 0) out.set(key, kept);
  }
  return { members: out, ctx: joinContexts(a.ctx, b.ctx) };
}

/** merge(state, delta) reusing state's map (kind.ts mergeDelta): a member both hold keeps its place, one only the delta holds is appended. */
export function mergeDelta(state: SetState, delta: SetState): SetState {
  const out = state.members;
  const removable = itemsDeltaRemoves(state.ctx, delta.ctx);
  const onlyDelta: [string, readonly Tagged[]][] = [];
  if (removable !== undefined) {
    // Only the members the delta holds or names can change: the same map, in the same order, as the whole pass below builds.
    for (const [key, eb] of delta.members) {
      const ea = out.get(key);
      if (ea === undefined) {
        onlyDelta.push([key, eb]);
        continue;
      }
      const joined = joinEntries(ea, eb, state.ctx, delta.ctx, key);
      if (joined.length === 0) out.delete(key);
      else if (joined !== ea) out.set(key, joined);
    }
    for (const key of removable) {
      const ea = delta.members.has(key) ? undefined : out.get(key);
      if (ea === undefined) continue;
      const kept = survivors(ea, delta.ctx, key);
      if (kept.length === 0) out.delete(key);
      else if (kept !== ea) out.set(key, kept);
    }
  } else {
    for (const [key, eb] of delta.members) if (!out.has(key)) onlyDelta.push([key, eb]);
    for (const [key, ea] of out) {
      const eb = delta.members.get(key);
      const joined = eb === undefined ? survivors(ea, delta.ctx, key) : joinEntries(ea, eb, state.ctx, delta.ctx, key);
      if (joined.length === 0) out.delete(key);
      else if (joined !== ea) out.set(key, joined);
    }
  }
  for (const [key, eb] of onlyDelta) {
    const kept = survivors(eb, state.ctx, key);
    if (kept.length > 0) out.set(key, kept);
  }
  orderCache.delete(state);
  return { members: out, ctx: joinContexts(state.ctx, delta.ctx) };
}

export function equals(a: SetState, b: SetState): boolean {
  if (a.members.size !== b.members.size || !contextEquals(a.ctx, b.ctx)) return false;
  for (const [key, ea] of a.members) {
    const eb = b.members.get(key);
    if (eb === undefined || !sameTags(ea, eb)) return false;
  }
  return true;
}

// Layout: header, context, varint memberCount, per member: key, tags (see writeTags).
export function encode(state: SetState): Buffer {
  const w = new Writer();
  header(w, typeCode);
  writeContext(w, state.ctx);
  w.varint(state.members.size);
  for (const [key, entries] of state.members) {
    w.key(key);
    writeTags(w, entries);
  }
  return w.finish();
}

export function decode(bytes: Buffer): SetState {
  return decodeState(bytes, typeCode, 'set', (r) => {
    const ctx = readContext(r);
    const members = new Map<string, readonly Tagged[]>();
    for (let n = r.count(2); n > 0; n--) {
      const key = r.key();
      if (members.has(key)) throw new CrdtCodecError('member twice');
      members.set(key, readTags(r, ctx, key));
    }
    return { members, ctx };
  });
}

export const setType: Convergent<SetState> = { type: 'set', empty: emptySet, merge, mergeDelta, equals, encode, decode };

// Shared by the types whose entries are bare tags ----------------------------

/** Same dots, in the same (sorted) order. */
export function sameTags(a: readonly Tagged[], b: readonly Tagged[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (compareDots(a[i]!.dot, b[i]!.dot) !== 0) return false;
  return true;
}

/** varint count, then each dot. */
export function writeTags(w: Writer, entries: readonly Tagged[]): void {
  w.varint(entries.length);
  for (const e of entries) w.dot(e.dot);
}

/** Tags under `key`: at least one, strictly sorted, each seen by `ctx`. */
export function readTags(r: Reader, ctx: CausalContext, key: string): readonly Tagged[] {
  const n = r.count(2);
  if (n === 0) throw new CrdtCodecError('an entry with no tags');
  // One tag (a member added without a concurrent add) is a literal of one entry: grown from [] by push, the
  // array took room for 17, ~130 bytes more a member of a decoded set.
  if (n === 1) {
    const dot = r.dot();
    checkSeen(knows(ctx, dot, key));
    return [{ dot }];
  }
  const out: Tagged[] = [];
  for (let i = 0; i < n; i++) {
    const dot = r.dot();
    if (i > 0 && compareDots(out[i - 1]!.dot, dot) >= 0) throw new CrdtCodecError('tags out of order');
    checkSeen(knows(ctx, dot, key));
    out.push({ dot });
  }
  return out;
}
