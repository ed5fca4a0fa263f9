// `ringkv migrate --from redis://… [--to host:port]`: copies a Redis
// keyspace into a ringkv cluster (src/migrate/), with a progress bar, a
// checkpoint to resume from after an interruption (Ctrl-C included: the
// batch in flight finishes and the checkpoint is saved), a report of what was
// copied and skipped, and a verification of a sample (or all) of the keys.
// Exit 0: copied and verified equal; 1: the copy failed or keys differ;
// 2: bad arguments.

import { readFileSync } from 'node:fs';
import { Presets, SingleBar } from 'cli-progress';
import { Redis, type RedisOptions } from 'ioredis';
import { freshCheckpoint, loadCheckpoint, type Checkpoint } from '../migrate/checkpoint.js';
import { copyKeyspace } from '../migrate/copier.js';
import { endpointName, parseRedisUrl, redacted, type RedisEndpoint } from '../migrate/endpoint.js';
import type { CopyMode } from '../migrate/value-copiers.js';
import { verifyAll, verifySample, type VerifyReport } from '../migrate/verify.js';
import { ConfigError } from './config.js';
import { formatBytes } from './repair.js';

const usageLine = 'ringkv migrate --from redis://[user:password@]host:port[/db] [--to host:port] [-a PASSWORD] [--tls --cacert F [--cert F --key F]] [--rate KEYS/S] [--batch KEYS] [--checkpoint FILE] [--restart] [--mode overwrite|missing] [--verify sample|all|none] [--verify-keys N]';

/** Keys read from the source per second by default: a fraction of what one Redis serves, so its clients hardly notice. */
const rateDefault = 20_000;
const batchDefault = 500;
const batchMax = 10_000;
const verifyKeysDefault = 1_000;
/** Connecting and every command: a source or target that does not answer fails the copy instead of hanging it. */
const commandTimeoutMs = 30_000;
const connectTimeoutMs = 10_000;

interface MigrateArgs {
  readonly from: RedisEndpoint;
  readonly fromText: string;
  readonly to: { host: string; port: number };
  readonly password: string | undefined;
  readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  readonly rate: number;
  readonly batch: number;
  readonly checkpoint: string;
  readonly restart: boolean;
  readonly verify: 'sample' | 'all' | 'none';
  readonly verifyKeys: number;
  readonly mode: CopyMode;
}

const valueFlags = ['--from', '--to', '-a', '--password', '--cacert', '--cert', '--key', '--rate', '--batch', '--checkpoint', '--verify', '--verify-keys', '--mode'];
const switchFlags = ['--tls', '--restart'];

export function parseMigrateArgs(argv: readonly string[]): MigrateArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (switchFlags.includes(flag)) {
      if (eq >= 0) throw new ConfigError(`${flag} takes no value`);
      switches.add(flag);
      continue;
    }
    if (!valueFlags.includes(flag)) throw new ConfigError(arg.startsWith('-') ? `unknown option ${flag} (${usageLine})` : `unexpected argument '${arg}' (${usageLine})`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new ConfigError(`${flag} needs a value`);
    values.set(flag === '--password' ? '-a' : flag, value);
  }
  const fromText = values.get('--from');
  if (fromText === undefined) throw new ConfigError(`--from is required (${usageLine})`);
  let from: RedisEndpoint;
  try {
    from = parseRedisUrl(fromText);
  } catch (err) {
    throw new ConfigError(`--from: ${(err as Error).message}`);
  }
  const toText = values.get('--to') ?? '127.0.0.1:7001';
  const toMatch = /^(.+):(\d{1,5})$/.exec(toText);
  if (toMatch === null || Number(toMatch[2]) < 1 || Number(toMatch[2]) > 65535) throw new ConfigError(`--to needs host:port, got '${toText}'`);
  const to = { host: toMatch[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(toMatch[2]) };
  const tlsWanted = switches.has('--tls');
  for (const f of ['--cacert', '--cert', '--key']) if (!tlsWanted && values.has(f)) throw new ConfigError(`${f} needs --tls`);
  if (values.has('--cert') !== values.has('--key')) throw new ConfigError('--cert and --key go together');
  const tls = tlsWanted ? {
    ...(values.has('--cacert') ? { ca: readFile(values.get('--cacert')!, '--cacert') } : {}),
    ...(values.has('--cert') ? { cert: readFile(values.get('--cert')!, '--cert'), key: readFile(values.get('--key')!, '--key') } : {}),
  } : undefined;
  const verify = values.get('--verify') ?? 'sample';
  if (verify !== 'sample' && verify !== 'all' && verify !== 'none') throw new ConfigError(`--verify takes sample, all or none, got '${verify}'`);
  const mode = values.get('--mode') ?? 'overwrite';
  if (mode !== 'overwrite' && mode !== 'missing') throw new ConfigError(`--mode takes overwrite or missing, got '${mode}'`);
  return {
    from, fromText, to, password: values.get('-a'), tls,
    rate: positive(values.get('--rate'), '--rate', rateDefault, 10_000_000),
    batch: positive(values.get('--batch'), '--batch', batchDefault, batchMax),
    checkpoint: values.get('--checkpoint') ?? `ringkv-migrate-${from.host.replace(/[^A-Za-z0-9.-]/g, '_')}-${from.port}-${from.db}.json`,
    restart: switches.has('--restart'),
    verify,
    verifyKeys: positive(values.get('--verify-keys'), '--verify-keys', verifyKeysDefault, 10_000_000),
    mode,
  };
}

function positive(text: string | undefined, flag: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new ConfigError(`${flag} must be an integer 1..${max}, got '${text}'`);
  return Number(text);
}

function readFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function clientOptions(base: RedisOptions): RedisOptions {
  // No retries behind the copy's back: a lost connection fails the batch, and the checkpoint resumes it.
  return { ...base, lazyConnect: true, connectTimeout: connectTimeoutMs, commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false };
}

async function connect(client: Redis, what: string): Promise<void> {
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new ConfigError(`cannot connect to the ${what}: ${(err as Error).message}`);
  }
}

export async function migrate(argv: readonly string[]): Promise<number> {
  const args = parseMigrateArgs(argv);
  const source = new Redis(clientOptions({
    host: args.from.host, port: args.from.port, db: args.from.db,
    ...(args.from.username === undefined ? {} : { username: args.from.username }),
    ...(args.from.password === undefined ? {} : { password: args.from.password }),
    ...(args.from.tls ? { tls: {} } : {}),
  }));
  const target = new Redis(clientOptions({
    host: args.to.host, port: args.to.port,
    ...(args.password === undefined ? {} : { password: args.password }),
    ...(args.tls === undefined ? {} : { tls: args.tls }),
  }));
  try {
    await connect(source, `source ${redacted(args.fromText)}`);
    await connect(target, `target ${args.to.host}:${args.to.port}`);
    return await run(args, source, target);
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

async function run(args: MigrateArgs, source: Redis, target: Redis): Promise<number> {
  const fromName = endpointName(args.from);
  const toName = `${args.to.host}:${args.to.port}`;
  const resumed = args.restart ? undefined : loadCheckpoint(args.checkpoint, fromName, toName);
  const start: Checkpoint = resumed ?? freshCheckpoint(fromName, toName);
  const total = await source.dbsize();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`migrate ${redacted(args.fromText)} → ringkv ${toName}: ${total} keys in the source, at most ${args.rate} keys/s, checkpoint ${args.checkpoint}`);
  if (resumed !== undefined) say(`resuming: ${copiedCount(resumed)} keys copied before${resumed.done ? ' (the copy was complete)' : ''}`);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const bar = new SingleBar({
    format: 'copy [{bar}] {percentage}% | {value}/{total} keys | {rate} keys/s | {bytes} | ETA {eta_formatted}',
    hideCursor: true, etaBuffer: 50, noTTYOutput: true, notTTYSchedule: 5_000,
  }, Presets.shades_classic);
  const runStartMs = Date.now();
  const before = copiedCount(start) + skippedCount(start);
  bar.start(Math.max(total, before), before, { rate: 0, bytes: formatBytes(start.bytes) });
  let cp: Checkpoint;
  try {
    cp = await copyKeyspace(source, target, start, {
      batchKeys: args.batch, rateKeysPerSec: args.rate, mode: args.mode, checkpointFile: args.checkpoint, signal: stop.signal,
      onBatch: (now) => {
        const seen = copiedCount(now) + skippedCount(now);
        if (seen > bar.getTotal()) bar.setTotal(seen);
        const rate = Math.round((seen - before) / Math.max(0.001, (Date.now() - runStartMs) / 1000));
        bar.update(seen, { rate, bytes: formatBytes(now.bytes) });
      },
    });
  } catch (err) {
    bar.stop();
    say(`copy failed: ${(err as Error).message}`);
    say(`the checkpoint keeps what was copied; run the same command again to resume`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  bar.stop();
  if (!cp.done) {
    say(`stopped: ${copiedCount(cp)} keys copied so far; run the same command again to resume from the checkpoint`);
    return 1;
  }
  for (const line of copyReport(cp)) say(line);
  if (args.verify === 'none') return 0;
  const verified = args.verify === 'all' ? await verifyAll(source, target) : await verifySample(source, target, args.verifyKeys);
  for (const line of verifyReport(verified, args.verify)) say(line);
  return verified.differing + verified.missing + verified.expiryDiffers === 0 ? 0 : 1;
}

function copiedCount(cp: Checkpoint): number {
  return Object.values(cp.copied).reduce((a, b) => a + b, 0);
}

function skippedCount(cp: Checkpoint): number {
  return Object.values(cp.skipped).reduce((a, b) => a + b, 0);
}

export function copyReport(cp: Checkpoint): string[] {
  const copied = copiedCount(cp);
  const seconds = cp.elapsedMs / 1000;
  const lines = [`copied ${copied} keys (${formatBytes(cp.bytes)} of values) in ${seconds.toFixed(1)} s: ${Math.round(copied / Math.max(seconds, 0.001))} keys/s`];
  for (const [type, n] of Object.entries(cp.copied).sort()) lines.push(`  ${type}: ${n}`);
  const skipped = skippedCount(cp);
  lines.push(skipped === 0 ? 'skipped: none' : `skipped ${skipped} keys:`);
  for (const [reason, n] of Object.entries(cp.skipped).sort()) lines.push(`  ${n}: ${reason}`);
  return lines;
}

export function verifyReport(r: VerifyReport, how: 'sample' | 'all'): string[] {
  const lines = [`verify (${how === 'all' ? 'every key' : `a sample of ${r.checked} random keys`}): ${r.equal} equal, ${r.differing} differing, ${r.missing} missing on the target, ${r.expiryDiffers} with a different expiry, ${r.notCompared} not compared (a type ringkv does not hold, or gone)`];
  for (const example of r.examples) lines.push(`  ${example}`);
  if (r.differing + r.missing + r.expiryDiffers > 0) lines.push('keys written to the source after their batch was copied differ: run the copy again, or verify after writes stop (README "Migrating from Redis")');
  return lines;
}
