// The command table's shape: each command is data (name, arity, flags, key
// positions) plus a handler, as Redis keeps it (src/commands/*.json), so the
// dispatcher checks existence, arity and auth before any handler runs, and
// COMMAND INFO/DOCS answer from the same table.

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { RepairCounts } from '../anti-entropy/anti-entropy.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import type { HandoffProgress } from '../hints/ring-handoff.js';
import type { HostReach } from '../membership/host-probe.js';
import type { PubSub, Subscriber } from '../pubsub/broker.js';
import type { ChangePlan } from '../ring/changes.js';
import type { Reply } from '../resp/reply.js';
import type { NodeConfig } from './node-config.js';
import type { Transaction } from './transactions.js';
import { CommandStats, InstantaneousRate, type LatencyTracking } from './command-stats.js';
import { Slowlog, slowlogLogSlowerThanDefault, slowlogMaxLenDefault, type SlowlogSettings } from './slowlog.js';
import type { ArgumentDoc } from './syntax.js';

export type CommandFlag =
  | 'write' | 'readonly' | 'denyoom' | 'admin' | 'pubsub' | 'noscript' | 'blocking'
  | 'loading' | 'stale' | 'skip_monitor' | 'skip_slowlog' | 'fast' | 'no_auth' | 'allow_busy' | 'module';

export type Handler = (ctx: CommandContext, args: Buffer[]) => Reply | Promise<Reply>;

export interface CommandSpec {
  /** Lowercase, as Redis reports it ("client|setname" for subcommands). */
  readonly name: string;
  /** Redis convention: N exact argument count including the name; -N at least N. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly group: string;
  readonly summary: string;
  readonly since: string;
  readonly handler: Handler;
  /** The argument tree COMMAND DOCS reports (redis-cli's hints). */
  readonly arguments: readonly ArgumentDoc[];
  /**
   * May run while the connection's earlier commands are still in flight.
   * Commands that read then write, or change the connection, wait for the
   * ones before them and hold back the ones after (see resp/connection.ts).
   */
  readonly concurrent?: boolean | ((args: Buffer[]) => boolean);
  readonly subcommands?: ReadonlyMap<string, CommandSpec>;
}

/** Per-connection state the commands read and change. */
export interface Session {
  readonly id: number;
  protocol: 2 | 3;
  authenticated: boolean;
  name: string;
  libName: string;
  libVersion: string;
  /** CONSISTENCY R W for this connection; undefined = the node's default. */
  r: number | undefined;
  w: number | undefined;
  /** CONSISTENCY … STRICT: count only the key's primaries (no fallbacks) for this connection. */
  strict: boolean;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly createdAtMs: number;
  lastCommandAtMs: number;
  lastCommand: string;
  /** Set by QUIT: close once the reply is written. */
  closeAfterReply: boolean;
  /** The open MULTI's queue (commands/transactions.ts); allocated only by MULTI. */
  transaction: Transaction | undefined;
  /** Channels and patterns this connection is subscribed to (commands/pubsub.ts keeps them in step with the registry). */
  subscribedChannels: number;
  subscribedPatterns: number;
}

/** Redis's CLIENT_PUBSUB: the connection holds a subscription (RESP2 then allows only the subscribe family, PING, QUIT, RESET). */
export function subscribed(session: Session): boolean {
  return session.subscribedChannels + session.subscribedPatterns > 0;
}

export interface ClientRegistry {
  sessions(): Iterable<Session>;
  readonly connectedClients: number;
  readonly totalConnections: number;
  readonly rejectedConnections: number;
  /** CONFIG RESETSTAT: totalConnections and rejectedConnections start again from zero. */
  resetStats(): void;
}

/**
 * Redis's authRequired (server.c): a password is set and this connection has
 * not given it. Read at each command, so CONFIG SET requirepass applies at
 * once: clearing it frees every connection, setting one binds the clients
 * that never authenticated.
 */
export function authRequired(session: Session, config: NodeConfig): boolean {
  return !session.authenticated && config.requirepass !== undefined;
}

export interface ServerStats {
  /** Calls, errors and latencies per command, and Redis's totals of both (commands/command-stats.ts). */
  readonly commands: CommandStats;
  /** SLOWLOG's entries (commands/slowlog.ts). */
  readonly slowlog: Slowlog;
  protocolErrors: number;
  /** Bytes read from and written to clients (Redis's total_net_input_bytes / total_net_output_bytes). */
  netInputBytes: number;
  netOutputBytes: number;
  /** Reads from and writes to client sockets (Redis's total_reads_processed / total_writes_processed). */
  readsProcessed: number;
  writesProcessed: number;
  /** Clients closed for a request past the query buffer limit (Redis 7.4's client_query_buffer_limit_disconnections). */
  queryBufferLimitDisconnections: number;
  /** Subscribers closed for unsent output past client-output-buffer-limit (Redis 7.4's client_output_buffer_limit_disconnections). */
  outputBufferLimitDisconnections: number;
  /** Redis's instantaneous_ops_per_sec, _input_kbps and _output_kbps, sampled by the RESP server (resp/server.ts). */
  readonly rates: { readonly ops: InstantaneousRate; readonly netInput: InstantaneousRate; readonly netOutput: InstantaneousRate };
  readonly startedAtMs: number;
  /** Random per process start, as Redis's run_id: monitoring tells a restart by it. */
  readonly runId: string;
  /** Random per process start, as a Redis master's master_replid (a stream of its own, though ringkv's is empty). */
  readonly replicationId: string;
}

/**
 * `slowlog` is read at each command: pass the node's configuration, which
 * CONFIG SET changes in place, so slowlog-log-slower-than and
 * slowlog-max-len apply at once.
 */
export function serverStatsFresh(now: number, options: { logger?: Logger; latency?: LatencyTracking; slowlog?: SlowlogSettings } = {}): ServerStats {
  return {
    commands: new CommandStats(options.logger, options.latency),
    slowlog: new Slowlog(options.slowlog ?? { slowlogLogSlowerThan: slowlogLogSlowerThanDefault, slowlogMaxLen: slowlogMaxLenDefault }),
    protocolErrors: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
    readsProcessed: 0,
    writesProcessed: 0,
    queryBufferLimitDisconnections: 0,
    outputBufferLimitDisconnections: 0,
    rates: { ops: new InstantaneousRate(), netInput: new InstantaneousRate(), netOutput: new InstantaneousRate() },
    startedAtMs: now,
    runId: randomBytes(20).toString('hex'),
    replicationId: randomBytes(20).toString('hex'),
  };
}

/** Takes one sample of each rate (every rateSampleIntervalMs). */
export function sampleRates(stats: ServerStats, nowMs: number): void {
  stats.rates.ops.sample(stats.commands.commandsProcessed, nowMs);
  stats.rates.netInput.sample(stats.netInputBytes, nowMs);
  stats.rates.netOutput.sample(stats.netOutputBytes, nowMs);
}

/**
 * CONFIG RESETSTAT: the counters Redis's resetServerStats zeroes start again,
 * with commandstats, errorstats and latencystats. protocol_errors is ringkv's
 * own and, like ringkv's cluster counters, keeps counting from the start.
 */
export function resetServerStats(stats: ServerStats): void {
  stats.commands.reset();
  stats.netInputBytes = 0;
  stats.netOutputBytes = 0;
  stats.readsProcessed = 0;
  stats.writesProcessed = 0;
  stats.queryBufferLimitDisconnections = 0;
  stats.outputBufferLimitDisconnections = 0;
  stats.rates.ops.reset();
  stats.rates.netInput.reset();
  stats.rates.netOutput.reset();
}

/** What the RING and INFO commands show of the cluster. */
export interface ClusterInfo {
  members(): readonly MemberInfo[];
  /** The key's preference list with each node's state. */
  owners(key: Buffer): readonly { id: string; state: string }[];
  /** Whether this node pings members' hosts: off when told to, or without raw sockets. */
  hostProbe(): 'on' | 'off';
  /** Removes a dead member from the ring (RING REMOVE); throws a MembershipError (REMOVE_*) when it may not. */
  remove(id: string): void;
  /** Starts this node's decommission (RING LEAVE); rejects with a MembershipError (LEAVE_*, CHANGE_BUSY) when it may not. */
  leave(): Promise<void>;
  /** This node's current or last ring transfer (join, leave, cleanup). */
  transfer(): HandoffProgress;
  /** What a change would move (RING PLAN): for a join, `id` is the new node's and its tokens are drawn now. */
  plan(change: { kind: 'join' | 'leave' | 'remove'; id: string; vnodes?: number }): Promise<{ plan: ChangePlan; localRecords: number; members: number; recordBytesMean: number }>;
}

export type { ChangePlan, HandoffProgress };

export interface MemberInfo {
  readonly id: string;
  readonly host: string;
  readonly respPort: number;
  readonly peerPort: number;
  /** Where the member is in its life on the ring: joining, normal, leaving, or left (removed; README "Removing a dead member"). */
  readonly state: 'joining' | 'normal' | 'leaving' | 'left';
  /** The failure detector's verdict as this node sees it. */
  readonly liveness: 'up' | 'down';
  /** The detector's suspicion: 0 for this node itself, Infinity before the member's first heartbeat here. */
  readonly phi: number;
  readonly vnodes: number;
  readonly ownership: number;
  /** What a ping of the member's host says (membership/host-probe.ts): a diagnosis beside liveness, never an input to it. */
  readonly hostReach: HostReach;
  /** The last echo's round trip (ms) when the host answered. */
  readonly hostRttMs: number | undefined;
}

export interface ServerServices {
  readonly coordinator: Coordinator;
  readonly config: NodeConfig;
  readonly stats: ServerStats;
  readonly clients: ClientRegistry;
  readonly cluster: ClusterInfo;
  readonly logger: Logger;
  readonly commands: ReadonlyMap<string, CommandSpec>;
  /** Anti-entropy on demand (RING REPAIR, INFO # AntiEntropy); absent on a node without it. */
  readonly repair?: RepairService;
  /** CONFIG GET/SET/REWRITE over the node's options (cli/runtime-config.ts). */
  readonly runtimeConfig: ConfigService;
  /** Subscriptions on this node and publishing across the cluster (pubsub/broker.ts). */
  readonly pubsub: PubSub;
  /** The Redis being migrated from (--read-through): read when a key has no version in ringkv. */
  readonly readThrough?: ReadThroughSource;
}

/**
 * A key's value in the old Redis, as `--read-through` finds it
 * (migrate/read-through.ts): a string, or a collection's items whole.
 */
export type ReadThroughValue = ReadThroughExpiry & (
  | { readonly type: 'string'; readonly value: Buffer }
  | { readonly type: 'list' | 'set'; readonly items: readonly Buffer[] }
  | { readonly type: 'hash'; readonly entries: readonly (readonly [field: Buffer, value: Buffer])[] }
  | { readonly type: 'zset'; readonly entries: readonly (readonly [score: number, member: Buffer])[] }
);

interface ReadThroughExpiry {
  /** Absolute expiry, ms since the epoch, from the old Redis's PTTL. */
  readonly expiresAt?: number;
}

export interface ReadThroughSource {
  /**
   * The key's value in the old Redis, read whole in one consistent look;
   * undefined when it has none. Rejects with a CommandError when it cannot
   * be asked, or when the value is not one read-through imports (a type
   * ringkv does not hold, a collection over the read-through bounds).
   */
  fetch(key: Buffer): Promise<ReadThroughValue | undefined>;
  /** INFO lines: reads through, values imported, misses, failures. */
  info(): [string, number | string][];
  close(): Promise<void>;
}

/** The node's options at run time, as CONFIG GET, SET and REWRITE see them. */
export interface ConfigService {
  /** Every parameter CONFIG GET lists, by its name there, with its value now. */
  parameters(): readonly (readonly [name: string, value: string])[];
  /**
   * Checks every name-value pair, then applies them all: a pair that fails
   * throws a CommandError in Redis's words and nothing is changed.
   */
  set(pairs: readonly (readonly [name: Buffer, value: Buffer])[]): void;
  /** Writes the running configuration to the --config file, atomically; a CommandError without one. */
  rewrite(): Promise<void>;
}

/** What RING REPAIR runs: anti-entropy now over every range this node holds. */
export interface RepairService {
  /** Exchanges every range with its other replicas until they agree; a call while one runs joins it. */
  repair(): Promise<RepairReport>;
  /** The running repair's counts, else the last one's; undefined before the first. */
  progress(): RepairReport | undefined;
  /** INFO # AntiEntropy lines. */
  info(): [string, string | number][];
}

/** A repair's counts (anti-entropy/anti-entropy.ts RepairCounts). */
export type RepairReport = RepairCounts;

export interface CommandContext {
  readonly session: Session;
  readonly server: ServerServices;
  /** Where this connection's Pub/Sub messages are delivered (the connection itself). */
  readonly subscriber: Subscriber;
  /**
   * Runs one command as the connection runs what it reads — counted in the
   * stats, a failure turned into its error reply — and resolves with the
   * reply. EXEC runs its queue through it.
   */
  execute(spec: CommandSpec, args: Buffer[]): Promise<Reply>;
}

/** A client-visible failure raised inside a handler; `message` carries the prefix (ERR, WRONGTYPE…). */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}
