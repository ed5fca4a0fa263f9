import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, resolveConfig } from '../../src/cli/config.js';

test('config › a node without seeds is a ring of one', (t) => {
  const c = resolveConfig(['--port', '7001'], {});
  t.is(c.n, 1);
  t.is(c.r, 1);
  t.is(c.w, 1);
  t.is(c.peerPort, 17001);
});

test('config › with seeds the defaults are N=3 R=2 W=2', (t) => {
  const c = resolveConfig(['--seeds', '127.0.0.1:17001,127.0.0.1:17002'], {});
  t.deepEqual([c.n, c.r, c.w], [3, 2, 2]);
  t.deepEqual(c.seeds, ['127.0.0.1:17001', '127.0.0.1:17002']);
});

test('config › flags beat the environment, which beats the file', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ringkv.json');
  writeFileSync(file, JSON.stringify({ port: 7100, 'cluster-name': 'from-file', n: 5, r: 3 }));
  const c = resolveConfig(['--config', file, '--port', '7300'], { RINGKV_PORT: '7200', RINGKV_W: '4' });
  t.is(c.port, 7300);
  t.is(c.clusterName, 'from-file');
  t.deepEqual([c.n, c.r, c.w], [5, 3, 4]);
});

test('config › bad values are ConfigErrors with one-line messages', (t) => {
  const bad: string[][] = [
    ['--port', 'x'], ['--port', '70000'], ['--unknown', '1'], ['--n', '2', '--r', '3'], ['--seeds', 'nocolon'],
    ['--log-level', 'loud'], ['--node-id', 'has space'], ['stray'], ['--port'],
  ];
  for (const args of bad) {
    const err = t.throws(() => resolveConfig(args, {}), { instanceOf: ConfigError }, args.join(' '));
    t.false(err!.message.includes('\n'));
  }
  t.throws(() => resolveConfig([], { RINGKV_PORT: 'abc' }), { instanceOf: ConfigError });
});

test('config › failure detector: phi threshold 8, 500 ms acceptable pause, 5 s silence ceiling by default', (t) => {
  const c = resolveConfig([], {});
  t.deepEqual([c.phiConvictThreshold, c.phiAcceptablePauseMs, c.downAfterMs, c.gossipIntervalMs], [8, 500, 5000, 500]);
  const tuned = resolveConfig(['--phi-convict-threshold', '10.5', '--phi-acceptable-pause-ms', '0'], { RINGKV_DOWN_AFTER_MS: '3000' });
  t.deepEqual([tuned.phiConvictThreshold, tuned.phiAcceptablePauseMs, tuned.downAfterMs], [10.5, 0, 3000]);
  t.is(resolveConfig([], { RINGKV_PHI_CONVICT_THRESHOLD: '12' }).phiConvictThreshold, 12);
});

test('config › failure detector options out of range or inconsistent are ConfigErrors', (t) => {
  const bad: string[][] = [
    ['--phi-convict-threshold', 'x'], ['--phi-convict-threshold', '0.5'], ['--phi-convict-threshold', '17'],
    ['--phi-convict-threshold', '1e3'], ['--phi-convict-threshold', '8.'], ['--phi-acceptable-pause-ms', '2.5'],
    ['--phi-acceptable-pause-ms', '-1'],
    // phi could never decide: the ceiling always comes first.
    ['--phi-acceptable-pause-ms', '5000'], ['--phi-acceptable-pause-ms', '2000', '--down-after-ms', '1500'],
    // The ceiling must span several rounds (Membership asserts it; the configuration says so first).
    ['--gossip-interval-ms', '2000', '--down-after-ms', '5000'],
  ];
  for (const args of bad) {
    const err = t.throws(() => resolveConfig(args, {}), { instanceOf: ConfigError }, args.join(' '));
    t.false(err!.message.includes('\n'));
  }
});

test('config › --host-probe: on by default, off by flag, environment or file; nothing else', (t) => {
  t.is(resolveConfig([], {}).hostProbe, 'on');
  t.is(resolveConfig(['--host-probe', 'off'], {}).hostProbe, 'off');
  t.is(resolveConfig(['--host-probe=on'], { RINGKV_HOST_PROBE: 'off' }).hostProbe, 'on');
  t.is(resolveConfig([], { RINGKV_HOST_PROBE: 'off' }).hostProbe, 'off');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ringkv.json');
  writeFileSync(file, JSON.stringify({ hostProbe: 'off' }));
  t.is(resolveConfig(['--config', file], {}).hostProbe, 'off');
  for (const value of ['yes', 'ON', '1']) {
    const err = t.throws(() => resolveConfig(['--host-probe', value], {}), { instanceOf: ConfigError }, value);
    t.is(err!.message, `--host-probe needs one of on, off, got '${value}'`);
  }
});

/** The message resolveConfig refuses these arguments (and environment) with. */
function refusal(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

test('config › each kind of bad option is one exact line naming the option as written and the value given', (t) => {
  const cases: [string[], string][] = [
    [['--port', 'abc'], "--port needs an integer, got 'abc'"],
    [['--port=7.5'], "--port needs an integer, got '7.5'"],
    [['--port', '70000'], '--port must be 0..65535, got 70000'],
    [['--phi-convict-threshold', 'high'], "--phi-convict-threshold needs a number, got 'high'"],
    [['--log-level', 'loud'], "--log-level needs one of fatal, error, warn, info, debug, trace, silent, got 'loud'"],
    [['--anti-entropy', 'yes'], "--anti-entropy needs one of on, off, got 'yes'"],
    // A missing value: at the end, before the next flag, or empty after '='.
    [['--port'], '--port needs a value'],
    [['--port', '--bind', '127.0.0.1'], '--port needs a value'],
    [['--data='], '--data needs a value'],
    [['--bogus', '1'], 'unknown option --bogus (try: ringkv help)'],
    [['-p', '7001'], 'unknown option -p (try: ringkv help)'],
    [['7001'], "unexpected argument '7001' (options start with --; try: ringkv help)"],
    [['--config'], '--config needs a file'],
  ];
  for (const [argv, message] of cases) t.is(refusal(argv), message, argv.join(' '));
});

test('config › a bad value from the environment or the file names the variable or the key', (t) => {
  t.is(refusal([], { RINGKV_PORT: 'abc' }), "RINGKV_PORT needs an integer, got 'abc'");
  t.is(refusal([], { RINGKV_LOG_LEVEL: 'loud' }), "RINGKV_LOG_LEVEL needs one of fatal, error, warn, info, debug, trace, silent, got 'loud'");
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ringkv.json');
  for (const [contents, message] of [
    [{ port: 'x' }, "port needs an integer, got 'x'"],
    [{ 'anti-entropy': true }, 'anti-entropy needs one of on, off, got true'],
    [{ seeds: 5 }, 'seeds needs a comma-separated list, got 5'],
    [{ bind: ['a'] }, 'bind needs a string, got ["a"]'],
  ] as const) {
    writeFileSync(file, JSON.stringify(contents));
    t.is(refusal(['--config', file]), `config file ${file}: ${message}`);
  }
});

test('config › a value that starts with -- passes with --flag=value', (t) => {
  t.is(resolveConfig(['--requirepass=--not-a-flag'], {}).requirepass, '--not-a-flag');
});

test('config › a wildcard --bind without --advertise-host is refused: no peer could reach the address it would advertise', (t) => {
  for (const bind of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0']) {
    t.is(refusal(['--bind', bind]), `--bind ${bind} listens on every interface, so it is no address for other nodes: set --advertise-host (or RINGKV_ADVERTISE_HOST) to the address they reach this node at`);
  }
  t.regex(refusal([], { RINGKV_BIND: '0.0.0.0' }), /^--bind 0\.0\.0\.0 listens on every interface/);
  t.is(refusal(['--bind', '0.0.0.0', '--advertise-host', '0.0.0.0']), '--advertise-host 0.0.0.0 is no address other nodes can reach: give this node\'s own address');
  t.is(refusal(['--advertise-host', '::']), '--advertise-host :: is no address other nodes can reach: give this node\'s own address');
});

test('config › a wildcard --bind with an advertised address from a flag, the environment or the file', (t) => {
  t.is(resolveConfig(['--bind', '0.0.0.0', '--advertise-host', '10.0.0.1'], {}).advertiseHost, '10.0.0.1');
  const fromEnv = resolveConfig(['--bind', '::'], { RINGKV_ADVERTISE_HOST: 'node1.example' });
  t.deepEqual([fromEnv.bind, fromEnv.advertiseHost], ['::', 'node1.example']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ringkv.json');
  writeFileSync(file, JSON.stringify({ bind: '0.0.0.0', advertiseHost: '10.0.0.2' }));
  t.is(resolveConfig(['--config', file], {}).advertiseHost, '10.0.0.2');
  // A specific address is advertised as it is; the default binds and advertises loopback.
  t.is(resolveConfig(['--bind', '10.0.0.3'], {}).advertiseHost, '10.0.0.3');
  t.deepEqual([resolveConfig([], {}).bind, resolveConfig([], {}).advertiseHost], ['127.0.0.1', '127.0.0.1']);
});
