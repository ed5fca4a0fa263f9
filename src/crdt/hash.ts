// Hashes as observed-remove maps of field → cell (cell.ts): a multi-value
// register that HSET sets, plus a counter that HINCRBY and HINCRBYFLOAT add
// to, reset by the sets that saw it. Concurrent HSETs of different fields
// both survive (they are different keys of the map); of the same field,
// both values stay and the one with the greatest dot answers (compareDots:
// the greater counter, then the greater actor id) until a later HSET that
// saw both replaces them: `conflict` shows them all, and an HSET of the
// field resolves the conflict. HDEL drops the tags it saw, so an HSET or
// HINCRBY concurrent with it survives (add-wins, as in Riak's maps).
//
// Counter fields: HINCRBY on a field that reads "5" gives "6" as in Redis;
// the increment adds to whatever register value it is concurrent with, so
// HSET f 10 ‖ HINCRBY f 1 converges to "11" (observed reset, cell.ts).
// Sums are exact decimals (decimal.ts): HINCRBY is exact over Redis's whole
// 64-bit range (a merged sum of concurrent increments may pass it; the
// command layer refuses further increments then, as Redis refuses an overflow).
//
// Operations change the state they are given and return it (see set.ts).

import assert from 'node:assert/strict';
import type { Dot } from '../clock/types.js';
import type { Convergent, Update } from './kind.js';
import { CrdtCodecError } from './kind.js';
import { cloneContext, contextEquals, emptyContext, joinContexts, type CausalContext } from './causal-context.js';
import {
  forgetCell,
  incrementCell,
  joinCellMaps,
  joinCellMapsInto,
  numberOfCell,
  readCell,
  readCellEntries,
  sameCellMaps,
  setCell,
  writeCell,
  type Arith,
  type Cell,
} from './cell.js';
import { decodeState, header, readContext, writeContext, Writer } from './codec.js';
import { readOrder, sortedOrder, stepOrder, type KeyOrder } from './key-order.js';
import { claim } from './set.js';
import { addDecimals, formatDecimal, parseDecimal, parseDecimalBytes, roundShown, type Decimal } from './decimal.js';

export type FieldCell = Cell<Buffer, Decimal>;

export interface HashState {
  /** Field (latin1 key) → its cell, never empty. */
  readonly fields: Map<string, FieldCell>;
  readonly ctx: CausalContext;
}

const typeCode = 0x68; // 'h'

const decimalArith: Arith<Buffer, Decimal> = {
  zero: { m: 0n, e: 0 },
  add: addDecimals,
  numberOf: parseDecimalBytes,
  shown: roundShown,
};

/** Field keys in byte order, per state, kept in step with small changes (key-order.ts). */
const orderCache = new WeakMap<HashState, KeyOrder>();

export function emptyHash(): HashState {
  return { fields: new Map(), ctx: emptyContext() };
}

export function cloneHash(state: HashState): HashState {
  return { fields: new Map(state.fields), ctx: cloneContext(state.ctx) };
}

function fieldKey(field: Buffer): string {
  return field.toString('latin1');
}

/** HSET / HMSET / HSETNX's write: sets each field's register, resetting what it saw. A field given twice takes the last value, as in Redis. */
export function setFields(state: HashState, pairs: readonly (readonly [field: Buffer, value: Buffer])[], dot: Dot, claimGap = true): Update<HashState> {
  const delta = emptyHash();
  claim(state.ctx, delta.ctx, dot, claimGap);
  let order = orderCache.get(state);
  for (const [field, value] of pairs) {
    const key = fieldKey(field);
    const old = state.fields.get(key);
    const cell = setCell<Buffer, Decimal>(old, Buffer.from(value), dot, delta.ctx, key);
    // A field already there keeps its place in the order; a new one is moved in, or the order dropped (key-order.ts).
    if (old === undefined) order = stepOrder(orderCache, state, order, key, true);
    state.fields.set(key, cell);
    delta.fields.set(key, cell);
  }
  return { state, delta };
}

/** HDEL: drops every tag seen on each field. */
export function removeFields(state: HashState, fields: readonly Buffer[]): Update<HashState> {
  const delta = emptyHash();
  let order = orderCache.get(state);
  for (const field of fields) {
    const key = fieldKey(field);
    const cell = state.fields.get(key);
    if (cell === undefined) continue;
    forgetCell(cell, delta.ctx, key);
    state.fields.delete(key);
    order = stepOrder(orderCache, state, order, key, false);
  }
  return { state, delta };
}

/**
 * HINCRBY / HINCRBYFLOAT: adds `amount` to the field's counter. The field must
 * read as a number (`fieldNumber`; Redis refuses otherwise). Returns the
 * update and the field's new value as this replica shows it (the reply).
 */
export function incrementField(state: HashState, field: Buffer, amount: Decimal, dot: Dot, claimGap = true): Update<HashState> & { readonly value: Buffer } {
  const delta = emptyHash();
  claim(state.ctx, delta.ctx, dot, claimGap);
  const key = fieldKey(field);
  const old = state.fields.get(key);
  const result = incrementCell(old, amount, dot, delta.ctx, key, decimalArith);
  state.fields.set(key, result.cell);
  delta.fields.set(key, result.delta);
  if (old === undefined) stepOrder(orderCache, state, orderCache.get(state), key, true);
  return { state, delta, value: Buffer.from(formatDecimal(result.value), 'latin1') };
}

/** HGET: the field's value, or undefined. */
export function getField(state: HashState, field: Buffer): Buffer | undefined {
  const cell = state.fields.get(fieldKey(field));
  return cell === undefined ? undefined : showCell(cell);
}

/** The field's value as an exact number (zero for a missing field), or undefined when it is not a number. */
export function fieldNumber(state: HashState, field: Buffer): Decimal | undefined {
  const cell = state.fields.get(fieldKey(field));
  return cell === undefined ? decimalArith.zero : numberOfCell(cell, decimalArith);
}

/**
 * A field conflict as a client sees it: every register value concurrent
 * writes left (the shown one last), and whether a counter adds to it. One
 * value and no counter means no conflict. An HSET of the field resolves it.
 */
export function fieldConflict(state: HashState, field: Buffer): { readonly values: Buffer[]; readonly counting: boolean } | undefined {
  const cell = state.fields.get(fieldKey(field));
  if (cell === undefined) return undefined;
  return { values: cell.values.map((v) => v.value), counting: cell.counts.length > 0 };
}

export function hasField(state: HashState, field: Buffer): boolean {
  return state.fields.has(fieldKey(field));
}

/** HLEN. */
export function fieldCount(state: HashState): number {
  return state.fields.size;
}

/** HGETALL / HKEYS / HVALS: fields in byte order with their values. */
export function entries(state: HashState): [field: Buffer, value: Buffer][] {
  return fieldKeys(state).map((k) => [Buffer.from(k, 'latin1'), showCell(state.fields.get(k)!)]);
}

/** A field's latin1 key by position, 0 ≤ index < count: as set.ts memberKeyAt, for HRANDFIELD's one draw. */
export function fieldKeyAt(state: HashState, index: number): string {
  const order = orderCache.get(state);
  if (order !== undefined) return order.keys[index]!;
  for (const key of state.fields.keys()) if (index-- === 0) return key;
  assert.fail(`fieldKeyAt: position past the hash's ${state.fields.size} fields`);
}

/** Field keys (latin1) in byte order; cached until the state changes. Do not mutate. */
export function fieldKeys(state: HashState): readonly string[] {
  let order = orderCache.get(state);
  if (order === undefined) {
    order = sortedOrder(state.fields.keys());
    orderCache.set(state, order);
  }
  return readOrder(order);
}

function showCell(cell: FieldCell): Buffer {
  const read = readCell(cell, decimalArith)!;
  return read.kind === 'value' ? read.value : Buffer.from(formatDecimal(read.value), 'latin1');
}

export function merge(a: HashState, b: HashState): HashState {
  return { fields: joinCellMaps(a.fields, a.ctx, b.fields, b.ctx), ctx: joinContexts(a.ctx, b.ctx) };
}

/** merge(state, delta) reusing state's map (kind.ts mergeDelta). */
export function mergeDelta(state: HashState, delta: HashState): HashState {
  orderCache.delete(state);
  return { fields: joinCellMapsInto(state.fields, state.ctx, delta.fields, delta.ctx), ctx: joinContexts(state.ctx, delta.ctx) };
}

export function equals(a: HashState, b: HashState): boolean {
  return contextEquals(a.ctx, b.ctx) && sameCellMaps(a.fields, b.fields);
}

// Layout: header, context, varint fieldCount, per field: key, cell (cell.ts);
// values as byte strings, decimals as their text.
export function encode(state: HashState): Buffer {
  const w = new Writer();
  header(w, typeCode);
  writeContext(w, state.ctx);
  w.varint(state.fields.size);
  for (const [key, cell] of state.fields) {
    w.key(key);
    // Most fields hold one value and no counter: written inline, the bytes writeCell writes, without its callbacks
    // (a whole hash's encode, at every cut of its chain, is mostly this loop).
    const only = cell.counts.length === 0 && cell.values.length === 1 ? cell.values[0]! : undefined;
    if (only === undefined) writeCell(w, cell, writeValue, writeDecimal);
    else {
      w.varint(1);
      w.dot(only.dot);
      w.bytes(only.value);
      w.varint(0);
    }
  }
  return w.finish();
}

export function decode(bytes: Buffer): HashState {
  return decodeState(bytes, typeCode, 'hash', (r) => {
    const ctx = readContext(r);
    const fields = new Map<string, FieldCell>();
    for (let n = r.count(3); n > 0; n--) {
      const key = r.key();
      if (fields.has(key)) throw new CrdtCodecError('field twice');
      fields.set(key, readCellEntries(r, ctx, key, (rr) => rr.bytes(), readDecimal));
    }
    return { fields, ctx };
  });
}

function writeValue(w: Writer, v: Buffer): void {
  w.bytes(v);
}

function writeDecimal(w: Writer, d: Decimal): void {
  w.key(formatDecimal(d));
}

function readDecimal(r: import('./codec.js').Reader): Decimal {
  const text = r.key();
  const d = parseDecimal(text);
  if (d === undefined || formatDecimal(d) !== text) throw new CrdtCodecError('bad decimal');
  return d;
}

export const hashType: Convergent<HashState> = { type: 'hash', empty: emptyHash, merge, mergeDelta, equals, encode, decode };
