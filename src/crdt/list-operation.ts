// The operations list commands send to a key's coordinator (LPUSH/RPUSH and
// their X forms, LPOP/RPOP, LSET, LREM, LTRIM, LINSERT, and LMOVE's two
// halves), their bytes, and how the coordinator applies one to the merged
// state of the key's live list versions (list.ts) in one synchronous step —
// so two LPOPs meeting at one coordinator never return the same element, and
// indexes (LSET, LTRIM, LINSERT's pivot) are judged against the list this
// coordinator holds. Each answers what Redis would (the new length, the
// popped elements, a count) as an outcome beside the state (registry.ts).
//
// Pops on two sides of a partition may take the same element: both answer
// it, and the element is gone once the sides meet (list.ts).

import { collectionStart } from './view.js';
import { Reader, Writer as ByteWriter } from './codec.js';
import { emptyList, insert, length, listType, merge as mergeLists, popEnd, removeAt, setAt, values, type Claim, type ListState } from './list.js';
import { TypeOperationError, type OperandView, type Operated, type Writer } from './operation.js';
import { parseLongLong } from './counter.js';
import { applyImport, readImportHeader, writeImportHeader, type ImportHooks, type ImportOperation } from './import-operation.js';

export type ListEnd = 'head' | 'tail';

export type ListOperation =
  /** LPUSH/RPUSH (values in argument order); `onlyIfExists` for LPUSHX/RPUSHX. */
  | { readonly kind: 'push'; readonly end: ListEnd; readonly values: readonly Buffer[]; readonly onlyIfExists: boolean }
  | { readonly kind: 'pop'; readonly end: ListEnd; readonly count: number }
  /** LSET: the index as the client gave it, judged after the key as Redis does (no such key, then WRONGTYPE, then the index). */
  | { readonly kind: 'set'; readonly index: Buffer; readonly value: Buffer }
  | { readonly kind: 'remove'; readonly count: number; readonly element: Buffer }
  | { readonly kind: 'trim'; readonly start: number; readonly stop: number }
  | { readonly kind: 'insert'; readonly after: boolean; readonly pivot: Buffer; readonly element: Buffer }
  /** LMOVE with the same source and destination: one element from one end to the other (or the same), in one step. */
  | { readonly kind: 'rotate'; readonly from: ListEnd; readonly to: ListEnd }
  /** IMPORT of a list copied from Redis, a page of elements in order (import-operation.ts). */
  | ImportOperation<Buffer>;

/** Operation kinds on the wire. ONLY APPEND: peers of other versions read them. */
const opPush = 1;
const opPop = 2;
const opSet = 3;
const opRemove = 4;
const opTrim = 5;
const opInsert = 6;
const opRotate = 7;
const opImport = 8;

const endCode = (end: ListEnd) => (end === 'head' ? 0 : 1);

function readEnd(r: Reader): ListEnd {
  const code = r.u8();
  if (code > 1) throw new Error('bad end');
  return code === 0 ? 'head' : 'tail';
}

/** Signed integers (indexes, LREM's count) as zigzag varints. */
function writeSigned(w: ByteWriter, n: number): void {
  w.varint(n >= 0 ? n * 2 : -n * 2 - 1);
}

function readSigned(r: Reader): number {
  const z = r.varint();
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

export function encodeListOperation(op: ListOperation): Buffer {
  const w = new ByteWriter();
  switch (op.kind) {
    case 'push':
      w.u8(opPush);
      w.u8(endCode(op.end) | (op.onlyIfExists ? 2 : 0));
      w.varint(op.values.length);
      for (const v of op.values) w.bytes(v);
      break;
    case 'pop':
      w.u8(opPop);
      w.u8(endCode(op.end));
      w.varint(op.count);
      break;
    case 'set':
      w.u8(opSet);
      w.bytes(op.index);
      w.bytes(op.value);
      break;
    case 'remove':
      w.u8(opRemove);
      writeSigned(w, op.count);
      w.bytes(op.element);
      break;
    case 'trim':
      w.u8(opTrim);
      writeSigned(w, op.start);
      writeSigned(w, op.stop);
      break;
    case 'insert':
      w.u8(opInsert);
      w.u8(op.after ? 1 : 0);
      w.bytes(op.pivot);
      w.bytes(op.element);
      break;
    case 'rotate':
      w.u8(opRotate);
      w.u8(endCode(op.from));
      w.u8(endCode(op.to));
      break;
    case 'import':
      w.u8(opImport);
      writeImportHeader(w, op);
      w.varint(op.items.length);
      for (const v of op.items) w.bytes(v);
      break;
  }
  return w.finish();
}

export function decodeListOperation(bytes: Buffer): ListOperation {
  try {
    const r = new Reader(bytes);
    const kind = r.u8();
    let op: ListOperation;
    if (kind === opPush) {
      const bits = r.u8();
      if (bits > 3) throw new Error('bad push flags');
      const vals: Buffer[] = [];
      for (let n = r.count(); n > 0; n--) vals.push(r.bytes());
      op = { kind: 'push', end: (bits & 1) === 0 ? 'head' : 'tail', values: vals, onlyIfExists: (bits & 2) !== 0 };
    } else if (kind === opPop) {
      const end = readEnd(r);
      op = { kind: 'pop', end, count: r.varint() };
    } else if (kind === opSet) {
      const index = r.bytes();
      op = { kind: 'set', index, value: r.bytes() };
    } else if (kind === opRemove) {
      const count = readSigned(r);
      op = { kind: 'remove', count, element: r.bytes() };
    } else if (kind === opTrim) {
      const start = readSigned(r);
      op = { kind: 'trim', start, stop: readSigned(r) };
    } else if (kind === opInsert) {
      const after = r.u8();
      if (after > 1) throw new Error('bad side');
      const pivot = r.bytes();
      op = { kind: 'insert', after: after === 1, pivot, element: r.bytes() };
    } else if (kind === opRotate) {
      const from = readEnd(r);
      op = { kind: 'rotate', from, to: readEnd(r) };
    } else if (kind === opImport) {
      const header = readImportHeader(r);
      const items: Buffer[] = [];
      for (let n = r.count(); n > 0; n--) items.push(r.bytes());
      op = { ...header, items };
    } else {
      throw new Error(`unknown list operation ${kind}`);
    }
    r.end();
    return op;
  } catch (err) {
    throw new TypeOperationError('BAD_OPERATION', `malformed list operation: ${(err as Error).message}`);
  }
}

// Outcomes ------------------------------------------------------------------------

/** What a list operation answers: an integer (a length, a count, LINSERT's -1), or elements (none when the key held nothing). */
export type ListOutcome =
  | { readonly kind: 'integer'; readonly value: number }
  | { readonly kind: 'elements'; readonly values: readonly Buffer[] | undefined };

export function encodeListOutcome(outcome: ListOutcome): Buffer {
  const w = new ByteWriter();
  if (outcome.kind === 'integer') {
    w.u8(0);
    writeSigned(w, outcome.value);
  } else if (outcome.values === undefined) {
    w.u8(1);
  } else {
    w.u8(2);
    w.varint(outcome.values.length);
    for (const v of outcome.values) w.bytes(v);
  }
  return w.finish();
}

export function decodeListOutcome(bytes: Buffer): ListOutcome {
  const r = new Reader(bytes);
  const kind = r.u8();
  let out: ListOutcome;
  if (kind === 0) out = { kind: 'integer', value: readSigned(r) };
  else if (kind === 1) out = { kind: 'elements', values: undefined };
  else if (kind === 2) {
    const vals: Buffer[] = [];
    for (let n = r.count(); n > 0; n--) vals.push(r.bytes());
    out = { kind: 'elements', values: vals };
  } else throw new TypeOperationError('BAD_OPERATION', `unknown list outcome ${kind}`);
  r.end();
  return out;
}

// Applying ------------------------------------------------------------------------

const integer = (value: number): Buffer => encodeListOutcome({ kind: 'integer', value });

/** A list takes an import's pages at its tail, in order. */
const listImport: ImportHooks<ListState, Buffer> = {
  convergent: listType,
  add: (state, items, dot, how) => void insert(state, length(state), items, dot, how),
};

export function applyListOperation(view: OperandView | undefined, op: ListOperation, writer: Writer): Operated<ListState> {
  // Before the view is judged: an import's first page replaces a value of any type.
  if (op.kind === 'import') return applyImport(view, op, writer, listImport);
  const how: Claim = writer.freshRun ? 'dot' : 'gap';
  // An emptied list starts from its empty state (its context removes what it removed from concurrent versions) yet is no key to LPUSHX, LPOP or LSET.
  const state = collectionStart(view, listType);
  const found = length(state) > 0 ? state : undefined;
  switch (op.kind) {
    case 'push': {
      if (op.onlyIfExists && found === undefined) return { state, delta: emptyList(), outcome: integer(0) };
      // LPUSH a b c leaves c b a at the head: the run goes in reversed, in one piece.
      const { delta } = op.end === 'head' ? insert(state, 0, [...op.values].reverse(), writer.dot, how) : insert(state, length(state), op.values, writer.dot, how);
      return { state, delta, outcome: integer(length(state)) };
    }
    case 'pop': {
      if (found === undefined) return { state, delta: emptyList(), outcome: encodeListOutcome({ kind: 'elements', values: undefined }) };
      const { values: popped, delta } = popEnd(state, op.end, op.count);
      return { state, delta, outcome: encodeListOutcome({ kind: 'elements', values: popped }) };
    }
    case 'set': {
      if (found === undefined) throw new TypeOperationError('NO_SUCH_KEY');
      const given = parseLongLong(op.index);
      if (given === undefined) throw new TypeOperationError('NOT_INTEGER');
      const n = length(state);
      // Beyond ±2^53 is beyond any list: out of range either way.
      const asked = given > BigInt(Number.MAX_SAFE_INTEGER) || given < -BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(given);
      const index = asked < 0 && given >= 0n ? -1 : asked < 0 ? n + asked : asked;
      if (index < 0 || index >= n) throw new TypeOperationError('INDEX_OUT_OF_RANGE');
      const { delta } = setAt(state, index, op.value, writer.dot, how);
      return { state, delta, outcome: integer(0) };
    }
    case 'remove': {
      const all = values(state);
      const doomed: number[] = [];
      const limit = op.count === 0 ? Infinity : Math.abs(op.count);
      if (op.count >= 0) {
        for (let i = 0; i < all.length && doomed.length < limit; i++) if (all[i]!.equals(op.element)) doomed.push(i);
      } else {
        for (let i = all.length - 1; i >= 0 && doomed.length < limit; i--) if (all[i]!.equals(op.element)) doomed.push(i);
      }
      const { delta } = doomed.length > 0 ? removeAt(state, doomed) : { delta: emptyList() };
      return { state, delta, outcome: integer(doomed.length) };
    }
    case 'trim': {
      // ltrimCommand's arithmetic: what is kept is [start, stop] after turning negatives around and clamping.
      const n = length(state);
      let start = op.start < 0 ? n + op.start : op.start;
      let stop = op.stop < 0 ? n + op.stop : op.stop;
      if (start < 0) start = 0;
      const doomed: number[] = [];
      if (start > stop || start >= n) {
        for (let i = 0; i < n; i++) doomed.push(i);
      } else {
        if (stop >= n) stop = n - 1;
        for (let i = 0; i < start; i++) doomed.push(i);
        for (let i = stop + 1; i < n; i++) doomed.push(i);
      }
      const { delta } = doomed.length > 0 ? removeAt(state, doomed) : { delta: emptyList() };
      return { state, delta, outcome: integer(0) };
    }
    case 'insert': {
      if (found === undefined) return { state, delta: emptyList(), outcome: integer(0) };
      const at = values(state).findIndex((v) => v.equals(op.pivot));
      if (at === -1) return { state, delta: emptyList(), outcome: integer(-1) };
      const { delta } = insert(state, op.after ? at + 1 : at, [op.element], writer.dot, how);
      return { state, delta, outcome: integer(length(state)) };
    }
    case 'rotate': {
      if (found === undefined) return { state, delta: emptyList(), outcome: encodeListOutcome({ kind: 'elements', values: undefined }) };
      const { values: popped, delta: removed } = popEnd(state, op.from, 1);
      // Pushed back as a new element (its own dot): what moved is a new element, as LMOVE's destination sees it in Redis.
      // Both changes travel as one delta: deltas are states, so their join is one.
      const delta = popped.length > 0 ? mergeLists(removed, insert(state, op.to === 'head' ? 0 : length(state), popped, writer.dot, how).delta) : removed;
      return { state, delta, outcome: encodeListOutcome({ kind: 'elements', values: popped }) };
    }
  }
}
