// Background reaping of dead records: tombstones and expired values. Dead
// versions carry causality (a tombstone is what keeps a stale replica's
// older copy from coming back), so a record is reaped only when all three
// hold (the rule Cassandra's gc_grace and Riak's delete_mode approximate
// with time alone):
//  1. every version in it is dead (clock/siblings.ts reapable),
//  2. each has been dead for the grace period (messages in flight, clock
//     skew between nodes), and
//  3. every other replica of the key, asked now, holds nothing the dead
//     versions supersede (siblings.ts leavesNothingStale): no stale copy is
//     left anywhere to be read back. A replica found behind is sent the dead
//     record (a repair) and asked again on a later pass; one that does not
//     answer keeps the record here, however old.
// Each replica decides for itself, so no reap message is needed and a lost
// one cannot leave a replica stuck. The sweep walks the ring a page at a
// time, so a large store costs a little every interval instead of a pause.

import type { Logger } from 'pino';
import { reapable, sameVersions } from '../clock/siblings.js';
import { tokenOf } from '../storage/keys.js';
import type { Coordinator } from './coordinator.js';

/** A sweep step every 5 s: garbage waits at least the grace period anyway. */
export const collectIntervalMs = 5_000;
/** Records examined per step: a few milliseconds of work, then the loop yields. */
export const collectRecordsPerStep = 500;

export class CollectorStats {
  /** Records reaped. */
  collected = 0;
  /** Dead records past their grace that some replica could not confirm yet. */
  unconfirmed = 0;
  /** Stale replicas sent the dead record so they can confirm later. */
  repaired = 0;
  /** Records the sweep could not decode and skipped. */
  undecodable = 0;
}

export class Collector {
  readonly stats = new CollectorStats();
  private cursor = 0n;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly tombstoneGraceMs: number,
    private readonly logger: Logger,
  ) {}

  get collected(): number {
    return this.stats.collected;
  }

  start(intervalMs = collectIntervalMs): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.running === undefined) this.running = this.step().finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Examines the next page of records and reaps those that are entirely, safely dead. */
  async step(): Promise<number> {
    let removed = 0;
    const storage = this.coordinator.storage;
    try {
      const page = await storage.scan(this.cursor, collectRecordsPerStep);
      if (page.undecodable !== undefined && page.undecodable > 0) {
        this.stats.undecodable += page.undecodable;
        this.logger.warn({ records: page.undecodable }, 'skipped records that cannot be decoded');
      }
      for (const entry of page.entries) {
        if (!reapable(entry.siblings, this.coordinator.now(), this.tombstoneGraceMs)) continue;
        const verdict = await this.coordinator.confirmReap(entry.key, entry.siblings);
        if (verdict !== 'confirmed') {
          this.stats.unconfirmed++;
          if (verdict === 'repaired') this.stats.repaired++;
          continue;
        }
        // Decided again inside the update: a write may have landed meanwhile.
        await storage.update(entry.key, tokenOf(entry.key), (current) => {
          if (!sameVersions(current, entry.siblings) || !reapable(current, this.coordinator.now(), this.tombstoneGraceMs)) return current;
          removed++;
          return [];
        });
      }
      const last = page.entries[page.entries.length - 1];
      this.cursor = page.more && last !== undefined ? last.token + 1n : 0n;
    } catch (err) {
      this.logger.warn({ err }, 'garbage collection step failed');
    }
    this.stats.collected += removed;
    return removed;
  }
}
