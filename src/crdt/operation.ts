// What a coordinator hands a convergent type when a command changes a key
// (INCR, and later SADD, HSET…): the key's current view, built from the
// versions it holds, the operation as bytes (so it can be forwarded to the
// key's replica unchanged), and the dot the new version will carry. The type
// answers with the new state, or refuses with a TypeOperationError whose
// stable code the RESP edge turns into Redis's words.

import type { Dot, Sibling } from '../clock/types.js';

/**
 * The live versions an operation builds on: the deterministic winner, whose
 * type answers commands, and every live version of that type (a convergent
 * type's value is the merge of all of them). Undefined when the key has no
 * live version.
 */
export interface OperandView {
  readonly winner: Sibling;
  readonly ofType: readonly Sibling[];
}

/** Who writes the new version: its dot, and whether the writer must start afresh (see counter.ts "runs"). */
export interface Writer {
  readonly dot: Dot;
  /**
   * The writer's view of the key may have lost its own earlier entries (a
   * fallback coordinating from hints it since handed off): it must not build
   * on them as if they were its latest.
   */
  readonly freshRun: boolean;
}

/**
 * An operation's result: the new state, and what the command replies from
 * beyond that state (encoded by the type; carried back to the client's node
 * with the version when the operation was forwarded).
 */
export interface Operated<S> {
  readonly state: S;
  readonly outcome?: Buffer;
  /**
   * What the operation changed, as a state of the type (kind.ts Update):
   * merge(start, delta) equals `state`, where start is the merge of the
   * view's versions of the type, in the view's order (view.ts
   * collectionStart), or the empty state when the view holds none. The
   * coordinator replicates it instead of the whole state (coordinator/
   * versioning.ts). Absent when the new state is not such a merge (a
   * replace, a start over another type): the whole state is replicated.
   */
  readonly delta?: S;
  /** The state replaces the key's value (SINTERSTORE's destination): the key's expiry goes with the old value, as Redis's setKey drops it. */
  readonly replacesValue?: boolean;
  /** With replacesValue: the new value's own expiry, unix ms (IMPORT's first page, import-operation.ts). */
  readonly expiresAt?: number;
  /** A value copied from a Redis being migrated: stamped as imported (coordinator/versioning.ts importedTimestamp). */
  readonly imported?: boolean;
}

export type TypeOperationErrorCode =
  /** The key holds a value of another type (Redis's WRONGTYPE). */
  | 'WRONGTYPE'
  /** The value or the increment is not an integer in long long's range. */
  | 'NOT_INTEGER'
  /** The integer result would leave long long's range. */
  | 'OVERFLOW'
  /** The value or the increment is not a float strtold accepts. */
  | 'NOT_FLOAT'
  /** The float result would be NaN or infinite. */
  | 'NAN_OR_INFINITY'
  /** DECRBY of LLONG_MIN: its negation does not fit. */
  | 'DECREMENT_OVERFLOW'
  /** The operation's bytes are not one this type knows (a peer's bug or a newer peer). */
  | 'BAD_OPERATION'
  /** ZINCRBY / ZADD INCR would make a score NaN (inf + -inf). */
  | 'SCORE_NAN'
  /** LSET on a key that holds nothing. */
  | 'NO_SUCH_KEY'
  /** LSET at an index the list does not have. */
  | 'INDEX_OUT_OF_RANGE'
  /** HINCRBY on a field that is not an integer (Redis's hash words). */
  | 'HASH_NOT_INTEGER'
  /** HINCRBYFLOAT on a field that is not a float. */
  | 'HASH_NOT_FLOAT'
  /** A later page of an IMPORT whose key was written since the page before (import-operation.ts). */
  | 'IMPORT_CHANGED';

export const typeOperationErrorCodes: readonly TypeOperationErrorCode[] = [
  'WRONGTYPE', 'NOT_INTEGER', 'OVERFLOW', 'NOT_FLOAT', 'NAN_OR_INFINITY', 'DECREMENT_OVERFLOW', 'BAD_OPERATION',
  'SCORE_NAN', 'NO_SUCH_KEY', 'INDEX_OUT_OF_RANGE', 'HASH_NOT_INTEGER', 'HASH_NOT_FLOAT', 'IMPORT_CHANGED',
];

export class TypeOperationError extends Error {
  constructor(readonly code: TypeOperationErrorCode, message: string = code) {
    super(message);
    this.name = 'TypeOperationError';
  }
}
