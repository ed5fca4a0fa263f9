// Host reachability: a diagnosis shown beside the failure detector's verdict,
// never a source of liveness. Every few seconds one ICMP echo (RFC 792 ping,
// sent by net-ping, icmp-pinger.ts) goes to each distinct member host, so an
// operator looking at a down member can tell "host reachable, process down"
// (the ringkv process died or hangs: restart it) from "host unreachable" (the
// machine or the network is gone). It cannot decide liveness: the nodes of one
// machine share its address (all of a local cluster is 127.0.0.1), and a host
// answers ping while its ringkv process is dead; gossip and phi (phi.ts) decide.
//
// The diagnosis itself is pure (`diagnose`); the loop takes its pinger, clock
// and timers injected, so tests need neither raw sockets nor sleeps.

import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import type { Liveness } from './phi.js';

/**
 * One round every 5 s: the column is read by people (`ringkv status`, INFO),
 * and 5 s is the default --down-after-ms, so by the time a member is
 * convicted its host's answer is at most one round old. The cost is one
 * 16-byte echo per distinct host per round — nothing, even at 100 hosts.
 */
export const hostProbeIntervalMs = 5_000;
/**
 * An echo unanswered for 1 s counts as unreachable: a LAN round trip is well
 * under 1 ms and a WAN one under 300 ms, so a reply later than this is from a
 * host in trouble anyway. Shorter than the interval, so a round is over
 * before the next is due (asserted).
 */
export const hostProbeTimeoutMs = 1_000;

/** What the probe knows of a host: echo answered or not, the round trip, and when it was asked. */
export interface HostProbeResult {
  readonly reachable: boolean;
  /** The echo's round trip (ms); undefined when unanswered. */
  readonly rttMs: number | undefined;
  /** When the probe was sent, on the prober's clock (ms). */
  readonly lastProbeMs: number;
}

/** A host as INFO reports it: `off` when this node cannot (or was told not to) ping, `unknown` before the first answer. */
export type HostReach = 'reachable' | 'unreachable' | 'unknown' | 'off';

export type HostDiagnosis =
  | 'up'
  | 'up, host ignores ping'
  | 'host reachable, process down'
  | 'host unreachable'
  | 'unknown (probe off)'
  | 'unknown (not probed yet)';

/**
 * The detector's verdict read together with the host's answer. A member that
 * is up needs no diagnosis ('up'); if its host does not answer ping even so,
 * ICMP is filtered on the way and "unreachable" means nothing for that host,
 * which is worth knowing before it goes down.
 */
export function diagnose(liveness: Liveness, host: HostReach): HostDiagnosis {
  if (host === 'off') return 'unknown (probe off)';
  if (host === 'unknown') return 'unknown (not probed yet)';
  if (liveness === 'up') return host === 'reachable' ? 'up' : 'up, host ignores ping';
  return host === 'reachable' ? 'host reachable, process down' : 'host unreachable';
}

/** Each host once, in first-seen order: the nodes of one machine share its address. */
export function distinctHosts(hosts: Iterable<string>): string[] {
  return [...new Set(hosts)];
}

export type HostProbeErrorCode =
  | 'HOST_PROBE_NO_REPLY' // no echo reply in time, or an ICMP error (unreachable, TTL exceeded) came back
  | 'HOST_PROBE_FAILED';  // this node could not ask (the name did not resolve, no socket for the address family)

/** Why a ping did not come back; `code` says whether the host or this node is to blame. */
export class HostProbeError extends Error {
  constructor(readonly code: HostProbeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostProbeError';
  }
}

/** Sends echoes. Injected: icmp-pinger.ts with raw sockets, a fake in tests. */
export interface Pinger {
  /** The round trip (ms) of one echo to `host`; rejects with a HostProbeError. */
  ping(host: string): Promise<number>;
  /** Closes the socket; pings in flight reject. Idempotent. */
  close(): void;
}

export interface ProbeTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: ProbeTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HostProberOptions {
  /** undefined: the probe is off (no raw sockets, or --host-probe off); every host reports 'off'. */
  readonly pinger: Pinger | undefined;
  /** The members' hosts, asked each round (duplicates welcome). */
  readonly hosts: () => Iterable<string>;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
  readonly timers?: ProbeTimers;
}

type Outcome = { readonly kind: 'reply'; readonly rttMs: number } | { readonly kind: 'no-reply' | 'failed'; readonly reason: string };

export class HostProber {
  private readonly pinger: Pinger | undefined;
  private readonly hosts: () => Iterable<string>;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly timers: ProbeTimers;
  private readonly results = new Map<string, HostProbeResult>();
  private running = false;
  private timer: unknown;
  private round: Promise<void> | undefined;

  constructor(options: HostProberOptions) {
    this.pinger = options.pinger;
    this.hosts = options.hosts;
    this.logger = options.logger;
    this.intervalMs = options.intervalMs ?? hostProbeIntervalMs;
    this.timeoutMs = options.timeoutMs ?? hostProbeTimeoutMs;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
    assert(this.timeoutMs > 0 && this.timeoutMs < this.intervalMs, 'a host probe must time out before the next round is due');
  }

  /** Whether hosts are pinged at all. */
  get on(): boolean {
    return this.pinger !== undefined;
  }

  /** Probes at once, then a round every intervalMs after the last one ended. Does nothing when off. */
  start(): void {
    if (this.pinger === undefined || this.running) return;
    this.running = true;
    this.runRound();
  }

  /** Stops the loop; closing the pinger ends the round in flight at once. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.pinger?.close();
    await this.round;
  }

  /** The host as the last round saw it. */
  reach(host: string): HostReach {
    if (this.pinger === undefined) return 'off';
    const result = this.results.get(host);
    if (result === undefined) return 'unknown';
    return result.reachable ? 'reachable' : 'unreachable';
  }

  result(host: string): HostProbeResult | undefined {
    return this.results.get(host);
  }

  private runRound(): void {
    this.timer = undefined;
    this.round = this.probeAll().finally(() => {
      this.round = undefined;
      if (this.running) this.timer = this.timers.setTimeout(() => this.runRound(), this.intervalMs);
    });
  }

  private async probeAll(): Promise<void> {
    const hosts = distinctHosts(this.hosts());
    const current = new Set(hosts);
    for (const host of this.results.keys()) if (!current.has(host)) this.results.delete(host);
    await Promise.all(hosts.map((host) => this.probe(host)));
  }

  private async probe(host: string): Promise<void> {
    const sentMs = this.now();
    const outcome = await this.pingWithin(host);
    if (!this.running) return;
    const before = this.results.get(host);
    if (outcome.kind === 'failed') {
      // This node could not ask: say nothing of the host rather than call it unreachable.
      this.results.delete(host);
      this.logger.debug({ host, reason: outcome.reason }, 'host probe could not ping');
      return;
    }
    const reachable = outcome.kind === 'reply';
    this.results.set(host, { reachable, rttMs: reachable ? outcome.rttMs : undefined, lastProbeMs: sentMs });
    if (before !== undefined && before.reachable !== reachable) {
      if (reachable) this.logger.info({ host }, 'host answers ping again');
      else this.logger.info({ host, reason: outcome.reason }, 'host no longer answers ping');
    }
  }

  /** One echo, waited for at most timeoutMs whatever the pinger does. */
  private pingWithin(host: string): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const timer = this.timers.setTimeout(() => resolve({ kind: 'no-reply', reason: `no echo reply within ${this.timeoutMs} ms` }), this.timeoutMs);
      this.pinger!.ping(host).then(
        (rttMs) => {
          this.timers.clearTimeout(timer);
          resolve({ kind: 'reply', rttMs });
        },
        (err: unknown) => {
          this.timers.clearTimeout(timer);
          const failed = err instanceof HostProbeError && err.code === 'HOST_PROBE_FAILED';
          resolve({ kind: failed ? 'failed' : 'no-reply', reason: err instanceof Error ? err.message : String(err) });
        },
      );
    });
  }
}
