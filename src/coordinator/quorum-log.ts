// Quorum failures in the log as episodes, not requests: the first failure of
// an operation (read or write) after a quiet spell is one warn line with its
// reason; the failures that follow are counted, not logged; the first success
// once no failure has come for `quietMs` ends the episode with one info line
// saying how many failed and for how long. A success between failures does
// not end it: with one replica set down, writes to its keys fail while the
// others succeed, and alternating lines would be a line per request again.
// The counts per request are the metrics' job (ringkv_quorum_failures_total).

import type { Logger } from 'pino';
import { StateChanges } from '../logs/state-changes.js';
import { QuorumError } from './errors.js';

/** An episode ends at the first success after this long without a failure: a few request timeouts. */
export const quorumQuietMs = 5_000;

type Operation = 'read' | 'write';

export class QuorumLog {
  private readonly episodes = new StateChanges<'failing' | 'met'>({ keysMax: 2 });

  constructor(private readonly logger: Logger, private readonly now: () => number = Date.now, private readonly quietMs = quorumQuietMs) {}

  failed(err: QuorumError): void {
    const change = this.episodes.report(err.operation, 'failing', this.now());
    if (change !== undefined) this.logger.warn({ operation: err.operation, reason: err.message }, `${err.operation} quorums failing (one line until they are met again)`);
  }

  /** An operation met its quorum: ends a failing episode once it has been quiet for quietMs. Cheap when none is open. */
  met(operation: Operation): void {
    const episode = this.episodes.stateOf(operation);
    if (episode === undefined || episode.state !== 'failing') return;
    const nowMs = this.now();
    if (nowMs - episode.lastReportMs < this.quietMs) return;
    const change = this.episodes.report(operation, 'met', nowMs);
    if (change === undefined) return;
    this.logger.info({ operation, failures: change.previousReports, forMs: nowMs - change.previousSinceMs! }, `${operation} quorums met again`);
  }

  /** Notes the outcome of a quorum operation's promise; returns it unchanged. */
  watch<T>(operation: Operation, result: Promise<T>): Promise<T> {
    return result.then(
      (value) => {
        this.met(operation);
        return value;
      },
      (err: unknown) => {
        if (err instanceof QuorumError) this.failed(err);
        throw err;
      },
    );
  }
}
