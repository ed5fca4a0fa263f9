// One quorum read (Dynamo §4.5): ask every replica of the key, answer once R
// have replied with their versions reconciled, and, once every replica has
// answered or failed, send the merged record to the ones that were behind —
// also those whose answers came after the client had its reply.

import { live, reconcile } from '../clock/siblings.js';
import type { Sibling } from '../clock/types.js';
import type { Coordinator } from './coordinator.js';
import { QuorumError } from './errors.js';
import { QuorumState } from './quorum.js';
import { sameVersions } from './versioning.js';
import { encodeReplicaGet } from '../peer/codec.js';

export class QuorumRead {
  private readonly replies: (Sibling[] | undefined)[];
  private readonly quorum: QuorumState;
  private merged: Sibling[] = [];
  private timedOut = false;
  private settled = 0;
  private resolve!: (record: Sibling[]) => void;
  private reject!: (err: Error) => void;
  private decided = false;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly key: Buffer,
    private readonly token: Buffer | undefined,
    private readonly replicas: readonly string[],
    r: number,
  ) {
    this.replies = new Array(replicas.length);
    this.quorum = new QuorumState(replicas.length, r);
  }

  run(): Promise<Sibling[]> {
    const promise = new Promise<Sibling[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const self = this.coordinator.selfId;
    let request: Buffer | undefined;
    for (let i = 0; i < this.replicas.length; i++) {
      const id = this.replicas[i]!;
      if (id === self) {
        let local: Sibling[];
        try {
          local = this.coordinator.storage.get(this.key, this.token);
        } catch (err) {
          this.failed(err);
          continue;
        }
        this.answered(i, local);
      } else {
        request ??= encodeReplicaGet(this.key);
        this.coordinator.readRemote(id, request).then(
          (record) => this.answered(i, record),
          (err) => this.failed(err),
        );
      }
    }
    if (this.replicas.length === 0) this.fail();
    return promise;
  }

  private answered(index: number, record: Sibling[]): void {
    this.replies[index] = record;
    // Replicas usually agree: merge only when this answer brings something new.
    if (this.merged.length === 0) this.merged = record;
    else if (!sameVersions(this.merged, record)) this.merged = reconcile([...this.merged, ...record]);
    this.step(this.quorum.success());
  }

  private failed(err: unknown): void {
    if ((err as { code?: string }).code === 'PEER_TIMEOUT') this.timedOut = true;
    this.step(this.quorum.failure());
  }

  private step(verdict: 'pending' | 'met' | 'failed'): void {
    this.settled++;
    if (!this.decided) {
      if (verdict === 'met') {
        this.decided = true;
        if (live(this.merged, this.coordinator.now()).length > 1) this.coordinator.stats.siblingReads++;
        this.resolve(this.merged);
      } else if (verdict === 'failed') {
        this.fail();
      }
    }
    if (this.settled === this.replicas.length) this.repair();
  }

  private fail(): void {
    this.decided = true;
    this.coordinator.stats.readQuorumFailures++;
    this.reject(new QuorumError('read', this.quorum.needed, this.quorum.succeeded, this.quorum.asked, this.timedOut));
  }

  /** Every replica has answered or failed: send the merged record to those that were behind. */
  private repair(): void {
    if (this.merged.length === 0) return;
    const behind: string[] = [];
    for (let i = 0; i < this.replicas.length; i++) {
      const reply = this.replies[i];
      if (reply !== undefined && !sameVersions(reply, this.merged)) behind.push(this.replicas[i]!);
    }
    if (behind.length > 0) this.coordinator.readRepair(this.key, this.token, this.merged, behind);
  }
}

