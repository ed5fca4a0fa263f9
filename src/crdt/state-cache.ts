// Decoded collection states kept beside the versions they were decoded from,
// so an operation on a large collection does not decode the whole value
// first: a key's coordinator applies each SADD or LPUSH to the state the
// previous one left, which is then encoded once as the new version's value.
// Only the single-version case is served (the common one, a key written
// through its coordinators without conflict); a state is handed out once,
// for the operation to change in place, and remembered again under the
// version that operation made. Bounded by the encoded bytes of the states it
// holds; least recently used first out.

import type { Sibling } from '../clock/types.js';
import type { Convergent } from './kind.js';

/**
 * Encoded bytes of the versions whose decoded states are kept. A decoded
 * state takes several times its encoded size in memory, so 32 MiB of values
 * is a few hundred MiB at most; past it a collection is decoded per
 * operation, as it would be without the cache.
 */
export const decodedStatesBytesMax = 32 * 1024 * 1024;
/** A value smaller than this decodes in microseconds: not worth a slot. */
export const decodedStateBytesMin = 4 * 1024;

const states = new Map<Sibling, unknown>();
let bytes = 0;

/**
 * The state `version` holds, for an operation to change in place: the kept
 * one if there is one (it is no longer kept: the caller owns it), else
 * decoded afresh.
 */
export function takeState<S>(version: Sibling, convergent: Convergent<S>): S {
  const kept = states.get(version);
  if (kept === undefined) return convergent.decode(version.value);
  states.delete(version);
  bytes -= version.value.length;
  return kept as S;
}

/** Keeps `state` as the decoded form of `version` (whose value is its encoding); nobody may change it after. */
export function keepState(version: Sibling, state: unknown): void {
  if (version.value.length < decodedStateBytesMin || version.value.length > decodedStatesBytesMax / 4 || states.has(version)) return;
  states.set(version, state);
  bytes += version.value.length;
  for (const [old] of states) {
    if (bytes <= decodedStatesBytesMax) break;
    states.delete(old);
    bytes -= old.value.length;
  }
}

/** What is kept now, for INFO and tests. */
export function keptStates(): { states: number; bytes: number } {
  return { states: states.size, bytes };
}
