// CONFIG GET/SET/REWRITE over fake targets: Redis 7's error strings (each
// checked against redis-server 7.0.15 where Redis has the case), all-or-
// nothing pairs, what each change reaches, and the rewritten JSON file.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { ConfigError, resolveConfig } from '../../src/cli/config.js';
import { rewrittenText, RuntimeConfig } from '../../src/cli/runtime-config.js';
import type { LatencyTracking } from '../../src/commands/command-stats.js';
import type { NodeConfig } from '../../src/commands/node-config.js';
import { CommandError } from '../../src/commands/types.js';
import type { CoordinatorTunables } from '../../src/coordinator/coordinator.js';
import { replicatedValueBytesMax } from '../../src/coordinator/coordinator.js';

function setup(argv: string[] = ['--port', '7001']) {
  const config = resolveConfig(argv, {});
  const logger = pino({ level: config.logLevel }, { write: () => undefined });
  const retuned: Partial<CoordinatorTunables>[] = [];
  const bulk: number[] = [];
  const latencies: LatencyTracking[] = [];
  const runtime = new RuntimeConfig({
    config, selfId: 'n-self', logger,
    retuneCoordinator: (changes) => retuned.push(changes),
    setLatencyTracking: (latency) => latencies.push(latency),
    setBulkBytesMax: (bytes) => bulk.push(bytes),
  });
  const set = (...words: string[]) => {
    const pairs: [Buffer, Buffer][] = [];
    for (let i = 0; i < words.length; i += 2) pairs.push([Buffer.from(words[i]!), Buffer.from(words[i + 1]!)]);
    runtime.set(pairs);
  };
  const get = (name: string) => runtime.parameters().find(([n]) => n === name)?.[1];
  return { config, logger, retuned, bulk, latencies, runtime, set, get };
}

function refusal(t: import('ava').ExecutionContext, fn: () => void, message: string): void {
  t.throws(fn, { instanceOf: CommandError, message });
}

test('CONFIG GET › Redis names, ringkv flag names, fixed Redis values; no cluster secret', (t) => {
  const { runtime, get } = setup(['--port', '7001', '--cluster-secret', 's3cret']);
  const names = runtime.parameters().map(([n]) => n);
  for (const name of ['port', 'bind', 'dir', 'requirepass', 'maxclients', 'proto-max-bulk-len', 'loglevel', 'databases', 'save',
    'appendonly', 'maxmemory', 'maxmemory-policy', 'timeout', 'cluster-enabled', 'request-timeout-ms', 'siblings-max', 'n', 'seeds', 'node-id']) {
    t.true(names.includes(name), name);
  }
  t.false(names.includes('cluster-secret'));
  t.false(names.includes('data'), 'dir is its Redis name');
  t.false(names.some((n) => runtime.parameters().filter(([m]) => m === n).length > 1), 'each name once');
  t.is(get('port'), '7001');
  t.is(get('requirepass'), '');
  t.is(get('node-id'), 'n-self', 'the generated id when --node-id was not given');
  t.is(get('loglevel'), 'info');
  t.is(get('save'), '');
});

test('CONFIG SET › each runtime option reaches what uses it', (t) => {
  const { config, logger, retuned, bulk, set, get } = setup();
  set('requirepass', 'pw', 'maxclients', '50', 'proto-max-bulk-len', '2mb', 'loglevel', 'warning');
  t.is(config.requirepass, 'pw');
  t.is(config.maxClients, 50);
  t.is(config.protoMaxBulkLen, 2 * 1024 * 1024);
  t.deepEqual(bulk, [2 * 1024 * 1024]);
  t.is(logger.level, 'warn');
  t.is(get('loglevel'), 'warn');
  t.deepEqual(retuned, [], 'the coordinator is not touched when its limits do not change');
  set('request-timeout-ms', '250', 'siblings-max', '10', 'siblings-warn', '5', 'r', '1', 'w', '1');
  t.deepEqual(retuned, [{ requestTimeoutMs: 250, siblingsMax: 10, siblingsWarn: 5 }]);
  t.deepEqual([config.requestTimeoutMs, config.siblingsMax, config.siblingsWarn, config.r, config.w], [250, 10, 5, 1, 1]);
  set('requirepass', '');
  t.is(config.requirepass, undefined, 'an empty password is no password, as in Redis');
  set('loglevel', 'DEBUG');
  t.is(logger.level, 'debug');
  set('loglevel', 'notice');
  t.is(logger.level, 'info');
});

test('CONFIG SET › latency-tracking and its percentiles reach INFO latencystats, normalized as Redis shows them', (t) => {
  const { latencies, set, get } = setup();
  set('latency-tracking', 'NO', 'latency-tracking-info-percentiles', '50.0  99.90');
  t.deepEqual(latencies, [{ tracking: false, percentiles: [50, 99.9] }]);
  t.is(get('latency-tracking'), 'no');
  t.is(get('latency-tracking-info-percentiles'), '50 99.9');
  refusal(t, () => set('latency-tracking-info-percentiles', '50 abc'), "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters");
});

test('CONFIG SET › Redis\'s errors, and a bad pair changes nothing', (t) => {
  const { config, set } = setup();
  const before = structuredClone(config);
  refusal(t, () => set('foo', '1'), "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
  refusal(t, () => set('maxclients', 'abc'), "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer");
  refusal(t, () => set('MAXCLIENTS', '+5'), "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer");
  refusal(t, () => set('maxclients', '0'), "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 1000000 inclusive");
  refusal(t, () => set('maxclients', '10', 'MAXclients', '20'), "ERR CONFIG SET failed (possibly related to argument 'MAXclients') - duplicate parameter");
  refusal(t, () => set('DATABASES', '2'), "ERR CONFIG SET failed (possibly related to argument 'DATABASES') - can't set immutable config");
  refusal(t, () => set('port', '7002'), "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config");
  refusal(t, () => set('cluster-secret', 'x'), "ERR CONFIG SET failed (possibly related to argument 'cluster-secret') - can't set immutable config");
  refusal(t, () => set('n', '5'), "ERR CONFIG SET failed (possibly related to argument 'n') - can't set immutable config");
  refusal(t, () => set('proto-max-bulk-len', 'abc'), "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value");
  refusal(t, () => set('proto-max-bulk-len', '1024k'), "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 2147483647 inclusive");
  refusal(t, () => set('loglevel', 'loud'), "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning, nothing, fatal, error, warn, info, trace, silent");
  refusal(t, () => set('r', '2'), "ERR CONFIG SET failed (possibly related to argument 'r') - argument must be between 1 and 1 inclusive");
  refusal(t, () => set('maxmemory-policy', 'allkeys-lru'), "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - ringkv never evicts keys");
  refusal(t, () => set('siblings-warn', '200'), "ERR CONFIG SET failed (possibly related to argument 'siblings-warn') - siblings-warn 200 must not be larger than siblings-max 100");
  refusal(t, () => set('siblings-max', '10'), "ERR CONFIG SET failed (possibly related to argument 'siblings-max') - siblings-warn 25 must not be larger than siblings-max 10");
  // All-or-nothing: good pairs before and after a bad one are not applied.
  refusal(t, () => set('maxclients', '77', 'requirepass', 'pw', 'proto-max-bulk-len', 'huge'), "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value");
  refusal(t, () => set('maxclients', '77', 'databases', '1'), "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config");
  t.deepEqual(config, before);
  // Together the pair is consistent, so it is accepted.
  set('siblings-max', '10', 'siblings-warn', '5');
  t.deepEqual([config.siblingsMax, config.siblingsWarn], [10, 5]);
});

test('CONFIG SET › fixed Redis options take their own value again and refuse others with the reason', (t) => {
  const { set } = setup();
  set('save', '', 'appendonly', 'no', 'maxmemory', '0mb', 'maxmemory-policy', 'NoEviction', 'timeout', '0');
  refusal(t, () => set('appendonly', 'yes'), "ERR CONFIG SET failed (possibly related to argument 'appendonly') - ringkv has no append-only file: every write is on disk (LevelDB) on W replicas when it is acknowledged");
  refusal(t, () => set('maxmemory', '1gb'), "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - ringkv keeps its keys on disk (LevelDB), not in memory, so it has no memory limit to set");
  refusal(t, () => set('timeout', '300'), "ERR CONFIG SET failed (possibly related to argument 'timeout') - ringkv does not close idle clients");
});

test('CONFIG SET › with N above 1 proto-max-bulk-len stops at what one peer frame carries', (t) => {
  const { set } = setup(['--seeds', '127.0.0.1:17001']);
  refusal(t, () => set('proto-max-bulk-len', '512mb'), `ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and ${replicatedValueBytesMax} inclusive`);
  set('proto-max-bulk-len', '32mb');
});

test('CONFIG REWRITE › without --config: Redis\'s error', async (t) => {
  const { runtime } = setup();
  await t.throwsAsync(runtime.rewrite(), { instanceOf: CommandError, message: 'ERR The server is running without a config file' });
});

test('CONFIG REWRITE › keys in the file get the running value, new non-default values are added, a cleared password goes', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-rewrite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ringkv.json');
  writeFileSync(file, JSON.stringify({ maxClients: 500, 'siblings-warn': 20, requirepass: 'old', 'cluster-name': 'prod' }), { mode: 0o640 });
  const { runtime, set } = setup(['--config', file, '--port', '7001']);
  set('maxclients', '600', 'siblings-max', '50', 'requirepass', '', 'loglevel', 'warning');
  await runtime.rewrite();
  const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  t.is(written.maxClients, 600, 'a key keeps the spelling the file used');
  t.is(written['siblings-warn'], 20);
  t.is(written['siblings-max'], 50);
  t.is(written['log-level'], 'warn');
  t.is(written['cluster-name'], 'prod');
  t.is(written.port, 7001, 'a flag\'s value is written, as Redis writes its command-line options');
  t.false('requirepass' in written);
  t.false('vnodes' in written, 'defaults are not added');
  t.is(statSync(file).mode & 0o777, 0o640, 'the file keeps its mode');
  // The rewritten file alone starts the same configuration.
  const again = resolveConfig(['--config', file], {});
  t.deepEqual([again.maxClients, again.siblingsMax, again.siblingsWarn, again.logLevel, again.port, again.requirepass], [600, 50, 20, 'warn', 7001, undefined]);
});

test('CONFIG REWRITE › a file that is no longer a JSON object is left alone', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-rewrite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ringkv.json');
  writeFileSync(file, '{}');
  const { runtime } = setup(['--config', file]);
  writeFileSync(file, 'port 7001\n');
  await t.throwsAsync(runtime.rewrite(), { instanceOf: CommandError, message: /^ERR Rewriting config file: the file is not JSON any more/ });
  t.is(readFileSync(file, 'utf8'), 'port 7001\n');
});

test('CONFIG REWRITE › rewrittenText leaves a file of defaults as it was', (t) => {
  const defaults: NodeConfig = resolveConfig([], {});
  t.is(rewrittenText('{}', defaults), '{}\n');
  t.is(rewrittenText('{"port": 6379}', defaults), '{\n  "port": 6379\n}\n');
});

test('--latency-tracking-info-percentiles at start: checked as CONFIG SET checks it, kept normalized', (t) => {
  t.is(resolveConfig(['--latency-tracking-info-percentiles', '50.0 99'], {}).latencyTrackingInfoPercentiles, '50 99');
  t.throws(() => resolveConfig(['--latency-tracking-info-percentiles', '50 abc'], {}), {
    instanceOf: ConfigError,
    message: "--latency-tracking-info-percentiles '50 abc': Invalid latency-tracking-info-percentiles parameters",
  });
  t.throws(() => resolveConfig(['--latency-tracking', 'maybe'], {}), { instanceOf: ConfigError, message: "--latency-tracking needs one of yes, no, got 'maybe'" });
});
