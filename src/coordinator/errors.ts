// Operating failures of the coordinator, each with a stable code. The RESP
// edge (resp/errors.ts) turns them into client replies, in one place.

export class QuorumError extends Error {
  readonly code = 'NOQUORUM';
  constructor(
    readonly operation: 'read' | 'write',
    readonly needed: number,
    readonly succeeded: number,
    readonly asked: number,
    readonly timedOut: boolean,
  ) {
    super(
      `${operation} quorum not met: ${succeeded} of ${needed} needed replicas answered` +
        ` (${asked} asked${timedOut ? ', timed out' : ''})`,
    );
    this.name = 'QuorumError';
  }
}

export class SiblingLimitError extends Error {
  readonly code = 'SIBLINGS_MAX';
  constructor(readonly siblings: number, readonly limit: number) {
    super(`write refused: it would leave ${siblings} siblings, over the limit of ${limit}`);
    this.name = 'SiblingLimitError';
  }
}

/** The cluster cannot do what was asked right now (e.g. FLUSHALL with members down). */
export class ClusterUnavailableError extends Error {
  readonly code = 'CLUSTERDOWN';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUnavailableError';
  }
}

/** A value too large for a peer frame cannot reach the other replicas: refused before anything is written. */
export class ValueTooLargeError extends Error {
  readonly code = 'VALUE_TOO_LARGE';
  constructor(readonly bytes: number, readonly limit: number) {
    super(`value of ${bytes} bytes is larger than the ${limit} bytes a replicated value may have`);
    this.name = 'ValueTooLargeError';
  }
}

/**
 * This node has not heard its cluster yet (just started, seeds unreachable):
 * it knows too little of the ring to count a quorum, so it serves none.
 */
/**
 * An import (a value copied from a Redis being migrated: IMPORT, read-through)
 * met a key this coordinator already holds a version of, live or deleted:
 * whatever ringkv holds is newer than the old Redis's copy, so nothing is written.
 */
export class KeyPresentError extends Error {
  readonly code = 'KEY_PRESENT';
  constructor() {
    super('the key already has a version in ringkv; the import is not written');
    this.name = 'KeyPresentError';
  }
}

export class NotJoinedError extends Error {
  readonly code = 'NOT_JOINED';
  constructor() {
    super('this node has not joined its cluster yet');
    this.name = 'NotJoinedError';
  }
}

/** A forwarded write reached a node outside the key's preference list (views differ during a change): the forwarder tries the next. */
export class NotReplicaError extends Error {
  readonly code = 'NOT_REPLICA';
  constructor(readonly nodeId: string) {
    super(`node ${nodeId} is not a replica of the key`);
    this.name = 'NotReplicaError';
  }
}

/** A record (every sibling together) must fit one peer frame to reach the other replicas. */
export class RecordTooLargeError extends Error {
  readonly code = 'RECORD_TOO_LARGE';
  constructor(readonly bytes: number, readonly limit: number) {
    super(`write refused: the key's record would be ${bytes} bytes with its siblings, over the ${limit} bytes a replicated record may have; resolve its siblings first`);
    this.name = 'RecordTooLargeError';
  }
}

/** A hinted write reached a node with hints turned off (--hint-window-ms 0): that fallback slot fails. */
export class HintsOffError extends Error {
  readonly code = 'HINTS_OFF';
  constructor() {
    super('hinted handoff is off on this node');
    this.name = 'HintsOffError';
  }
}
