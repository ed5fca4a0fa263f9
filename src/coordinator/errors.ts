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
