// The counter behind INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT: a PN-counter
// (Shapiro et al., "A comprehensive study of Convergent and Commutative
// Replicated Data Types", 2011) whose increments made on both sides of a
// partition all count once the sides meet.
//
// State = an optional base + runs:
//  - base: the string the counter started from ("10" before the first INCR),
//    tagged with the dot of the string's version. Two counters started from
//    the same string on both sides of a partition carry the same base (same
//    dot, same value), so it counts once: 10 +1 on each side merges to 12,
//    not 22. Counters from different strings keep the base whose dot is
//    greatest (actor, then counter): a deterministic choice, as GET's.
//  - runs: one entry per (actor, start) with the dot counter of the actor's
//    last update in it and the run's running total, which may go down (DECR)
//    or below zero. Merge keeps, per run, the entry with the greatest counter:
//    an actor's later entry includes its earlier ones. A writer continues its
//    own latest run when its view holds it; a writer that may have lost its
//    own latest entry (a fallback coordinating from hints it handed off since)
//    starts a new run instead — a new run only adds, so nothing counts twice
//    and nothing is lost (Writer.freshRun).
// Value = base + Σ run totals, as exact decimals (decimal.ts): the same on
// every replica whatever order it merged in.
//
// Floats: INCRBYFLOAT computes what Redis would print for value + increment
// in long-double precision (long-double.ts), and adds to its run the exact
// difference between that printed result and the value it started from. So
// on one node every reply is Redis's digit for digit, and concurrent float
// increments still add up (their rounding happened where each was made).
// An INCR on a value that is not an integer after that (10.5) fails as in
// Redis: "value is not an integer or out of range".
//
// The value must fit a long long for INCR family commands (Redis's rule); the
// merge of increments made on two sides may pass it, and the value then shows
// exactly (GET answers the digits) while INCR refuses it as not an integer,
// as Redis does for such a string.

import assert from 'node:assert/strict';
import type { Dot } from '../clock/types.js';
import { ByteReader } from '../clock/byte-reader.js';
import { actorIdBytes } from '../clock/record-codec.js';
import { CrdtCodecError, type Convergent } from './kind.js';
import { compareDecimals, formatDecimal, decimalEquals, decimalOfInteger, subtractDecimals, parseCanonicalDecimalBytes, addDecimals, decimalZero, type Decimal } from './decimal.js';
import { fromDecimal, incrByFloat, parseLongDouble, toDecimal, type Extended } from './long-double.js';
import { TypeOperationError, type OperandView, type Writer } from './operation.js';
import { isEmptied } from './view.js';

export interface CounterRun {
  readonly actor: string;
  /** The dot counter of the run's first update: with the actor, the run's identity. */
  readonly start: number;
  /** The dot counter of the run's latest update. */
  readonly counter: number;
  readonly total: Decimal;
}

export interface CounterBase {
  /** The dot of the string version the counter started from. */
  readonly dot: Dot;
  readonly value: Decimal;
}

export interface CounterState {
  readonly base?: CounterBase;
  /** Sorted by actor (code-unit order), then start; one entry per run. */
  readonly runs: readonly CounterRun[];
}

const emptyState: CounterState = { runs: [] };

export function counterValue(state: CounterState): Decimal {
  let sum = state.base?.value ?? decimalZero;
  for (const run of state.runs) sum = addDecimals(sum, run.total);
  return sum;
}

/** The value as GET shows it. */
export function counterText(state: CounterState): string {
  return formatDecimal(counterValue(state));
}

function runOrder(a: CounterRun, b: CounterRun): number {
  if (a.actor !== b.actor) return a.actor < b.actor ? -1 : 1;
  return a.start - b.start;
}

/** The later of two copies of one run; equal counters are one update, but the choice stays deterministic. */
function laterRun(a: CounterRun, b: CounterRun): CounterRun {
  if (a.counter !== b.counter) return a.counter > b.counter ? a : b;
  return compareDecimals(a.total, b.total) >= 0 ? a : b;
}

function baseOrder(a: CounterBase, b: CounterBase): number {
  if (a.dot.actor !== b.dot.actor) return a.dot.actor > b.dot.actor ? 1 : -1;
  if (a.dot.counter !== b.dot.counter) return a.dot.counter - b.dot.counter;
  return compareDecimals(a.value, b.value);
}

function mergeBase(a: CounterBase | undefined, b: CounterBase | undefined): CounterBase | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return baseOrder(a, b) >= 0 ? a : b;
}

function mergeRuns(a: readonly CounterRun[], b: readonly CounterRun[]): CounterRun[] {
  const out: CounterRun[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length) out.push(a[i++]!);
    else if (i >= a.length) out.push(b[j++]!);
    else {
      const order = runOrder(a[i]!, b[j]!);
      if (order < 0) out.push(a[i++]!);
      else if (order > 0) out.push(b[j++]!);
      else out.push(laterRun(a[i++]!, b[j++]!));
    }
  }
  return out;
}

function mergeStates(a: CounterState, b: CounterState): CounterState {
  const base = mergeBase(a.base, b.base);
  const runs = mergeRuns(a.runs, b.runs);
  return base === undefined ? { runs } : { base, runs };
}

function sameBase(a: CounterBase | undefined, b: CounterBase | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.dot.actor === b.dot.actor && a.dot.counter === b.dot.counter && decimalEquals(a.value, b.value);
}

function statesEqual(a: CounterState, b: CounterState): boolean {
  if (!sameBase(a.base, b.base) || a.runs.length !== b.runs.length) return false;
  return a.runs.every((r, i) => {
    const s = b.runs[i]!;
    return r.actor === s.actor && r.start === s.start && r.counter === s.counter && decimalEquals(r.total, s.total);
  });
}

// Encoding (big-endian): u8 format (1), u8 flags (bit0: base), [base: entry,
// decimal], u32 runs, per run: u8 actor bytes, actor (UTF-8), f64 start,
// f64 counter, decimal. A decimal is u16 bytes + its canonical text
// (decimal.ts), so one state has one encoding.
const formatVersion = 1;
const flagBase = 1;
/** Long enough for any value a long double can print and any base a string can give (a subnormal's exact decimal is ~16.5k digits). */
export const decimalTextBytesMax = 0xffff;

/** One buffer sized first and written in place: INCR encodes a state per write, and a buffer per part and a concat were most of its allocations. */
function encodeState(state: CounterState): Buffer {
  const { base, runs } = state;
  const baseActor = base === undefined ? undefined : actorUtf8(base.dot.actor);
  const baseText = base === undefined ? '' : decimalText(base.value);
  const runActors: Buffer[] = new Array(runs.length);
  const runTexts: string[] = new Array(runs.length);
  let bytes = 2 + 4;
  if (baseActor !== undefined) bytes += 1 + baseActor.length + 8 + 2 + baseText.length;
  for (let i = 0; i < runs.length; i++) {
    runActors[i] = actorUtf8(runs[i]!.actor);
    runTexts[i] = decimalText(runs[i]!.total);
    bytes += 1 + runActors[i]!.length + 16 + 2 + runTexts[i]!.length;
  }
  const out = Buffer.allocUnsafe(bytes);
  let o = out.writeUInt8(formatVersion, 0);
  o = out.writeUInt8(base === undefined ? 0 : flagBase, o);
  if (base !== undefined) {
    o = writeActor(out, o, baseActor!);
    o = out.writeDoubleBE(base.dot.counter, o);
    o = writeDecimalText(out, o, baseText);
  }
  o = out.writeUInt32BE(runs.length, o);
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    o = writeActor(out, o, runActors[i]!);
    o = out.writeDoubleBE(run.start, o);
    o = out.writeDoubleBE(run.counter, o);
    o = writeDecimalText(out, o, runTexts[i]!);
  }
  assert(o === bytes);
  return out;
}

/** The actor's UTF-8, from the record codec's cache: every INCR encodes its own node's id. */
function actorUtf8(actor: string): Buffer {
  const bytes = actorIdBytes(actor);
  if (bytes === undefined || bytes.length === 0) throw new CrdtCodecError('bad counter actor');
  return bytes;
}

/** A decimal's canonical text (latin1: digits, sign, point, exponent), checked against the u16 its length is written in. */
function decimalText(d: Decimal): string {
  const text = formatDecimal(d);
  if (text.length > decimalTextBytesMax) throw new CrdtCodecError('counter value too long to encode');
  return text;
}

function writeActor(out: Buffer, at: number, actor: Buffer): number {
  out[at] = actor.length;
  return at + 1 + actor.copy(out, at + 1);
}

function writeDecimalText(out: Buffer, at: number, text: string): number {
  out.writeUInt16BE(text.length, at);
  return at + 2 + out.write(text, at + 2, text.length, 'latin1');
}

function flaw(message: string): CrdtCodecError {
  return new CrdtCodecError(message === 'truncated' ? 'counter state truncated' : `counter state: ${message}`);
}

function readCounter(r: ByteReader): number {
  const c = r.f64();
  if (!Number.isSafeInteger(c) || c < 1) throw flaw('bad dot counter');
  return c;
}

function readActor(r: ByteReader): string {
  const length = r.u8();
  if (length === 0) throw flaw('empty actor');
  return r.actorId(length, 'actor');
}

function readDecimal(r: ByteReader): Decimal {
  const length = r.u16();
  const d = parseCanonicalDecimalBytes(r.bytes(length));
  if (d === undefined) throw flaw('bad decimal');
  return d;
}

function decodeState(bytes: Buffer): CounterState {
  const r = new ByteReader(bytes, 0, bytes.length, flaw);
  if (r.u8() !== formatVersion) throw flaw('unknown format');
  const flags = r.u8();
  if (flags & ~flagBase) throw flaw('unknown flags');
  let base: CounterBase | undefined;
  if (flags & flagBase) {
    const actor = readActor(r);
    const counter = readCounter(r);
    base = { dot: { actor, counter }, value: readDecimal(r) };
  }
  const count = r.u32();
  // Each run takes at least 20 bytes: a count beyond what is left is a lie, refused before allocating.
  if (count > (bytes.length - r.offset) / 20) throw flaw('run count past the end');
  const runs: CounterRun[] = [];
  for (let i = 0; i < count; i++) {
    const actor = readActor(r);
    const start = readCounter(r);
    const counter = readCounter(r);
    if (counter < start) throw flaw('run updated before it started');
    const run = { actor, start, counter, total: readDecimal(r) };
    if (runs.length > 0 && runOrder(runs[runs.length - 1]!, run) >= 0) throw flaw('runs not sorted');
    runs.push(run);
  }
  if (r.offset !== bytes.length) throw flaw('trailing bytes');
  return base === undefined ? { runs } : { base, runs };
}

export const counterType: Convergent<CounterState> = {
  type: 'counter',
  empty: () => emptyState,
  merge: mergeStates,
  equals: statesEqual,
  encode: encodeState,
  decode: decodeState,
};

// Operations. Encoded for the wire (a forwarded write carries them to the
// key's replica): u8 kind, then for 'by' the increment's decimal text, for
// 'float' the client's argument as given (Redis judges it only after the
// key's type and value).
export type CounterOperation =
  | { readonly kind: 'by'; readonly increment: bigint }
  | { readonly kind: 'float'; readonly increment: Buffer };

const opBy = 1;
const opFloat = 2;
const int64Max = (1n << 63n) - 1n;
const int64Min = -(1n << 63n);

/**
 * INCR's and DECR's operations, encoded once: the bigint's text and a buffer
 * were ~160 ns of every INCR. Shared, so never written to (the encoded
 * operation is only read: sent to a coordinator or decoded).
 */
const incrementByOne = encodeByOperation(1n);
const decrementByOne = encodeByOperation(-1n);

/** Written in place: every INCR encodes one (three buffers and a concat were most of its cost). */
export function encodeCounterOperation(op: CounterOperation): Buffer {
  if (op.kind === 'by') return op.increment === 1n ? incrementByOne : op.increment === -1n ? decrementByOne : encodeByOperation(op.increment);
  const out = Buffer.allocUnsafe(1 + op.increment.length);
  out[0] = opFloat;
  op.increment.copy(out, 1);
  return out;
}

function encodeByOperation(increment: bigint): Buffer {
  const text = increment.toString();
  const out = Buffer.allocUnsafe(1 + text.length);
  out[0] = opBy;
  out.write(text, 1, 'latin1');
  return out;
}

export function decodeCounterOperation(bytes: Buffer): CounterOperation {
  if (bytes.length === 0) throw new TypeOperationError('BAD_OPERATION', 'empty counter operation');
  const payload = bytes.subarray(1);
  if (bytes[0] === opFloat) return { kind: 'float', increment: payload };
  if (bytes[0] === opBy) {
    const increment = parseLongLong(payload);
    if (increment !== undefined) return { kind: 'by', increment };
  }
  throw new TypeOperationError('BAD_OPERATION', 'malformed counter operation');
}

/** string2ll: a strict decimal long long ("-0", "007", "+1", " 1" refused); undefined otherwise. */
export function parseLongLong(bytes: Buffer): bigint | undefined {
  if (bytes.length === 0 || bytes.length > 20) return undefined;
  const text = bytes.toString('latin1');
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) return undefined;
  const n = BigInt(text);
  return n > int64Max || n < int64Min ? undefined : n;
}

/** Where an operation starts: nothing, a string (its bytes and dot), or the merged counter. */
type Start = { readonly kind: 'none' } | { readonly kind: 'string'; readonly value: Buffer; readonly dot: Dot } | { readonly kind: 'counter'; readonly state: CounterState };

function startOf(view: OperandView | undefined): Start {
  if (view === undefined || isEmptied(view)) return { kind: 'none' };
  const type = view.winner.type;
  if (type === undefined) return { kind: 'string', value: view.winner.value, dot: view.winner.dot };
  if (type !== 'counter') throw new TypeOperationError('WRONGTYPE');
  // One version (a counter written through its coordinators without conflict) is its own merge.
  if (view.ofType.length === 1) return { kind: 'counter', state: decodeState(view.ofType[0]!.value) };
  let state = emptyState;
  for (const s of view.ofType) state = mergeStates(state, decodeState(s.value));
  return { kind: 'counter', state };
}

/** The value an integer operation starts from, or Redis's error. */
function integerStart(start: Start): Decimal {
  if (start.kind === 'none') return decimalZero;
  if (start.kind === 'string') {
    const n = parseLongLong(start.value);
    if (n === undefined) throw new TypeOperationError('NOT_INTEGER');
    return decimalOfInteger(n);
  }
  const value = counterValue(start.state);
  if (value.e !== 0 || value.m > int64Max || value.m < int64Min) throw new TypeOperationError('NOT_INTEGER');
  return value;
}

/** The value a float operation starts from, exactly and as strtold reads it (an infinite string included), or Redis's error. */
function floatStart(start: Start): { exact: Decimal | undefined; extended: Extended } {
  if (start.kind === 'none') return { exact: decimalZero, extended: fromDecimal(decimalZero) };
  if (start.kind === 'counter') {
    const exact = counterValue(start.state);
    return { exact, extended: fromDecimal(exact) };
  }
  const parsed = parseLongDouble(start.value);
  if (parsed === undefined) throw new TypeOperationError('NOT_FLOAT');
  // A string is a value only as its long double: the counter's base is that, so every reader of the string agrees on it.
  return { exact: 'infinity' in parsed ? undefined : toDecimal(parsed), extended: parsed };
}

/** How much the operation adds to the value it starts from (exactly), in Redis's order of checks. */
function deltaOf(op: CounterOperation, start: Start): { from: Decimal; delta: Decimal } {
  if (op.kind === 'by') {
    const from = integerStart(start);
    const result = from.m + op.increment;
    if (result > int64Max || result < int64Min) throw new TypeOperationError('OVERFLOW');
    return { from, delta: decimalOfInteger(op.increment) };
  }
  const from = floatStart(start);
  const increment = parseLongDouble(op.increment);
  if (increment === undefined) throw new TypeOperationError('NOT_FLOAT');
  const sum = incrByFloat(from.extended, increment);
  // An infinite value ("inf" SET as a string) makes an infinite sum, so `exact` is defined past this.
  if (sum === 'nan-or-infinity' || from.exact === undefined) throw new TypeOperationError('NAN_OR_INFINITY');
  return { from: from.exact, delta: subtractDecimals(sum.value, from.exact) };
}

/**
 * The counter after `op` on the key's view, written as `writer`'s version:
 * the merged state of every live counter version (or a new counter over the
 * winning string, or none), with the writer's run moved on by the operation.
 * Throws TypeOperationError as Redis would refuse.
 */
export function applyCounterOperation(view: OperandView | undefined, op: CounterOperation, writer: Writer): CounterState {
  const start = startOf(view);
  const { from, delta } = deltaOf(op, start);
  let state: CounterState;
  if (start.kind === 'counter') state = start.state;
  else if (start.kind === 'string') state = { base: { dot: start.dot, value: from }, runs: [] };
  else state = emptyState;
  return { ...state, runs: advanceRun(state.runs, delta, writer) };
}

/** The runs with the writer's latest run carried on by `delta`, or a new run of its own. */
function advanceRun(runs: readonly CounterRun[], delta: Decimal, writer: Writer): CounterRun[] {
  const actor = writer.dot.actor;
  let latest = -1;
  if (!writer.freshRun) {
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      if (run.actor === actor && (latest === -1 || run.counter > runs[latest]!.counter)) latest = i;
    }
  }
  const out = runs.slice();
  if (latest !== -1) {
    const run = runs[latest]!;
    out[latest] = { actor, start: run.start, counter: writer.dot.counter, total: addDecimals(run.total, delta) };
    return out;
  }
  out.push({ actor, start: writer.dot.counter, counter: writer.dot.counter, total: delta });
  out.sort(runOrder);
  return out;
}
