// Version vectors in riak_core's verbs (riak_core `vclock.erl`), reduced to
// what dotted versions need: fresh, descends, covers, merge, and the counter
// an actor holds. A clock is a sorted array of {actor, counter}; it has one
// entry per actor that ever wrote the key, and an actor is a node's storage
// epoch (storage/actor.ts), so its size is bounded by the nodes that ever
// coordinated the key. Nothing is ever pruned: pruning is what once let an
// older version win (a dropped entry makes a write stop superseding), and
// with dots there are no per-write actors to prune. Pure and
// allocation-light: these run on every replica write.

import type { ClockEntry, Dot, VClock } from './types.js';

/**
 * The largest counter a clock may carry. Counters come from a node-wide
 * counter (a million writes a second for 140 years stays under 2^52); the
 * bound keeps every counter, and the next one minted after it, a safe
 * integer, so input that claims a counter near 2^53 is refused at the edge
 * instead of reaching an overflow.
 */
export const counterMax = 2 ** 52;

const freshClock: VClock = Object.freeze([]);

/** The empty clock: every clock descends it. Shared, never mutated. */
export function fresh(): VClock {
  return freshClock;
}

/** True when `clock` keeps the VClock invariants (for decoders and asserts). */
export function isValidClock(clock: VClock): boolean {
  for (let i = 0; i < clock.length; i++) {
    const e = clock[i]!;
    if (typeof e.actor !== 'string' || e.actor.length === 0) return false;
    if (i > 0 && !(clock[i - 1]!.actor < e.actor)) return false;
    if (!isCounter(e.counter)) return false;
  }
  return true;
}

export function isCounter(counter: number): boolean {
  return Number.isSafeInteger(counter) && counter >= 1 && counter <= counterMax;
}

/** The counter `clock` holds for `actor` (0 when absent). */
export function counterOf(clock: VClock, actor: string): number {
  const at = position(clock, actor);
  return at < clock.length && clock[at]!.actor === actor ? clock[at]!.counter : 0;
}

/** True when `clock` has seen the event `dot`. */
export function covers(clock: VClock, dot: Dot): boolean {
  return counterOf(clock, dot.actor) >= dot.counter;
}

/** True when `a` has seen everything `b` has: a[x] >= b[x] for every actor. */
export function descends(a: VClock, b: VClock): boolean {
  let i = 0;
  for (const eb of b) {
    while (i < a.length && a[i]!.actor < eb.actor) i++;
    if (i === a.length || a[i]!.actor !== eb.actor || a[i]!.counter < eb.counter) return false;
  }
  return true;
}

/** Same entries. */
export function equal(a: VClock, b: VClock): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.actor !== b[i]!.actor || a[i]!.counter !== b[i]!.counter) return false;
  }
  return true;
}

/** The least clock descending all of `clocks`: per actor the greatest counter. */
export function merge(clocks: readonly VClock[]): VClock {
  if (clocks.length === 0) return freshClock;
  let joined = clocks[0]!;
  for (let i = 1; i < clocks.length; i++) joined = join(joined, clocks[i]!);
  return joined;
}

/** `clock` with `dot` added (its actor's entry raised to the dot's counter if lower). */
export function withDot(clock: VClock, dot: Dot): VClock {
  return join(clock, [dot]);
}

/** Index of `actor` in `clock`, or where it would be inserted (binary search). */
function position(clock: VClock, actor: string): number {
  let lo = 0;
  let hi = clock.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (clock[mid]!.actor < actor) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function join(a: VClock, b: VClock): VClock {
  if (descends(a, b)) return a;
  if (descends(b, a)) return b;
  // Counted first and made to size: a join is the past of every version a coordinator mints over another
  // node's, kept with the cached record, and an array grown by push keeps room for 17 entries.
  let size = 0;
  for (let i = 0, j = 0; i < a.length || j < b.length; size++) {
    if (j === b.length || (i < a.length && a[i]!.actor < b[j]!.actor)) i++;
    else if (i === a.length || b[j]!.actor < a[i]!.actor) j++;
    else {
      i++;
      j++;
    }
  }
  const out = new Array<ClockEntry>(size);
  for (let i = 0, j = 0, k = 0; k < size; k++) {
    if (j === b.length || (i < a.length && a[i]!.actor < b[j]!.actor)) out[k] = a[i++]!;
    else if (i === a.length || b[j]!.actor < a[i]!.actor) out[k] = b[j++]!;
    else {
      const ea = a[i++]!;
      const eb = b[j++]!;
      out[k] = ea.counter >= eb.counter ? ea : eb;
    }
  }
  return out;
}
