// Server commands: INFO, CONFIG, COMMAND, TIME. INFO keeps Redis's
// `field:value` layout and the fields clients read (ioredis waits for
// `loading:0`), plus ringkv's `# Cluster` section.

import { MapReply, OK, SimpleReply, VerbatimReply, type Reply } from '../resp/reply.js';
import { syntaxError, upper } from './args.js';
import { globMatch } from './glob.js';
import { argumentReply } from './syntax.js';
import { formatPhi } from './cluster.js';
import { redisVersionCompatible } from './connection.js';
import { CommandError, resetServerStats, type CommandContext, type CommandSpec } from './types.js';

export const ringkvVersion = '0.1.0';

type Section = (ctx: CommandContext) => [string, string | number][];

const sections: Record<string, Section> = {
  server: (ctx) => {
    const uptimeMs = Date.now() - ctx.server.stats.startedAtMs;
    return [
      ['redis_version', redisVersionCompatible],
      ['ringkv_version', ringkvVersion],
      ['redis_mode', 'standalone'],
      ['os', `${process.platform} ${process.arch}`],
      ['arch_bits', 64],
      ['process_id', process.pid],
      ['tcp_port', ctx.server.config.port],
      ['uptime_in_seconds', Math.floor(uptimeMs / 1000)],
      ['uptime_in_days', Math.floor(uptimeMs / 86_400_000)],
      ['executable', process.argv[1] ?? ''],
    ];
  },
  clients: (ctx) => [
    ['connected_clients', ctx.server.clients.connectedClients],
    ['maxclients', ctx.server.config.maxClients],
    ['blocked_clients', 0],
  ],
  memory: () => {
    const m = process.memoryUsage();
    return [
      ['used_memory', m.heapUsed + m.external],
      ['used_memory_human', `${((m.heapUsed + m.external) / 1048576).toFixed(2)}M`],
      ['used_memory_rss', m.rss],
      ['maxmemory', 0],
      ['maxmemory_policy', 'noeviction'],
    ];
  },
  persistence: (ctx) => [
    ['loading', ctx.server.coordinator.view.joined() ? 0 : 1],
    ['async_loading', 0],
    ['rdb_bgsave_in_progress', 0],
    ['aof_enabled', 0],
    ['storage_engine', 'leveldb'],
  ],
  stats: (ctx) => {
    const s = ctx.server.coordinator.stats;
    return [
      ['total_connections_received', ctx.server.clients.totalConnections],
      ['total_commands_processed', ctx.server.stats.commandsProcessed],
      ['total_net_input_bytes', ctx.server.stats.netInputBytes],
      ['total_net_output_bytes', ctx.server.stats.netOutputBytes],
      ['rejected_connections', ctx.server.clients.rejectedConnections],
      ['total_error_replies', ctx.server.stats.errorReplies],
      ['protocol_errors', ctx.server.stats.protocolErrors],
      ['client_query_buffer_limit_disconnections', ctx.server.stats.queryBufferLimitDisconnections],
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
      ['records_collected', ctx.server.coordinator.collector.stats.collected],
      ['reaps_unconfirmed', ctx.server.coordinator.collector.stats.unconfirmed],
      ['reap_repairs', ctx.server.coordinator.collector.stats.repaired],
      ['records_undecodable', ctx.server.coordinator.collector.stats.undecodable],
    ];
  },
  replication: () => [
    ['role', 'master'],
    ['connected_slaves', 0],
  ],
  cpu: () => {
    const u = process.cpuUsage();
    return [
      ['used_cpu_sys', (u.system / 1e6).toFixed(6)],
      ['used_cpu_user', (u.user / 1e6).toFixed(6)],
    ];
  },
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
      ['read_repairs', s.readRepairs],
      ['quorum_failures', s.readQuorumFailures + s.writeQuorumFailures],
      ['sibling_reads', s.siblingReads],
      ['writes_with_fallbacks', s.writesWithFallbacks],
      // Of those, writes whose every primary was down, coordinated by a fallback and kept only as hints.
      ['writes_coordinated_as_fallback', s.fallbackCoordinated],
      ...hintLines(ctx),
      ...transferLines(ctx),
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
    const records = ctx.server.coordinator.storage.recordCount();
    return records === 0 ? [] : [['db0', `keys=${records},expires=0,avg_ttl=0`]];
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

const defaultSections = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'cluster', 'antientropy', 'keyspace'];

function title(name: string): string {
  return name === 'antientropy' ? 'AntiEntropy' : name[0]!.toUpperCase() + name.slice(1);
}

export function infoText(ctx: CommandContext, requested: readonly string[]): string {
  let names = requested.length === 0 ? defaultSections : requested.flatMap((r) =>
    r === 'all' || r === 'everything' || r === 'default' ? defaultSections : [r]);
  names = [...new Set(names)].filter((n) => n in sections);
  const blocks = names.map((name) => {
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
