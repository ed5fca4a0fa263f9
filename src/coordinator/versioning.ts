// How a coordinator mints a new version and how any node folds versions into
// its record. Pure: record and clock in, record out.
//
// The new version's clock is the causal context (what the writer had seen)
// incremented at this node. The counter must exceed every counter this node
// has issued for the key, which the stored siblings carry. When the context
// is stale for this node's own entry (a client resolving from an old read),
// a plain increment would dominate versions the client never saw and lose
// them; instead the event is recorded under a one-off actor (`id~tag`) so it
// supersedes exactly what the context covers — the problem that dotted
// version vectors solve in Riak 2, met here without changing the clock shape.
// Those one-off entries are few and are pruned like any other.

import { dominates, increment, prune, type PruneLimits } from '../clock/vclock.js';
import { causalContext, collectGarbage, reconcile } from '../clock/siblings.js';
import type { ClockEntry, Sibling, VClock } from '../clock/types.js';

export type Mutation =
  | { readonly kind: 'value'; readonly value: Buffer; readonly expiresAt?: number }
  | { readonly kind: 'delete' };

export interface VersioningOptions {
  readonly pruneLimits: PruneLimits;
  readonly tombstoneGraceMs: number;
}

let oneOffActorSeq = 0;

function counterOf(clock: VClock, node: string): number {
  for (const e of clock) if (e.node === node) return e.counter;
  return 0;
}

function highestIssued(siblings: readonly Sibling[], node: string): number {
  let max = 0;
  for (const s of siblings) max = Math.max(max, counterOf(s.clock, node));
  return max;
}

/** The clock of a new version written at `node` over `context` (or over all it stores). */
export function newVersionClock(
  stored: readonly Sibling[],
  context: VClock | undefined,
  node: string,
  nowMs: number,
  limits: PruneLimits,
): VClock {
  const base = context ?? causalContext(stored);
  const actor = counterOf(base, node) >= highestIssued(stored, node) ? node : `${node}~${nowMs.toString(36)}.${(oneOffActorSeq++).toString(36)}`;
  return prune(increment(base, actor, nowMs), nowMs, limits);
}

export function newVersion(
  stored: readonly Sibling[],
  mutation: Mutation,
  context: VClock | undefined,
  node: string,
  nowMs: number,
  limits: PruneLimits,
): Sibling {
  const clock = newVersionClock(stored, context, node, nowMs, limits);
  if (mutation.kind === 'delete') return { value: emptyValue, clock, timestamp: nowMs, deleted: true };
  if (mutation.expiresAt !== undefined) return { value: mutation.value, clock, timestamp: nowMs, expiresAt: mutation.expiresAt };
  return { value: mutation.value, clock, timestamp: nowMs };
}

/** The record after folding `incoming` versions into `stored`: the one merge every path uses. */
export function foldVersions(stored: readonly Sibling[], incoming: readonly Sibling[], nowMs: number, options: VersioningOptions): Sibling[] {
  // The common write: one version that dominates everything stored replaces it
  // (what reconcile would decide, without its copies and sort).
  if (incoming.length === 1 && dominatesAll(incoming[0]!, stored)) return collectGarbage([incoming[0]!], nowMs, options.tombstoneGraceMs);
  const all = stored.length === 0 ? incoming : incoming.length === 0 ? stored : [...stored, ...incoming];
  return collectGarbage(reconcile(all), nowMs, options.tombstoneGraceMs);
}

function dominatesAll(version: Sibling, stored: readonly Sibling[]): boolean {
  for (const s of stored) if (!dominates(version.clock, s.clock)) return false;
  return true;
}

/** True when both records hold the same versions (by clock). */
export function sameVersions(a: readonly Sibling[], b: readonly Sibling[]): boolean {
  if (a.length !== b.length) return false;
  outer: for (const x of a) {
    for (const y of b) if (clockEquals(x.clock, y.clock) && x.deleted === y.deleted) continue outer;
    return false;
  }
  return true;
}

function clockEquals(a: readonly ClockEntry[], b: readonly ClockEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.node !== b[i]!.node || a[i]!.counter !== b[i]!.counter) return false;
  return true;
}

const emptyValue = Buffer.alloc(0);
