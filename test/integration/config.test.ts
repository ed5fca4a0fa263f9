// CONFIG on a real node, as users and tools tune a running Redis: CONFIG GET
// with glob patterns, CONFIG SET of each option that changes at run time and
// what the change does to the next client or request, CONFIG RESETSTAT,
// CONFIG REWRITE of the --config file and a restart from it; ioredis and
// redis-cli. On 3 nodes: request-timeout-ms bounds a quorum write's wait for
// a replica that does not answer.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { infoNumber, startCluster, startNode, type Cluster, type RingkvNode } from '../helpers/cluster.js';
import { exchange, multibulk } from '../helpers/resp-server.js';

let node: RingkvNode;
let dir: string;
let configFile: string;
let cluster: Cluster | undefined;

test.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-config-test-'));
  configFile = path.join(dir, 'ringkv.json');
  await writeFile(configFile, `${JSON.stringify({ 'siblings-warn': 20, maxclients: 500 }, null, 2)}\n`, { mode: 0o600 });
  node = await startNode({ extraArgs: ['--config', configFile] });
});

test.after.always(async () => {
  await node?.cleanup();
  await cluster?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test.serial('CONFIG GET › glob patterns, any case, several at once, each parameter once', async (t) => {
  const c = node.client();
  t.deepEqual(await c.config('GET', 'maxclients'), ['maxclients', '500']);
  t.deepEqual(await c.config('GET', 'MAXCLIENTS', 'max*'), ['maxclients', '500', 'maxmemory', '0', 'maxmemory-policy', 'noeviction']);
  t.deepEqual(await c.config('GET', 'siblings-*'), ['siblings-max', '100', 'siblings-warn', '20']);
  t.deepEqual(await c.config('GET', 'nonexistent'), []);
  t.deepEqual(await c.config('GET', '*secret*'), [], 'the cluster secret is not shown');
  const all = (await c.config('GET', '*')) as string[];
  t.true(all.length > 40);
  t.is((await node.cli('CONFIG', 'GET', 'port')).trim(), `port\n${node.port}`);
});

test.serial('CONFIG SET › requirepass: clients connected before keep their session, new ones must AUTH; cleared, every client is free', async (t) => {
  const before = node.client({ protocol: 2 });
  t.is(await before.ping(), 'PONG');
  t.is(await before.config('SET', 'requirepass', 'hunter2'), 'OK');
  t.is(await before.ping(), 'PONG', 'a client connected while no password was set stays free, as in Redis');
  const locked = await exchange(node.port, multibulk('GET', 'cfg:x') + multibulk('AUTH', 'hunter2') + multibulk('GET', 'cfg:x') + multibulk('QUIT'));
  t.is(locked.reply, '-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n+OK\r\n');
  t.is(await before.config('SET', 'requirepass', ''), 'OK');
  const free = await exchange(node.port, multibulk('GET', 'cfg:x') + multibulk('QUIT'));
  t.is(free.reply, '$-1\r\n+OK\r\n');
});

test.serial('CONFIG SET › maxclients: the next connection past it is refused', async (t) => {
  const c = node.client({ protocol: 2 });
  // Asked on this connection: a probe of its own would count itself.
  const connected = infoNumber(await c.info('clients'), 'connected_clients');
  t.teardown(() => node.cli('CONFIG', 'SET', 'maxclients', '500').then(() => undefined, () => undefined));
  t.is(await c.config('SET', 'maxclients', String(connected)), 'OK');
  const refused = await exchange(node.port, multibulk('PING'));
  t.is(refused.reply, '-ERR max number of clients reached\r\n');
  t.is(await c.config('SET', 'maxclients', '500'), 'OK');
  t.is((await exchange(node.port, multibulk('PING') + multibulk('QUIT'))).reply, '+PONG\r\n+OK\r\n');
});

test.serial('CONFIG SET › proto-max-bulk-len: a larger bulk is refused as Redis refuses it, from the next request on', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.config('SET', 'proto-max-bulk-len', '1mb'), 'OK');
  t.deepEqual(await c.config('GET', 'proto-max-bulk-len'), ['proto-max-bulk-len', '1048576']);
  const big = 'x'.repeat(1024 * 1024 + 1);
  const refused = await exchange(node.port, multibulk('SET', 'cfg:big', big));
  t.is(refused.reply, '-ERR Protocol error: invalid bulk length\r\n');
  await t.throwsAsync(c.append('cfg:app', big), { message: /Protocol error|Connection is closed/ });
  const again = node.client({ protocol: 2 });
  t.is(await again.set('cfg:ok', 'x'.repeat(1024 * 1024)), 'OK');
  t.is(await again.config('SET', 'proto-max-bulk-len', '512mb'), 'OK');
  t.is(await again.set('cfg:big', big), 'OK');
});

test.serial('CONFIG SET › siblings-max: the next write past the new cap is refused', async (t) => {
  const c = node.client({ protocol: 2 });
  await t.throwsAsync(c.config('SET', 'siblings-max', '3'), {
    message: "ERR CONFIG SET failed (possibly related to argument 'siblings-max') - siblings-warn 20 must not be larger than siblings-max 3",
  });
  t.is(await c.config('SET', 'siblings-max', '3', 'siblings-warn', '2'), 'OK');
  await c.set('cfg:cap', 'v1');
  const ctx1 = (await c.call('VCLOCK', 'cfg:cap')) as string;
  await c.set('cfg:cap', 'v2');
  await c.call('SET', 'cfg:cap', 'v3', 'VCLOCK', ctx1);
  await c.call('SET', 'cfg:cap', 'v4', 'VCLOCK', ctx1);
  await t.throwsAsync(c.call('SET', 'cfg:cap', 'v5', 'VCLOCK', ctx1), { message: /^SIBLINGS / });
  t.is(await c.config('SET', 'siblings-max', '100', 'siblings-warn', '20'), 'OK');
  t.is(await c.call('SET', 'cfg:cap', 'v5', 'VCLOCK', ctx1), 'OK');
});

test.serial('CONFIG SET › loglevel: Redis\'s levels and pino\'s; the node logs at the new level at once', async (t) => {
  const c = node.client({ protocol: 2 });
  // The node's stdout reaches the test after the reply, so the check waits
  // for a line written later at info and then looks for the one at warn:
  // stdout keeps order, so had it been written it would be there by then.
  const logged = (parameter: string) => node.output.tail().includes(`"parameters":["${parameter}"],"msg":"CONFIG SET"`);
  t.is(await c.config('SET', 'loglevel', 'warning'), 'OK');
  t.deepEqual(await c.config('GET', 'loglevel'), ['loglevel', 'warn']);
  t.is(await c.config('SET', 'r', '1'), 'OK');
  t.is(await c.config('SET', 'loglevel', 'info'), 'OK');
  t.is(await c.config('SET', 'w', '1'), 'OK');
  const deadline = Date.now() + 5000;
  while (!logged('w') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(logged('w'), 'an info line is written at level info');
  t.false(logged('r'), 'an info line is not written at level warn');
});

test.serial('CONFIG RESETSTAT › Redis\'s INFO counters start again from zero', async (t) => {
  const c = node.client({ protocol: 2 });
  await c.call('NOSUCHCOMMAND').catch(() => undefined);
  t.true(infoNumber(await node.info('stats'), 'total_commands_processed') > 5);
  t.is(await node.cli('CONFIG', 'RESETSTAT'), 'OK\n');
  const stats = await c.info('stats');
  t.true(infoNumber(stats, 'total_commands_processed') < 5, stats);
  t.is(infoNumber(stats, 'total_error_replies'), 0);
  t.is(infoNumber(stats, 'total_connections_received'), 0);
  t.is(infoNumber(stats, 'rejected_connections'), 0);
});

test.serial('CONFIG REWRITE › writes the running values to the --config file; the node restarts with them', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.config('SET', 'maxclients', '600', 'request-timeout-ms', '800'), 'OK');
  t.is((await node.cli('CONFIG', 'REWRITE')).trim(), 'OK');
  const written = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  t.is(written.maxclients, 600);
  t.is(written['request-timeout-ms'], 800);
  t.is(written['siblings-warn'], 20);
  t.is(written.port, node.port);
  await node.restart();
  const after = node.client({ protocol: 2 });
  t.deepEqual(await after.config('GET', 'maxclients', 'request-timeout-ms'), ['maxclients', '600', 'request-timeout-ms', '800']);
});

test.serial('cluster › request-timeout-ms set at run time bounds how long a write waits for a replica that does not answer', async (t) => {
  // A patient failure detector: the stopped node stays "up", so writes keep asking it and wait for the timeout.
  cluster = await startCluster({ nodes: 3, extraArgs: ['--phi-convict-threshold', '16', '--phi-acceptable-pause-ms', '25000', '--down-after-ms', '30000'] });
  const [n1, , n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  const c = n1.client({ protocol: 2 });
  await c.call('CONSISTENCY', '3', '3', 'STRICT');
  process.kill(n3.pid!, 'SIGSTOP');
  t.teardown(() => {
    if (n3.alive) process.kill(n3.pid!, 'SIGCONT');
  });
  const timed = async (key: string) => {
    const started = Date.now();
    await t.throwsAsync(c.set(key, 'v'), { message: /^NOQUORUM / });
    return Date.now() - started;
  };
  const slow = await timed('to:1');
  t.true(slow >= 900, `with the default 1000 ms a write waited ${slow} ms`);
  t.is(await c.config('SET', 'request-timeout-ms', '100'), 'OK');
  const fast = await timed('to:2');
  t.true(fast >= 90 && fast < 700, `with 100 ms a write waited ${fast} ms`);
});
