// The one quorum driver behind reads and writes (Dynamo §4.5): ask every
// replica of the key at once, decide as soon as `needed` have answered (met)
// or so many failed that `needed` can no longer be reached (failed), and
// keep listening after the decision, so answers that arrive late still reach
// the caller (read repair, late acks). The arithmetic is QuorumState's; this
// adds the asking and the timing, and nothing about what is asked.
//
// One rule beyond the arithmetic: a failed verdict waits for this node's own
// answer (`selfIndex`), so an error always counts every copy that was
// stored here. The local answer is a storage commit: it always settles.

import { QuorumError } from './errors.js';
import { QuorumState } from './quorum.js';

export interface QuorumCall<T> {
  readonly operation: 'read' | 'write';
  readonly replicas: readonly string[];
  readonly needed: number;
  /** Index of this node in `replicas`, or -1. */
  readonly selfIndex: number;
  /** Asks one replica; a synchronous throw counts as that replica's failure. */
  ask(id: string, index: number): T | Promise<T>;
  /** Every successful answer, before and after the decision. */
  answered?(index: number, value: T): void;
  /** Once every replica has answered or failed. */
  settled?(): void;
}

/** Resolves when the quorum is met; rejects with QuorumError when it cannot be. */
export function callQuorum<T>(call: QuorumCall<T>): Promise<void> {
  const quorum = new QuorumState(call.replicas.length, call.needed);
  return new Promise<void>((resolve, reject) => {
    let decided = false;
    let timedOut = false;
    let selfHeard = call.selfIndex < 0;
    let outstanding = call.replicas.length;
    const step = (verdict: 'pending' | 'met' | 'failed') => {
      if (!decided && verdict === 'met') {
        decided = true;
        resolve();
      } else if (!decided && verdict === 'failed' && selfHeard) {
        decided = true;
        reject(new QuorumError(call.operation, quorum.needed, quorum.succeeded, quorum.asked, timedOut));
      }
      if (--outstanding === 0) call.settled?.();
    };
    const succeed = (index: number, value: T) => {
      if (index === call.selfIndex) selfHeard = true;
      call.answered?.(index, value);
      step(quorum.success());
    };
    const fail = (index: number, err: unknown) => {
      if (index === call.selfIndex) selfHeard = true;
      if ((err as { code?: string } | undefined)?.code === 'PEER_TIMEOUT') timedOut = true;
      step(quorum.failure());
    };
    if (call.replicas.length === 0) {
      reject(new QuorumError(call.operation, call.needed, 0, 0, false));
      return;
    }
    call.replicas.forEach((id, index) => {
      let answer: T | Promise<T>;
      try {
        answer = call.ask(id, index);
      } catch (err) {
        fail(index, err);
        return;
      }
      if (answer instanceof Promise) answer.then((value) => succeed(index, value), (err: unknown) => fail(index, err));
      else succeed(index, answer);
    });
  });
}
