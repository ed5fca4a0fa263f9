// Background garbage collection of dead records: tombstones and expired
// values whose grace period has passed (clock/siblings.ts collectGarbage
// decides; this loop only finds them). A record read or written is cleaned on
// the way through; this sweep reaches the ones nobody touches again, walking
// the ring a page at a time so a large store costs a little every interval
// instead of a pause.

import type { Logger } from 'pino';
import { collectGarbage } from '../clock/siblings.js';
import { tokenOf } from '../storage/keys.js';
import type { Storage } from '../storage/storage.js';

/** A sweep step every 5 s: garbage waits at least the grace period anyway. */
export const collectIntervalMs = 5_000;
/** Records examined per step: a few milliseconds of work, then the loop yields. */
export const collectRecordsPerStep = 500;

export class Collector {
  private cursor = 0n;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  collected = 0;

  constructor(
    private readonly storage: Storage,
    private readonly tombstoneGraceMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

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

  /** Examines the next page of records and removes those that are entirely garbage. */
  async step(): Promise<number> {
    let removed = 0;
    try {
      const page = await this.storage.scan(this.cursor, collectRecordsPerStep);
      const now = this.now();
      for (const entry of page.entries) {
        if (collectGarbage(entry.siblings, now, this.tombstoneGraceMs).length > 0) continue;
        // Decided again inside the update: a write may have landed since the scan.
        await this.storage.update(entry.key, tokenOf(entry.key), (current) => {
          const kept = collectGarbage(current, this.now(), this.tombstoneGraceMs);
          if (kept.length === 0 && current.length > 0) removed++;
          return kept.length === 0 ? [] : current;
        });
      }
      const last = page.entries[page.entries.length - 1];
      this.cursor = page.more && last !== undefined ? last.token + 1n : 0n;
    } catch (err) {
      this.logger.warn({ err }, 'garbage collection step failed');
    }
    this.collected += removed;
    return removed;
  }
}
