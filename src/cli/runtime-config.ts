// The node's options at run time: CONFIG GET, CONFIG SET and CONFIG REWRITE
// (Redis 7's config.c) over the same option table as the command line
// (config.ts), so a name, a range or a file key is written once.
//
// Names: Redis's where Redis has the option (port, bind, dir, requirepass,
// maxclients, proto-max-bulk-len, loglevel, client-output-buffer-limit,
// latency-tracking, latency-tracking-info-percentiles, slowlog-log-slower-than
// and slowlog-max-len, the last four also ringkv's flag names),
// ringkv's flag names otherwise
// (`ringkv help`). CONFIG GET also lists the Redis options whose value is
// fixed in ringkv (databases 1, save "", appendonly no, …), as tools read them.
//
// CONFIG SET changes what the node can change while it serves, and refuses
// the rest with Redis's "can't set immutable config": the ring, the ports and
// the failure detector are agreed with the other nodes at start. As Redis 7,
// several pairs may be set at once and they are all-or-nothing: every value
// is checked, then all are applied. A change applies to this node only.
//
// CONFIG REWRITE writes the running values back to the --config JSON file,
// as Redis rewrites redis.conf: a key already in the file gets the value in
// force, an option the file lacks is added when its value is not the default,
// and the file is replaced atomically (temporary file, fsync, rename).

import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { parseInteger } from '../commands/args.js';
import { formatPercentiles, latencyTrackingOf, parsePercentiles, type LatencyTracking } from '../commands/command-stats.js';
import type { NodeConfig } from '../commands/node-config.js';
import { CommandError, type ConfigService } from '../commands/types.js';
import { replicatedValueBytesMax, type CoordinatorTunables } from '../coordinator/coordinator.js';
import { formatOutputLimits, outputLimitsOf, parseOutputLimits } from '../pubsub/output-limit.js';
import { logLevels, options, resolveConfig, type OptionSpec } from './config.js';

/** What CONFIG SET changes besides the configuration object itself. */
export interface RuntimeTargets {
  /**
   * The configuration the node's services read (ServerServices.config),
   * changed in place: AUTH, HELLO, maxclients at accept, proto-max-bulk-len
   * in SETRANGE/APPEND and the default R and W read it at each use.
   */
  readonly config: NodeConfig;
  /** The node's id, shown as node-id when --node-id was not given. */
  readonly selfId: string;
  /** The root logger: pino's child loggers follow their parent's level unless given their own. */
  readonly logger: Logger;
  retuneCoordinator(changes: Partial<CoordinatorTunables>): void;
  /** INFO latencystats' histograms and percentiles (commands/command-stats.ts). */
  setLatencyTracking(latency: LatencyTracking): void;
  /** The RESP parsers' bulk limit (resp/server.ts RespServer.setBulkBytesMax). */
  setBulkBytesMax(bytes: number): void;
}

/** A value CONFIG SET refuses: the reason, as Redis words it after the argument's name. */
class Refusal extends Error {}

type Changes = Partial<NodeConfig>;

interface Parameter {
  /** As CONFIG GET lists it and CONFIG SET takes it (lowercase). */
  readonly name: string;
  /** The value CONFIG GET shows. */
  value(targets: RuntimeTargets): string;
  /** How CONFIG SET reads a value, when it may change; absent: immutable. Throws a Refusal. */
  readonly parse?: (value: string, config: NodeConfig) => Changes;
}

const redisLogLevels = ['debug', 'verbose', 'notice', 'warning', 'nothing'] as const;
/** Redis's log levels as pino's: verbose has no pino level between debug and info, so it logs as debug. */
const pinoLevelOfRedis: Record<(typeof redisLogLevels)[number], string> = {
  debug: 'debug', verbose: 'debug', notice: 'info', warning: 'warn', nothing: 'silent',
};

function optionSpec(flag: string): OptionSpec {
  const spec = options.find((o) => o.flag === flag);
  if (spec === undefined) throw new Error(`no option --${flag}`);
  return spec;
}

function rangeRefusal(min: number, max: number): Refusal {
  return new Refusal(`argument must be between ${min} and ${max} inclusive`);
}

/** An integer as Redis's CONFIG SET reads one (string2ll: no sign but '-', no leading zeros, no spaces), within [min, max]. */
function integerIn(value: string, min: number, max: number): number {
  const n = parseInteger(Buffer.from(value, 'latin1'));
  if (n === null) throw new Refusal("argument couldn't be parsed into an integer");
  if (n < min || n > max) throw rangeRefusal(min, max);
  return n;
}

/** Redis's memtoull: digits with an optional unit, b k kb m mb g gb (k = 1000, kb = 1024), any case. */
function memoryValue(value: string): number {
  const match = /^(\d*)(b|k|kb|m|mb|g|gb)?$/i.exec(value);
  if (match === null) throw new Refusal('argument must be a memory value');
  const unit = (match[2] ?? 'b').toLowerCase();
  const multiplier = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[unit]!;
  const bytes = Number(match[1] === '' ? '0' : match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes)) throw new Refusal('argument must be a memory value');
  return bytes;
}

/** An option of `ringkv help` whose range bounds CONFIG SET too; `max` tightens it where the running node needs. */
function integerOption(flag: string, key: keyof NodeConfig, max?: (config: NodeConfig) => number): Parameter['parse'] {
  const spec = optionSpec(flag);
  return (value, config) => {
    const upper = Math.min(spec.max!, max?.(config) ?? Infinity);
    return { [key]: integerIn(value, spec.min!, upper) };
  };
}

/**
 * A Redis option ringkv lists at the one value it has: setting that value
 * again succeeds (scripts that turn persistence off need not fail), any other
 * is refused with what ringkv does instead.
 */
function fixed(name: string, value: string, reason: string, same: (given: string) => boolean = (given) => given.toLowerCase() === value): Parameter {
  return {
    name,
    value: () => value,
    parse: (given) => {
      if (!same(given)) throw new Refusal(reason);
      return {};
    },
  };
}

function memoryIsZero(given: string): boolean {
  try {
    return memoryValue(given) === 0;
  } catch {
    return false;
  }
}

/** ringkv's own options (`ringkv help`), by flag name, that no Redis option names: immutable, except those listed here. */
const ringkvMutable: Record<string, Parameter['parse']> = {
  'request-timeout-ms': integerOption('request-timeout-ms', 'requestTimeoutMs'),
  'siblings-max': integerOption('siblings-max', 'siblingsMax'),
  'siblings-warn': integerOption('siblings-warn', 'siblingsWarn'),
  // The default quorums of this node's requests; R and W above N could never be met.
  r: integerOption('r', 'r', (config) => config.n),
  w: integerOption('w', 'w', (config) => config.n),
  'latency-tracking': (value) => {
    const given = value.toLowerCase();
    if (given !== 'yes' && given !== 'no') throw new Refusal("argument must be 'yes' or 'no'");
    return { latencyTracking: given };
  },
  // Redis's names and ranges (ringkv bounds slowlog-max-len: config.ts); SLOWLOG reads them at each command.
  'slowlog-log-slower-than': integerOption('slowlog-log-slower-than', 'slowlogLogSlowerThan'),
  'slowlog-max-len': integerOption('slowlog-max-len', 'slowlogMaxLen'),
  'latency-tracking-info-percentiles': (value) => {
    const parsed = parsePercentiles(value);
    if (typeof parsed === 'string') throw new Refusal(parsed);
    return { latencyTrackingInfoPercentiles: formatPercentiles(parsed) };
  },
};

/** Options with a Redis name (first) and the ringkv flag they are; CONFIG GET lists them under the Redis name. */
const redisNamed: readonly (readonly [redisName: string, flag: string])[] = [
  ['bind', 'bind'], ['port', 'port'], ['dir', 'data'], ['requirepass', 'requirepass'], ['maxclients', 'maxclients'],
  ['proto-max-bulk-len', 'proto-max-bulk-len'], ['loglevel', 'log-level'], ['client-output-buffer-limit', 'client-output-buffer-limit'],
];

/** Not listed by CONFIG GET: it admits a process to the cluster, which no client needs to read back. CONFIG SET refuses it as immutable. */
const hiddenFlags = new Set(['cluster-secret']);

function valueOf(config: NodeConfig, key: keyof NodeConfig): string {
  const value = config[key];
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}

function buildParameters(): readonly Parameter[] {
  const byRedisName: Record<string, Parameter['parse']> = {
    requirepass: (value) => ({ requirepass: value === '' ? undefined : value }),
    maxclients: integerOption('maxclients', 'maxClients'),
    // With N > 1 a value must fit one peer frame to reach the other replicas (config.ts valueBytesMax).
    'proto-max-bulk-len': (value, config) => {
      const spec = optionSpec('proto-max-bulk-len');
      const max = config.n > 1 ? Math.min(spec.max!, replicatedValueBytesMax) : spec.max!;
      const bytes = memoryValue(value);
      if (bytes < spec.min! || bytes > max) throw rangeRefusal(spec.min!, max);
      return { protoMaxBulkLen: bytes };
    },
    // As Redis: only the classes named change; the subscribers' limit applies at their next message.
    'client-output-buffer-limit': (value, config) => {
      const parsed = parseOutputLimits(value, outputLimitsOf(config.clientOutputBufferLimit));
      if (typeof parsed === 'string') throw new Refusal(parsed);
      return { clientOutputBufferLimit: formatOutputLimits(parsed) };
    },
    loglevel: (value) => {
      const given = value.toLowerCase();
      const level = (pinoLevelOfRedis as Record<string, string>)[given] ?? (logLevels.includes(given as never) ? given : undefined);
      if (level === undefined) throw new Refusal(`argument(s) must be one of the following: ${[...redisLogLevels, ...logLevels.filter((l) => l !== 'debug')].join(', ')}`);
      return { logLevel: level };
    },
  };
  const parameters: Parameter[] = redisNamed.map(([name, flag]) => {
    const key = optionSpec(flag).key;
    const parse = byRedisName[name];
    return { name, value: (t: RuntimeTargets) => valueOf(t.config, key), ...(parse === undefined ? {} : { parse }) };
  });
  parameters.push(
    { name: 'databases', value: () => '1' },
    { name: 'cluster-enabled', value: () => 'no' },
    fixed('save', '', 'ringkv takes no snapshots: every write is on disk (LevelDB) on W replicas when it is acknowledged'),
    fixed('appendonly', 'no', 'ringkv has no append-only file: every write is on disk (LevelDB) on W replicas when it is acknowledged'),
    fixed('maxmemory', '0', 'ringkv keeps its keys on disk (LevelDB), not in memory, so it has no memory limit to set', memoryIsZero),
    fixed('maxmemory-policy', 'noeviction', 'ringkv never evicts keys'),
    fixed('timeout', '0', 'ringkv does not close idle clients', (given) => parseInteger(Buffer.from(given, 'latin1')) === 0),
  );
  const redisFlags = new Set(redisNamed.map(([, flag]) => flag));
  for (const spec of options) {
    if (redisFlags.has(spec.flag) || hiddenFlags.has(spec.flag)) continue;
    const parse = ringkvMutable[spec.flag];
    const value = spec.flag === 'node-id'
      ? (t: RuntimeTargets) => t.config.nodeId ?? t.selfId
      : (t: RuntimeTargets) => valueOf(t.config, spec.key);
    parameters.push({ name: spec.flag, value, ...(parse === undefined ? {} : { parse }) });
  }
  return parameters;
}

const parameters = buildParameters();
const parameterByName = new Map(parameters.map((p) => [p.name, p]));

function setFailure(name: string, reason: string): CommandError {
  return new CommandError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${reason}`);
}

/**
 * Relations between options that a pair alone cannot break but a set of
 * them can; `changed` names the arguments set, to blame the one given.
 */
function crossCheck(next: NodeConfig, changed: ReadonlySet<string>): void {
  if (next.siblingsWarn > next.siblingsMax) {
    const blamed = changed.has('siblings-warn') ? 'siblings-warn' : 'siblings-max';
    throw setFailure(blamed, `siblings-warn ${next.siblingsWarn} must not be larger than siblings-max ${next.siblingsMax}`);
  }
}

export class RuntimeConfig implements ConfigService {
  constructor(private readonly targets: RuntimeTargets) {}

  parameters(): readonly (readonly [string, string])[] {
    return parameters.map((p) => [p.name, p.value(this.targets)] as const);
  }

  set(pairs: readonly (readonly [Buffer, Buffer])[]): void {
    const config = this.targets.config;
    // First pass, as Redis's: every name known, mutable, and given once, in the order given.
    const seen = new Set<Parameter>();
    const chosen: [Parameter, string][] = [];
    for (const [nameArg, valueArg] of pairs) {
      const written = nameArg.toString('utf8');
      const name = written.toLowerCase();
      const parameter = parameterByName.get(name);
      if (parameter === undefined && !hiddenFlags.has(name)) throw new CommandError(`ERR Unknown option or number of arguments for CONFIG SET - '${written}'`);
      if (parameter?.parse === undefined) throw setFailure(written, "can't set immutable config");
      if (seen.has(parameter)) throw setFailure(written, 'duplicate parameter');
      seen.add(parameter);
      chosen.push([parameter, valueArg.toString('utf8')]);
    }
    // Second pass: every value checked against the configuration as it would be, before anything changes.
    let next: NodeConfig = { ...config };
    for (const [parameter, value] of chosen) {
      try {
        next = { ...next, ...parameter.parse!(value, next) };
      } catch (err) {
        if (err instanceof Refusal) throw setFailure(parameter.name, err.message);
        throw err;
      }
    }
    crossCheck(next, new Set(chosen.map(([p]) => p.name)));
    this.apply(next);
    this.targets.logger.info({ parameters: chosen.map(([p]) => p.name) }, 'CONFIG SET');
  }

  private apply(next: NodeConfig): void {
    const { config } = this.targets;
    if (next.requestTimeoutMs !== config.requestTimeoutMs || next.siblingsMax !== config.siblingsMax || next.siblingsWarn !== config.siblingsWarn) {
      this.targets.retuneCoordinator({ requestTimeoutMs: next.requestTimeoutMs, siblingsMax: next.siblingsMax, siblingsWarn: next.siblingsWarn });
    }
    if (next.protoMaxBulkLen !== config.protoMaxBulkLen) this.targets.setBulkBytesMax(next.protoMaxBulkLen);
    if (next.logLevel !== config.logLevel) this.targets.logger.level = next.logLevel;
    if (next.latencyTracking !== config.latencyTracking || next.latencyTrackingInfoPercentiles !== config.latencyTrackingInfoPercentiles) {
      this.targets.setLatencyTracking(latencyTrackingOf(next));
    }
    Object.assign(config, next);
  }

  async rewrite(): Promise<void> {
    const file = this.targets.config.configFile;
    if (file === undefined) throw new CommandError('ERR The server is running without a config file');
    try {
      const { text, mode } = await readOld(file);
      await replaceFile(file, rewrittenText(text, this.targets.config), mode);
    } catch (err) {
      throw new CommandError(`ERR Rewriting config file: ${(err as Error).message}`);
    }
    this.targets.logger.info({ file }, 'CONFIG REWRITE executed with success.');
  }
}

/** The file as it is now ({} when it was removed since the start, as Redis recreates redis.conf), and its mode. */
async function readOld(file: string): Promise<{ text: string; mode: number }> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return { text, mode: info.mode & 0o777 };
  } catch (err) {
    // A new file may hold the password: readable by its owner only.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { text: '{}', mode: 0o600 };
    throw err;
  }
}

/** The option's value as the file holds it: numbers as numbers, lists as arrays; undefined when unset. */
function fileValue(config: NodeConfig, spec: OptionSpec): string | number | string[] | undefined {
  const value = config[spec.key];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return [...value];
  return value as string | number;
}

/**
 * The file's JSON object with the running values: each option's keys already
 * in the file (its flag name or its field name) get the value in force, or go
 * when the option is now unset (a password cleared); an option the file lacks
 * is added under its flag name when its value differs from the default.
 */
export function rewrittenText(oldText: string, config: NodeConfig): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(oldText);
  } catch (err) {
    throw new Error(`the file is not JSON any more (${(err as Error).message}); not overwriting it`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the file is not a JSON object any more; not overwriting it');
  const object = parsed as Record<string, unknown>;
  const defaults = resolveConfig([], {});
  for (const spec of options) {
    const value = fileValue(config, spec);
    const keys = Object.keys(object).filter((k) => k === spec.flag || k === spec.key);
    if (keys.length > 0) {
      for (const k of keys) {
        if (value === undefined) delete object[k];
        else object[k] = value;
      }
    } else if (value !== undefined && JSON.stringify(value) !== JSON.stringify(fileValue(defaults, spec))) {
      object[spec.flag] = value;
    }
  }
  return `${JSON.stringify(object, null, 2)}\n`;
}

/** Writes a temporary file beside `file`, syncs it, renames it over `file`, then syncs the directory: a crash leaves the old file or the new, whole. */
async function replaceFile(file: string, text: string, mode: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.rewrite-${process.pid}.tmp`);
  try {
    const handle = await open(tmp, 'w', mode);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
