// What INFO commandstats, errorstats and latencystats show, counted as Redis 7
// counts it (server.c call(), afterErrorReply, updateCommandLatencyHistogram):
//
// - a command that ran counts a call, its time and, when it replied an
//   error, a failed call; one refused before it ran (wrong arity, NOAUTH, a
//   transaction's queue full) counts a rejected call; a command queued by
//   MULTI counts nothing until EXEC runs it; EXEC's own time includes the
//   commands it ran, as in Redis.
// - every error reply counts once under its prefix (ERR, WRONGTYPE, NOQUORUM,
//   …), errors inside EXEC's array and protocol errors included.
// - a command's time is from its handler's start to its reply: for a quorum
//   operation that includes waiting for the replicas, which is what a
//   client waits for (Redis's commands never wait, so there it is CPU time).
//
// Bounded like Redis: past 128 distinct error prefixes, errorstats stops
// taking new ones (a client could otherwise mint prefixes without end).
// Latency histograms are Node's own HDR histograms (perf_hooks), one per
// command, made at the command's first call: ~25 KB each, 2 significant
// figures as Redis's, 15 ns a record.

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ErrorReply, type Reply } from '../resp/reply.js';
import type { CommandSpec } from './types.js';

/** Redis's ERROR_STATS_NUMBER: distinct error prefixes tracked before errorstats stops taking new ones. */
export const errorPrefixesMax = 128;
/** A prefix is the error's first word only when a space ends it within this many bytes (Redis's afterErrorReply). */
const errorPrefixBytesMax = 32;

/** Redis's latency-tracking and latency-tracking-info-percentiles. */
export interface LatencyTracking {
  readonly tracking: boolean;
  readonly percentiles: readonly number[];
}

export const latencyTrackingDefault: LatencyTracking = { tracking: true, percentiles: [50, 99, 99.9] };

/** A name INFO can carry: Redis's getSafeInfoString writes ':' and line ends as '_'. */
function infoSafe(name: string): string {
  return name.replace(/[:\r\n]/g, '_');
}
/** Redis's latency histogram range is 1 ns..1 s; a quorum operation may wait longer, so ours reaches a minute. */
const latencyNsLowest = 1;
const latencyNsHighest = 60e9;
/** Redis's LATENCY_HISTOGRAM_PRECISION. */
const latencyFigures = 2;

/**
 * Where a command's latency goes besides INFO latencystats: the Prometheus
 * histogram (metrics/), whose per-command observer is looked up once per
 * command name and then called per call.
 */
export interface LatencyObserver {
  forCommand(name: string): (seconds: number) => void;
  /** CONFIG RESETSTAT: the histogram starts again with the commandstats. */
  reset(): void;
}

export class CommandCounters {
  calls = 0;
  /** Microseconds, fractional: usec_per_call is worth more than whole microseconds for a 2 µs GET. */
  usec = 0;
  rejectedCalls = 0;
  failedCalls = 0;
  latency: RecordableHistogram | undefined;
  /** The Prometheus histogram's observer for this command, once looked up. */
  observe: ((seconds: number) => void) | undefined;
}

export class CommandStats {
  /** Redis's total_commands_processed: calls, inside EXEC included; not refusals, not queueing. */
  commandsProcessed = 0;
  /** Redis's total_error_replies: every error reply, refusals and protocol errors included. */
  errorReplies = 0;
  /** Per command name, in the order of each command's first use. */
  private readonly counters = new Map<string, CommandCounters>();
  private readonly errors = new Map<string, number>();
  private errorsTracked = true;
  private latencyTracking: boolean;
  private percentiles: readonly number[];
  private observer: LatencyObserver | undefined;

  constructor(
    private readonly logger: Logger | undefined,
    latency: LatencyTracking = latencyTrackingDefault,
  ) {
    this.latencyTracking = latency.tracking;
    this.percentiles = latency.percentiles;
  }

  /** CONFIG SET latency-tracking / latency-tracking-info-percentiles. */
  setLatencyTracking(latency: LatencyTracking): void {
    this.latencyTracking = latency.tracking;
    this.percentiles = latency.percentiles;
  }

  /** Every command's latency also goes to `observer` (the metrics endpoint's histogram), from now on. */
  observeLatencies(observer: LatencyObserver): void {
    this.observer = observer;
  }

  /** Each command's counters, by name, in the order of first use: what INFO commandstats shows, for the metrics endpoint. */
  perCommand(): ReadonlyMap<string, Readonly<CommandCounters>> {
    return this.counters;
  }

  /** Error replies per prefix: what INFO errorstats shows. */
  perErrorPrefix(): ReadonlyMap<string, number> {
    return this.errors;
  }

  private countersOf(spec: CommandSpec): CommandCounters {
    let counters = this.counters.get(spec.name);
    if (counters === undefined) {
      counters = new CommandCounters();
      this.counters.set(spec.name, counters);
    }
    return counters;
  }

  /** A command ran and replied after `ms` milliseconds. */
  called(spec: CommandSpec, reply: Reply, ms: number): void {
    const counters = this.countersOf(spec);
    counters.calls++;
    counters.usec += ms * 1000;
    this.commandsProcessed++;
    if (this.latencyTracking) {
      counters.latency ??= createHistogram({ lowest: latencyNsLowest, highest: latencyNsHighest, figures: latencyFigures });
      // As Redis: nanoseconds, clamped into the histogram's range.
      counters.latency.record(Math.min(latencyNsHighest, Math.max(latencyNsLowest, Math.round(ms * 1e6))));
    }
    if (this.observer !== undefined) (counters.observe ??= this.observer.forCommand(spec.name))(ms / 1000);
    if (reply instanceof ErrorReply) {
      counters.failedCalls++;
      this.errorReplied(reply.message);
    }
  }

  /** A command was refused before it ran; `spec` is undefined for an unknown command. */
  rejected(spec: CommandSpec | undefined, reply: ErrorReply): void {
    if (spec !== undefined) this.countersOf(spec).rejectedCalls++;
    this.errorReplied(reply.message);
  }

  /** An error reply; on its own, one that belongs to no command (a protocol error). */
  errorReplied(message: string): void {
    this.errorReplies++;
    if (!this.errorsTracked) return;
    // Redis's afterErrorReply: the first word when a space ends it within 32 bytes, else ERR.
    const space = message.indexOf(' ');
    const prefix = space > 0 && space <= errorPrefixBytesMax ? message.slice(0, space) : 'ERR';
    const count = this.errors.get(prefix);
    if (count !== undefined) {
      this.errors.set(prefix, count + 1);
      return;
    }
    if (this.errors.size >= errorPrefixesMax) {
      // As Redis: stop, log the prefixes seen, and say so in the section itself until CONFIG RESETSTAT.
      this.logger?.warn({ limit: errorPrefixesMax, prefixes: [...this.errors.keys()] },
        'Errorstats stopped adding new errors because the number of different errors reached the limit');
      this.errorsTracked = false;
      this.errors.clear();
      this.errors.set('ERRORSTATS_DISABLED', 1);
      return;
    }
    this.errors.set(prefix, 1);
  }

  /** CONFIG RESETSTAT. */
  reset(): void {
    this.commandsProcessed = 0;
    this.errorReplies = 0;
    this.counters.clear();
    this.errors.clear();
    this.errorsTracked = true;
    this.observer?.reset();
  }

  /** INFO commandstats lines. */
  commandLines(): [string, string][] {
    const lines: [string, string][] = [];
    for (const [name, c] of this.counters) {
      const perCall = c.calls === 0 ? 0 : c.usec / c.calls;
      lines.push([`cmdstat_${name}`,
        `calls=${c.calls},usec=${Math.round(c.usec)},usec_per_call=${perCall.toFixed(2)},rejected_calls=${c.rejectedCalls},failed_calls=${c.failedCalls}`]);
    }
    return lines;
  }

  /** INFO errorstats lines. */
  errorLines(): [string, string][] {
    return [...this.errors].map(([prefix, count]): [string, string] => [`errorstat_${infoSafe(prefix)}`, `count=${count}`]);
  }

  /** INFO latencystats lines: each percentile in microseconds, three decimals, as Redis prints them. */
  latencyLines(): [string, string][] {
    if (!this.latencyTracking) return [];
    const lines: [string, string][] = [];
    for (const [name, c] of this.counters) {
      if (c.latency === undefined || c.latency.count === 0) continue;
      const histogram = c.latency;
      const values = this.percentiles.map((p) => `p${p}=${(histogram.percentile(p) / 1000).toFixed(3)}`);
      lines.push([`latency_percentiles_usec_${name}`, values.join(',')]);
    }
    return lines;
  }
}

/** Percentiles as CONFIG GET shows them: "50 99 99.9". */
export function formatPercentiles(percentiles: readonly number[]): string {
  return percentiles.map(String).join(' ');
}

/** The latency options of a node's configuration, as CommandStats takes them. */
export function latencyTrackingOf(config: { latencyTracking: 'yes' | 'no'; latencyTrackingInfoPercentiles: string }): LatencyTracking {
  const percentiles = parsePercentiles(config.latencyTrackingInfoPercentiles);
  if (typeof percentiles === 'string') throw new Error(`latency percentiles unchecked: ${percentiles}`);
  return { tracking: config.latencyTracking === 'yes', percentiles };
}

/**
 * Redis's latency-tracking-info-percentiles: numbers separated by spaces,
 * each within [0, 100]. Returns the reason, in Redis's words, when not.
 */
export function parsePercentiles(text: string): readonly number[] | string {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const values: number[] = [];
  for (const word of words) {
    const value = Number(word);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(word) || !Number.isFinite(value)) return 'Invalid latency-tracking-info-percentiles parameters';
    if (value < 0 || value > 100) return 'latency-tracking-info-percentiles parameters should sit between [0.0,100.0]';
    values.push(value);
  }
  return values;
}

/** Redis's STATS_METRIC_SAMPLES: a rate is the mean of the last 16 samples, 1.6 s at one sample per 100 ms. */
const rateSamples = 16;
/** Redis's serverCron samples its rates every 100 ms. */
export const rateSampleIntervalMs = 100;

/**
 * Redis's instantaneous metrics (trackInstantaneousMetric): a counter sampled
 * every 100 ms, each sample its growth per second since the one before, the
 * rate the mean of the last 16 samples.
 */
export class InstantaneousRate {
  private readonly samples = new Float64Array(rateSamples);
  private next = 0;
  private lastAtMs = -1;
  private lastValue = 0;

  sample(value: number, nowMs: number): void {
    if (this.lastAtMs >= 0) {
      const elapsedMs = nowMs - this.lastAtMs;
      this.samples[this.next] = elapsedMs > 0 ? ((value - this.lastValue) * 1000) / elapsedMs : 0;
      this.next = (this.next + 1) % rateSamples;
    }
    this.lastAtMs = nowMs;
    this.lastValue = value;
  }

  /** Per second. */
  perSecond(): number {
    let sum = 0;
    for (const s of this.samples) sum += s;
    return sum / rateSamples;
  }

  reset(): void {
    this.samples.fill(0);
    this.next = 0;
    this.lastAtMs = -1;
  }
}
