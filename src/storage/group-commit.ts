// Group commit, the one mechanism behind both LevelDB stores (records and
// hints): every change queued during one event-loop turn, and while the
// previous batch is being written, goes to disk as ONE LevelDB batch; each
// caller's promise settles when its batch is in the write-ahead log. The
// store says how to write a batch and what to do once it settled; this owns
// the queue, the scheduling and the idle waiters.

/** Changes queued beyond this wait for the batch in flight; bounds one batch's memory. */
export const batchOperationsMax = 4096;

export interface QueuedChange {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export interface GroupCommitStore<W extends QueuedChange> {
  /** Writes one batch (the store folds repeated keys); rejects with the store's own error. */
  writeBatch(writes: readonly W[]): Promise<void>;
  /** Bookkeeping once a batch settled, before its callers hear (e.g. uncache, recount after a failure). */
  settled(writes: readonly W[], err: Error | undefined): void;
}

export class GroupCommit<W extends QueuedChange> {
  private queue: W[] = [];
  private committing = false;
  private flushScheduled = false;
  private idleWaiters: (() => void)[] = [];
  /** Changes pushed and changes settled since the start: batches leave the queue in push order. */
  private pushed = 0;
  private settledCount = 0;
  /** Callers of `committed`, each waiting for `settledCount` to reach its mark; marks only grow. */
  private markWaiters: { readonly mark: number; readonly resolve: () => void }[] = [];

  constructor(private readonly store: GroupCommitStore<W>) {}

  /** Queues a change for the next batch. */
  push(write: W): void {
    this.queue.push(write);
    this.pushed++;
    if (this.flushScheduled || this.committing) return;
    this.flushScheduled = true;
    setImmediate(flushGroup, this);
  }

  /** Resolves when every change queued so far has committed (or failed). */
  drain(): Promise<void> {
    if (!this.committing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Resolves when every change queued so far has committed (or failed).
   * Unlike drain, it never waits for changes queued after it: a bounded wait
   * under any load.
   */
  settledSoFar(): Promise<void> {
    if (this.settledCount >= this.pushed) return Promise.resolve();
    const mark = this.pushed;
    return new Promise((resolve) => this.markWaiters.push({ mark, resolve }));
  }

  /** @internal called from setImmediate and after each commit. */
  flush(): void {
    this.flushScheduled = false;
    if (this.committing || this.queue.length === 0) {
      if (!this.committing) this.notifyIdle();
      return;
    }
    const writes = this.queue.length > batchOperationsMax ? this.queue.splice(0, batchOperationsMax) : this.queue;
    if (writes === this.queue) this.queue = [];
    this.committing = true;
    this.store.writeBatch(writes).then(
      () => this.committed(writes, undefined),
      (err: Error) => this.committed(writes, err),
    );
  }

  private committed(writes: W[], err: Error | undefined): void {
    this.committing = false;
    this.store.settled(writes, err);
    for (const w of writes) {
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
    this.settledCount += writes.length;
    while (this.markWaiters.length > 0 && this.markWaiters[0]!.mark <= this.settledCount) this.markWaiters.shift()!.resolve();
    if (this.queue.length > 0) this.flush();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function flushGroup(group: GroupCommit<QueuedChange>): void {
  group.flush();
}
