// The one shape every convergent data type takes (issue 12), so records,
// replication, anti-entropy and the simulation handle a counter, a set or a
// list through the same few functions. States are delta-state CRDTs
// (Almeida, Shoker, Baquero, "Delta State Replicated Data Types", 2016): an
// operation returns the new state and a delta that is itself a state, and
// merge(state, delta) gives the new state on any replica that holds what the
// operation's state was built on. Operations that create or remove anything
// are tagged with the write's dot (clock/types.ts): dots never repeat
// (storage/actor.ts), so they serve as the types' unique tags too.

/** A type as TYPE reports it is `string` for both 'string' and 'counter', as Redis reports INCR's keys. */
export type TypeName = 'string' | 'counter' | 'hash' | 'set' | 'zset' | 'list';

export interface Convergent<S> {
  readonly type: TypeName;
  /** The state no operation has touched; merge's identity. */
  empty(): S;
  /** The join: commutative, associative and idempotent, never mutating its arguments. */
  merge(a: S, b: S): S;
  /**
   * merge(state, delta) for a large state and a small delta, reusing
   * `state`, which it may change (the caller owns it): the same state, built
   * in the same order, so it encodes to the same bytes; without a new map
   * of the whole state, the cost of a replica rebuilding a version from a
   * delta (coordinator/delta.ts). Absent: merge is used.
   */
  mergeDelta?(state: S, delta: S): S;
  /** Equal as states (not merely as the value a read shows). */
  equals(a: S, b: S): boolean;
  /** A self-contained encoding; decode(encode(s)) equals s. */
  encode(state: S): Buffer;
  /** Refuses bytes encode did not make with a CrdtCodecError, never returns a broken state. */
  decode(bytes: Buffer): S;
}

/** An operation's result: the whole new state, and the delta a replica merges to reach it. */
export interface Update<S> {
  readonly state: S;
  readonly delta: S;
}

export class CrdtCodecError extends Error {
  readonly code = 'CRDT_CORRUPT';
  constructor(message: string) {
    super(message);
    this.name = 'CrdtCodecError';
  }
}
