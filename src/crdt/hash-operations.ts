// What the hash commands ask a key's coordinator to do (HSET, HSETNX, HDEL,
// HINCRBY, HINCRBYFLOAT), as bytes a forwarded write carries unchanged, and
// how the coordinator applies them to the observed-remove map (hash.ts) it
// holds, inside the one step that mints the version — so HSETNX's check,
// HINCRBY's overflow check and the counts the replies give are made on
// exactly the state the new version replaces.
//
// Numbers as Redis judges them: HINCRBY needs the field to read as a strict
// long long (string2ll) and refuses a result outside it; HINCRBYFLOAT reads
// the field as strtold does and prints the sum as Redis does, in long-double
// precision (long-double.ts), then adds to the field's counter the exact
// difference between that printed sum and the field's value — so a reply
// on one node is Redis's digits, and increments made concurrently still all
// count (cell.ts). A field whose text strtold reads but the exact decimals
// do not ("0x10", "1e400") is set to the printed sum instead: correct on one
// node; a concurrent increment of such a field is not added to it.
//
// Encoding: u8 kind, then: set: varint pairs, field and value byte strings;
// setnx: field, value; del: varint count, fields; incrby: field, the
// increment's decimal text; incrbyfloat: field, the client's increment text.
// Kinds are append-only; an unknown one is refused as BAD_OPERATION.
// Outcomes: set, setnx, del give a varint count; the increments give the
// field's new value as the reply shows it.

import { CrdtCodecError } from './kind.js';
import { countOutcome, Reader, Writer as ByteWriter } from './codec.js';
import { decimalOfInteger, subtractDecimals } from './decimal.js';
import { parseLongLong } from './counter.js';
import { incrByFloat, parseLongDouble } from './long-double.js';
import { TypeOperationError, type OperandView, type Operated, type Writer } from './operation.js';
import { emptyHash, fieldCount, fieldNumber, getField, hasField, hashType, incrementField, removeFields, setFields, type HashState } from './hash.js';
import { collectionStart } from './view.js';
import { applyImport, readImportHeader, writeImportHeader, type ImportHooks, type ImportOperation } from './import-operation.js';

export type HashOperation =
  | { readonly kind: 'set'; readonly pairs: readonly (readonly [field: Buffer, value: Buffer])[] }
  | { readonly kind: 'setnx'; readonly field: Buffer; readonly value: Buffer }
  | { readonly kind: 'del'; readonly fields: readonly Buffer[] }
  | { readonly kind: 'incrby'; readonly field: Buffer; readonly increment: bigint }
  | { readonly kind: 'incrbyfloat'; readonly field: Buffer; readonly increment: Buffer }
  /** IMPORT of a hash copied from Redis, a page of field/value pairs (import-operation.ts). */
  | ImportOperation<readonly [field: Buffer, value: Buffer]>;

/** ONLY APPEND: a kind's place is its code on the wire. */
const kinds = ['set', 'setnx', 'del', 'incrby', 'incrbyfloat', 'import'] as const;
const int64Max = (1n << 63n) - 1n;
const int64Min = -(1n << 63n);

export function encodeHashOperation(op: HashOperation): Buffer {
  const w = new ByteWriter();
  w.u8(kinds.indexOf(op.kind) + 1);
  switch (op.kind) {
    case 'set':
      w.varint(op.pairs.length);
      for (const [field, value] of op.pairs) {
        w.bytes(field);
        w.bytes(value);
      }
      break;
    case 'setnx':
      w.bytes(op.field);
      w.bytes(op.value);
      break;
    case 'del':
      w.varint(op.fields.length);
      for (const field of op.fields) w.bytes(field);
      break;
    case 'incrby':
      w.bytes(op.field);
      w.bytes(Buffer.from(op.increment.toString(), 'latin1'));
      break;
    case 'incrbyfloat':
      w.bytes(op.field);
      w.bytes(op.increment);
      break;
    case 'import':
      writeImportHeader(w, op);
      w.varint(op.items.length);
      for (const [field, value] of op.items) {
        w.bytes(field);
        w.bytes(value);
      }
      break;
  }
  return w.finish();
}

export function decodeHashOperation(bytes: Buffer): HashOperation {
  try {
    const r = new Reader(bytes);
    const kind = kinds[r.u8() - 1];
    let op: HashOperation;
    switch (kind) {
      case 'set': {
        const pairs: [Buffer, Buffer][] = [];
        for (let n = r.count(2); n > 0; n--) pairs.push([r.bytes(), r.bytes()]);
        op = { kind, pairs };
        break;
      }
      case 'setnx':
        op = { kind, field: r.bytes(), value: r.bytes() };
        break;
      case 'del': {
        const fields: Buffer[] = [];
        for (let n = r.count(); n > 0; n--) fields.push(r.bytes());
        op = { kind, fields };
        break;
      }
      case 'incrby': {
        const field = r.bytes();
        const increment = parseLongLong(r.bytes());
        if (increment === undefined) throw new CrdtCodecError('bad increment');
        op = { kind, field, increment };
        break;
      }
      case 'incrbyfloat':
        op = { kind, field: r.bytes(), increment: r.bytes() };
        break;
      case 'import': {
        const header = readImportHeader(r);
        const items: [Buffer, Buffer][] = [];
        for (let n = r.count(2); n > 0; n--) items.push([r.bytes(), r.bytes()]);
        op = { ...header, items };
        break;
      }
      default:
        throw new TypeOperationError('BAD_OPERATION', 'unknown hash operation');
    }
    r.end();
    return op;
  } catch (err) {
    if (err instanceof CrdtCodecError) throw new TypeOperationError('BAD_OPERATION', `malformed hash operation: ${err.message}`);
    throw err;
  }
}

export function decodeHashCountOutcome(bytes: Buffer | undefined): number {
  if (bytes === undefined) throw new TypeOperationError('BAD_OPERATION', 'hash operation without its outcome');
  const r = new Reader(bytes);
  const n = r.varint();
  r.end();
  return n;
}

/** The hash operations on the key's view, as `writer`'s version. */
/** A hash takes an import's pairs as HSET would (the last value given for a field wins). */
const hashImport: ImportHooks<HashState, readonly [Buffer, Buffer]> = {
  convergent: hashType,
  add: (state, items, dot, how) => {
    const last = new Map<string, readonly [Buffer, Buffer]>();
    for (const pair of items) last.set(pair[0].toString('latin1'), pair);
    setFields(state, [...last.values()], dot, how === 'gap');
  },
};

export function applyHashOperation(view: OperandView | undefined, op: HashOperation, writer: Writer): Operated<HashState> {
  if (op.kind === 'import') return applyImport(view, op, writer, hashImport);
  const claimGap = !writer.freshRun;
  const state = collectionStart(view, hashType);
  switch (op.kind) {
    case 'set': {
      const before = fieldCount(state);
      const { delta } = setFields(state, op.pairs, writer.dot, claimGap);
      return { state, delta, outcome: countOutcome(fieldCount(state) - before) };
    }
    case 'setnx': {
      if (hasField(state, op.field)) return { state, delta: emptyHash(), outcome: countOutcome(0) };
      const { delta } = setFields(state, [[op.field, op.value]], writer.dot, claimGap);
      return { state, delta, outcome: countOutcome(1) };
    }
    case 'del': {
      const before = fieldCount(state);
      const { delta } = removeFields(state, op.fields);
      return { state, delta, outcome: countOutcome(before - fieldCount(state)) };
    }
    case 'incrby': {
      const shown = getField(state, op.field);
      const from = shown === undefined ? 0n : parseLongLong(shown);
      if (from === undefined) throw new TypeOperationError('HASH_NOT_INTEGER');
      const sum = from + op.increment;
      if (sum > int64Max || sum < int64Min) throw new TypeOperationError('OVERFLOW');
      const { value, delta } = incrementField(state, op.field, decimalOfInteger(op.increment), writer.dot, claimGap);
      return { state, delta, outcome: value };
    }
    case 'incrbyfloat': {
      const increment = parseLongDouble(op.increment);
      // The command checked the increment; a peer's that fails here is malformed.
      if (increment === undefined || 'infinity' in increment) throw new TypeOperationError('BAD_OPERATION', 'malformed hash float increment');
      const shown = getField(state, op.field);
      const from = shown === undefined ? { m: 0n, e: 0 } : parseLongDouble(shown);
      if (from === undefined) throw new TypeOperationError('HASH_NOT_FLOAT');
      const sum = incrByFloat(from, increment);
      if (sum === 'nan-or-infinity') throw new TypeOperationError('NAN_OR_INFINITY');
      const exact = fieldNumber(state, op.field);
      if (exact === undefined) {
        const { delta } = setFields(state, [[op.field, Buffer.from(sum.text, 'latin1')]], writer.dot, claimGap);
        return { state, delta, outcome: Buffer.from(sum.text, 'latin1') };
      }
      const { value, delta } = incrementField(state, op.field, subtractDecimals(sum.value, exact), writer.dot, claimGap);
      return { state, delta, outcome: value };
    }
  }
}

/** Redis 7.0's OBJECT ENCODING for a hash: listpack while it has at most hash-max-listpack-entries fields and every field and value is at most hash-max-listpack-value bytes. */
export const hashMaxListpackEntries = 128;
export const hashMaxListpackValueBytes = 64;

export function hashEncoding(state: HashState): string {
  if (fieldCount(state) > hashMaxListpackEntries) return 'hashtable';
  for (const key of state.fields.keys()) {
    if (key.length > hashMaxListpackValueBytes) return 'hashtable';
    const value = getField(state, Buffer.from(key, 'latin1'))!;
    if (value.length > hashMaxListpackValueBytes) return 'hashtable';
  }
  return 'listpack';
}
