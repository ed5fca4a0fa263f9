// The data model every layer shares (README "Conflicts"): a stored record
// is a set of siblings, each the value of one write event. Dotted version
// vectors (Preguiça, Almeida et al., "Dotted Version Vectors", 2012; Riak
// 2.0's DVV): each sibling carries its `dot`, the (actor, counter) of the
// write that made it, and its `past`, the causal context that write was made
// over. A sibling supersedes exactly the versions whose dots its past covers,
// so a write from a stale context leaves what it did not see standing beside
// it, with no extra actors and no pruning. Plain readonly data so the pure
// modules can reason about it.

import type { TypeName } from '../crdt/kind.js';

/** One actor's entry in a version vector: every event of `actor` numbered ≤ `counter` on this key is covered. */
export interface ClockEntry {
  readonly actor: string;
  readonly counter: number;
}

/** A version vector: entries sorted by `actor` (plain code-unit order), no duplicates, counters ≥ 1. */
export type VClock = readonly ClockEntry[];

/** The identity of one write event: actor (a node's storage epoch) and that actor's counter, never reused. */
export type Dot = ClockEntry;

/** One version of a key's value. */
export interface Sibling {
  readonly value: Buffer;
  /** The write event that made this version: unique across the cluster. */
  readonly dot: Dot;
  /** The causal context the write was made over: the versions it supersedes. Never covers `dot`. */
  readonly past: VClock;
  /** Wall-clock ms at the coordinator when written; orders GET's deterministic choice. */
  readonly timestamp: number;
  /** Absolute expiry in ms since the epoch; absent = no TTL. */
  readonly expiresAt?: number;
  /** A tombstone: the key was deleted by this version. `value` is empty. */
  readonly deleted?: boolean;
  /**
   * The value's type when it is a convergent type (crdt/registry.ts): `value`
   * is then that type's encoded state. Absent for a string (never 'string'),
   * as on every version written before types existed, and on tombstones.
   */
  readonly type?: Exclude<TypeName, 'string'>;
  /**
   * A typed version whose state holds nothing: a collection whose last member
   * went (crdt/registry.ts isEmpty). It reads as no key, yet stays live to
   * the merge, where its causal context removes what it removed from
   * concurrent versions; it is dead since `timestamp` to the reaper, as a
   * tombstone is, so emptied keys do not pile up.
   */
  readonly emptied?: true;
}

/** A stored record: the siblings that no other stored version supersedes. */
export type Siblings = readonly Sibling[];
