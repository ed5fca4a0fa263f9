// Sibling reconciliation: the one rule every path that stores or merges
// records uses (replica writes, read merge, read repair, handoff,
// anti-entropy), so all replicas converge to byte-identical records. A record
// keeps exactly the versions no other version dominates (Dynamo §4.4, Riak's
// `riak_object:reconcile`); versions with equal clocks collapse to one, chosen
// by a total order on content, and the result is listed in that order, so the
// same set of inputs gives the same array on every replica whatever the order
// they arrived in (Merkle hashes of equal records agree).
//
// Dead versions (tombstones, expired values) carry causality: a tombstone is
// what stops a stale replica's older copy from coming back. Invariant kept by
// `collectGarbage`: a record's dead versions leave storage only all together,
// only when the record holds no live version, and only once every one of them
// is past the grace period. Dropping one tombstone early while a concurrent
// sibling stays would let a version that only the dropped one covered return.
// The grace period must outlast the time a replica can lag (hint window,
// anti-entropy round), or that stale replica resurrects the key.

import { compare, merge } from './vclock.js';
import type { Sibling, Siblings, VClock } from './types.js';

/** Keeps the versions no other version dominates; equal clocks collapse to the first in `versionOrder`. */
export function reconcile(siblings: Siblings): Sibling[] {
  const ranked = siblings.slice();
  if (ranked.length < 2) return ranked;
  ranked.sort(versionOrder);
  const kept: Sibling[] = [];
  for (let i = 0; i < ranked.length; i++) {
    if (!isSuperseded(ranked, i)) kept.push(ranked[i]!);
  }
  return kept;
}

/** GET's deterministic choice: newest timestamp, then writer node id, then value bytes. */
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

/** Every sibling's clock merged, tombstones' included: a write carrying it supersedes all of them. */
export function causalContext(siblings: Siblings): VClock {
  return merge(siblings.map(clockOf));
}

/**
 * Drops the whole record ([]) once it is entirely dead and every version is
 * past `tombstoneGraceMs` since its deletion (tombstone) or expiry;
 * otherwise returns `siblings` itself. See the module comment for why it is
 * all or nothing.
 */
export function collectGarbage(siblings: Sibling[], nowMs: number, tombstoneGraceMs: number): Sibling[];
export function collectGarbage(siblings: Siblings, nowMs: number, tombstoneGraceMs: number): Siblings;
export function collectGarbage(siblings: Siblings, nowMs: number, tombstoneGraceMs: number): Siblings {
  for (const s of siblings) {
    if (isLive(s, nowMs)) return siblings;
    const deadSinceMs = s.deleted ? s.timestamp : s.expiresAt!;
    if (nowMs - deadSinceMs < tombstoneGraceMs) return siblings;
  }
  return [];
}

/**
 * A total order on versions, first = preferred: newest `timestamp`, then the
 * writer's node id (greatest first), then value bytes (greatest first), then
 * live before tombstone, later expiry, and finally the clock itself. Zero
 * only for versions identical in every field.
 */
export function versionOrder(a: Sibling, b: Sibling): number {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? -1 : 1;
  const writerA = writerOf(a.clock);
  const writerB = writerOf(b.clock);
  if (writerA !== writerB) return writerA > writerB ? -1 : 1;
  const byValue = Buffer.compare(b.value, a.value);
  if (byValue !== 0) return byValue;
  if (!a.deleted !== !b.deleted) return a.deleted ? 1 : -1;
  const expiresA = a.expiresAt ?? Infinity;
  const expiresB = b.expiresAt ?? Infinity;
  if (expiresA !== expiresB) return expiresA > expiresB ? -1 : 1;
  return clockOrder(a.clock, b.clock);
}

/** The node that wrote a version: its clock's newest entry (ties: greatest node id); '' for a fresh clock. */
export function writerOf(clock: VClock): string {
  let writer = '';
  let newest = -Infinity;
  for (const e of clock) {
    if (e.timestamp > newest || (e.timestamp === newest && e.node > writer)) {
      writer = e.node;
      newest = e.timestamp;
    }
  }
  return writer;
}

function isSuperseded(ranked: readonly Sibling[], i: number): boolean {
  const clock = ranked[i]!.clock;
  for (let j = 0; j < ranked.length; j++) {
    if (j === i) continue;
    const order = compare(ranked[j]!.clock, clock);
    if (order === 'after' || (order === 'equal' && j < i)) return true;
  }
  return false;
}

/** Lexicographic over entries (node, counter, timestamp): the last tie-break of `versionOrder`. */
function clockOrder(a: VClock, b: VClock): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ea = a[i]!;
    const eb = b[i]!;
    if (ea.node !== eb.node) return ea.node < eb.node ? -1 : 1;
    if (ea.counter !== eb.counter) return ea.counter - eb.counter;
    if (ea.timestamp !== eb.timestamp) return ea.timestamp - eb.timestamp;
  }
  return a.length - b.length;
}

function clockOf(sibling: Sibling): VClock {
  return sibling.clock;
}
