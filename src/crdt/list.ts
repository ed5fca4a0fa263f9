// Lists as a sequence CRDT with dense positional identifiers (Logoot, Weiss
// et al. 2009; Treedoc), chosen over RGA because an identifier places an
// element by itself: a removed element leaves nothing behind (no tombstone
// to anchor later inserts, hence no tombstone collection to coordinate with
// the data-safety reaping rule), and the queue patterns Redis lists serve
// (LPUSH/RPOP, RPUSH/LPOP) get the shortest identifiers: a push at the head
// takes the first element's top digit minus one, at the tail the last
// element's plus one, so 2^53 pushes at either end stay one level deep.
//
// An identifier is a sequence of levels (digit, dot, index), compared level
// by level (digit, then dot, then index; a prefix first). One write (one dot)
// inserts a run of values at one place: they share the levels above and the
// last level's (digit, dot) and differ by index, so a run stays contiguous
// and concurrent pushes at one end order as whole runs, by dot — every
// replica shows the same order, and no push is lost. An insert between two
// neighbours (LINSERT, or a push after removals) picks a digit between them
// when there is room, else goes one level deeper below the left neighbour
// (`between`); identifiers grow only under repeated inserts into one gap, up
// to positionLevelsMax.
//
// Items are tagged (dot, index) in the causal context (causal-context.ts),
// so one element of a run is removed on its own, and a removal is just its
// tag seen and the item gone. LSET writes an overlay (its own dot) on an
// element; the overlay with the greatest dot shows, and concurrent LSETs
// both stay until a later LSET or the element's removal covers them. An
// overlay whose element is gone is dropped by merge (the element never
// returns: its tag is in the context), so LSET ‖ LREM converges to removed.
//
// Runs are stored in chunks of runChunkItems so removing one element copies
// a bounded array (states share chunks; chunks are never mutated). The
// order is kept as two arrays (the head reversed, then the tail) so pushes
// and pops at either end are O(1); merges and middle inserts rebuild it by
// sorting (O(n log n)), on demand.
//
// Concurrent pops at two replicas may remove the same element: both return
// it (every AP store must allow this; the README says so).
//
// Operations change the state they are given and return it (see set.ts).

import assert from 'node:assert/strict';
import type { Dot } from '../clock/types.js';
import type { Convergent, Update } from './kind.js';
import { CrdtCodecError } from './kind.js';
import { addItem, addRange, claimOp, claimsNothingSeen, cloneContext, compareDots, contextEquals, dotKey, emptyContext, joinContexts, knows, type CausalContext } from './causal-context.js';
import { checkSeen, decodeState, header, readContext, writeContext, Writer, type Reader } from './codec.js';

/**
 * Identifier depth past which an insert is refused (CrdtLimitError): only
 * inserts nested into one gap, level after level, ever deepen identifiers;
 * 256 levels (~4 KB per element) is far past any real LINSERT pattern and
 * bounds what one element may cost.
 */
export const positionLevelsMax = 256;
/** Items per stored chunk of a run: a removal copies at most this many references. */
export const runChunkItems = 64;
/** Digits stay safe integers. */
const digitMax = Number.MAX_SAFE_INTEGER;
/** The overlay's item key: a run item key is its index, so this never collides. */
const overlayItem = 's';

export class CrdtLimitError extends Error {
  readonly code = 'CRDT_LIMIT';
  constructor(message: string) {
    super(message);
    this.name = 'CrdtLimitError';
  }
}

export interface Level {
  readonly digit: number;
  readonly dot: Dot;
  readonly index: number;
}

/** Where a run sits: the levels above it and its own level's digit (its dot is the run's). Shared by the run's chunks. */
export interface RunPos {
  readonly dot: Dot;
  readonly path: readonly Level[];
  readonly digit: number;
}

/** Items first … first+values.length-1 of a run; undefined = removed. At least one alive. */
export interface Chunk {
  readonly pos: RunPos;
  readonly first: number;
  readonly values: readonly (Buffer | undefined)[];
}

export interface ItemId {
  readonly pos: RunPos;
  readonly index: number;
}

export interface Overlay {
  readonly dot: Dot;
  readonly target: ItemId;
  readonly value: Buffer;
}

export interface ListState {
  /** chunkKey → chunk. */
  readonly chunks: Map<string, Chunk>;
  /** dotKey → LSET overlay. */
  readonly overlays: Map<string, Overlay>;
  readonly ctx: CausalContext;
}

const typeCode = 0x6c; // 'l'

/** The order of alive items: head reversed, then tail; the list is reverse(head) ++ tail. */
interface Order {
  head: ItemId[];
  tail: ItemId[];
}

const orderCache = new WeakMap<ListState, Order>();
const overlayIndexCache = new WeakMap<ListState, Map<string, Overlay[]>>();

export function emptyList(): ListState {
  return { chunks: new Map(), overlays: new Map(), ctx: emptyContext() };
}

export function cloneList(state: ListState): ListState {
  return { chunks: new Map(state.chunks), overlays: new Map(state.overlays), ctx: cloneContext(state.ctx) };
}

function chunkKey(dot: Dot, index: number): string {
  return `${dotKey(dot)}/${index - (index % runChunkItems)}`;
}

function itemKey(id: ItemId): string {
  return `${dotKey(id.pos.dot)}/${id.index}`;
}

// Reads ------------------------------------------------------------------------

export function length(state: ListState): number {
  const order = orderOf(state);
  return order.head.length + order.tail.length;
}

/** LINDEX with a 0-based index from the head (the caller turns negative indexes around). */
export function at(state: ListState, index: number): Buffer | undefined {
  const id = idAt(orderOf(state), index);
  return id === undefined ? undefined : valueOf(state, id);
}

/** Elements [start, end) from the head, clamped (LRANGE after the caller's index arithmetic). */
export function slice(state: ListState, start: number, end: number): Buffer[] {
  const order = orderOf(state);
  const n = order.head.length + order.tail.length;
  const out: Buffer[] = [];
  for (let i = Math.max(0, start); i < Math.min(n, end); i++) out.push(valueOf(state, idAt(order, i)!));
  return out;
}

export function values(state: ListState): Buffer[] {
  return slice(state, 0, Infinity);
}

function idAt(order: Order, index: number): ItemId | undefined {
  if (index < 0) return undefined;
  if (index < order.head.length) return order.head[order.head.length - 1 - index];
  return order.tail[index - order.head.length];
}

function valueOf(state: ListState, id: ItemId): Buffer {
  if (state.overlays.size > 0) {
    const over = overlayIndex(state).get(itemKey(id));
    if (over !== undefined) return over[over.length - 1]!.value;
  }
  const chunk = state.chunks.get(chunkKey(id.pos.dot, id.index))!;
  return chunk.values[id.index - chunk.first]!;
}

function overlayIndex(state: ListState): Map<string, Overlay[]> {
  let index = overlayIndexCache.get(state);
  if (index === undefined) {
    index = new Map();
    for (const o of state.overlays.values()) {
      const key = itemKey(o.target);
      const list = index.get(key);
      if (list === undefined) index.set(key, [o]);
      else list.push(o);
    }
    for (const list of index.values()) list.sort((x, y) => compareDots(x.dot, y.dot));
    overlayIndexCache.set(state, index);
  }
  return index;
}

function orderOf(state: ListState): Order {
  let order = orderCache.get(state);
  if (order === undefined) {
    const tail: ItemId[] = [];
    for (const chunk of state.chunks.values()) {
      for (let i = 0; i < chunk.values.length; i++) if (chunk.values[i] !== undefined) tail.push({ pos: chunk.pos, index: chunk.first + i });
    }
    tail.sort(compareIds);
    order = { head: [], tail };
    orderCache.set(state, order);
  }
  return order;
}

// Identifiers ----------------------------------------------------------------

function levelOf(id: ItemId, j: number): Level {
  return j < id.pos.path.length ? id.pos.path[j]! : { digit: id.pos.digit, dot: id.pos.dot, index: id.index };
}

function levelsOf(id: ItemId): Level[] {
  return [...id.pos.path, { digit: id.pos.digit, dot: id.pos.dot, index: id.index }];
}

function compareLevels(a: Level, b: Level): number {
  if (a.digit !== b.digit) return a.digit < b.digit ? -1 : 1;
  const c = compareDots(a.dot, b.dot);
  if (c !== 0) return c;
  return a.index - b.index;
}

export function compareIds(a: ItemId, b: ItemId): number {
  if (a.pos === b.pos) return a.index - b.index;
  const da = a.pos.path.length + 1;
  const db = b.pos.path.length + 1;
  for (let j = 0; j < da && j < db; j++) {
    const c = compareLevels(levelOf(a, j), levelOf(b, j));
    if (c !== 0) return c;
  }
  return da - db;
}

/** A run position strictly between neighbours `x` and `y` (either may be absent: the list's ends). */
function between(x: ItemId | undefined, y: ItemId | undefined, dot: Dot): RunPos {
  if (x === undefined && y === undefined) return { dot, path: [], digit: 0 };
  if (x === undefined) {
    const digit = levelOf(y!, 0).digit - 1;
    assert(digit >= -digitMax, 'head digits exhausted (2^53 pushes)');
    return { dot, path: [], digit };
  }
  const lx = levelsOf(x);
  if (y === undefined) {
    return lx[0]!.digit < digitMax ? { dot, path: [], digit: lx[0]!.digit + 1 } : { dot, path: lx, digit: 0 };
  }
  const ly = levelsOf(y);
  let j = 0;
  while (j < lx.length && j < ly.length && compareLevels(lx[j]!, ly[j]!) === 0) j++;
  assert(j < ly.length && (j === lx.length || compareLevels(lx[j]!, ly[j]!) < 0), 'between: neighbours out of order');
  if (j === lx.length) return { dot, path: lx, digit: ly[j]!.digit - 1 };
  if (ly[j]!.digit - lx[j]!.digit >= 2) return { dot, path: lx.slice(0, j), digit: lx[j]!.digit + 1 };
  if (j + 1 < lx.length && lx[j + 1]!.digit < digitMax) return { dot, path: lx.slice(0, j + 1), digit: lx[j + 1]!.digit + 1 };
  return { dot, path: lx, digit: 0 };
}

// Operations -------------------------------------------------------------------

/**
 * How an operation's dot enters the context: 'gap' claims the actor's
 * counters below it this state has not seen (claimOp), 'dot' only the dot —
 * for a writer whose view may lack its own earlier operations on the key
 * (Writer.freshRun), whose gap claim would mark those pushes as removed.
 */
export type Claim = 'gap' | 'dot';

function claim(state: ListState, delta: ListState, dot: Dot, how: Claim): void {
  if (how === 'gap') return claimOp(state.ctx, delta.ctx, dot);
  addRange(state.ctx, dot.actor, dot.counter, dot.counter);
  addRange(delta.ctx, dot.actor, dot.counter, dot.counter);
}

/**
 * Inserts `items` (in list order) so the first lands at position `index`
 * (0 = head: LPUSH, which passes its arguments reversed; length = tail:
 * RPUSH; else LINSERT). Throws CrdtLimitError when the identifier would pass
 * positionLevelsMax.
 */
export function insert(state: ListState, index: number, items: readonly Buffer[], dot: Dot, how: Claim = 'gap'): Update<ListState> {
  const order = orderOf(state);
  const n = order.head.length + order.tail.length;
  assert(Number.isInteger(index) && index >= 0 && index <= n, 'insert: index out of range');
  const pos = between(idAt(order, index - 1), idAt(order, index), dot);
  if (pos.path.length + 1 > positionLevelsMax) throw new CrdtLimitError(`list element would need ${pos.path.length + 1} identifier levels, over ${positionLevelsMax}`);
  const delta = emptyList();
  claim(state, delta, dot, how);
  for (let first = 0; first < items.length; first += runChunkItems) {
    const chunk: Chunk = { pos, first, values: items.slice(first, first + runChunkItems).map((v) => Buffer.from(v)) };
    const key = chunkKey(dot, first);
    state.chunks.set(key, chunk);
    delta.chunks.set(key, chunk);
  }
  const ids = items.map((_, i) => ({ pos, index: i }));
  if (index === 0) {
    for (let i = ids.length - 1; i >= 0; i--) order.head.push(ids[i]!);
  } else if (index === n) {
    for (const id of ids) order.tail.push(id);
  } else {
    const all = flatten(order);
    all.splice(index, 0, ...ids);
    order.head = [];
    order.tail = all;
  }
  return { state, delta };
}

/** Removes the elements at the given distinct positions (LPOP, RPOP, LREM, LTRIM, LMOVE's source). */
export function removeAt(state: ListState, indexes: readonly number[]): Update<ListState> {
  const order = orderOf(state);
  const n = order.head.length + order.tail.length;
  const delta = emptyList();
  const doomed = new Set<number>(indexes);
  assert(doomed.size === indexes.length, 'removeAt: indexes repeat');
  for (const i of doomed) {
    assert(Number.isInteger(i) && i >= 0 && i < n, 'removeAt: index out of range');
    removeItem(state, delta, idAt(order, i)!);
  }
  if (doomed.size > 0) {
    const all = flatten(order).filter((_, i) => !doomed.has(i));
    order.head = [];
    order.tail = all;
  }
  return { state, delta };
}

/** LPOP/RPOP of `count` elements from one end: removeAt without rebuilding the order. Returns the values too. */
export function popEnd(state: ListState, end: 'head' | 'tail', count: number): Update<ListState> & { readonly values: Buffer[] } {
  const order = orderOf(state);
  const delta = emptyList();
  const out: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const id = end === 'head' ? popHead(order) : popTail(order);
    if (id === undefined) break;
    out.push(valueOf(state, id));
    removeItem(state, delta, id);
  }
  return { state, delta, values: out };
}

/** LSET: overlays the element at `index` with `value`, replacing the overlays it saw there. */
export function setAt(state: ListState, index: number, value: Buffer, dot: Dot, how: Claim = 'gap'): Update<ListState> {
  const id = idAt(orderOf(state), index);
  assert(id !== undefined, 'setAt: index out of range');
  const delta = emptyList();
  claim(state, delta, dot, how);
  forgetOverlays(state, delta, id);
  const overlay: Overlay = { dot, target: id, value: Buffer.from(value) };
  state.overlays.set(dotKey(dot), overlay);
  delta.overlays.set(dotKey(dot), overlay);
  overlayIndexCache.delete(state);
  return { state, delta };
}

function popHead(order: Order): ItemId | undefined {
  return order.head.length > 0 ? order.head.pop() : order.tail.shift();
}

function popTail(order: Order): ItemId | undefined {
  return order.tail.length > 0 ? order.tail.pop() : order.head.shift();
}

function flatten(order: Order): ItemId[] {
  return [...order.head].reverse().concat(order.tail);
}

/** Drops item `id` from `state` (chunk copied) and records its tag, and its overlays', in the delta. */
function removeItem(state: ListState, delta: ListState, id: ItemId): void {
  const key = chunkKey(id.pos.dot, id.index);
  const chunk = state.chunks.get(key)!;
  const values = chunk.values.slice();
  values[id.index - chunk.first] = undefined;
  if (values.some((v) => v !== undefined)) state.chunks.set(key, { pos: chunk.pos, first: chunk.first, values });
  else state.chunks.delete(key);
  addItem(delta.ctx, id.pos.dot, String(id.index));
  forgetOverlays(state, delta, id);
}

function forgetOverlays(state: ListState, delta: ListState, id: ItemId): void {
  if (state.overlays.size === 0) return;
  const over = overlayIndex(state).get(itemKey(id));
  if (over === undefined) return;
  for (const o of over) {
    addItem(delta.ctx, o.dot, overlayItem);
    state.overlays.delete(dotKey(o.dot));
  }
  overlayIndexCache.delete(state);
}

// Merge --------------------------------------------------------------------------

export function merge(a: ListState, b: ListState): ListState {
  const chunks = new Map<string, Chunk>();
  for (const [key, ca] of a.chunks) {
    const joined = joinChunk(ca, b.chunks.get(key), a.ctx, b.ctx);
    if (joined !== undefined) chunks.set(key, joined);
  }
  for (const [key, cb] of b.chunks) {
    if (a.chunks.has(key)) continue;
    const kept = joinChunk(cb, undefined, b.ctx, a.ctx);
    if (kept !== undefined) chunks.set(key, kept);
  }
  const ctx = joinContexts(a.ctx, b.ctx);
  const overlays = new Map<string, Overlay>();
  const keep = (o: Overlay, otherHas: boolean, otherCtx: CausalContext): void => {
    if (!otherHas && knows(otherCtx, o.dot, overlayItem)) return;
    // An overlay of an element known removed goes too: the element never returns.
    if (knows(ctx, o.target.pos.dot, String(o.target.index)) && !isAlive(chunks, o.target)) return;
    overlays.set(dotKey(o.dot), o);
  };
  for (const [key, o] of a.overlays) keep(o, b.overlays.has(key), b.ctx);
  for (const [key, o] of b.overlays) if (!a.overlays.has(key)) keep(o, false, a.ctx);
  return { chunks, overlays, ctx };
}

/**
 * merge(state, delta) reusing state's maps (kind.ts mergeDelta): a chunk or
 * overlay both hold keeps its place, one that goes is deleted, one only the
 * delta holds is appended in its order — merge's order, without new maps of
 * the whole list.
 */
export function mergeDelta(state: ListState, delta: ListState): ListState {
  orderCache.delete(state);
  overlayIndexCache.delete(state);
  const chunks = state.chunks;
  const onlyDelta: [string, Chunk][] = [];
  if (claimsNothingSeen(state.ctx, delta.ctx)) {
    // Only the chunks the delta holds, or holding an item its context names, can change (causal-context.ts
    // itemsDeltaRemoves): visited in place of every chunk, they change the map as the loop below does.
    for (const [key, cb] of delta.chunks) {
      const ca = chunks.get(key);
      if (ca === undefined) onlyDelta.push([key, cb]);
      else joinChunkInto(chunks, key, ca, cb, state.ctx, delta.ctx);
    }
    for (const [dot, items] of delta.ctx.items) {
      for (const item of items) {
        if (item === overlayItem) continue;
        const index = Number(item);
        const key = `${dot}/${index - (index % runChunkItems)}`;
        const ca = delta.chunks.has(key) ? undefined : chunks.get(key);
        if (ca !== undefined) joinChunkInto(chunks, key, ca, undefined, state.ctx, delta.ctx);
      }
    }
  } else {
    for (const [key, cb] of delta.chunks) if (!chunks.has(key)) onlyDelta.push([key, cb]);
    for (const [key, ca] of chunks) joinChunkInto(chunks, key, ca, delta.chunks.get(key), state.ctx, delta.ctx);
  }
  for (const [key, cb] of onlyDelta) {
    const kept = joinChunk(cb, undefined, delta.ctx, state.ctx);
    if (kept !== undefined) chunks.set(key, kept);
  }
  const ctx = joinContexts(state.ctx, delta.ctx);
  // As merge's keep: an overlay the other side removed goes, and so does one of an element known removed.
  const kept = (o: Overlay, otherHas: boolean, otherCtx: CausalContext): boolean =>
    !(!otherHas && knows(otherCtx, o.dot, overlayItem)) && !(knows(ctx, o.target.pos.dot, String(o.target.index)) && !isAlive(chunks, o.target));
  const overlays = state.overlays;
  const onlyDeltaOverlays: [string, Overlay][] = [];
  for (const [key, o] of delta.overlays) if (!overlays.has(key)) onlyDeltaOverlays.push([key, o]);
  for (const [key, o] of overlays) if (!kept(o, delta.overlays.has(key), delta.ctx)) overlays.delete(key);
  for (const [key, o] of onlyDeltaOverlays) if (kept(o, false, state.ctx)) overlays.set(key, o);
  return { chunks, overlays, ctx };
}

/** One chunk's join written back into `chunks` (deleted when nothing of it is left). */
function joinChunkInto(chunks: Map<string, Chunk>, key: string, a: Chunk, b: Chunk | undefined, ctxA: CausalContext, ctxB: CausalContext): void {
  const joined = joinChunk(a, b, ctxA, ctxB);
  if (joined === undefined) chunks.delete(key);
  else if (joined !== a) chunks.set(key, joined);
}

function isAlive(chunks: Map<string, Chunk>, id: ItemId): boolean {
  const chunk = chunks.get(chunkKey(id.pos.dot, id.index));
  return chunk !== undefined && chunk.values[id.index - chunk.first] !== undefined;
}

/** One chunk's join: an item stays if both sides hold it, or one does and the other never saw it. */
function joinChunk(a: Chunk, b: Chunk | undefined, ctxA: CausalContext, ctxB: CausalContext): Chunk | undefined {
  let values: (Buffer | undefined)[] | undefined;
  let alive = 0;
  for (let i = 0; i < a.values.length; i++) {
    const va = a.values[i];
    const vb = b?.values[i];
    let v: Buffer | undefined;
    if (va !== undefined) v = vb !== undefined || !knows(ctxB, a.pos.dot, String(a.first + i)) ? va : undefined;
    else if (vb !== undefined) v = knows(ctxA, a.pos.dot, String(a.first + i)) ? undefined : vb;
    if (v !== va) {
      values ??= a.values.slice();
      values[i] = v;
    }
    if (v !== undefined) alive++;
  }
  if (alive === 0) return undefined;
  return values === undefined ? a : { pos: a.pos, first: a.first, values };
}

export function equals(a: ListState, b: ListState): boolean {
  if (a.chunks.size !== b.chunks.size || a.overlays.size !== b.overlays.size || !contextEquals(a.ctx, b.ctx)) return false;
  for (const [key, ca] of a.chunks) {
    const cb = b.chunks.get(key);
    if (cb === undefined || !samePos(ca.pos, cb.pos) || ca.values.length !== cb.values.length) return false;
    for (let i = 0; i < ca.values.length; i++) if ((ca.values[i] === undefined) !== (cb.values[i] === undefined)) return false;
  }
  for (const key of a.overlays.keys()) if (!b.overlays.has(key)) return false;
  return true;
}

function samePos(a: RunPos, b: RunPos): boolean {
  if (a === b) return true;
  if (a.digit !== b.digit || compareDots(a.dot, b.dot) !== 0 || a.path.length !== b.path.length) return false;
  for (let i = 0; i < a.path.length; i++) if (compareLevels(a.path[i]!, b.path[i]!) !== 0) return false;
  return true;
}

// Codec ------------------------------------------------------------------------------
// Layout: header, context,
//   varint chunkCount, per chunk: run dot, varint first, varint depth, per level: f64 digit, dot, varint index;
//     f64 digit, varint itemCount, per item: u8 alive, value (when alive)
//   varint overlayCount, per overlay: dot, target dot, varint target index, value

export function encode(state: ListState): Buffer {
  const w = new Writer();
  header(w, typeCode);
  writeContext(w, state.ctx);
  w.varint(state.chunks.size);
  for (const chunk of state.chunks.values()) {
    w.dot(chunk.pos.dot);
    w.varint(chunk.first);
    w.varint(chunk.pos.path.length);
    for (const level of chunk.pos.path) {
      w.f64(level.digit);
      w.dot(level.dot);
      w.varint(level.index);
    }
    w.f64(chunk.pos.digit);
    w.varint(chunk.values.length);
    for (const v of chunk.values) {
      w.u8(v === undefined ? 0 : 1);
      if (v !== undefined) w.bytes(v);
    }
  }
  w.varint(state.overlays.size);
  for (const o of state.overlays.values()) {
    w.dot(o.dot);
    w.dot(o.target.pos.dot);
    w.varint(o.target.index);
    w.bytes(o.value);
  }
  return w.finish();
}

export function decode(bytes: Buffer): ListState {
  return decodeState(bytes, typeCode, 'list', (r) => {
    const ctx = readContext(r);
    const chunks = new Map<string, Chunk>();
    const runs = new Map<string, RunPos>();
    for (let n = r.count(6); n > 0; n--) {
      const chunk = readChunk(r, ctx, runs);
      const key = chunkKey(chunk.pos.dot, chunk.first);
      if (chunks.has(key)) throw new CrdtCodecError('chunk twice');
      chunks.set(key, chunk);
    }
    const overlays = new Map<string, Overlay>();
    for (let n = r.count(6); n > 0; n--) {
      const dot = r.dot();
      checkSeen(knows(ctx, dot, overlayItem));
      const targetDot = r.dot();
      const index = r.varint();
      const value = r.bytes();
      const pos = runs.get(dotKey(targetDot));
      // An overlay may arrive before its element; it then waits with a position-less target.
      const target: ItemId = { pos: pos ?? { dot: targetDot, path: [], digit: 0 }, index };
      const key = dotKey(dot);
      if (overlays.has(key)) throw new CrdtCodecError('overlay twice');
      overlays.set(key, { dot, target, value });
    }
    return { chunks, overlays, ctx };
  });
}

function readChunk(r: Reader, ctx: CausalContext, runs: Map<string, RunPos>): Chunk {
  const dot = r.dot();
  const first = r.varint();
  if (first % runChunkItems !== 0) throw new CrdtCodecError('chunk not aligned');
  const depth = r.count(10);
  if (depth + 1 > positionLevelsMax) throw new CrdtCodecError('identifier too deep');
  const path: Level[] = [];
  for (let j = 0; j < depth; j++) path.push({ digit: readDigit(r), dot: r.dot(), index: r.varint() });
  const pos: RunPos = { dot, path, digit: readDigit(r) };
  const count = r.count(1);
  if (count === 0 || count > runChunkItems) throw new CrdtCodecError('bad chunk size');
  const values: (Buffer | undefined)[] = [];
  let alive = 0;
  for (let i = 0; i < count; i++) {
    const flag = r.u8();
    if (flag > 1) throw new CrdtCodecError('bad item flag');
    if (flag === 1) {
      checkSeen(knows(ctx, dot, String(first + i)));
      values.push(r.bytes());
      alive++;
    } else values.push(undefined);
  }
  if (alive === 0) throw new CrdtCodecError('a chunk with no element');
  const known = runs.get(dotKey(dot));
  if (known !== undefined && !samePos(known, pos)) throw new CrdtCodecError('chunks of one run disagree on its position');
  if (known === undefined) runs.set(dotKey(dot), pos);
  return { pos: known ?? pos, first, values };
}

function readDigit(r: Reader): number {
  const digit = r.f64();
  if (!Number.isSafeInteger(digit)) throw new CrdtCodecError('a digit that is not a safe integer');
  return digit;
}

export const listType: Convergent<ListState> = { type: 'list', empty: emptyList, merge, mergeDelta, equals, encode, decode };
