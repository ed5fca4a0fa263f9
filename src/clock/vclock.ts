// Vector clocks in riak_core's verbs (riak_core `vclock.erl`): fresh,
// increment, descends, dominates, merge, prune. A clock is a sorted array of
// {node, counter, timestamp}; the counters order versions causally and the
// timestamps only decide what pruning drops. Pure and allocation-light: these
// run on every replica write.
//
// Equality and order look at counters only. Two clocks with the same counters
// but different entry timestamps are the same causal point, so `dominates`
// (descends and not equal) can never hold both ways.
//
// Pruning and its risk. `prune` forgets entries (oldest timestamp first), so a
// clock loses causal history. What that can and cannot do:
//  - It can make a descendant look concurrent: A = {x:2, y:1} descends
//    B = {x:1, y:1}; prune A to {x:2} and B no longer looks older: the two are
//    kept as siblings (a spurious conflict), which a client then resolves.
//  - It never makes an older version look newer, under two conditions this
//    module keeps: (1) `increment` stamps the entry it bumps later than every
//    entry already in the clock (max(now, newest + 1) ms), so the entry of a
//    version's own write is its strictly newest one, and (2) `prune` keeps at
//    least `smallVclock >= 1` entries, dropping oldest first, so that newest
//    entry survives every prune. If B happened before A, A's own write (c, k)
//    has k > B[c]: any pruned form of B lacks that event, so it cannot descend
//    any pruned form of A. Riak stamps plain `now`; with clock skew between
//    nodes that lets the bumped entry be dropped and an older version dominate
//    (A = {c:2 @100, n:1 @200}, B = {c:1, n:1}: prune A to {n:1} and B wins),
//    which is silent data loss; (1) closes that hole.
//  - It assumes a node never reuses a counter: its next write must start from
//    a clock holding its own latest entry. Two writes stamped with the same
//    (node, counter) are indistinguishable to any clock, pruned or not.

import assert from 'node:assert/strict';
import type { ClockEntry, VClock } from './types.js';

export type ClockOrder = 'equal' | 'before' | 'after' | 'concurrent';

/** Riak's bucket properties for vclock pruning (seconds there, ms here). */
export interface PruneLimits {
  /** Never prune a clock with this many entries or fewer. */
  readonly smallVclock: number;
  /** Always prune a clock with more entries than this (unless entries are young). */
  readonly bigVclock: number;
  /** Never prune an entry updated this recently. */
  readonly youngVclockMs: number;
  /** Always prune an entry older than this (if the clock is above smallVclock). */
  readonly oldVclockMs: number;
}

export const defaultPruneLimits: PruneLimits = Object.freeze({
  // A clock has one entry per node that coordinated a write to the key, so
  // clusters under 50 nodes never prune at all: causality stays exact.
  smallVclock: 50,
  // Riak's default: past 50 entries the clock costs more than it protects.
  bigVclock: 50,
  // Entries touched in the last 20 s may belong to writes still in flight.
  youngVclockMs: 20_000,
  // A node that has not coordinated a write for a day is unlikely to race one.
  oldVclockMs: 86_400_000,
});

const freshClock: VClock = Object.freeze([]);

/** The empty clock: every clock descends it. Shared, never mutated. */
export function fresh(): VClock {
  return freshClock;
}

/** True when `clock` keeps the VClock invariants (for decoders and asserts). */
export function isValidClock(clock: VClock): boolean {
  for (let i = 0; i < clock.length; i++) {
    const e = clock[i]!;
    if (typeof e.node !== 'string' || e.node.length === 0) return false;
    if (i > 0 && !(clock[i - 1]!.node < e.node)) return false;
    if (!Number.isSafeInteger(e.counter) || e.counter < 1) return false;
    if (!Number.isFinite(e.timestamp)) return false;
  }
  return true;
}

/** The clock of a new version written by `node`: its counter + 1, stamped newest. */
export function increment(clock: VClock, node: string, nowMs: number): VClock {
  assert(node.length > 0, 'a clock entry needs a node id');
  assert(Number.isFinite(nowMs), 'nowMs must be a finite number of ms');
  const timestamp = Math.max(nowMs, newestTimestamp(clock) + 1);
  const at = position(clock, node);
  const found = at < clock.length && clock[at]!.node === node;
  const counter = found ? clock[at]!.counter + 1 : 1;
  assert(Number.isSafeInteger(counter), 'clock counter overflow');
  const out = new Array<ClockEntry>(clock.length + (found ? 0 : 1));
  for (let i = 0; i < at; i++) out[i] = clock[i]!;
  out[at] = { node, counter, timestamp };
  const skip = found ? 1 : 0;
  for (let i = at + skip; i < clock.length; i++) out[i + 1 - skip] = clock[i]!;
  return out;
}

/** True when `a` has seen everything `b` has: a[n] >= b[n] for every node. */
export function descends(a: VClock, b: VClock): boolean {
  let i = 0;
  for (const eb of b) {
    while (i < a.length && a[i]!.node < eb.node) i++;
    if (i === a.length || a[i]!.node !== eb.node || a[i]!.counter < eb.counter) return false;
  }
  return true;
}

/** True when `a` is strictly newer than `b`. */
export function dominates(a: VClock, b: VClock): boolean {
  return compare(a, b) === 'after';
}

/** Same causal point: same nodes with the same counters (timestamps ignored). */
export function equal(a: VClock, b: VClock): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.node !== b[i]!.node || a[i]!.counter !== b[i]!.counter) return false;
  }
  return true;
}

/** Where `a` stands against `b`: 'before' means b dominates a. */
export function compare(a: VClock, b: VClock): ClockOrder {
  let aAhead = false;
  let bAhead = false;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i]!.node < b[j]!.node)) {
      aAhead = true;
      i++;
    } else if (i === a.length || b[j]!.node < a[i]!.node) {
      bAhead = true;
      j++;
    } else {
      const ca = a[i++]!.counter;
      const cb = b[j++]!.counter;
      if (ca > cb) aAhead = true;
      else if (cb > ca) bAhead = true;
    }
    if (aAhead && bAhead) return 'concurrent';
  }
  return aAhead ? 'after' : bAhead ? 'before' : 'equal';
}

/** The least clock descending all of `clocks`: per node the greatest counter, with its timestamp. */
export function merge(clocks: readonly VClock[]): VClock {
  if (clocks.length === 0) return freshClock;
  let joined = clocks[0]!;
  for (let i = 1; i < clocks.length; i++) joined = join(joined, clocks[i]!);
  return joined;
}

/**
 * Forgets the oldest entries as Riak does: never below `smallVclock` entries
 * or into entries younger than `youngVclockMs`; otherwise drops while the
 * clock is above `bigVclock` or its oldest entry is older than `oldVclockMs`.
 * Returns `clock` itself when nothing is dropped. See the module comment for
 * what pruning risks.
 */
export function prune(clock: VClock, nowMs: number, limits: PruneLimits = defaultPruneLimits): VClock {
  assertLimits(limits);
  if (clock.length <= limits.smallVclock) return clock;
  const byAge = clock.slice().sort(olderFirst);
  let dropped = 0;
  while (clock.length - dropped > limits.smallVclock) {
    const ageMs = nowMs - byAge[dropped]!.timestamp;
    if (ageMs < limits.youngVclockMs) break;
    if (clock.length - dropped <= limits.bigVclock && ageMs <= limits.oldVclockMs) break;
    dropped++;
  }
  if (dropped === 0) return clock;
  const gone = new Set(byAge.slice(0, dropped));
  return clock.filter((e) => !gone.has(e));
}

function assertLimits(limits: PruneLimits): void {
  // smallVclock >= 1 keeps every clock's newest entry, which is what stops
  // pruning from ever making an older version look newer.
  assert(Number.isInteger(limits.smallVclock) && limits.smallVclock >= 1, 'smallVclock must be >= 1');
  assert(Number.isInteger(limits.bigVclock) && limits.bigVclock >= limits.smallVclock, 'bigVclock must be >= smallVclock');
  assert(limits.youngVclockMs >= 0 && limits.youngVclockMs <= limits.oldVclockMs, 'need 0 <= youngVclockMs <= oldVclockMs');
}

/** Riak's prune order: oldest timestamp first, ties by node id, so every replica drops the same entries. */
function olderFirst(a: ClockEntry, b: ClockEntry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

function newestTimestamp(clock: VClock): number {
  let newest = -Infinity;
  for (const e of clock) if (e.timestamp > newest) newest = e.timestamp;
  return newest;
}

/** Index of `node` in `clock`, or where it would be inserted (binary search). */
function position(clock: VClock, node: string): number {
  let lo = 0;
  let hi = clock.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (clock[mid]!.node < node) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The later of two entries for one node: greater counter, then greater timestamp (so join commutes). */
function later(a: ClockEntry, b: ClockEntry): ClockEntry {
  if (a.counter !== b.counter) return a.counter > b.counter ? a : b;
  return b.timestamp > a.timestamp ? b : a;
}

function join(a: VClock, b: VClock): VClock {
  if (absorbs(a, b)) return a;
  if (absorbs(b, a)) return b;
  const out: ClockEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i]!.node < b[j]!.node)) out.push(a[i++]!);
    else if (i === a.length || b[j]!.node < a[i]!.node) out.push(b[j++]!);
    else out.push(later(a[i++]!, b[j++]!));
  }
  return out;
}

/** True when joining `b` into `a` would change nothing: the allocation-free common case. */
function absorbs(a: VClock, b: VClock): boolean {
  let i = 0;
  for (const eb of b) {
    while (i < a.length && a[i]!.node < eb.node) i++;
    if (i === a.length || a[i]!.node !== eb.node || later(a[i]!, eb) !== a[i]) return false;
  }
  return true;
}
