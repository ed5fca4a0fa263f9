// A node's configuration: defaults, then a JSON file (--config), then
// environment variables (RINGKV_<FLAG>), then command-line flags, each later
// source winning. Every option is described once in `options`, so parsing,
// env names, the file's keys and the usage text cannot drift apart.
// Bad configuration is a ConfigError with a one-line message (exit code 2).

import { readFileSync } from 'node:fs';
import { parseRedisUrl } from '../migrate/endpoint.js';
import net from 'node:net';
import path from 'node:path';
import { replicatedValueBytesMax } from '../coordinator/coordinator.js';
import { tombstoneGraceMsMin } from '../coordinator/limits.js';
import { vnodesDefault, vnodesMax } from '../ring/tokens.js';
import { pacerDelayTargetMsDefault } from '../hints/stream-pacer.js';
import { isNodeId, nodeIdBytesMax } from '../membership/node-id.js';
import {
  downAfterMsDefault, gossipIntervalMsDefault, phiAcceptablePauseMsDefault, phiConvictThresholdDefault,
} from '../membership/membership.js';
import { formatPercentiles, parsePercentiles } from '../commands/command-stats.js';
import type { NodeConfig } from '../commands/node-config.js';
import { formatOutputLimits, outputLimitsDefault, outputLimitsDefaultText, parseOutputLimits } from '../pubsub/output-limit.js';
import { slowlogLogSlowerThanDefault, slowlogMaxLenDefault, slowlogMaxLenMax } from '../commands/slowlog.js';

export type { NodeConfig };

/**
 * Cassandra's max_hint_window: three hours ride out a restart, a reboot or a
 * short network outage; past it a replica's backlog is anti-entropy's job.
 */
const hintWindowMsDefault = 3 * 60 * 60 * 1000;
/** Riak's anti-entropy tick: one range exchanged with one replica every 15 s costs a quiet cluster one root comparison per tick. */
const antiEntropyIntervalMsDefault = 15_000;

/** The default window, halved below a short grace period so that it always stays shorter than the grace (validate). */
function defaultHintWindowMs(tombstoneGraceMs: number): number {
  return Math.min(hintWindowMsDefault, Math.floor(tombstoneGraceMs / 2));
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind = 'string' | 'integer' | 'number' | 'list' | 'enum';

export interface OptionSpec {
  readonly flag: string;
  readonly key: keyof NodeConfig;
  readonly kind: Kind;
  readonly min?: number;
  readonly max?: number;
  /** The values an 'enum' option accepts. */
  readonly choices?: readonly string[];
  readonly help: string;
}

const onOff = ['on', 'off'] as const;
/** Redis's booleans, for the options that carry Redis's names. */
const yesNo = ['yes', 'no'] as const;
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const logFormats = ['json', 'pretty'] as const;

const portMax = 65535;

export const options: readonly OptionSpec[] = [
  { flag: 'node-id', key: 'nodeId', kind: 'string', help: 'this node\'s id (default: generated once, kept in the data dir)' },
  { flag: 'replace', key: 'replace', kind: 'string', help: 'on first start, take over the tokens of this dead member and stream its ranges before serving (a new machine for a lost one)' },
  { flag: 'bind', key: 'bind', kind: 'string', help: 'address to listen on (default 127.0.0.1); 0.0.0.0 or :: needs --advertise-host' },
  { flag: 'advertise-host', key: 'advertiseHost', kind: 'string', help: 'host other nodes reach this one at (default: --bind; required when --bind is 0.0.0.0 or ::)' },
  { flag: 'port', key: 'port', kind: 'integer', min: 0, max: portMax, help: 'RESP port for clients (default 6379)' },
  { flag: 'peer-port', key: 'peerPort', kind: 'integer', min: 0, max: portMax, help: 'peer protocol port (default port+10000)' },
  { flag: 'data', key: 'dataDir', kind: 'string', help: 'data directory (default ./data/<port>)' },
  { flag: 'seeds', key: 'seeds', kind: 'list', help: 'host:peerport,... of nodes to join (may include this node)' },
  { flag: 'n', key: 'n', kind: 'integer', min: 1, max: 15, help: 'replicas per key (default 3 with seeds, 1 without)' },
  { flag: 'r', key: 'r', kind: 'integer', min: 1, max: 15, help: 'read quorum (default 2 with seeds, 1 without)' },
  { flag: 'w', key: 'w', kind: 'integer', min: 1, max: 15, help: 'write quorum (default 2 with seeds, 1 without)' },
  { flag: 'vnodes', key: 'vnodes', kind: 'integer', min: 1, max: vnodesMax, help: `virtual nodes per node (default ${vnodesDefault})` },
  { flag: 'requirepass', key: 'requirepass', kind: 'string', help: 'password clients must AUTH with' },
  { flag: 'cluster-secret', key: 'clusterSecret', kind: 'string', help: 'shared secret nodes prove to each other' },
  { flag: 'cluster-name', key: 'clusterName', kind: 'string', help: 'cluster name checked in the peer handshake (default ringkv)' },
  { flag: 'request-timeout-ms', key: 'requestTimeoutMs', kind: 'integer', min: 10, max: 600_000, help: 'replica request timeout (default 1000)' },
  { flag: 'hint-window-ms', key: 'hintWindowMs', kind: 'integer', min: 0, max: 3_153_600_000_000, help: `how long a fallback keeps hints for a down replica (default ${hintWindowMsDefault} = 3 h, Cassandra's, or half the grace if that is shorter; 0 turns hints off); must be shorter than --tombstone-grace-ms` },
  { flag: 'stream-delay-target-ms', key: 'streamDelayTargetMs', kind: 'integer', min: 0, max: 10_000, help: `range streams (join, leave, cleanup) slow down while the longest event-loop delay in a half-second window on a node they pass through is above twice the highest of those nodes' own baselines, or above this if higher, to leave their clients room (default ${pacerDelayTargetMsDefault}; 0 streams at the full rate whatever the delay)` },
  { flag: 'tombstone-grace-ms', key: 'tombstoneGraceMs', kind: 'integer', min: tombstoneGraceMsMin, max: 3_153_600_000_000, help: `how long deletes are remembered (default 86400000 = 1 day, minimum ${tombstoneGraceMsMin})` },
  { flag: 'siblings-max', key: 'siblingsMax', kind: 'integer', min: 1, max: 10_000, help: 'writes leaving more siblings are refused (default 100)' },
  { flag: 'siblings-warn', key: 'siblingsWarn', kind: 'integer', min: 1, max: 10_000, help: 'log a warning past this many siblings (default 25)' },
  { flag: 'proto-max-bulk-len', key: 'protoMaxBulkLen', kind: 'integer', min: 1024 * 1024, max: 2 ** 31 - 1, help: `largest value accepted, bytes (default 536870912; with --n above 1 at most ${replicatedValueBytesMax}, what a peer frame carries)` },
  { flag: 'maxclients', key: 'maxClients', kind: 'integer', min: 1, max: 1_000_000, help: 'client connections (default 10000)' },
  { flag: 'gossip-interval-ms', key: 'gossipIntervalMs', kind: 'integer', min: 10, max: 60_000, help: `gossip round interval (default ${gossipIntervalMsDefault})` },
  { flag: 'phi-convict-threshold', key: 'phiConvictThreshold', kind: 'number', min: 1, max: 16, help: `failure detector: a member is down at this phi (default ${phiConvictThresholdDefault}; higher is slower and surer)` },
  { flag: 'phi-acceptable-pause-ms', key: 'phiAcceptablePauseMs', kind: 'integer', min: 0, max: 600_000, help: `failure detector: silence tolerated beyond a member's usual rhythm (default ${phiAcceptablePauseMsDefault})` },
  { flag: 'down-after-ms', key: 'downAfterMs', kind: 'integer', min: 50, max: 600_000, help: `a member silent this long is down whatever its phi (default ${downAfterMsDefault})` },
  { flag: 'anti-entropy', key: 'antiEntropy', kind: 'enum', choices: onOff, help: 'on|off: keep a Merkle tree per replica set and exchange it with the other replicas (default on); off: no trees, no RING REPAIR' },
  { flag: 'anti-entropy-interval-ms', key: 'antiEntropyIntervalMs', kind: 'integer', min: 0, max: 86_400_000, help: `anti-entropy: exchange one range with one replica this often, in the background (default ${antiEntropyIntervalMsDefault}, Riak's tick; 0 = only on \`ringkv repair\`)` },
  { flag: 'host-probe', key: 'hostProbe', kind: 'enum', choices: onOff, help: 'on|off: ping each member\'s host, shown beside liveness in status and INFO, never used for it (default on; off by itself without root or CAP_NET_RAW)' },
  { flag: 'log-level', key: 'logLevel', kind: 'enum', choices: logLevels, help: `${logLevels.join('|')} (default info)` },
  { flag: 'log-format', key: 'logFormat', kind: 'enum', choices: logFormats, help: 'json|pretty: one JSON object a line, for a log pipeline (default), or coloured lines for a terminal (pino-pretty)' },
  { flag: 'metrics-port', key: 'metricsPort', kind: 'integer', min: 0, max: portMax, help: 'serve Prometheus metrics at http://<bind>:<port>/metrics (default: off)' },
  { flag: 'slowlog-log-slower-than', key: 'slowlogLogSlowerThan', kind: 'integer', min: -1, max: Number.MAX_SAFE_INTEGER, help: `SLOWLOG keeps commands that took at least this many microseconds (default ${slowlogLogSlowerThanDefault}, as Redis; 0 every command, -1 none)` },
  { flag: 'slowlog-max-len', key: 'slowlogMaxLen', kind: 'integer', min: 0, max: slowlogMaxLenMax, help: `SLOWLOG entries kept, the oldest dropped first (default ${slowlogMaxLenDefault}, as Redis)` },
  { flag: 'latency-tracking', key: 'latencyTracking', kind: 'enum', choices: yesNo, help: 'yes|no: a latency histogram per command for INFO latencystats (default yes, as Redis)' },
  { flag: 'latency-tracking-info-percentiles', key: 'latencyTrackingInfoPercentiles', kind: 'string', help: 'the percentiles INFO latencystats shows, separated by spaces (default "50 99 99.9", as Redis)' },
  { flag: 'tls-port', key: 'tlsPort', kind: 'integer', min: 0, max: portMax, help: 'a second RESP port for clients, speaking TLS (default: none); needs --tls-cert-file and --tls-key-file' },
  { flag: 'tls-cert-file', key: 'tlsCertFile', kind: 'string', help: 'this node\'s certificate (PEM), shown to TLS clients and, with --tls-cluster yes, to peers' },
  { flag: 'tls-key-file', key: 'tlsKeyFile', kind: 'string', help: 'the private key of --tls-cert-file (PEM)' },
  { flag: 'tls-ca-cert-file', key: 'tlsCaCertFile', kind: 'string', help: 'the CA certificates (PEM) that client and peer certificates must be signed by' },
  { flag: 'tls-auth-clients', key: 'tlsAuthClients', kind: 'enum', choices: ['yes', 'no', 'optional'], help: 'yes|no|optional: TLS clients must show a certificate signed by --tls-ca-cert-file (default yes, as Redis); optional checks one only if shown' },
  { flag: 'tls-cluster', key: 'tlsCluster', kind: 'enum', choices: yesNo, help: 'yes|no: the peer port speaks only TLS, and each side must show a certificate signed by --tls-ca-cert-file (default no)' },
  { flag: 'read-through', key: 'readThrough', kind: 'string', help: 'redis://[user:pass@]host:port[/db] of a Redis being migrated from: a key ringkv holds no version of is read there and imported (cut-over; README "Migrating from Redis")' },
  { flag: 'client-output-buffer-limit', key: 'clientOutputBufferLimit', kind: 'string', help: `Redis's "<class> <hard> <soft> <soft-seconds>" …: a subscriber whose unsent output passes hard, or stays past soft that long, is disconnected; only the pubsub class applies (default "${outputLimitsDefaultText}")` },
];

type Raw = Partial<Record<keyof NodeConfig, string | number | string[]>>;

/**
 * One option's value, checked against its kind. `name` is how the user wrote
 * the option where the value came from (`--port`, `RINGKV_PORT`, or the
 * file's key), so the one-line message points at the thing to fix.
 */
function convert(spec: OptionSpec, value: unknown, name: string): string | number | string[] {
  const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  if (spec.kind === 'list') {
    if (Array.isArray(value)) return value.map(String);
    if (typeof value !== 'string') throw new ConfigError(`${name} needs a comma-separated list, got ${shown}`);
    return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  }
  if (spec.kind === 'integer' || spec.kind === 'number') {
    const text = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
    const pattern = spec.kind === 'integer' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
    if (!pattern.test(text)) throw new ConfigError(`${name} needs ${spec.kind === 'integer' ? 'an integer' : 'a number'}, got ${shown}`);
    const n = Number(text);
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
      throw new ConfigError(`${name} must be ${spec.min ?? '…'}..${spec.max ?? '…'}, got ${text}`);
    }
    return n;
  }
  if (spec.kind === 'enum') {
    if (typeof value !== 'string' || !spec.choices!.includes(value)) throw new ConfigError(`${name} needs one of ${spec.choices!.join(', ')}, got ${shown}`);
    return value;
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError(`${name} needs a string, got ${shown}`);
  return String(value);
}

/**
 * Flags from argv: `--flag value` or `--flag=value`. Unknown flags are
 * errors. A value that starts with `--` is taken for the next flag, so
 * `--port --bind x` says --port lacks its value instead of complaining that
 * '--bind' is not a port; `--flag=--value` still passes such a value.
 */
export function parseFlags<S extends { readonly flag: string }>(argv: readonly string[], known: readonly S[]): Map<S, string> {
  const out = new Map<S, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) throw new ConfigError(`unexpected argument '${arg}' (options start with --; try: ringkv help)`);
    const eq = arg.indexOf('=');
    const written = arg.slice(0, eq < 0 ? undefined : eq);
    const spec = written.startsWith('--') ? known.find((o) => o.flag === written.slice(2)) : undefined;
    if (spec === undefined) throw new ConfigError(`unknown option ${written} (try: ringkv help)`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`${written} needs a value`);
      i++;
    }
    // An empty value is a slip (`--bind=` or `--data "$UNSET"`), not a choice; the environment ignores empty variables the same way.
    if (value === '') throw new ConfigError(`${written} needs a value`);
    out.set(spec, value);
  }
  return out;
}

function fromFile(file: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: expected a JSON object`);
  const raw: Raw = {};
  for (const [name, value] of Object.entries(parsed)) {
    const spec = options.find((o) => o.flag === name || o.key === name);
    if (spec === undefined) throw new ConfigError(`config file ${file}: unknown option '${name}'`);
    raw[spec.key] = convert(spec, value, `config file ${file}: ${name}`);
  }
  return raw;
}

function fromEnv(env: NodeJS.ProcessEnv): Raw {
  const raw: Raw = {};
  for (const spec of options) {
    const name = `RINGKV_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
    const value = env[name];
    if (value !== undefined && value !== '') raw[spec.key] = convert(spec, value, name);
  }
  return raw;
}

/** Resolves a node's configuration from argv (after `start`) and the environment. */
export function resolveConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const { raw, configFile } = gather(argv, env);
  return { ...finish(raw), configFile };
}

/**
 * The host a node started with these options would advertise. The cluster
 * launcher names its nodes' seeds with it, before it can resolve a whole
 * node configuration (which needs those seeds).
 */
export function resolveAdvertiseHost(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const { raw } = gather(argv, env);
  return advertiseHostFor((raw.bind as string | undefined) ?? bindDefault, raw.advertiseHost as string | undefined);
}

/**
 * Every source's values, converted and merged (flags over environment over
 * file), before defaults and cross-checks; and the file's absolute path,
 * which CONFIG REWRITE writes back to.
 */
function gather(argv: readonly string[], env: NodeJS.ProcessEnv): { raw: Raw; configFile: string | undefined } {
  const configFlag = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  let rest = [...argv];
  let file: Raw = {};
  let configFile: string | undefined;
  if (configFlag >= 0) {
    const arg = argv[configFlag]!;
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[configFlag + 1];
    if (value === undefined || value.startsWith('--')) throw new ConfigError('--config needs a file');
    file = fromFile(value);
    configFile = path.resolve(value);
    rest.splice(configFlag, arg.includes('=') ? 1 : 2);
  }
  const flags: Raw = {};
  for (const [spec, value] of parseFlags(rest, options)) flags[spec.key] = convert(spec, value, `--${spec.flag}`);
  return { raw: { ...file, ...fromEnv(env), ...flags }, configFile };
}

/** Loopback: a node started without --bind is reachable from this machine only, until the operator chooses otherwise. */
const bindDefault = '127.0.0.1';

function finish(raw: Raw): NodeConfig {
  const seeds = (raw.seeds as string[] | undefined) ?? [];
  for (const seed of seeds) {
    if (!/^[^\s:]+:\d{1,5}$/.test(seed)) throw new ConfigError(`seed '${seed}' is not host:peerport`);
  }
  const clustered = seeds.length > 0;
  const port = (raw.port as number | undefined) ?? 6379;
  const bind = (raw.bind as string | undefined) ?? bindDefault;
  const n = (raw.n as number | undefined) ?? (clustered ? 3 : 1);
  const quorumDefault = Math.floor(n / 2) + 1;
  const config: NodeConfig = {
    nodeId: raw.nodeId as string | undefined,
    replace: raw.replace as string | undefined,
    bind,
    advertiseHost: advertiseHostFor(bind, raw.advertiseHost as string | undefined),
    port,
    peerPort: (raw.peerPort as number | undefined) ?? (port === 0 ? 0 : port + 10000),
    dataDir: path.resolve((raw.dataDir as string | undefined) ?? path.join('data', String(port))),
    seeds,
    n,
    r: (raw.r as number | undefined) ?? Math.min(quorumDefault, n),
    w: (raw.w as number | undefined) ?? Math.min(quorumDefault, n),
    vnodes: (raw.vnodes as number | undefined) ?? vnodesDefault,
    requirepass: raw.requirepass as string | undefined,
    clusterSecret: (raw.clusterSecret as string | undefined) ?? '',
    clusterName: (raw.clusterName as string | undefined) ?? 'ringkv',
    requestTimeoutMs: (raw.requestTimeoutMs as number | undefined) ?? 1000,
    tombstoneGraceMs: (raw.tombstoneGraceMs as number | undefined) ?? 86_400_000,
    hintWindowMs: (raw.hintWindowMs as number | undefined) ?? defaultHintWindowMs((raw.tombstoneGraceMs as number | undefined) ?? 86_400_000),
    streamDelayTargetMs: (raw.streamDelayTargetMs as number | undefined) ?? pacerDelayTargetMsDefault,
    siblingsMax: (raw.siblingsMax as number | undefined) ?? 100,
    siblingsWarn: (raw.siblingsWarn as number | undefined) ?? 25,
    protoMaxBulkLen: valueBytesMax((raw.protoMaxBulkLen as number | undefined) ?? protoMaxBulkLenDefault, n),
    maxClients: (raw.maxClients as number | undefined) ?? 10_000,
    gossipIntervalMs: (raw.gossipIntervalMs as number | undefined) ?? gossipIntervalMsDefault,
    phiConvictThreshold: (raw.phiConvictThreshold as number | undefined) ?? phiConvictThresholdDefault,
    phiAcceptablePauseMs: (raw.phiAcceptablePauseMs as number | undefined) ?? phiAcceptablePauseMsDefault,
    downAfterMs: (raw.downAfterMs as number | undefined) ?? downAfterMsDefault,
    antiEntropy: (raw.antiEntropy as 'on' | 'off' | undefined) ?? 'on',
    antiEntropyIntervalMs: (raw.antiEntropyIntervalMs as number | undefined) ?? antiEntropyIntervalMsDefault,
    hostProbe: (raw.hostProbe as 'on' | 'off' | undefined) ?? 'on',
    logLevel: (raw.logLevel as string | undefined) ?? 'info',
    logFormat: (raw.logFormat as 'json' | 'pretty' | undefined) ?? 'json',
    metricsPort: raw.metricsPort as number | undefined,
    slowlogLogSlowerThan: (raw.slowlogLogSlowerThan as number | undefined) ?? slowlogLogSlowerThanDefault,
    slowlogMaxLen: (raw.slowlogMaxLen as number | undefined) ?? slowlogMaxLenDefault,
    latencyTracking: (raw.latencyTracking as 'yes' | 'no' | undefined) ?? 'yes',
    latencyTrackingInfoPercentiles: percentilesOption((raw.latencyTrackingInfoPercentiles as string | undefined) ?? '50 99 99.9'),
    readThrough: readThroughOption(raw.readThrough as string | undefined),
    tlsPort: raw.tlsPort as number | undefined,
    tlsCertFile: pathOption(raw.tlsCertFile),
    tlsKeyFile: pathOption(raw.tlsKeyFile),
    tlsCaCertFile: pathOption(raw.tlsCaCertFile),
    tlsAuthClients: (raw.tlsAuthClients as 'yes' | 'no' | 'optional' | undefined) ?? 'yes',
    tlsCluster: (raw.tlsCluster as 'yes' | 'no' | undefined) ?? 'no',
    clientOutputBufferLimit: outputLimitOption((raw.clientOutputBufferLimit as string | undefined) ?? ''),
    configFile: undefined,
  };
  validate(config);
  return config;
}

/** The read-through URL, checked as `ringkv migrate --from` checks it. */
function readThroughOption(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    parseRedisUrl(text);
  } catch (err) {
    throw new ConfigError(`--read-through: ${(err as Error).message}`);
  }
  return text;
}

/** A file option, made absolute so that CONFIG GET and the error messages name the file read. */
function pathOption(value: Raw[keyof NodeConfig]): string | undefined {
  return typeof value === 'string' && value !== '' ? path.resolve(value) : undefined;
}

/** The percentiles, checked as Redis checks them and written back normalized ("50.0 99" reads as "50 99"). */
function percentilesOption(text: string): string {
  const parsed = parsePercentiles(text);
  if (typeof parsed === 'string') throw new ConfigError(`--latency-tracking-info-percentiles '${text}': ${parsed}`);
  return formatPercentiles(parsed);
}

/** The limits over Redis's defaults, checked as Redis checks them and written back in full, as CONFIG GET shows them. */
function outputLimitOption(text: string): string {
  const parsed = parseOutputLimits(text, outputLimitsDefault);
  if (typeof parsed === 'string') throw new ConfigError(`--client-output-buffer-limit '${text}': ${parsed}`);
  return formatOutputLimits(parsed);
}

/** An address that means "every interface" (0.0.0.0, ::, 0:0:…:0): fine to listen on, but no peer can reach a node there. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || (net.isIPv6(host) && /^[0:]+$/.test(host));
}

/**
 * The host this node tells its peers (gossip, RING MEMBERS, the seed list's
 * self-check): --advertise-host, else --bind. A wildcard bind names no
 * address, and guessing one (127.0.0.1, or the first interface) would put an
 * address in gossip that other machines cannot reach, or reach the wrong
 * network at; so it is refused, and the operator names the address.
 */
export function advertiseHostFor(bind: string, advertiseHost: string | undefined): string {
  if (advertiseHost === undefined) {
    if (isWildcardHost(bind)) {
      throw new ConfigError(`--bind ${bind} listens on every interface, so it is no address for other nodes: set --advertise-host (or RINGKV_ADVERTISE_HOST) to the address they reach this node at`);
    }
    return bind;
  }
  if (isWildcardHost(advertiseHost)) {
    throw new ConfigError(`--advertise-host ${advertiseHost} is no address other nodes can reach: give this node's own address`);
  }
  return advertiseHost;
}

/** Redis's default proto-max-bulk-len, the largest value a node of one accepts. */
const protoMaxBulkLenDefault = 512 * 1024 * 1024;

/**
 * The largest value the node will take: with N > 1 every value must fit one
 * peer frame to reach the other replicas (replicatedValueBytesMax, ~63 MiB),
 * so that is the limit whatever proto-max-bulk-len asks for — the parser
 * enforces it and CONFIG GET proto-max-bulk-len reports it, rather than
 * promising 512 MB and refusing at replication.
 */
function valueBytesMax(configured: number, n: number): number {
  return n > 1 ? Math.min(configured, replicatedValueBytesMax) : configured;
}

function validate(c: NodeConfig): void {
  if (c.r > c.n) throw new ConfigError(`--r ${c.r} is larger than --n ${c.n}`);
  if (c.w > c.n) throw new ConfigError(`--w ${c.w} is larger than --n ${c.n}`);
  if (c.siblingsWarn > c.siblingsMax) throw new ConfigError(`--siblings-warn ${c.siblingsWarn} is larger than --siblings-max ${c.siblingsMax}`);
  // A hint older than a reaped tombstone would bring the deleted value back (hints/hint-store.ts hintAgeFrom).
  if (c.hintWindowMs > 0 && c.hintWindowMs >= c.tombstoneGraceMs) {
    throw new ConfigError(`--hint-window-ms ${c.hintWindowMs} must be shorter than --tombstone-grace-ms ${c.tombstoneGraceMs}, or 0`);
  }
  if (c.port !== 0 && c.port === c.peerPort) throw new ConfigError(`--port and --peer-port are both ${c.port}`);
  if (c.metricsPort !== undefined && c.metricsPort !== 0 && (c.metricsPort === c.port || c.metricsPort === c.peerPort)) {
    throw new ConfigError(`--metrics-port ${c.metricsPort} is also the ${c.metricsPort === c.port ? '--port' : '--peer-port'}`);
  }
  if (c.downAfterMs < 3 * c.gossipIntervalMs) {
    throw new ConfigError(`--down-after-ms ${c.downAfterMs} must span at least 3 gossip rounds (3 × --gossip-interval-ms ${c.gossipIntervalMs})`);
  }
  if (c.phiAcceptablePauseMs >= c.downAfterMs) {
    throw new ConfigError(`--phi-acceptable-pause-ms ${c.phiAcceptablePauseMs} must be below --down-after-ms ${c.downAfterMs}, or phi never decides`);
  }
  if (c.replace !== undefined && !isNodeId(c.replace)) throw new ConfigError(`--replace '${c.replace}' is not a node id`);
  if (c.replace !== undefined && c.seeds.length === 0) throw new ConfigError('--replace needs --seeds: the cluster the dead member was part of');
  if (c.nodeId !== undefined && !isNodeId(c.nodeId)) {
    throw new ConfigError(`--node-id '${c.nodeId}' must be 1-${nodeIdBytesMax} characters of letters, digits, '.', '_' or '-'`);
  }
  validateTls(c);
}

/** TLS needs the files its listeners use; the files themselves are read and checked at start (cli/tls.ts). */
function validateTls(c: NodeConfig): void {
  const tlsClients = c.tlsPort !== undefined;
  const tlsPeers = c.tlsCluster === 'yes';
  if (!tlsClients && !tlsPeers) return;
  const why = tlsClients ? '--tls-port' : '--tls-cluster yes';
  if (c.tlsCertFile === undefined || c.tlsKeyFile === undefined) throw new ConfigError(`${why} needs --tls-cert-file and --tls-key-file`);
  if (tlsPeers && c.tlsCaCertFile === undefined) throw new ConfigError('--tls-cluster yes needs --tls-ca-cert-file: peers are admitted by a certificate it signed');
  if (tlsClients && c.tlsAuthClients !== 'no' && c.tlsCaCertFile === undefined) {
    throw new ConfigError(`--tls-auth-clients ${c.tlsAuthClients} needs --tls-ca-cert-file to check client certificates (or --tls-auth-clients no)`);
  }
  if (tlsClients && c.tlsPort !== 0 && (c.tlsPort === c.port || c.tlsPort === c.peerPort)) {
    throw new ConfigError(`--tls-port ${c.tlsPort} is also ${c.tlsPort === c.port ? '--port' : '--peer-port'}`);
  }
}

export function usage(): string {
  const lines = options.map((o) => `  --${o.flag.padEnd(22)} ${o.help}`);
  return [
    'usage: ringkv start [options]      one node in the foreground',
    '       ringkv cluster --nodes K [--base-port 7001] [--data DIR] [node options]',
    '       ringkv status [-h HOST] [-p PORT] [-a PASSWORD]',
    '       ringkv repair [-h HOST] [-p PORT] [-a PASSWORD]   anti-entropy now over every range the node holds',
    '       ringkv removenode ID [-h HOST] [-p PORT] [-a PASSWORD]   take a dead member out of the ring; the others re-replicate its ranges',
    '       ringkv decommission [-h HOST] [-p PORT] [-a PASSWORD]   the node at HOST:PORT hands its ranges over and leaves the ring',
    '       ringkv migrate --from redis://[user:pass@]host:port[/db] [--to host:port] [-a PASSWORD] [--rate KEYS/S] [--verify sample|all|none]   copy a Redis keyspace into ringkv, resumable',
    '       ringkv plan join [VNODES] | leave [ID] | remove ID [-h HOST] [-p PORT] [-a PASSWORD]   what a change would move, moving nothing',
    '       ringkv version                 the package version (also --version, -v)',
    '',
    'node options (also RINGKV_<OPTION> environment variables, or keys of a --config FILE JSON object):',
    ...lines,
  ].join('\n');
}
