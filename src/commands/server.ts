// Server commands: INFO, CONFIG, COMMAND, TIME. INFO keeps Redis 7's
// sections, their order and field names for what ringkv also has or counts
// (ioredis waits for `loading:0`, monitoring reads role, run_id,
// instantaneous_ops_per_sec, cmdstat_*, errorstat_*), plus ringkv's own
// fields and its `# Cluster` and `# AntiEntropy` sections. A Redis field with
// nothing behind it in ringkv is left out rather than made up.

import type { Storage } from '../storage/storage.js';
import os from 'node:os';
import { MapReply, OK, SimpleReply, VerbatimReply, type Reply } from '../resp/reply.js';
import { syntaxError, upper } from './args.js';
import { globMatch } from './glob.js';
import { argumentReply } from './syntax.js';
import { helpReply } from './object.js';
import { formatPhi } from './cluster.js';
import { redisVersionCompatible } from './connection.js';
import { CommandError, resetServerStats, type CommandContext, type CommandSpec } from './types.js';

export const ringkvVersion = '0.1.0';

type Section = (ctx: CommandContext) => [string, string | number][];

/** Redis's bytesToHuman: B below 1 KiB, then K, M, G, T, P with two decimals. */
export function bytesToHuman(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['K', 'M', 'G', 'T', 'P'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)}${units[unit]}`;
}

/** The event mechanism libuv uses on this platform, as Redis names its own (ae's epoll, kqueue, evport). */
const multiplexingApi: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'epoll', darwin: 'kqueue', freebsd: 'kqueue', openbsd: 'kqueue', netbsd: 'kqueue', sunos: 'evport', aix: 'pollset', win32: 'iocp',
};

const sections: Record<string, Section> = {
  server: (ctx) => {
    const now = Date.now();
    const uptimeMs = now - ctx.server.stats.startedAtMs;
    return [
      ['redis_version', redisVersionCompatible],
      ['ringkv_version', ringkvVersion],
      ['redis_git_sha1', '00000000'],
      ['redis_git_dirty', 0],
      ['redis_mode', 'standalone'],
      // uname's words, as Redis writes them: "Linux 6.1.0 x86_64".
      ['os', `${os.type()} ${os.release()} ${os.machine()}`],
      ['arch_bits', process.arch.endsWith('64') ? 64 : 32],
      ['multiplexing_api', multiplexingApi[process.platform] ?? 'unknown'],
      ['node_version', process.versions.node],
      ['process_id', process.pid],
      ['run_id', ctx.server.stats.runId],
      ['tcp_port', ctx.server.config.port],
      ['server_time_usec', Math.round((performance.timeOrigin + performance.now()) * 1000)],
      ['uptime_in_seconds', Math.floor(uptimeMs / 1000)],
      ['uptime_in_days', Math.floor(uptimeMs / 86_400_000)],
      ['executable', process.argv[1] ?? ''],
      ['config_file', ctx.server.config.configFile ?? ''],
      // One thread reads and writes every client (Node's event loop), as Redis without io-threads.
      ['io_threads_active', 0],
    ];
  },
  clients: (ctx) => [
    ['connected_clients', ctx.server.clients.connectedClients],
    ['maxclients', ctx.server.config.maxClients],
    // No blocking commands, no client-side caching: nothing to count.
    ['blocked_clients', 0],
    ['tracking_clients', 0],
    // Redis 7.4's: clients holding at least one subscription on this node.
    ['pubsub_clients', ctx.server.pubsub.registry.subscriberCount],
    ['clients_in_timeout_table', 0],
  ],
  memory: () => {
    // Node's heap and the buffers outside it hold what Redis's allocator would; the records themselves are on disk.
    const m = process.memoryUsage();
    const used = m.heapUsed + m.external;
    const total = os.totalmem();
    return [
      ['used_memory', used],
      ['used_memory_human', bytesToHuman(used)],
      ['used_memory_rss', m.rss],
      ['used_memory_rss_human', bytesToHuman(m.rss)],
      ['total_system_memory', total],
      ['total_system_memory_human', bytesToHuman(total)],
      ['maxmemory', 0],
      ['maxmemory_human', '0B'],
      ['maxmemory_policy', 'noeviction'],
    ];
  },
  persistence: (ctx) => [
    ['loading', ctx.server.coordinator.view.joined() ? 0 : 1],
    ['async_loading', 0],
    ['rdb_bgsave_in_progress', 0],
    ['aof_enabled', 0],
    ['storage_engine', 'leveldb'],
    // The group commit (storage/group-commit.ts): batches written, writes they carried, and one batch's LevelDB write in µs.
    ...commitFields(ctx.server.coordinator.storage.commits?.()),
  ],
  stats: (ctx) => {
    const s = ctx.server.coordinator.stats;
    const stats = ctx.server.stats;
    return [
      ['total_connections_received', ctx.server.clients.totalConnections],
      ['total_commands_processed', stats.commands.commandsProcessed],
      ['instantaneous_ops_per_sec', Math.round(stats.rates.ops.perSecond())],
      ['total_net_input_bytes', stats.netInputBytes],
      ['total_net_output_bytes', stats.netOutputBytes],
      ['instantaneous_input_kbps', (stats.rates.netInput.perSecond() / 1024).toFixed(2)],
      ['instantaneous_output_kbps', (stats.rates.netOutput.perSecond() / 1024).toFixed(2)],
      ['rejected_connections', ctx.server.clients.rejectedConnections],
      // ringkv never evicts a key to make room.
      ['evicted_keys', 0],
      // This node's subscriptions, as Redis counts them (PUBSUB CHANNELS and NUMPAT answer for the cluster); no shard channels.
      ['pubsub_channels', ctx.server.pubsub.registry.channelCount],
      ['pubsub_patterns', ctx.server.pubsub.registry.patternCount],
      ['pubsubshard_channels', 0],
      ['total_error_replies', stats.commands.errorReplies],
      ['total_reads_processed', stats.readsProcessed],
      ['total_writes_processed', stats.writesProcessed],
      ['client_query_buffer_limit_disconnections', stats.queryBufferLimitDisconnections],
      ['client_output_buffer_limit_disconnections', stats.outputBufferLimitDisconnections],
      // ringkv's own, from here on: they count from the node's start (CONFIG RESETSTAT leaves them).
      ['protocol_errors', stats.protocolErrors],
      ['read_repairs', s.readRepairs],
      ['read_repairs_skipped', s.readRepairsSkipped],
      ['sibling_reads', s.siblingReads],
      ['sibling_limit_refusals', s.siblingLimitRefusals],
      ['read_quorum_failures', s.readQuorumFailures],
      ['write_quorum_failures', s.writeQuorumFailures],
      ['forwarded_writes', s.forwardedWrites],
      ['writes_with_fallbacks', s.writesWithFallbacks],
      ['writes_coordinated_as_fallback', s.fallbackCoordinated],
      ['reads_with_fallbacks', s.readsWithFallbacks],
      // Delta replication of collections (coordinator/delta.ts): sent by this node as coordinator, then whole records sent after one;
      // applied and held by this node as replica. delta_mismatches above 0 is a bug to report (the whole record went instead).
      ['deltas_sent', s.deltasSent],
      ['delta_fallbacks', s.deltaFallbacks],
      ['delta_mismatches', s.deltaMismatches],
      ['deltas_applied', s.deltasApplied],
      ['deltas_held', s.deltasHeld],
      ['records_collected', ctx.server.coordinator.collector.stats.collected],
      ['reaps_unconfirmed', ctx.server.coordinator.collector.stats.unconfirmed],
      ['reap_repairs', ctx.server.coordinator.collector.stats.repaired],
      ['records_undecodable', ctx.server.coordinator.collector.stats.undecodable],
      ['pubsub_published', ctx.server.pubsub.stats.published],
      ['pubsub_peer_publishes', ctx.server.pubsub.stats.peerPublishes],
      ['pubsub_peer_publishes_dropped', ctx.server.pubsub.stats.peerPublishesDropped],
      ['pubsub_peer_publishes_unanswered', ctx.server.pubsub.stats.peerPublishesUnanswered],
      ['pubsub_peer_queries_unanswered', ctx.server.pubsub.stats.peerQueriesUnanswered],
    ];
  },
  // Every node takes writes and replicates them by quorum, not by Redis's replication stream:
  // to a Redis tool each node is a master with no replicas and a stream that never moved.
  replication: (ctx) => [
    ['role', 'master'],
    ['connected_slaves', 0],
    ['master_failover_state', 'no-failover'],
    ['master_replid', ctx.server.stats.replicationId],
    ['master_replid2', '0'.repeat(40)],
    ['master_repl_offset', 0],
    ['second_repl_offset', -1],
    ['repl_backlog_active', 0],
    ['repl_backlog_size', 0],
    ['repl_backlog_first_byte_offset', 0],
    ['repl_backlog_histlen', 0],
  ],
  cpu: () => {
    const u = process.cpuUsage();
    return [
      ['used_cpu_sys', (u.system / 1e6).toFixed(6)],
      ['used_cpu_user', (u.user / 1e6).toFixed(6)],
      // A node starts no child processes (Redis's are its forks for snapshots).
      ['used_cpu_sys_children', '0.000000'],
      ['used_cpu_user_children', '0.000000'],
    ];
  },
  modules: () => [],
  commandstats: (ctx) => ctx.server.stats.commands.commandLines(),
  errorstats: (ctx) => ctx.server.stats.commands.errorLines(),
  latencystats: (ctx) => ctx.server.stats.commands.latencyLines(),
  cluster: (ctx) => {
    const members = ctx.server.cluster.members();
    const s = ctx.server.coordinator.stats;
    const config = ctx.server.config;
    return [
      ['cluster_enabled', 0],
      ['ringkv_node_id', ctx.server.coordinator.selfId],
      ['cluster_name', config.clusterName],
      ['cluster_members', members.length],
      ['cluster_members_up', members.filter((m) => m.liveness === 'up').length],
      ['replication_factor', config.n],
      ['read_quorum', config.r],
      ['write_quorum', config.w],
      ['vnodes', config.vnodes],
      ['local_records', ctx.server.coordinator.storage.recordCount()],
      // Large collections stored as chains (crdt/value-chain.ts): links appended instead of whole records, and the records holding links now.
      ['chain_links_written', ctx.server.coordinator.storage.chains?.().linksWritten ?? 0],
      ['chained_records', ctx.server.coordinator.storage.chains?.().chainedRecords ?? 0],
      ['read_repairs', s.readRepairs],
      ['quorum_failures', s.readQuorumFailures + s.writeQuorumFailures],
      ['sibling_reads', s.siblingReads],
      ['writes_with_fallbacks', s.writesWithFallbacks],
      // Of those, writes whose every primary was down, coordinated by a fallback and kept only as hints.
      ['writes_coordinated_as_fallback', s.fallbackCoordinated],
      ...hintLines(ctx),
      ...transferLines(ctx),
      // --read-through: reads of the old Redis during a cut-over (migrate/read-through.ts).
      ...(ctx.server.readThrough?.info() ?? []),
      // Whether this node pings members' hosts (off without raw sockets): the host= fields below say 'off' then.
      ['host_probe', ctx.server.cluster.hostProbe()],
      // One line per member, as Redis lists replicas (slave0:ip=…,state=…): its ring state, the detector's verdict and
      // phi, then what a ping of its host says — a diagnosis beside liveness (`ringkv status` words the two together).
      ...members.map((m, i): [string, string] => [`member${i}`,
        `id=${m.id},address=${m.host}:${m.respPort},state=${m.state},liveness=${m.liveness},phi=${formatPhi(m.phi)},host=${m.hostReach}` +
        (m.hostRttMs === undefined ? '' : `,host_rtt_ms=${m.hostRttMs.toFixed(2)}`)]),
    ];
  },
  // Anti-entropy: exchanges, what they found and moved, and each tree's age (Riak's aae-status).
  antientropy: (ctx) => ctx.server.repair?.info() ?? [['anti_entropy', 'off']],
  keyspace: (ctx) => {
    const { keys, expires, avgTtlMs } = ctx.server.coordinator.storage.keyspace(Date.now());
    return keys === 0 ? [] : [['db0', `keys=${keys},expires=${expires},avg_ttl=${avgTtlMs}`]];
  },
};

/** This node's ring transfer (join, leave, cleanup): what `ringkv status` shows beside a joining or leaving member. */
function transferLines(ctx: CommandContext): [string, string | number][] {
  const t = ctx.server.cluster.transfer();
  if (t.operation === undefined) return [['ring_transfer', 'none']];
  return [
    ['ring_transfer', `${t.operation},phase=${t.phase ?? 'none'},spans=${t.spansDone}/${t.spansTotal},records=${t.records},bytes=${t.bytes}`],
  ];
}

/**
 * Every section in Redis 7's order, ringkv's AntiEntropy after Cluster.
 * INFO and INFO default leave out commandstats and latencystats, as Redis
 * does; all and everything (Redis's everything adds modules' own sections,
 * of which ringkv has none) show every one.
 */
function commitFields(c: ReturnType<NonNullable<Storage['commits']>> | undefined): [string, number][] {
  if (c === undefined) return [];
  return [['commit_batches', c.batches], ['commit_writes', c.writes], ['commit_p50_us', c.p50Us], ['commit_p99_us', c.p99Us], ['commit_p999_us', c.p999Us], ['commit_max_us', c.maxUs]];
}

const sectionOrder = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'commandstats',
  'errorstats', 'latencystats', 'cluster', 'antientropy', 'keyspace'];
const notDefault = new Set(['commandstats', 'latencystats']);
const titles: Record<string, string> = { cpu: 'CPU', antientropy: 'AntiEntropy' };

function title(name: string): string {
  return titles[name] ?? name[0]!.toUpperCase() + name.slice(1);
}

/** The sections to show, in Redis's order whatever the order asked; unknown names are ignored, as Redis does. */
function sectionsFor(requested: readonly string[]): string[] {
  const wanted = new Set<string>();
  for (const name of requested.length === 0 ? ['default'] : requested) {
    if (name === 'all' || name === 'everything') {
      for (const n of sectionOrder) wanted.add(n);
    } else if (name === 'default') {
      for (const n of sectionOrder) if (!notDefault.has(n)) wanted.add(n);
    } else {
      wanted.add(name);
    }
  }
  return sectionOrder.filter((n) => wanted.has(n));
}

export function infoText(ctx: CommandContext, requested: readonly string[]): string {
  const blocks = sectionsFor(requested).map((name) => {
    const lines = sections[name]!(ctx).map(([field, value]) => `${field}:${value}`);
    return `# ${title(name)}\r\n${lines.map((l) => `${l}\r\n`).join('')}`;
  });
  return blocks.join('\r\n');
}

function info(ctx: CommandContext, args: Buffer[]): Reply {
  const requested = args.slice(1).map((a) => a.toString('latin1').toLowerCase());
  return new VerbatimReply(infoText(ctx, requested));
}

const configHelp = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
  'HELP',
  '    Prints this help.',
].map((line) => new SimpleReply(line));

/** CONFIG GET, SET, RESETSTAT, REWRITE and HELP, with Redis 7's arities and errors; the options themselves are cli/runtime-config.ts's. */
function config(ctx: CommandContext, args: Buffer[]): Reply | Promise<Reply> {
  const sub = upper(args[1]!);
  const arity = (ok: boolean) => {
    if (!ok) throw new CommandError(`ERR wrong number of arguments for 'config|${sub.toLowerCase()}' command`);
  };
  switch (sub) {
    case 'GET': {
      arity(args.length >= 3);
      const patterns = args.slice(2);
      const entries = ctx.server.runtimeConfig.parameters()
        .filter(([name]) => patterns.some((p) => globMatch(p, Buffer.from(name, 'latin1'), true)))
        .map(([name, value]): [Reply, Reply] => [name, value]);
      return new MapReply(entries);
    }
    case 'SET': {
      arity(args.length >= 4);
      // Redis 7: parameter-value pairs, several at once.
      if (args.length % 2 !== 0) throw new CommandError(syntaxError);
      const pairs: [Buffer, Buffer][] = [];
      for (let i = 2; i < args.length; i += 2) pairs.push([args[i]!, args[i + 1]!]);
      ctx.server.runtimeConfig.set(pairs);
      return OK;
    }
    case 'RESETSTAT':
      arity(args.length === 2);
      resetServerStats(ctx.server.stats);
      ctx.server.clients.resetStats();
      return OK;
    case 'REWRITE':
      arity(args.length === 2);
      return ctx.server.runtimeConfig.rewrite().then(() => OK);
    case 'HELP':
      arity(args.length === 2);
      return configHelp;
    default:
      throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try CONFIG HELP.`);
  }
}

function time(): Reply {
  const now = process.hrtime.bigint();
  const micros = BigInt(Date.now()) * 1000n + (now / 1000n) % 1000n;
  return [String(micros / 1_000_000n), String(micros % 1_000_000n)];
}

function commandInfo(spec: CommandSpec): Reply {
  const subcommands = spec.subcommands === undefined ? [] : [...spec.subcommands.values()].map(commandInfo);
  return [
    spec.name,
    spec.arity,
    spec.flags.map((f) => new SimpleReply(f)),
    spec.firstKey,
    spec.lastKey,
    spec.step,
    [],
    [],
    [],
    subcommands,
  ];
}

function commandDocs(spec: CommandSpec): Reply {
  const entries: [Reply, Reply][] = [
    ['summary', spec.summary],
    ['since', spec.since],
    ['group', spec.group],
  ];
  if (spec.arguments.length > 0) entries.push(['arguments', spec.arguments.map(argumentReply)]);
  if (spec.subcommands !== undefined) {
    entries.push(['subcommands', new MapReply([...spec.subcommands.values()].map((s): [Reply, Reply] => [s.name, commandDocs(s)]))]);
  }
  return new MapReply(entries);
}

function uniqueSpecs(ctx: CommandContext): CommandSpec[] {
  return [...new Set(ctx.server.commands.values())];
}

/** COMMAND HELP in Redis's words, listing only the subcommands ringkv serves. */
const commandHelp = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'HELP',
  '    Prints this help.',
];

function command(ctx: CommandContext, args: Buffer[]): Reply {
  if (args.length === 1) return uniqueSpecs(ctx).map(commandInfo);
  const sub = upper(args[1]!);
  const lookup = (a: Buffer) => ctx.server.commands.get(a.toString('latin1').toLowerCase());
  switch (sub) {
    case 'COUNT':
      return uniqueSpecs(ctx).length;
    case 'INFO':
      return args.length === 2 ? uniqueSpecs(ctx).map(commandInfo) : args.slice(2).map((a) => {
        const spec = lookup(a);
        return spec === undefined ? null : commandInfo(spec);
      });
    case 'DOCS': {
      const specs = args.length === 2 ? uniqueSpecs(ctx) : args.slice(2).map(lookup).filter((s): s is CommandSpec => s !== undefined);
      return new MapReply(specs.map((s): [Reply, Reply] => [s.name, commandDocs(s)]));
    }
    case 'LIST':
      return uniqueSpecs(ctx).map((s) => s.name);
    case 'HELP':
      if (args.length !== 2) throw new CommandError("ERR wrong number of arguments for 'command|help' command");
      return helpReply(commandHelp);
    default:
      throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try COMMAND HELP.`);
  }
}

export const serverCommands = { info, config, time, command };

/** Hinted handoff as INFO shows it; all zero when hints are off. */
function hintLines(ctx: CommandContext): [string, number | string][] {
  const hints = ctx.server.coordinator.options.hints;
  let pending = 0;
  for (const p of hints?.pending().values() ?? []) pending += p.count;
  const perTarget = [...(hints?.pending() ?? new Map<string, { count: number }>())].map(([target, p]) => `${target}=${p.count}`).join(',');
  return [
    ['hints_pending', pending],
    // Which down replicas those hints wait for: `ringkv status` sums them per member.
    ['hints_pending_for', perTarget],
    ['hints_stored', hints?.stats.stored ?? 0],
    ['hints_delivered', hints?.stats.delivered ?? 0],
    ['hints_dropped', hints?.stats.dropped ?? 0],
    ['hints_expired', hints?.stats.expired ?? 0],
  ];
}
