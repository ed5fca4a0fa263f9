// The data model every layer shares (DESIGN.md "Data model"): a stored record
// is a set of siblings, each carrying the vector clock that orders it against
// the others. Plain readonly data so the pure modules can reason about it.

/** One actor's entry in a vector clock. `timestamp` (ms) is kept only for pruning. */
export interface ClockEntry {
  readonly node: string;
  readonly counter: number;
  readonly timestamp: number;
}

/** A vector clock: entries sorted by `node` (plain code-unit order), no duplicates. */
export type VClock = readonly ClockEntry[];

/** One version of a key's value. */
export interface Sibling {
  readonly value: Buffer;
  readonly clock: VClock;
  /** Wall-clock ms at the coordinator when written; orders GET's deterministic choice. */
  readonly timestamp: number;
  /** Absolute expiry in ms since the epoch; absent = no TTL. */
  readonly expiresAt?: number;
  /** A tombstone: the key was deleted by this version. `value` is empty. */
  readonly deleted?: boolean;
}

/** A stored record: the siblings that no other stored version dominates. */
export type Siblings = readonly Sibling[];
