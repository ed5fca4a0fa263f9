// A collection's keys in byte order, kept beside its state until the state
// changes: reads that list or page through keys (SMEMBERS, SSCAN, HKEYS,
// HSCAN, SRANDMEMBER with a count) sort once, not per read. A write that adds
// or removes a few keys moves them in the kept order (a binary search and a
// splice, O(n) pointer moves) instead of dropping it: an SSCAN page after each
// SADD to a 150k-member set re-sorted it every time (~65 ms). Past
// `keyOrderMovesMax` moves with no read in between the order is dropped, so a
// stream of writes nobody lists pays a bounded number of splices, then none.

/** Latin1 keys (`<` is byte order) sorted, and the moves made since a read last asked for them. */
export interface KeyOrder {
  readonly keys: string[];
  moves: number;
}

/** Moves kept in step between two reads; past it the order is dropped and sorted again when next read. */
export const keyOrderMovesMax = 16;

export function sortedOrder(keys: Iterable<string>): KeyOrder {
  return { keys: [...keys].sort(), moves: 0 };
}

/** The keys, for a read: the moves since the last read start again from 0. */
export function readOrder(order: KeyOrder): readonly string[] {
  order.moves = 0;
  return order.keys;
}

/** Puts `key` (not in the order) at its place; false when too many moves were made since a read (drop the order). */
export function insertKey(order: KeyOrder, key: string): boolean {
  if (++order.moves > keyOrderMovesMax) return false;
  order.keys.splice(firstAtOrAfter(order.keys, key), 0, key);
  return true;
}

/** Takes `key` (in the order) out; false when too many moves were made since a read (drop the order). */
export function removeKey(order: KeyOrder, key: string): boolean {
  if (++order.moves > keyOrderMovesMax) return false;
  const at = firstAtOrAfter(order.keys, key);
  if (order.keys[at] !== key) return false; // not there after all: sorting again is the safe answer
  order.keys.splice(at, 1);
  return true;
}

/**
 * The kept order of `state` (from `cache`) after `key` was added to the
 * collection (`added`) or taken out of it: moved in step, or dropped from the
 * cache (undefined returned) once it cannot keep step. Undefined in, undefined out.
 */
export function stepOrder<S extends object>(cache: WeakMap<S, KeyOrder>, state: S, order: KeyOrder | undefined, key: string, added: boolean): KeyOrder | undefined {
  if (order === undefined || (added ? insertKey(order, key) : removeKey(order, key))) return order;
  cache.delete(state);
  return undefined;
}

function firstAtOrAfter(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
