// Sibling reconciliation with dotted versions: the one rule every path that
// stores or merges records uses (replica writes, read merge, read repair,
// handoff, anti-entropy), so all replicas converge to identical records. A
// version is superseded exactly when another version's past covers its dot
// (DVV: Preguiça et al.; Riak 2.0's dvv_enabled objects); two copies of one
// dot are one version. The result is listed in a total order on versions, so
// the same inputs give the same array on every replica whatever the order
// they arrived in.
//
// One invariant every caller keeps: versions travel between nodes only as
// whole records (a coordinator sends its whole record, read repair the whole
// merge, the collector the whole dead record). A context is the merge of a
// record's histories, so a replica holding an actor's later version but not
// an earlier one still standing beside it would hand out a context covering
// a version its reader was never shown. Hinted handoff and anti-entropy must
// ship whole records too.
//
// Dead versions (tombstones, expired values) carry causality: a tombstone is
// what stops a stale replica's older copy from coming back. So a fold never
// drops them; only the collector reaps a record, all of it at once, once it is
// entirely dead, past its grace period, and every replica of the key is known
// to hold nothing the dead versions supersede (coordinator/collector.ts).

import { covers, merge, withDot } from './vclock.js';
import type { Dot, Sibling, Siblings, VClock } from './types.js';

/** Keeps the versions no other version supersedes, one copy per dot, in `versionOrder`. */
export function reconcile(siblings: Siblings): Sibling[] {
  const ranked = siblings.slice();
  if (ranked.length < 2) return ranked;
  ranked.sort(versionOrder);
  const kept: Sibling[] = [];
  for (let i = 0; i < ranked.length; i++) {
    if (!isSuperseded(ranked, i)) kept.push(ranked[i]!);
  }
  // The record is cached as returned: `kept`, grown by push, has room for 17 versions.
  return kept.length === ranked.length ? ranked : kept.slice();
}

/** True when `later`'s past covers `earlier`'s dot: a write that saw `earlier` made `later`. */
export function supersedes(later: Sibling, earlier: Sibling): boolean {
  return covers(later.past, earlier.dot);
}

export function sameDot(a: Dot, b: Dot): boolean {
  return a.counter === b.counter && a.actor === b.actor;
}

/** GET's deterministic choice: newest timestamp, then writer, then value bytes. */
export function winner(siblings: Siblings): Sibling | undefined {
  let best: Sibling | undefined;
  for (const s of siblings) if (best === undefined || versionOrder(s, best) < 0) best = s;
  return best;
}

/**
 * The versions a client may read at `nowMs`; `siblings` itself when none is
 * dead (no allocation on the common path), so the result is as mutable as the
 * argument.
 */
export function live(siblings: Sibling[], nowMs: number): Sibling[];
export function live(siblings: Siblings, nowMs: number): Siblings;
export function live(siblings: Siblings, nowMs: number): Siblings {
  let i = 0;
  while (i < siblings.length && isLive(siblings[i]!, nowMs)) i++;
  if (i === siblings.length) return siblings;
  const out = siblings.slice(0, i);
  for (i++; i < siblings.length; i++) if (isLive(siblings[i]!, nowMs)) out.push(siblings[i]!);
  return out;
}

export function isLive(sibling: Sibling, nowMs: number): boolean {
  return !sibling.deleted && (sibling.expiresAt === undefined || sibling.expiresAt > nowMs);
}

/**
 * What a write superseding every sibling must carry: every sibling's past
 * and dot merged, tombstones' included. Built from ONE read of the record, it
 * covers exactly the versions that read returned and their histories.
 */
export function causalContext(siblings: Siblings): VClock {
  if (siblings.length === 1) return withDot(siblings[0]!.past, siblings[0]!.dot);
  return merge(siblings.map(ceiling));
}

/** A version's past with its own dot: everything a reader of it has seen. */
export function ceiling(sibling: Sibling): VClock {
  return withDot(sibling.past, sibling.dot);
}

/** When a dead version died: its deletion (or emptying) or its expiry; undefined while live. */
export function deadSinceMs(sibling: Sibling, nowMs: number): number | undefined {
  if (sibling.deleted || sibling.emptied === true) return sibling.timestamp;
  if (sibling.expiresAt !== undefined && sibling.expiresAt <= nowMs) return sibling.expiresAt;
  return undefined;
}

/**
 * True when the record may be reaped as far as this node can tell: it holds
 * only dead versions, each dead for at least `graceMs`. The collector must
 * still confirm with the key's other replicas (see `leavesNothingStale`).
 */
export function reapable(siblings: Siblings, nowMs: number, graceMs: number): boolean {
  if (siblings.length === 0) return false;
  for (const s of siblings) {
    const since = deadSinceMs(s, nowMs);
    if (since === undefined || nowMs - since < graceMs) return false;
  }
  return true;
}

/**
 * True when reaping `dead` here cannot bring anything back through the
 * replica that holds `theirs`: it holds no version that `dead` supersedes
 * without also holding what supersedes it. (A replica holding the same dead
 * versions, newer ones, or nothing at all is fine.)
 */
export function leavesNothingStale(dead: Siblings, theirs: Siblings): boolean {
  for (const v of theirs) {
    if (dead.some((d) => sameDot(d.dot, v.dot))) continue;
    if (dead.some((d) => supersedes(d, v))) return false;
  }
  return true;
}

/** True when both records hold the same versions (by dot), whatever their order. */
export function sameVersions(a: Siblings, b: Siblings): boolean {
  if (a.length !== b.length) return false;
  return holdsEvery(a, b) && holdsEvery(b, a);
}

function holdsEvery(holder: Siblings, wanted: Siblings): boolean {
  outer: for (const x of wanted) {
    for (const y of holder) if (sameDot(x.dot, y.dot)) continue outer;
    return false;
  }
  return true;
}

/**
 * A total order on versions, first = preferred: newest `timestamp`, then the
 * writer (greatest actor first), then value bytes (greatest first), then live
 * before tombstone, later expiry, the type, and finally the dot and past. Zero only for
 * versions identical in every field.
 */
export function versionOrder(a: Sibling, b: Sibling): number {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? -1 : 1;
  if (a.dot.actor !== b.dot.actor) return a.dot.actor > b.dot.actor ? -1 : 1;
  const byValue = Buffer.compare(b.value, a.value);
  if (byValue !== 0) return byValue;
  if (!a.deleted !== !b.deleted) return a.deleted ? 1 : -1;
  const expiresA = a.expiresAt ?? Infinity;
  const expiresB = b.expiresAt ?? Infinity;
  if (expiresA !== expiresB) return expiresA > expiresB ? -1 : 1;
  if (a.type !== b.type) return (a.type ?? '') > (b.type ?? '') ? -1 : 1;
  if (a.dot.counter !== b.dot.counter) return b.dot.counter - a.dot.counter;
  return clockOrder(a.past, b.past);
}

function isSuperseded(ranked: readonly Sibling[], i: number): boolean {
  const s = ranked[i]!;
  for (let j = 0; j < ranked.length; j++) {
    if (j === i) continue;
    const t = ranked[j]!;
    // Two copies of one dot are one version: the first in rank order stays.
    if (sameDot(t.dot, s.dot)) {
      if (j < i) return true;
      continue;
    }
    if (supersedes(t, s)) return true;
  }
  return false;
}

/** Lexicographic over entries (actor, counter): the last tie-break of `versionOrder`. */
function clockOrder(a: VClock, b: VClock): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ea = a[i]!;
    const eb = b[i]!;
    if (ea.actor !== eb.actor) return ea.actor < eb.actor ? -1 : 1;
    if (ea.counter !== eb.counter) return ea.counter - eb.counter;
  }
  return a.length - b.length;
}
