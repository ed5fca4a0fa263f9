// What the set commands ask a key's coordinator to do (SADD, SREM, SPOP,
// the STORE forms' destination), as bytes a forwarded write carries to the
// key's replica unchanged, and how the coordinator applies them to the
// add-wins set (set.ts) it holds — inside the one synchronous step that
// mints the version (coordinator/versioning.ts), so the reply's count or
// popped members come from exactly the state the new version replaced.
//
// Encoding: u8 kind, then per kind: add/remove/store: varint count and the
// members as byte strings; pop: varint count. Kinds are append-only; an
// unknown one (a newer peer) is refused as BAD_OPERATION.
//
// Outcomes (what the reply needs beyond the new state): add and remove give
// varint members added/removed; pop gives varint count and the members.

import { randomInt } from 'node:crypto';
import { CrdtCodecError } from './kind.js';
import { countOutcome, Reader, Writer as ByteWriter } from './codec.js';
import { TypeOperationError, type OperandView, type Operated, type Writer } from './operation.js';
import { add, emptySet, memberKeys, remove, setType, size, type SetState } from './set.js';
import { collectionStart } from './view.js';
import { applyImport, readImportHeader, writeImportHeader, type ImportHooks, type ImportOperation } from './import-operation.js';

export type SetOperation =
  | { readonly kind: 'add'; readonly members: readonly Buffer[] }
  | { readonly kind: 'remove'; readonly members: readonly Buffer[] }
  | { readonly kind: 'pop'; readonly count: number }
  /** The STORE forms' destination: the set becomes exactly `members`, whatever the key held. */
  | { readonly kind: 'store'; readonly members: readonly Buffer[] }
  /** IMPORT of a set copied from Redis, a page of members (import-operation.ts). */
  | ImportOperation<Buffer>;

/** ONLY APPEND: a kind's place is its code on the wire. */
const kinds = ['add', 'remove', 'pop', 'store', 'import'] as const;

export function encodeSetOperation(op: SetOperation): Buffer {
  const w = new ByteWriter();
  w.u8(kinds.indexOf(op.kind) + 1);
  if (op.kind === 'pop') w.varint(op.count);
  else if (op.kind === 'import') {
    writeImportHeader(w, op);
    writeMembers(w, op.items);
  } else writeMembers(w, op.members);
  return w.finish();
}

export function decodeSetOperation(bytes: Buffer): SetOperation {
  try {
    const r = new Reader(bytes);
    const kind = kinds[r.u8() - 1];
    let op: SetOperation;
    if (kind === undefined) throw new TypeOperationError('BAD_OPERATION', 'unknown set operation');
    if (kind === 'pop') op = { kind, count: r.varint() };
    else if (kind === 'import') op = { ...readImportHeader(r), items: readMembers(r) };
    else op = { kind, members: readMembers(r) };
    r.end();
    return op;
  } catch (err) {
    if (err instanceof CrdtCodecError) throw new TypeOperationError('BAD_OPERATION', `malformed set operation: ${err.message}`);
    throw err;
  }
}

function writeMembers(w: ByteWriter, members: readonly Buffer[]): void {
  w.varint(members.length);
  for (const m of members) w.bytes(m);
}

function readMembers(r: Reader): Buffer[] {
  const out: Buffer[] = [];
  for (let n = r.count(); n > 0; n--) out.push(r.bytes());
  return out;
}



export function decodeCountOutcome(bytes: Buffer | undefined): number {
  if (bytes === undefined) throw new TypeOperationError('BAD_OPERATION', 'set operation without its outcome');
  const r = new Reader(bytes);
  const n = r.varint();
  r.end();
  return n;
}

export function decodeMembersOutcome(bytes: Buffer | undefined): Buffer[] {
  if (bytes === undefined) throw new TypeOperationError('BAD_OPERATION', 'set operation without its outcome');
  const r = new Reader(bytes);
  const members = readMembers(r);
  r.end();
  return members;
}

/** SADD, SREM, SPOP and a STORE destination on the key's view, as `writer`'s version. */
/** A set takes an import's members as SADD would (a repeated one once). */
const setImport: ImportHooks<SetState, Buffer> = {
  convergent: setType,
  add: (state, items, dot, how) => {
    const distinct = new Map<string, Buffer>();
    for (const m of items) distinct.set(m.toString('latin1'), m);
    add(state, [...distinct.values()], dot, how === 'gap');
  },
};

export function applySetOperation(view: OperandView | undefined, op: SetOperation, writer: Writer): Operated<SetState> {
  if (op.kind === 'import') return applyImport(view, op, writer, setImport);
  const claimGap = !writer.freshRun;
  if (op.kind === 'store') {
    const state = collectionStart(view, setType, true);
    remove(state, memberKeys(state).map((k) => Buffer.from(k, 'latin1')));
    if (op.members.length > 0) add(state, op.members, writer.dot, claimGap);
    return { state, replacesValue: true };
  }
  const state = collectionStart(view, setType);
  if (op.kind === 'add') {
    const before = size(state);
    const { delta } = op.members.length === 0 ? { delta: emptySet() } : add(state, op.members, writer.dot, claimGap);
    return { state, delta, outcome: countOutcome(size(state) - before) };
  }
  if (op.kind === 'remove') {
    const before = size(state);
    const { delta } = remove(state, op.members);
    return { state, delta, outcome: countOutcome(before - size(state)) };
  }
  const popped = pick(state, op.count);
  const { delta } = remove(state, popped);
  const w = new ByteWriter();
  writeMembers(w, popped);
  return { state, delta, outcome: w.finish() };
}

/**
 * `count` distinct members at random (all of them when fewer), in random
 * order. Drawn by position in the map's own order, not the sorted one: the
 * sorted order is rebuilt after every change (O(n log n)), which made each
 * SPOP of a 20k-member set cost ~2.5 ms; a walk to the drawn positions is one
 * pass at most, and stops at the last of them.
 */
function pick(state: SetState, count: number): Buffer[] {
  const n = size(state);
  if (count >= n) return memberKeys(state).map((k) => Buffer.from(k, 'latin1'));
  const chosen = new Set<number>();
  if (count <= n / 2) {
    while (chosen.size < count) chosen.add(randomInt(n));
  } else {
    // Most of the set: draw the positions left out instead.
    const skipped = new Set<number>();
    while (skipped.size < n - count) skipped.add(randomInt(n));
    for (let i = 0; i < n; i++) if (!skipped.has(i)) chosen.add(i);
  }
  const positions = [...chosen].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  let i = 0;
  for (const key of state.members.keys()) {
    if (at === positions.length) break;
    if (i++ === positions[at]) {
      out.push(Buffer.from(key, 'latin1'));
      at++;
    }
  }
  // Fisher-Yates: the order drawn, not the map's.
  for (let j = out.length - 1; j > 0; j--) {
    const k = randomInt(j + 1);
    [out[j], out[k]] = [out[k]!, out[j]!];
  }
  return out;
}

/** Redis 7.0's OBJECT ENCODING for a set: intset while every member is an integer and there are at most set-max-intset-entries, else hashtable. */
export const setMaxIntsetEntries = 512;

export function setEncoding(state: SetState, isInteger: (member: string) => boolean): string {
  if (size(state) > setMaxIntsetEntries) return 'hashtable';
  for (const key of state.members.keys()) if (!isInteger(key)) return 'hashtable';
  return 'intset';
}

export { emptySet };
