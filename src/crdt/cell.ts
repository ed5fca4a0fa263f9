// One hash field or one sorted-set member: a multi-value register that a
// write sets (HSET, ZADD) and a counter that increments add to (HINCRBY,
// HINCRBYFLOAT, ZINCRBY), read together as "register value + counter".
//
// - The register is a DotFun (dot → value). A set replaces the values it saw;
//   concurrent sets all stay until a later set covers them, and a read shows
//   the value with the greatest dot (causal-context.ts compareDots), so every
//   replica shows the same one. `conflict` lists them all.
// - The counter is the causal counter of the delta-CRDT paper (CCounter):
//   each actor keeps one entry (dot → its running sum); an increment replaces
//   its own actor's entry with a new dot and the sum plus the amount, so
//   concurrent increments of different actors all count and merges by max of
//   the dots count each once.
// - Observed reset: a set drops the counter entries it saw, like Riak's
//   counter reset inside maps. An increment concurrent with a set was not
//   seen by it, so it still adds on top of the set's value (SET 10 ‖ INCR 1
//   reads 11): no acknowledged increment is lost, and a set wins over what
//   it saw.
// - Exact reads in sequence: Redis adds each increment to the value it
//   shows, rounding (doubles for scores, 17 decimals for hash floats) at
//   every step, and base + Σ sums groups the additions differently. So an
//   increment also records the value it produced and the entries it saw
//   (`hint`); while the cell holds exactly those entries and the
//   increment's own, nothing concurrent happened, and the read is that
//   value: the same digits Redis gives for the same sequence. Otherwise the
//   read is base + the sums in dot order: deterministic on every replica.
// - A register value that is not a number hides the counter (the read is the
//   register's bytes) until a set resets it: HINCRBY then fails as Redis
//   does on a non-numeric field.
//
// Generic over the register's value (bytes for hashes, a double for scores)
// and the counter's number (an exact decimal, a double).

import assert from 'node:assert/strict';
import type { Dot } from '../clock/types.js';
import { compareDots, forgetEntries, itemsDeltaRemoves, joinEntries, knows, sameDot, survivors, winner, type CausalContext, type Tagged } from './causal-context.js';
import { checkSeen, type Reader, type Writer } from './codec.js';
import { CrdtCodecError } from './kind.js';

export interface Valued<V> extends Tagged {
  readonly value: V;
}

/** What an increment saw and produced: its read holds while the cell has exactly these entries and it. */
export interface Hint<N> {
  readonly value: N;
  /** Register dots present when it was made, sorted. */
  readonly over: readonly Dot[];
  /** Other counter entries' dots present when it was made, sorted. */
  readonly saw: readonly Dot[];
}

export interface Count<N> extends Tagged {
  /** This actor's running sum since the last reset it did not see past. */
  readonly sum: N;
  readonly hint: Hint<N>;
}

export interface Cell<V, N> {
  /** Register entries, sorted by dot. */
  readonly values: readonly Valued<V>[];
  /** Counter entries, sorted by dot; at most one per actor once merged. */
  readonly counts: readonly Count<N>[];
}

export interface Arith<V, N> {
  readonly zero: N;
  add(a: N, b: N): N;
  /** The register value as a number, or undefined when it is not one. */
  numberOf(value: V): N | undefined;
  /** Rounding applied to each shown result (identity for doubles). */
  shown(n: N): N;
}

export type CellRead<V, N> = { readonly kind: 'value'; readonly value: V } | { readonly kind: 'number'; readonly value: N };

const noEntries: readonly never[] = Object.freeze([]);

export function isEmptyCell(cell: Cell<unknown, unknown>): boolean {
  return cell.values.length === 0 && cell.counts.length === 0;
}

export function joinCells<V, N>(a: Cell<V, N>, b: Cell<V, N>, ctxA: CausalContext, ctxB: CausalContext, key: string): Cell<V, N> {
  const values = joinEntries(a.values, b.values, ctxA, ctxB, key);
  const counts = joinEntries(a.counts, b.counts, ctxA, ctxB, key);
  return values === a.values && counts === a.counts ? a : { values, counts };
}

/** The part of `cell` a side that saw `ctx` but stores nothing under `key` keeps. */
export function cellSurvivors<V, N>(cell: Cell<V, N>, ctx: CausalContext, key: string): Cell<V, N> {
  const values = survivors(cell.values, ctx, key);
  const counts = survivors(cell.counts, ctx, key);
  return values === cell.values && counts === cell.counts ? cell : { values, counts };
}

/** A set of the register over `old`: the new cell (also the delta's), with what it replaces forgotten in `deltaCtx`. */
export function setCell<V, N>(old: Cell<V, N> | undefined, value: V, dot: Dot, deltaCtx: CausalContext, key: string): Cell<V, N> {
  if (old !== undefined) forgetCell(old, deltaCtx, key);
  return { values: [{ dot, value }], counts: noEntries };
}

/**
 * An increment of `old` by `amount` with `dot`. Returns the new cell and the
 * delta's cell (only the new entry; the replaced own entries are forgotten in
 * `deltaCtx`). The cell's read must be a number (the caller checks: Redis
 * refuses to increment a non-numeric value).
 */
export function incrementCell<V, N>(old: Cell<V, N> | undefined, amount: N, dot: Dot, deltaCtx: CausalContext, key: string, arith: Arith<V, N>): { cell: Cell<V, N>; delta: Cell<V, N>; value: N } {
  const cell = old ?? { values: noEntries, counts: noEntries };
  const before = numberOfCell(cell, arith);
  assert(before !== undefined, 'incrementCell on a value that is not a number: the caller checks, as Redis refuses it');
  const value = arith.shown(arith.add(before, amount));
  let sum = amount;
  const others: Count<N>[] = [];
  for (const c of cell.counts) {
    if (c.dot.actor === dot.actor) {
      sum = arith.add(c.sum, sum);
      forgetEntries(deltaCtx, [c], key);
    } else others.push(c);
  }
  const entry: Count<N> = { dot, sum, hint: { value, over: cell.values.map((v) => v.dot), saw: others.map((c) => c.dot) } };
  const counts = [...others, entry].sort((x, y) => compareDots(x.dot, y.dot));
  return { cell: { values: cell.values, counts }, delta: { values: noEntries, counts: [entry] }, value };
}

/** Adds every tag of `cell` to `deltaCtx`, so the delta removes it (HDEL, ZREM, and a set's reset). */
export function forgetCell(cell: Cell<unknown, unknown>, deltaCtx: CausalContext, key: string): void {
  forgetEntries(deltaCtx, cell.values, key);
  forgetEntries(deltaCtx, cell.counts, key);
}

/** The cell's read as a number (zero for an empty cell), or undefined when it is not one. */
export function numberOfCell<V, N>(cell: Cell<V, N>, arith: Arith<V, N>): N | undefined {
  const read = readCell(cell, arith);
  if (read === undefined) return arith.zero;
  return read.kind === 'number' ? read.value : arith.numberOf(read.value);
}

/** The cell's value as a read shows it: the register's own value while no counter entry is stored (see the module comment); undefined for an empty cell. */
export function readCell<V, N>(cell: Cell<V, N>, arith: Arith<V, N>): CellRead<V, N> | undefined {
  const top = winner(cell.values);
  if (cell.counts.length === 0) return top === undefined ? undefined : { kind: 'value', value: top.value };
  let base = arith.zero;
  if (top !== undefined) {
    const n = arith.numberOf(top.value);
    if (n === undefined) return { kind: 'value', value: top.value };
    base = n;
  }
  for (const c of cell.counts) if (hintHolds(c, cell)) return { kind: 'number', value: c.hint.value };
  let sum = base;
  for (const c of cell.counts) sum = arith.add(sum, c.sum);
  return { kind: 'number', value: arith.shown(sum) };
}

function hintHolds(c: Count<unknown>, cell: Cell<unknown, unknown>): boolean {
  const { over, saw } = c.hint;
  if (over.length !== cell.values.length || saw.length !== cell.counts.length - 1) return false;
  for (let i = 0; i < over.length; i++) if (!sameDot(over[i]!, cell.values[i]!.dot)) return false;
  let j = 0;
  for (const other of cell.counts) {
    if (other === c) continue;
    if (!sameDot(saw[j++]!, other.dot)) return false;
  }
  return true;
}

// Codec -------------------------------------------------------------------
// Layout: varint valueCount, per value: dot, value;
//         varint countCount, per entry: dot, sum, hint value, over dots, saw dots
// (dot lists as varint count then dots).

export function writeCell<V, N>(w: Writer, cell: Cell<V, N>, writeValue: (w: Writer, v: V) => void, writeNumber: (w: Writer, n: N) => void): void {
  w.varint(cell.values.length);
  for (const v of cell.values) {
    w.dot(v.dot);
    writeValue(w, v.value);
  }
  w.varint(cell.counts.length);
  for (const c of cell.counts) {
    w.dot(c.dot);
    writeNumber(w, c.sum);
    writeNumber(w, c.hint.value);
    writeDots(w, c.hint.over);
    writeDots(w, c.hint.saw);
  }
}

export function readCellEntries<V, N>(r: Reader, ctx: CausalContext, key: string, readValue: (r: Reader) => V, readNumber: (r: Reader) => N): Cell<V, N> {
  // One value is a literal of one entry, none the shared empty array: grown from [] by push, an array took room
  // for 17 entries, and a field with no counter had an empty array of its own (~160 bytes a field of a decoded hash, measured).
  const valueCount = r.count(3);
  let values: readonly Valued<V>[] = noEntries;
  if (valueCount === 1) {
    const dot = readSeenDot(r, ctx, key, noEntries);
    values = [{ dot, value: readValue(r) }];
  } else if (valueCount > 1) {
    const list: Valued<V>[] = [];
    for (let i = 0; i < valueCount; i++) {
      const dot = readSeenDot(r, ctx, key, list);
      list.push({ dot, value: readValue(r) });
    }
    values = list;
  }
  const countCount = r.count(5);
  let counts: readonly Count<N>[] = noEntries;
  if (countCount > 0) {
    const list: Count<N>[] = [];
    for (let i = 0; i < countCount; i++) {
      const dot = readSeenDot(r, ctx, key, list);
      const sum = readNumber(r);
      const value = readNumber(r);
      list.push({ dot, sum, hint: { value, over: readDots(r), saw: readDots(r) } });
    }
    counts = list;
  }
  if (valueCount === 0 && countCount === 0) throw new CrdtCodecError('an empty entry');
  return { values, counts };
}

function readSeenDot(r: Reader, ctx: CausalContext, key: string, before: readonly Tagged[]): Dot {
  const dot = r.dot();
  if (before.length > 0 && compareDots(before[before.length - 1]!.dot, dot) >= 0) throw new CrdtCodecError('entries out of order');
  checkSeen(knows(ctx, dot, key));
  return dot;
}

function writeDots(w: Writer, dots: readonly Dot[]): void {
  w.varint(dots.length);
  for (const d of dots) w.dot(d);
}

function readDots(r: Reader): Dot[] {
  const out: Dot[] = [];
  for (let n = r.count(2); n > 0; n--) {
    const dot = r.dot();
    if (out.length > 0 && compareDots(out[out.length - 1]!, dot) >= 0) throw new CrdtCodecError('dots out of order');
    out.push(dot);
  }
  return out;
}

/** Same entries (by dot) in the same order; entries under one dot are equal by construction. */
export function sameCell(a: Cell<unknown, unknown>, b: Cell<unknown, unknown>): boolean {
  return sameDots(a.values, b.values) && sameDots(a.counts, b.counts);
}

function sameDots(a: readonly Tagged[], b: readonly Tagged[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameDot(a[i]!.dot, b[i]!.dot)) return false;
  return true;
}

/**
 * The join of two keyed maps of cells (a hash's fields, a sorted set's
 * members) under their states' contexts: a key on one side only keeps what
 * the other side has not seen removed; a cell left empty is dropped.
 */
export function joinCellMaps<C extends Cell<unknown, unknown>>(a: ReadonlyMap<string, C>, ctxA: CausalContext, b: ReadonlyMap<string, C>, ctxB: CausalContext): Map<string, C> {
  const out = new Map<string, C>();
  for (const [key, ca] of a) {
    const cb = b.get(key);
    const joined = (cb === undefined ? cellSurvivors(ca, ctxB, key) : joinCells(ca, cb, ctxA, ctxB, key)) as C;
    if (!isEmptyCell(joined)) out.set(key, joined);
  }
  for (const [key, cb] of b) {
    if (a.has(key)) continue;
    const kept = cellSurvivors(cb, ctxA, key) as C;
    if (!isEmptyCell(kept)) out.set(key, kept);
  }
  return out;
}

/**
 * joinCellMaps into `a` itself (which it changes): the same entries in the
 * same order — a key both hold keeps its place, one that empties is
 * deleted, a key only `b` holds is appended in b's order — without a new map
 * of a's size. `ctxA` must be a's context from before the join.
 */
export function joinCellMapsInto<C extends Cell<unknown, unknown>>(a: Map<string, C>, ctxA: CausalContext, b: ReadonlyMap<string, C>, ctxB: CausalContext): Map<string, C> {
  const removable = itemsDeltaRemoves(ctxA, ctxB);
  const onlyB: [string, C][] = [];
  if (removable !== undefined) {
    // Only the keys b holds or its context names can change (causal-context.ts itemsDeltaRemoves): the same map, in the same order.
    for (const [key, cb] of b) {
      const ca = a.get(key);
      if (ca === undefined) {
        onlyB.push([key, cb]);
        continue;
      }
      const joined = joinCells(ca, cb, ctxA, ctxB, key) as C;
      if (isEmptyCell(joined)) a.delete(key);
      else if (joined !== ca) a.set(key, joined);
    }
    for (const key of removable) {
      const ca = b.has(key) ? undefined : a.get(key);
      if (ca === undefined) continue;
      const kept = cellSurvivors(ca, ctxB, key) as C;
      if (isEmptyCell(kept)) a.delete(key);
      else if (kept !== ca) a.set(key, kept);
    }
  } else {
    for (const [key, cb] of b) if (!a.has(key)) onlyB.push([key, cb]);
    for (const [key, ca] of a) {
      const cb = b.get(key);
      const joined = (cb === undefined ? cellSurvivors(ca, ctxB, key) : joinCells(ca, cb, ctxA, ctxB, key)) as C;
      if (isEmptyCell(joined)) a.delete(key);
      else if (joined !== ca) a.set(key, joined);
    }
  }
  for (const [key, cb] of onlyB) {
    const kept = cellSurvivors(cb, ctxA, key) as C;
    if (!isEmptyCell(kept)) a.set(key, kept);
  }
  return a;
}

/** True when two keyed maps of cells hold the same cells under the same keys. */
export function sameCellMaps(a: ReadonlyMap<string, Cell<unknown, unknown>>, b: ReadonlyMap<string, Cell<unknown, unknown>>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, ca] of a) {
    const cb = b.get(key);
    if (cb === undefined || !sameCell(ca, cb)) return false;
  }
  return true;
}
