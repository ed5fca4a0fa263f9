// A read's view of a record (DESIGN.md "Data model"): the live versions
// grouped by type. The deterministic winner (clock/siblings.ts winner)
// decides which type answers commands; a string's value is the winner's, a
// convergent type's is the merge of every live version of that type — so
// increments made on both sides of a partition all show, while a string
// written concurrently with a counter stays beside it as a sibling until a
// write with the key's context resolves them.

import { winner } from '../clock/siblings.js';
import type { Sibling, Siblings } from '../clock/types.js';
import type { Convergent, TypeName } from './kind.js';
import { TypeOperationError, type OperandView } from './operation.js';
import { isRegistered, typeEntry } from './registry.js';
import { lendState, readState, takeState } from './state-cache.js';

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
  if (view.winner.type === convergent.type) return mergeVersions(convergent, view.ofType);
  if (overwrite || isEmptied(view)) return convergent.empty();
  throw new TypeOperationError('WRONGTYPE');
}

/**
 * The versions collectionStart merged for an operation of type `type` that
 * did not overwrite: the view's versions of the type when the winner is of
 * it, else none (no key, or an emptied collection of another type: the
 * start is empty). A delta replica rebuilds the new state from exactly
 * these, in this order (coordinator/delta.ts).
 */
export function startVersions(view: OperandView | undefined, type: TypeName): readonly Sibling[] {
  return view !== undefined && view.winner.type === type ? view.ofType : noVersions;
}

const noVersions: readonly Sibling[] = Object.freeze([]);

/**
 * The merge of the versions' states, the caller's own to change (decoded
 * afresh, or one version's kept state), left to right from the first one's: the one order collectionStart and
 * a delta's replica both use, so their merges build the same maps in the
 * same order and encode to the same bytes. An empty state for no versions.
 */
export function mergeVersions<S>(convergent: Convergent<S>, versions: readonly Sibling[]): S {
  if (versions.length === 0) return convergent.empty();
  // One version: its kept decoded state when there is one (state-cache.ts), which is what decoding its value would give.
  let state = versions.length === 1 ? takeState(versions[0]!, convergent) : convergent.decode(versions[0]!.value);
  for (let i = 1; i < versions.length; i++) state = convergent.merge(state, convergent.decode(versions[i]!.value));
  return state;
}

/** True when the view's winner is an emptied collection: no key to a command, whatever type it asks for. */
export function isEmptied(view: OperandView): boolean {
  const type = view.winner.type;
  const entry = type === undefined || !isRegistered(type) ? undefined : typeEntry(type);
  if (entry?.isEmpty === undefined) return false;
  // The emptied flag answers without decoding: every version flagged, or one version not flagged (its state holds something).
  if (view.ofType.every((s) => s.emptied === true)) return true;
  if (view.ofType.length === 1) return false;
  return entry.isEmpty(mergeVersions(entry.convergent, view.ofType));
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
  // As operandView's, built only past the string check: GET's path allocates nothing.
  const ofType = live.length === 1 ? live : live.filter((s) => s.type === first.type);
  // One version of the type is its own merge: the version itself, its bytes as stored, no decoding (the emptied flag
  // says whether it holds anything); its value is not read here, so a chained one is not encoded (readStateOf decodes it).
  if (ofType.length === 1) return first.emptied === true ? undefined : first;
  // Two or more: mergeVersions decodes them all (it takes a kept state only for one version).
  const state = mergeVersions(convergent, ofType);
  // An emptied collection is no key, as Redis has none (registry.ts isEmpty).
  if (entry.isEmpty?.(state) === true) return undefined;
  const value = convergent.encode(state);
  return first.expiresAt === undefined
    ? { type: first.type, value, timestamp: first.timestamp }
    : { type: first.type, value, timestamp: first.timestamp, expiresAt: first.expiresAt };
}

/**
 * The state a typed value of `convergent`'s type holds, for reading only
 * (callers must not change it): a version's is decoded once and kept
 * (state-cache.ts readState), a merge of several is decoded afresh.
 */
export function readStateOf<S>(value: TypedValue, convergent: Convergent<S>): S {
  // typedValue answers one version as the version itself (it has a dot); a merge of several as a new value.
  return (value as Partial<Sibling>).dot !== undefined ? readState(value as Sibling, convergent) : convergent.decode(value.value);
}

/**
 * As readStateOf, for a caller that is done with the state before its next
 * await and never changes it: the state the key's last operation left is
 * lent rather than decoded (state-cache.ts lendState). `read` runs at once,
 * and what it returns must not hold the state or any part an operation
 * changes in place (its maps); values taken from it (a field's bytes, a
 * count, fresh arrays) are safe.
 */
export function withStateOf<S, T>(value: TypedValue, convergent: Convergent<S>, read: (state: S) => T): T {
  const lent = (value as Partial<Sibling>).dot !== undefined ? lendState<S>(value as Sibling) : undefined;
  return read(lent ?? readStateOf(value, convergent));
}

/** The decoded state of a typed value of a convergent type. */
export function stateOf(value: TypedValue): unknown {
  if (value.type === undefined) throw new Error('a string has no convergent state');
  return typeEntry(value.type).convergent.decode(value.value);
}

