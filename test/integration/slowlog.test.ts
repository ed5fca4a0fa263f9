// SLOWLOG against redis-server: the same commands, on one connection each,
// with slowlog-log-slower-than 0, must leave the same entries (arguments as
// Redis cuts and redacts them, the client's name, ids in order) and the
// subcommands must answer alike, errors included. Durations, timestamps and
// client ports differ by nature and are checked for shape only.
// Skipped only when redis-server is not installed (apt-get install
// redis-server); .ci/run installs it, so CI always runs it.

import test from 'ava';
import { request, type Reply } from '../../src/cli/resp-client.js';
import { ManagedProcess, startNode, waitForPing, type RingkvNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

const timeoutMs = 10_000;

let redisPort = 0;
let redisProcess: ManagedProcess | undefined;
let node: RingkvNode | undefined;

test.before(async () => {
  redisPort = await freePort();
  redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await waitForPing(redisPort, redisProcess, 10_000);
  node = await startNode({ extraArgs: ['--host-probe', 'off', '--log-level', 'warn'] });
});

test.after.always(async () => {
  await redisProcess?.kill();
  await node?.cleanup();
});

const both = async (commands: string[][]): Promise<[Reply[], Reply[]]> =>
  Promise.all([request('127.0.0.1', redisPort, commands, timeoutMs), request('127.0.0.1', node!.port, commands, timeoutMs)]);

const asText = (reply: Reply): unknown => (reply instanceof Error ? `error: ${reply.message}` : Array.isArray(reply) ? reply.map(asText) : reply);

const run = test.serial;

run('the entries Redis keeps, ringkv keeps: arguments cut and redacted, the client\'s name, EXEC left out and its commands in', async (t) => {
  const script = [
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'],
    ['CONFIG', 'SET', 'slowlog-max-len', '128'],
    ['SLOWLOG', 'RESET'],
    ['CLIENT', 'SETNAME', 'myname'],
    ['AUTH', 'pw'],
    ['AUTH', 'user', 'pw'],
    ['HELLO', '2', 'AUTH', 'default', 'pw2'],
    ['SET', 'k', 'v'.repeat(200)],
    ['DEL', ...Array.from({ length: 40 }, (_, i) => `k${i}`)],
    ['MULTI'], ['SET', 'a', '1'], ['GET', 'a'], ['EXEC'],
    ['CONFIG', 'SET', 'requirepass', 'secret'],
    ['CONFIG', 'SET', 'requirepass', ''],
    ['GET'], ['NOSUCHCOMMAND'],
    ['SLOWLOG', 'GET', '-1'],
    ['SLOWLOG', 'LEN'],
  ];
  const [fromRedis, fromRingkv] = await both(script);
  const entries = (replies: Reply[]) => replies[replies.length - 2] as Reply[][];
  const shape = (list: Reply[][]) => list.map((e) => ({ args: e[3], name: e[5] }));
  t.deepEqual(shape(entries(fromRingkv)), shape(entries(fromRedis)));
  t.is(fromRingkv[fromRingkv.length - 1], fromRedis[fromRedis.length - 1], 'SLOWLOG LEN');
  const nowS = Date.now() / 1000;
  const ids = entries(fromRingkv).map((e) => e[0] as number);
  t.deepEqual(ids, ids.map((_, i) => ids[0]! - i), 'ids newest first, consecutive');
  for (const e of entries(fromRingkv)) {
    t.is(e.length, 6);
    t.true(Math.abs((e[1] as number) - nowS) < 30, 'unix time in seconds');
    t.true(Number.isInteger(e[2]) && (e[2] as number) >= 0, 'microseconds');
    t.regex(e[4] as string, /^127\.0\.0\.1:\d+$/);
  }
  // Restore the defaults for the tests after.
  await both([['CONFIG', 'SET', 'slowlog-log-slower-than', '10000'], ['SLOWLOG', 'RESET']]);
});

run('the subcommands and their errors answer as Redis\'s, and a shorter max-len applies at the next command', async (t) => {
  const script = [
    ['SLOWLOG', 'HELP'],
    ['SLOWLOG', 'GET', '-2'], ['SLOWLOG', 'GET', 'x'], ['SLOWLOG', 'GET', '1', '2'],
    ['SLOWLOG', 'LEN', 'x'], ['SLOWLOG', 'RESET', 'x'], ['SLOWLOG', 'FOO'], ['SLOWLOG'],
    ['CONFIG', 'GET', 'slowlog-log-slower-than'], ['CONFIG', 'GET', 'slowlog-max-len'],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', 'abc'], ['CONFIG', 'SET', 'slowlog-max-len', '-1x'],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'], ['SLOWLOG', 'RESET'],
    ['PING'], ['PING'], ['PING'],
    ['CONFIG', 'SET', 'slowlog-max-len', '2'], ['SLOWLOG', 'LEN'],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '-1'], ['PING'], ['SLOWLOG', 'LEN'],
    ['CONFIG', 'SET', 'slowlog-max-len', '0'], ['SLOWLOG', 'LEN'],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'], ['SLOWLOG', 'LEN'], ['SLOWLOG', 'GET'],
    ['CONFIG', 'SET', 'slowlog-max-len', '128', 'slowlog-log-slower-than', '10000'],
  ];
  const [fromRedis, fromRingkv] = await both(script);
  script.forEach((command, i) => t.deepEqual(asText(fromRingkv[i]!), asText(fromRedis[i]!), command.join(' ')));
});

run('the range errors name ringkv\'s bounds: slowlog-max-len stops at 100000', async (t) => {
  const [reply] = await request('127.0.0.1', node!.port, [['CONFIG', 'SET', 'slowlog-max-len', '100001']], timeoutMs);
  t.is(asText(reply!), "error: ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 100000 inclusive");
});
