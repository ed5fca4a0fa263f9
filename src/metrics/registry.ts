// The Prometheus view of a node: the counters ringkv already keeps for INFO
// (commandstats and errorstats, the coordinator's quorum failures, sibling
// reads and read repairs, hints, anti-entropy, ring transfers, members,
// storage), read when Prometheus scrapes rather than counted a second time
// on the request path. The one thing observed per request is the latency
// histogram per command, fed where INFO latencystats records (commands/
// command-stats.ts) — a histogram cannot be rebuilt from the HDR histograms
// INFO keeps, and Prometheus needs fixed buckets to sum across nodes; it keeps
// plain bucket counts (latency-histogram.ts says why not prom-client's).
//
// Names follow Prometheus's conventions (https://prometheus.io/docs/practices/naming/):
// a ringkv_ prefix, the unit last (_seconds, _bytes), _total on counters.
// Counters that CONFIG RESETSTAT zeroes (commands, errors, connections, net
// bytes) drop to zero with it, which Prometheus's rate() reads as a counter
// reset. Node's process metrics (collectDefaultMetrics) come with their
// usual names (process_*, nodejs_*), which Node.js dashboards expect.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { collectDefaultMetrics, Counter, Gauge, Registry, type LabelValues } from 'prom-client';
import type { CommandStats, LatencyObserver } from '../commands/command-stats.js';
import type { ClientRegistry, MemberInfo, ServerStats } from '../commands/types.js';
import type { CoordinatorStats } from '../coordinator/coordinator.js';
import type { HandoffProgress } from '../hints/ring-handoff.js';
import type { KeyspaceCounts } from '../storage/keyspace-tally.js';
import { LatencyHistogram } from './latency-histogram.js';

/**
 * Latency buckets, seconds: 50 µs (a GET served from the record cache) to
 * 10 s (past the default request timeout several times over), about ×2.5 a
 * step, so p50 and p99 of a local command and of a quorum operation across
 * a LAN each fall among several buckets.
 */
export const commandDurationBucketsSeconds = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
] as const;

/** The counters and states a node already keeps, as the metrics read them. */
export interface MetricSources {
  readonly nodeId: string;
  readonly version: string;
  readonly clusterName: string;
  readonly server: ServerStats;
  readonly clients: ClientRegistry;
  readonly coordinator: {
    readonly stats: Readonly<CoordinatorStats>;
    readonly collected: () => number;
  };
  /** Absent with hints off (--hint-window-ms 0). */
  readonly hints?: {
    readonly stats: { readonly stored: number; readonly delivered: number; readonly dropped: number; readonly expired: number };
    pending(): ReadonlyMap<string, { readonly count: number; readonly bytes: number }>;
  };
  /** Absent with --anti-entropy off. */
  readonly antiEntropy?: {
    readonly stats: {
      readonly exchangesInSync: number; readonly exchangesRepaired: number; readonly exchangesSkipped: number; readonly exchangesFailed: number;
      readonly keysCompared: number; readonly recordsSent: number; readonly recordsReceived: number;
      readonly bytesSent: number; readonly bytesReceived: number; readonly repairs: number;
    };
    trees(): number;
  };
  readonly ringTransfer: {
    readonly stats: { readonly recordsReceived: number; readonly recordsSent: number; readonly bytesReceived: number; readonly bytesSent: number; readonly recordsCleaned: number };
    progress(): HandoffProgress;
  };
  members(): readonly MemberInfo[];
  readonly storage: {
    recordCount(): number;
    keyspace(nowMs: number): KeyspaceCounts;
  };
  /** LevelDB directories whose files' total size is a store's disk use, by store name. */
  readonly diskDirs: Readonly<Record<string, string>>;
}

export interface NodeMetrics {
  readonly registry: Registry;
  /** What CommandStats.observeLatencies takes: the per-command latency histogram. */
  readonly latency: LatencyObserver;
}

const memberStatuses = ['joining', 'normal', 'leaving', 'left'] as const;
const livenesses = ['up', 'down'] as const;

type Labels = LabelValues<string>;

/** A counter whose values are read from `read` at each scrape. */
function scrapedCounter(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Iterable<readonly [Labels, number]>): void {
  new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** A gauge whose values are read from `read` at each scrape. */
function scrapedGauge(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Iterable<readonly [Labels, number]> | Promise<Iterable<readonly [Labels, number]>>): void {
  new Gauge({
    name, help, labelNames, registers: [registry],
    async collect() {
      const values = await read();
      this.reset();
      for (const [labels, value] of values) this.set(labels, value);
    },
  });
}

function one(value: number): [readonly [Labels, number]] {
  return [[{}, value]];
}

export function buildMetrics(sources: MetricSources): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'ringkv_info', help: 'Always 1; the labels name the node, its cluster and the ringkv version', labelNames: ['node', 'cluster', 'version'], registers: [registry],
  }).set({ node: sources.nodeId, cluster: sources.clusterName, version: sources.version }, 1);
  commandMetrics(registry, sources);
  const latency = commandLatencyHistogram(registry);
  coordinatorMetrics(registry, sources);
  hintMetrics(registry, sources);
  antiEntropyMetrics(registry, sources);
  ringMetrics(registry, sources);
  storageMetrics(registry, sources);
  return { registry, latency };
}

function commandMetrics(registry: Registry, sources: MetricSources): void {
  const commands = (): CommandStats => sources.server.commands;
  const perCommand = (field: 'calls' | 'failedCalls' | 'rejectedCalls') => () =>
    [...commands().perCommand()].map(([command, c]): [Labels, number] => [{ command }, c[field]]);
  scrapedCounter(registry, 'ringkv_commands_total', 'Commands run, per command (INFO commandstats calls)', ['command'], perCommand('calls'));
  scrapedCounter(registry, 'ringkv_command_errors_total', 'Commands that ran and replied an error, per command (INFO commandstats failed_calls)', ['command'], perCommand('failedCalls'));
  scrapedCounter(registry, 'ringkv_commands_rejected_total', 'Commands refused before they ran (arity, NOAUTH), per command (INFO commandstats rejected_calls)', ['command'], perCommand('rejectedCalls'));
  scrapedCounter(registry, 'ringkv_error_replies_total', 'Error replies per error prefix (INFO errorstats)', ['prefix'],
    () => [...commands().perErrorPrefix()].map(([prefix, count]): [Labels, number] => [{ prefix }, count]));
  scrapedCounter(registry, 'ringkv_connections_received_total', 'Client connections accepted (INFO total_connections_received)', [], () => one(sources.clients.totalConnections));
  scrapedCounter(registry, 'ringkv_connections_rejected_total', 'Client connections refused at maxclients (INFO rejected_connections)', [], () => one(sources.clients.rejectedConnections));
  scrapedGauge(registry, 'ringkv_connected_clients', 'Client connections open (INFO connected_clients)', [], () => one(sources.clients.connectedClients));
  scrapedCounter(registry, 'ringkv_net_input_bytes_total', 'Bytes read from clients (INFO total_net_input_bytes)', [], () => one(sources.server.netInputBytes));
  scrapedCounter(registry, 'ringkv_net_output_bytes_total', 'Bytes written to clients (INFO total_net_output_bytes)', [], () => one(sources.server.netOutputBytes));
  scrapedCounter(registry, 'ringkv_protocol_errors_total', 'Clients closed for a protocol error (INFO protocol_errors)', [], () => one(sources.server.protocolErrors));
  scrapedGauge(registry, 'ringkv_slowlog_length', 'Entries in SLOWLOG', [], () => one(sources.server.slowlog.length));
  scrapedCounter(registry, 'ringkv_slowlog_entries_total', 'Commands ever logged to SLOWLOG (its next entry id)', [], () => one(sources.server.slowlog.entriesLogged));
}

/** ringkv_command_duration_seconds, registered in `registry`, as the observer CommandStats feeds. */
export function commandLatencyHistogram(registry: Registry): LatencyObserver {
  return new LatencyHistogram(
    'ringkv_command_duration_seconds',
    'Time from a command\'s start to its reply, per command (a quorum operation includes its wait for the replicas)',
    commandDurationBucketsSeconds,
  ).register(registry);
}

function coordinatorMetrics(registry: Registry, sources: MetricSources): void {
  const s = (): Readonly<CoordinatorStats> => sources.coordinator.stats;
  scrapedCounter(registry, 'ringkv_quorum_failures_total', 'Reads and writes that did not reach their quorum (-NOQUORUM), by operation', ['operation'],
    () => [[{ operation: 'read' }, s().readQuorumFailures], [{ operation: 'write' }, s().writeQuorumFailures]]);
  scrapedCounter(registry, 'ringkv_sibling_reads_total', 'Quorum reads that met more than one live sibling', [], () => one(s().siblingReads));
  scrapedCounter(registry, 'ringkv_sibling_limit_refusals_total', 'Writes refused for leaving more than siblings-max siblings', [], () => one(s().siblingLimitRefusals));
  scrapedCounter(registry, 'ringkv_read_repairs_total', 'Replicas found behind by a read and sent the merged record', [], () => one(s().readRepairs));
  scrapedCounter(registry, 'ringkv_read_repairs_skipped_total', 'Read repairs skipped past the in-flight bound (left to anti-entropy)', [], () => one(s().readRepairsSkipped));
  scrapedCounter(registry, 'ringkv_forwarded_writes_total', 'Writes forwarded to a replica of the key (this node is not one)', [], () => one(s().forwardedWrites));
  scrapedCounter(registry, 'ringkv_fallback_writes_total', 'Writes that sent a copy to a fallback for a down or failing replica (sloppy quorum)', [], () => one(s().writesWithFallbacks));
  scrapedCounter(registry, 'ringkv_fallback_reads_total', 'Reads that asked a fallback', [], () => one(s().readsWithFallbacks));
  scrapedCounter(registry, 'ringkv_records_collected_total', 'Tombstones and expired records reaped past their grace period', [], () => one(sources.coordinator.collected()));
}

function hintMetrics(registry: Registry, sources: MetricSources): void {
  const hints = sources.hints;
  const stat = (field: 'stored' | 'delivered' | 'dropped' | 'expired') => () => one(hints?.stats[field] ?? 0);
  scrapedCounter(registry, 'ringkv_hints_stored_total', 'Hints this node took as a fallback for a down replica', [], stat('stored'));
  scrapedCounter(registry, 'ringkv_hints_delivered_total', 'Hints handed off to their replica', [], stat('delivered'));
  scrapedCounter(registry, 'ringkv_hints_dropped_total', 'Hints refused because the target\'s hints were at their bound', [], stat('dropped'));
  scrapedCounter(registry, 'ringkv_hints_expired_total', 'Hints dropped past the hint window (anti-entropy repairs those keys)', [], stat('expired'));
  const pending = (field: 'count' | 'bytes') => () => [...(hints?.pending() ?? new Map<string, { count: number; bytes: number }>())]
    .map(([target, p]): [Labels, number] => [{ target }, p[field]]);
  scrapedGauge(registry, 'ringkv_hints_pending', 'Hints waiting for their replica, per target node', ['target'], pending('count'));
  scrapedGauge(registry, 'ringkv_hints_pending_bytes', 'Bytes of hints waiting for their replica, per target node', ['target'], pending('bytes'));
}

function antiEntropyMetrics(registry: Registry, sources: MetricSources): void {
  const aae = sources.antiEntropy;
  const s = aae?.stats;
  scrapedCounter(registry, 'ringkv_anti_entropy_exchanges_total', 'Merkle-tree exchanges with another replica, by outcome', ['outcome'], () => [
    [{ outcome: 'in_sync' }, s?.exchangesInSync ?? 0], [{ outcome: 'repaired' }, s?.exchangesRepaired ?? 0],
    [{ outcome: 'skipped' }, s?.exchangesSkipped ?? 0], [{ outcome: 'failed' }, s?.exchangesFailed ?? 0],
  ]);
  scrapedCounter(registry, 'ringkv_anti_entropy_keys_compared_total', 'Keys compared record by record in differing tree leaves', [], () => one(s?.keysCompared ?? 0));
  scrapedCounter(registry, 'ringkv_anti_entropy_records_total', 'Records anti-entropy sent to or received from another replica', ['direction'],
    () => [[{ direction: 'sent' }, s?.recordsSent ?? 0], [{ direction: 'received' }, s?.recordsReceived ?? 0]]);
  scrapedCounter(registry, 'ringkv_anti_entropy_bytes_total', 'Bytes of anti-entropy exchanges (trees and records), sent and received', ['direction'],
    () => [[{ direction: 'sent' }, s?.bytesSent ?? 0], [{ direction: 'received' }, s?.bytesReceived ?? 0]]);
  scrapedCounter(registry, 'ringkv_anti_entropy_repairs_total', 'Repairs run on demand (ringkv repair, RING REPAIR)', [], () => one(s?.repairs ?? 0));
  scrapedGauge(registry, 'ringkv_anti_entropy_trees', 'Merkle trees kept, one per replica set this node is in (0 with anti-entropy off)', [], () => one(aae?.trees() ?? 0));
}

function ringMetrics(registry: Registry, sources: MetricSources): void {
  scrapedGauge(registry, 'ringkv_members', 'Members as this node sees them, by ring status and liveness (the same counts ringkv status shows)', ['status', 'liveness'], () => {
    const counts = new Map<string, number>();
    for (const m of sources.members()) counts.set(`${m.state}/${m.liveness}`, (counts.get(`${m.state}/${m.liveness}`) ?? 0) + 1);
    return memberStatuses.flatMap((status) => livenesses.map((liveness): [Labels, number] => [{ status, liveness }, counts.get(`${status}/${liveness}`) ?? 0]));
  });
  scrapedGauge(registry, 'ringkv_member_up', 'Per member: 1 when the failure detector holds it up, 0 when down', ['member'],
    () => sources.members().map((m): [Labels, number] => [{ member: m.id }, m.liveness === 'up' ? 1 : 0]));
  scrapedGauge(registry, 'ringkv_member_phi', 'Per member: the failure detector\'s suspicion (phi; +Inf before its first heartbeat)', ['member'],
    () => sources.members().map((m): [Labels, number] => [{ member: m.id }, m.phi]));
  scrapedGauge(registry, 'ringkv_member_ownership_ratio', 'Per member: the share of the key space it replicates (effective ownership, 0..1)', ['member'],
    () => sources.members().map((m): [Labels, number] => [{ member: m.id }, m.ownership]));
  const t = () => sources.ringTransfer.stats;
  scrapedCounter(registry, 'ringkv_ring_transfer_records_total', 'Records streamed by ring changes (join, leave), sent and received', ['direction'],
    () => [[{ direction: 'sent' }, t().recordsSent], [{ direction: 'received' }, t().recordsReceived]]);
  scrapedCounter(registry, 'ringkv_ring_transfer_bytes_total', 'Bytes streamed by ring changes (join, leave), sent and received', ['direction'],
    () => [[{ direction: 'sent' }, t().bytesSent], [{ direction: 'received' }, t().bytesReceived]]);
  scrapedCounter(registry, 'ringkv_ring_transfer_cleaned_records_total', 'Records dropped by cleanup after a ring change (no longer replicated here)', [], () => one(t().recordsCleaned));
  scrapedGauge(registry, 'ringkv_ring_transfer_active', 'This node\'s ring transfer under way: 1 for the operation and phase running, none when idle', ['operation', 'phase'], () => {
    const p = sources.ringTransfer.progress();
    if (p.operation === undefined || p.phase === undefined || p.phase === 'done' || p.phase === 'failed') return [];
    return [[{ operation: p.operation, phase: p.phase }, 1]];
  });
}

function storageMetrics(registry: Registry, sources: MetricSources): void {
  scrapedGauge(registry, 'ringkv_storage_records', 'Records this node stores (replicas and tombstones included; INFO local_records)', [], () => one(sources.storage.recordCount()));
  scrapedGauge(registry, 'ringkv_keyspace_keys', 'Live keys this node stores (INFO keyspace keys)', [], () => one(sources.storage.keyspace(Date.now()).keys));
  scrapedGauge(registry, 'ringkv_keyspace_expires', 'Live keys with an expiry this node stores (INFO keyspace expires)', [], () => one(sources.storage.keyspace(Date.now()).expires));
  scrapedGauge(registry, 'ringkv_storage_disk_bytes', 'Bytes of the files of each LevelDB store (records, hints) on disk', ['store'],
    async () => Promise.all(Object.entries(sources.diskDirs).map(async ([store, dir]): Promise<[Labels, number]> => [{ store }, await directoryBytes(dir)])));
}

/** The total size of the files in `dir` (LevelDB keeps its files flat); 0 when it does not exist. */
async function directoryBytes(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const sizes = await Promise.all(names.map((name) => stat(path.join(dir, name)).then((s) => (s.isFile() ? s.size : 0), () => 0)));
  return sizes.reduce((sum, size) => sum + size, 0);
}
