// Active anti-entropy for one node: which ranges to exchange with whom, and
// when. A range here is one replica set's tree (tree-keeper.ts); each tree is
// exchanged with every other member of its set, one pair at a time. In the
// background a pair is exchanged every `intervalMs` (Riak: one exchange per
// 15 s tick); a member seen up again after an outage has its pairs moved to
// the front of the queue, since it is the one most likely behind. On demand
// (RING REPAIR, `ringkv repair`) every pair is exchanged now, then the pairs
// that found differences again, until they agree.
//
// How this relates to the other repairs: read repair fixes the keys clients
// read, hinted handoff replays what a replica missed while it was briefly
// down, and anti-entropy finds everything else — a node down past the hint
// window, dropped hints, a lost disk — by comparing trees, moving only the
// keys that differ. It also carries tombstones to replicas that lack them, so
// the collector's check that every replica holds a delete (collector.ts) is
// met and reaping proceeds.

import type { Logger } from 'pino';
import type { ByteThrottle } from '../hints/sender.js';
import { realHandoffTimers, type HandoffTimers } from '../hints/sender.js';
import { exchange, exchangeThrottle, type ExchangeProgress, type ExchangeResult, type LocalReplica, type PeerLink } from './exchange.js';

/** Riak's default tick is 15 s: a pair every 15 s keeps the cost of a quiet cluster at one root comparison per tick. */
export const antiEntropyIntervalMsDefault = 15_000;
/** A repair waits this long for a tree that is still being built (here or at the peer) before it calls the range failed. */
const treeWaitMsMax = 60_000;
const treeWaitStepMs = 500;
/** Passes of a repair: the first over every pair, the next over those that still differed (writes in flight). */
const repairPassesMax = 3;

/** The trees this node keeps (tree-keeper.ts), as the scheduler needs them. */
export interface TreesView {
  /** The replica sets this node belongs to. */
  treeIds(): readonly string[];
  /** The members of a replica set. */
  members(treeId: string): readonly string[];
  /** When a tree was last built from storage (ms), undefined while it is being built. */
  builtAtMs(treeId: string): number | undefined;
}

export interface AntiEntropyOptions {
  readonly selfId: string;
  readonly trees: TreesView;
  readonly local: LocalReplica;
  peer(id: string): PeerLink;
  isUp(id: string): boolean;
  /** Background exchanges: one pair every intervalMs; 0 = none (RING REPAIR only). */
  readonly intervalMs: number;
  readonly rateBytesPerSec?: number;
  readonly timers?: HandoffTimers;
  readonly logger: Logger;
}

export interface RepairCounts {
  readonly running: boolean;
  readonly ranges: number;
  readonly rangesDone: number;
  readonly keysCompared: number;
  readonly recordsSent: number;
  readonly recordsReceived: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly failures: readonly string[];
}

export class AntiEntropyStats {
  exchanges = 0;
  exchangesInSync = 0;
  exchangesRepaired = 0;
  exchangesSkipped = 0;
  exchangesFailed = 0;
  differingLeaves = 0;
  keysCompared = 0;
  recordsSent = 0;
  recordsReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  repairs = 0;
}

interface Pair {
  readonly treeId: string;
  readonly peer: string;
}

interface MutableCounts {
  running: boolean;
  ranges: number;
  rangesDone: number;
  keysCompared: number;
  recordsSent: number;
  recordsReceived: number;
  bytes: number;
  startedAtMs: number;
  endedAtMs: number | undefined;
  failures: string[];
}

export class AntiEntropy {
  readonly stats = new AntiEntropyStats();
  private readonly timers: HandoffTimers;
  private readonly throttle: ByteThrottle;
  private timer: unknown;
  private stopped = true;
  private readonly abort = new AbortController();
  /** Pairs to exchange first (their peer came back). */
  private readonly priority: Pair[] = [];
  /** Round-robin position over the current pairs. */
  private cursor = 0;
  private background: Promise<void> | undefined;
  private repairing: Promise<RepairCounts> | undefined;
  private counts: MutableCounts | undefined;

  constructor(private readonly options: AntiEntropyOptions) {
    this.timers = options.timers ?? realHandoffTimers;
    this.throttle = exchangeThrottle(options.rateBytesPerSec, this.timers);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await Promise.allSettled([this.background, this.repairing]);
  }

  /** A member is up again after an outage: its pairs go first. */
  prioritize(peer: string): void {
    for (const pair of this.pairs()) {
      if (pair.peer === peer && !this.priority.some((p) => p.treeId === pair.treeId && p.peer === peer)) this.priority.push(pair);
    }
  }

  /** Exchanges every pair now (RING REPAIR); joins a repair already running. */
  repair(): Promise<RepairCounts> {
    this.repairing ??= this.runRepair().finally(() => {
      this.repairing = undefined;
    });
    return this.repairing;
  }

  /** The running repair's counts, else the last one's. */
  progress(): RepairCounts | undefined {
    return this.counts === undefined ? undefined : snapshot(this.counts, this.timers.now());
  }

  /** INFO # AntiEntropy. */
  info(): [string, string | number][] {
    const s = this.stats;
    const now = this.timers.now();
    const ids = this.options.trees.treeIds();
    return [
      ['anti_entropy', this.options.intervalMs > 0 ? 'on' : 'repair_only'],
      ['anti_entropy_interval_ms', this.options.intervalMs],
      ['trees', ids.length],
      ['exchanges', s.exchanges],
      ['exchanges_in_sync', s.exchangesInSync],
      ['exchanges_repaired', s.exchangesRepaired],
      ['exchanges_skipped', s.exchangesSkipped],
      ['exchanges_failed', s.exchangesFailed],
      ['differing_leaves', s.differingLeaves],
      ['keys_compared', s.keysCompared],
      ['records_sent', s.recordsSent],
      ['records_received', s.recordsReceived],
      ['bytes_sent', s.bytesSent],
      ['bytes_received', s.bytesReceived],
      ['repairs', s.repairs],
      // Riak's aae-status shows each tree's build time; here its age in seconds, -1 while it is being built.
      ...ids.map((id, i): [string, string] => {
        const built = this.options.trees.builtAtMs(id);
        return [`tree${i}`, `replicas=${id.replace(/,/g, '|')},age_s=${built === undefined ? -1 : Math.max(0, Math.round((now - built) / 1000))}`];
      }),
    ];
  }

  /** Every (tree, other member) pair this node exchanges. */
  private pairs(): Pair[] {
    const out: Pair[] = [];
    for (const treeId of this.options.trees.treeIds()) {
      for (const peer of this.options.trees.members(treeId)) if (peer !== this.options.selfId) out.push({ treeId, peer });
    }
    return out;
  }

  private schedule(): void {
    if (this.stopped || this.options.intervalMs <= 0) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.background = this.tick().finally(() => {
        this.background = undefined;
        this.schedule();
      });
    }, this.options.intervalMs);
  }

  /** One background exchange: a prioritized pair, else the next in turn whose peer is up. A repair running takes the turn. */
  private async tick(): Promise<void> {
    if (this.repairing !== undefined) return;
    const pair = this.nextPair();
    if (pair === undefined) return;
    try {
      await this.exchangeOne(pair, undefined);
    } catch (err) {
      if (!this.stopped) this.options.logger.debug({ err, tree: pair.treeId, peer: pair.peer }, 'anti-entropy exchange failed; the pair comes round again');
    }
  }

  private nextPair(): Pair | undefined {
    while (this.priority.length > 0) {
      const pair = this.priority.shift()!;
      if (this.options.isUp(pair.peer)) return pair;
    }
    const pairs = this.pairs();
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[this.cursor++ % pairs.length]!;
      if (this.options.isUp(pair.peer)) return pair;
    }
    return undefined;
  }

  private async exchangeOne(pair: Pair, counts: MutableCounts | undefined): Promise<ExchangeResult> {
    let last: ExchangeProgress = emptyProgress;
    const onProgress = (progress: ExchangeProgress) => {
      if (counts !== undefined) {
        counts.keysCompared += progress.keysCompared - last.keysCompared;
        counts.recordsSent += progress.recordsSent - last.recordsSent;
        counts.recordsReceived += progress.recordsReceived - last.recordsReceived;
        counts.bytes += progress.bytesSent - last.bytesSent + progress.bytesReceived - last.bytesReceived;
      }
      last = progress;
    };
    this.stats.exchanges++;
    try {
      const result = await exchange({
        treeId: pair.treeId,
        local: this.options.local,
        peer: this.options.peer(pair.peer),
        signal: this.abort.signal,
        throttle: this.throttle,
        timers: this.timers,
        onProgress,
      });
      onProgress(result);
      this.count(result);
      if (result.outcome === 'in-sync') this.stats.exchangesInSync++;
      else if (result.outcome === 'repaired') this.stats.exchangesRepaired++;
      else this.stats.exchangesSkipped++;
      return result;
    } catch (err) {
      this.stats.exchangesFailed++;
      this.count(last);
      throw err;
    }
  }

  private count(progress: ExchangeProgress): void {
    this.stats.differingLeaves += progress.differingLeaves;
    this.stats.keysCompared += progress.keysCompared;
    this.stats.recordsSent += progress.recordsSent;
    this.stats.recordsReceived += progress.recordsReceived;
    this.stats.bytesSent += progress.bytesSent;
    this.stats.bytesReceived += progress.bytesReceived;
  }

  private async runRepair(): Promise<RepairCounts> {
    this.stats.repairs++;
    const pairs = this.pairs();
    const counts: MutableCounts = {
      running: true, ranges: pairs.length, rangesDone: 0, keysCompared: 0, recordsSent: 0, recordsReceived: 0, bytes: 0,
      startedAtMs: this.timers.now(), endedAtMs: undefined, failures: [],
    };
    this.counts = counts;
    try {
      let pending = pairs;
      for (let pass = 1; pass <= repairPassesMax && pending.length > 0 && !this.stopped; pass++) {
        const again: Pair[] = [];
        for (const pair of pending) {
          if (this.stopped) break;
          const outcome = await this.repairPair(pair, counts);
          if (pass === 1) counts.rangesDone++;
          if (outcome === 'repaired') again.push(pair);
        }
        pending = again;
      }
      if (this.stopped) counts.failures.push('the node is shutting down');
    } finally {
      counts.running = false;
      counts.endedAtMs = this.timers.now();
    }
    this.options.logger.info(snapshot(counts, this.timers.now()), 'anti-entropy repair done');
    return snapshot(counts, this.timers.now());
  }

  /** One pair of a repair: waits out a tree being built, records why a pair could not be exchanged. */
  private async repairPair(pair: Pair, counts: MutableCounts): Promise<ExchangeResult['outcome'] | 'failed'> {
    const label = `${pair.peer} for replicas ${pair.treeId}`;
    const giveUpAtMs = this.timers.now() + treeWaitMsMax;
    for (;;) {
      if (!this.options.isUp(pair.peer)) {
        counts.failures.push(`${label}: ${pair.peer} is down`);
        return 'failed';
      }
      let result: ExchangeResult;
      try {
        result = await this.exchangeOne(pair, counts);
      } catch (err) {
        counts.failures.push(`${label}: ${(err as Error).message}`);
        return 'failed';
      }
      if (result.outcome === 'in-sync' || result.outcome === 'repaired') return result.outcome;
      // A tree still being built (here or there), or ring views not yet agreed: wait a little.
      if (this.timers.now() >= giveUpAtMs || this.stopped) {
        counts.failures.push(`${label}: ${result.outcome === 'no-local-tree' ? 'this node' : pair.peer} has no tree for it yet`);
        return 'failed';
      }
      await new Promise<void>((resolve) => this.timers.setTimeout(resolve, treeWaitStepMs));
    }
  }
}

const emptyProgress: ExchangeProgress = {
  levels: 0, differingLeaves: 0, keysCompared: 0, recordsSent: 0, recordsReceived: 0, bytesSent: 0, bytesReceived: 0,
};

function snapshot(c: MutableCounts, nowMs: number): RepairCounts {
  return {
    running: c.running,
    ranges: c.ranges,
    rangesDone: c.rangesDone,
    keysCompared: c.keysCompared,
    recordsSent: c.recordsSent,
    recordsReceived: c.recordsReceived,
    bytes: c.bytes,
    elapsedMs: (c.endedAtMs ?? nowMs) - c.startedAtMs,
    failures: [...c.failures],
  };
}
