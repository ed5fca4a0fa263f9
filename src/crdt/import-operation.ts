// The collection types' IMPORT operation (commands/import.ts): a value copied
// from a Redis being migrated, written to the key's coordinator as pages in a
// chain so that neither a command nor a replica message has to carry a whole
// big collection at once.
//
//  - The first page replaces whatever the key holds (any type, as SET does):
//    its version supersedes every version the coordinator knows, its state
//    starts empty but with the causal context of a value of the same type
//    (so a concurrent copy of the members that value held does not bring
//    them back on merge: they are known and absent, i.e. removed — one
//    context copy, where removing 20,000 members one by one took seconds),
//    and it carries the value's expiry. `missing` mode's
//    "only where ringkv holds no version" is the mutation's `imported` flag,
//    judged by the coordinator on the whole record (tombstones included).
//  - A first page may name a version it replaces (`over`, with `chain`): an
//    interrupted copy of the key started again, which replaces only the
//    pages it left, never a version someone else wrote since.
//  - Each later page appends its items, and only onto the version the page
//    before made (`chain`, the dot it answered): if anything else wrote the
//    key in between — a client of ringkv, an expiry — the chain is broken
//    (IMPORT_CHANGED) and the copy reports the key as not copied rather than
//    finishing a value someone else has since changed.
//
// The page's answer (the outcome) is the new version's dot, the next page's
// `chain`. Every type reads and writes its own items (a list's elements, a
// sorted set's score/member pairs…); this module holds what they share.

import type { Dot } from '../clock/types.js';
import type { Reader, Writer as ByteWriter } from './codec.js';
import { Reader as DotReader, Writer as DotWriter } from './codec.js';
import type { Convergent, TypeName } from './kind.js';
import { TypeOperationError, type OperandView, type Operated, type Writer } from './operation.js';
import { collectionStart } from './view.js';
import { cloneContext, type CausalContext } from './causal-context.js';

export interface ImportOperation<T> {
  readonly kind: 'import';
  /** The dot the previous page answered; absent on the first page. */
  readonly chain?: Dot;
  /** With chain: a first page, replacing only the version `chain` (an interrupted copy's last page). */
  readonly over?: boolean;
  /** The value's absolute expiry, unix ms (first page only; later pages keep it). */
  readonly expiresAt?: number;
  /** `missing` mode: the version is stamped as imported (older than any ringkv write, coordinator/versioning.ts). */
  readonly imported: boolean;
  readonly items: readonly T[];
}

const hasChain = 1;
const hasExpiry = 2;
const isImported = 4;
const isOver = 8;

/** Writes the fields every type's import shares; the type writes its items after. */
export function writeImportHeader(w: ByteWriter, op: ImportOperation<unknown>): void {
  w.u8((op.chain === undefined ? 0 : hasChain) | (op.expiresAt === undefined ? 0 : hasExpiry) | (op.imported ? isImported : 0) | (op.over === true ? isOver : 0));
  if (op.chain !== undefined) w.dot(op.chain);
  if (op.expiresAt !== undefined) w.varint(op.expiresAt);
}

export function readImportHeader(r: Reader): Omit<ImportOperation<never>, 'items'> {
  const bits = r.u8();
  if ((bits & ~(hasChain | hasExpiry | isImported | isOver)) !== 0 || ((bits & isOver) !== 0 && (bits & hasChain) === 0)) throw new Error('unknown import flag');
  const chain = (bits & hasChain) === 0 ? undefined : r.dot();
  const expiresAt = (bits & hasExpiry) === 0 ? undefined : r.varint();
  return {
    kind: 'import', imported: (bits & isImported) !== 0,
    ...(chain === undefined ? {} : { chain }), ...((bits & isOver) === 0 ? {} : { over: true }), ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}

/** How a type's state takes an import: every collection's state is a dot store with its causal context. */
export interface ImportHooks<S extends { readonly ctx: CausalContext }, T> {
  readonly convergent: Convergent<S>;
  /** Adds the page's items at the end (a list) or by their key (the others). */
  add(state: S, items: readonly T[], dot: Dot, how: 'gap' | 'dot'): void;
}

export function applyImport<S extends { readonly ctx: CausalContext }, T>(view: OperandView | undefined, op: ImportOperation<T>, writer: Writer, hooks: ImportHooks<S, T>): Operated<S> {
  const how = writer.freshRun ? 'dot' : 'gap';
  const outcome = encodeImportToken(writer.dot);
  if (op.chain !== undefined && !chained(view, op.chain, hooks.convergent.type)) throw new TypeOperationError('IMPORT_CHANGED');
  if (op.chain === undefined || op.over === true) {
    const seen = collectionStart(view, hooks.convergent, true).ctx;
    const state: S = { ...hooks.convergent.empty(), ctx: cloneContext(seen) };
    if (op.items.length > 0) hooks.add(state, op.items, writer.dot, how);
    return {
      state, outcome, replacesValue: true, imported: op.imported,
      ...(op.expiresAt === undefined ? {} : { expiresAt: op.expiresAt }),
    };
  }
  const state = collectionStart(view, hooks.convergent);
  if (op.items.length > 0) hooks.add(state, op.items, writer.dot, how);
  return { state, outcome, imported: op.imported };
}

/** True when the key's one live version is the one `chain` names: nothing wrote it since that page. */
function chained(view: OperandView | undefined, chain: Dot, type: TypeName): view is OperandView {
  return view !== undefined && view.ofType.length === 1 && view.winner.type === type
    && view.winner.dot.actor === chain.actor && view.winner.dot.counter === chain.counter;
}

/** The token a page answers: the version's dot, opaque to the client. */
export function encodeImportToken(dot: Dot): Buffer {
  const w = new DotWriter();
  w.dot(dot);
  return w.finish();
}

/** The dot of a token a client sent back; undefined when it is not one. */
export function decodeImportToken(token: Buffer): Dot | undefined {
  try {
    const r = new DotReader(token);
    const dot = r.dot();
    r.end();
    return dot;
  } catch {
    return undefined;
  }
}
