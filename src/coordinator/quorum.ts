// Quorum bookkeeping, pure: how many replicas were asked, how many must
// agree, and what has come back. The coordinator feeds it replies and
// failures; it says when the request is decided. Kept free of I/O so the
// arithmetic of R, W and N is tested on its own (Dynamo §4.5).

import assert from 'node:assert';

export type QuorumVerdict = 'pending' | 'met' | 'failed';

export class QuorumState {
  private ok = 0;
  private failed = 0;

  constructor(readonly asked: number, readonly needed: number) {
    assert(Number.isInteger(asked) && asked >= 0, 'asked must be a non-negative integer');
    assert(Number.isInteger(needed) && needed >= 1, 'needed must be a positive integer');
  }

  get succeeded(): number {
    return this.ok;
  }

  get failures(): number {
    return this.failed;
  }

  get answered(): number {
    return this.ok + this.failed;
  }

  /** Records one success and returns the verdict. */
  success(): QuorumVerdict {
    this.ok++;
    return this.verdict();
  }

  /** Records one failure (error or timeout) and returns the verdict. */
  failure(): QuorumVerdict {
    this.failed++;
    return this.verdict();
  }

  verdict(): QuorumVerdict {
    if (this.ok >= this.needed) return 'met';
    // Decided as failed as soon as the outstanding replies cannot make up the difference.
    if (this.asked - this.failed < this.needed) return 'failed';
    return 'pending';
  }
}
