// A read's view of a record (DESIGN.md "Data model"): the live versions
// grouped by type. The deterministic winner (clock/siblings.ts winner)
// decides which type answers commands; a string's value is the winner's, a
// convergent type's is the merge of every live version of that type — so
// increments made on both sides of a partition all show, while a string
// written concurrently with a counter stays beside it as a sibling until a
// write with the key's context resolves them.

import { winner } from '../clock/siblings.js';
import type { Siblings } from '../clock/types.js';
import type { Convergent, TypeName } from './kind.js';
import { TypeOperationError, type OperandView } from './operation.js';
import { isRegistered, typeEntry } from './registry.js';
import { takeState } from './state-cache.js';

/**
 * The state an operation on a collection of type `convergent` starts from:
 * the merge of the view's versions of that type (the operation's own: it
 * may change it; one version's kept state, crdt/state-cache.ts, or decoded
 * afresh), an empty state for no key — or for an emptied
 * collection of another type, which reads as no key — and WRONGTYPE for a
 * live value of another type. `overwrite` (SINTERSTORE's destination) starts
 * empty over any other type, as Redis replaces the destination whatever it held.
 */
export function collectionStart<S>(view: OperandView | undefined, convergent: Convergent<S>, overwrite = false): S {
  if (view === undefined) return convergent.empty();
  if (view.winner.type === convergent.type) {
    let state = view.ofType.length === 1 ? takeState(view.ofType[0]!, convergent) : convergent.decode(view.ofType[0]!.value);
    for (let i = 1; i < view.ofType.length; i++) state = convergent.merge(state, convergent.decode(view.ofType[i]!.value));
    return state;
  }
  if (overwrite || isEmptied(view)) return convergent.empty();
  throw new TypeOperationError('WRONGTYPE');
}

/** True when the view's winner is an emptied collection: no key to a command, whatever type it asks for. */
export function isEmptied(view: OperandView): boolean {
  const type = view.winner.type;
  const entry = type === undefined || !isRegistered(type) ? undefined : typeEntry(type);
  if (entry?.isEmpty === undefined) return false;
  // The emptied flag answers without decoding: every version flagged, or one version not flagged (its state holds something).
  if (view.ofType.every((s) => s.emptied === true)) return true;
  if (view.ofType.length === 1) return false;
  let state = entry.convergent.empty();
  for (const s of view.ofType) state = entry.convergent.merge(state, entry.convergent.decode(s.value));
  return entry.isEmpty(state);
}

/** The winner and the live versions of its type; undefined when nothing is live. `live` must hold only live versions. */
export function operandView(live: Siblings): OperandView | undefined {
  const first = winner(live);
  if (first === undefined) return undefined;
  if (live.length === 1) return { winner: first, ofType: live };
  return { winner: first, ofType: live.filter((s) => s.type === first.type) };
}

/**
 * What a command sees of a key: the winner's type, timestamp and expiry, and
 * as `value` what a version of that type stores — the winner's bytes for a
 * string, the encoded merge of every live version for a convergent type.
 * The winner itself when it is a string (GET's path allocates nothing).
 */
export interface TypedValue {
  readonly type?: TypeName;
  readonly value: Buffer;
  readonly timestamp: number;
  readonly expiresAt?: number;
}

export function typedValue(live: Siblings): TypedValue | undefined {
  const first = winner(live);
  if (first === undefined || first.type === undefined) return first;
  const entry = typeEntry(first.type);
  const convergent = entry.convergent;
  let ofType = 0;
  for (const s of live) if (s.type === first.type) ofType++;
  // One version of the type is its own merge: its bytes as stored, no decoding (the emptied flag says whether it holds anything).
  if (ofType === 1) {
    if (first.emptied === true) return undefined;
    return first.expiresAt === undefined
      ? { type: first.type, value: first.value, timestamp: first.timestamp }
      : { type: first.type, value: first.value, timestamp: first.timestamp, expiresAt: first.expiresAt };
  }
  let state = convergent.empty();
  for (const s of live) if (s.type === first.type) state = convergent.merge(state, convergent.decode(s.value));
  // An emptied collection is no key, as Redis has none (registry.ts isEmpty).
  if (entry.isEmpty?.(state) === true) return undefined;
  const value = convergent.encode(state);
  return first.expiresAt === undefined
    ? { type: first.type, value, timestamp: first.timestamp }
    : { type: first.type, value, timestamp: first.timestamp, expiresAt: first.expiresAt };
}

/** The decoded state of a typed value of a convergent type. */
export function stateOf(value: TypedValue): unknown {
  if (value.type === undefined) throw new Error('a string has no convergent state');
  return typeEntry(value.type).convergent.decode(value.value);
}

