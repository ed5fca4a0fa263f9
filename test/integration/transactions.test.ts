// MULTI/EXEC/DISCARD as Redis 7 answers them, driven as users drive them:
// ioredis multi() (a pipeline wrapped in MULTI … EXEC) and multi({ pipeline:
// false }) in RESP3 and RESP2, redis-cli reading commands from its input, and
// raw pipelined bytes where the exact reply stream matters. Every reply
// stream and error string below was checked against redis-server 7.0.15. On
// a 3-node cluster: the queued commands run one after another at EXEC, each
// its own quorum operation, so one may fail while the others are applied.

import { spawn } from 'node:child_process';
import test from 'ava';
import type { Redis } from 'ioredis';
import { protocolLimits } from '../../src/resp/limits.js';
import { startCluster, startNode, type Cluster, type RingkvNode } from '../helpers/cluster.js';
import { exchange, multibulk, startRespServer } from '../helpers/resp-server.js';

let node: RingkvNode;
let cluster: Cluster | undefined;

test.before(async () => {
  node = await startNode();
});

test.after.always(async () => {
  await node?.cleanup();
  await cluster?.cleanup();
});

const execAbort = 'EXECABORT Transaction discarded because of previous errors.';

for (const protocol of [3, 2] as const) {
  const k = (name: string) => `tx${protocol}:${name}`;
  // A connection per test: a transaction is the connection's state, and ava runs a file's tests side by side.
  const connect = (): Redis => node.client({ protocol });

  test(`resp${protocol} › multi().set().get().exec() answers each command's reply in order`, async (t) => {
    t.deepEqual(await connect().multi().set(k('a'), 'v').get(k('a')).exists(k('a'), k('none')).exec(), [[null, 'OK'], [null, 'v'], [null, 1]]);
  });

  test(`resp${protocol} › an error while running is an element of EXEC's reply; the other commands still run`, async (t) => {
    const replies = await connect().multi().set(k('e'), 'v', 'EX', 0).set(k('e'), 'w').get(k('e')).exec();
    t.is((replies![0]![0] as Error).message, "ERR invalid expire time in 'set' command");
    t.deepEqual(replies!.slice(1), [[null, 'OK'], [null, 'w']]);
  });

  test(`resp${protocol} › a command refused while queueing makes EXEC answer EXECABORT and run nothing`, async (t) => {
    const client = connect();
    const error = await t.throwsAsync(client.multi().set(k('abort'), 'v').call('NOSUCHCOMMAND').exec());
    t.is(error.message, execAbort);
    t.deepEqual((error as Error & { previousErrors: Error[] }).previousErrors.map((e) => e.message), ["ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "]);
    await t.throwsAsync(client.multi().set(k('abort'), 'v').call('GET').exec(), { message: execAbort });
    t.is(await client.exists(k('abort')), 0);
  });

  test(`resp${protocol} › multi({ pipeline: false }) answers QUEUED per command, then EXEC's array`, async (t) => {
    const client = connect();
    t.is(await client.multi({ pipeline: false }), 'OK');
    t.is(await client.set(k('np'), '1') as string, 'QUEUED');
    t.is(await client.get(k('np')), 'QUEUED');
    t.deepEqual(await client.exec(), [[null, 'OK'], [null, '1']]);
  });

  test(`resp${protocol} › a transaction inside a pipeline: the commands around it run in order`, async (t) => {
    const replies = await connect().pipeline().set(k('p'), '1').call('MULTI').get(k('p')).set(k('p'), '2').call('EXEC').get(k('p')).exec();
    t.deepEqual(replies, [[null, 'OK'], [null, 'OK'], [null, 'QUEUED'], [null, 'QUEUED'], [null, ['1', 'OK']], [null, '2']]);
  });

  test(`resp${protocol} › DISCARD drops the queue: nothing queued ran`, async (t) => {
    const replies = await connect().pipeline().call('MULTI').set(k('d'), '1').call('DISCARD').get(k('d')).exec();
    t.deepEqual(replies, [[null, 'OK'], [null, 'QUEUED'], [null, 'OK'], [null, null]]);
  });

  test(`resp${protocol} › nested MULTI, EXEC and DISCARD without MULTI give Redis's errors`, async (t) => {
    const client = connect();
    await t.throwsAsync(client.call('EXEC'), { message: 'ERR EXEC without MULTI' });
    await t.throwsAsync(client.call('DISCARD'), { message: 'ERR DISCARD without MULTI' });
    const replies = await client.pipeline().call('MULTI').call('MULTI').call('EXEC').exec();
    t.is(replies![1]![0]!.message, 'ERR MULTI calls can not be nested');
    // As in Redis, a nested MULTI does not abort the transaction.
    t.deepEqual(replies![2], [null, []]);
  });

  test(`resp${protocol} › WATCH and UNWATCH are refused with the reason and what to use instead`, async (t) => {
    const client = connect();
    const watch = await t.throwsAsync(client.call('WATCH', k('w')));
    t.regex(watch.message, /^ERR WATCH is not supported: ringkv keeps each key on N replicas with no isolation across keys/);
    t.regex(watch.message, /SET key value VCLOCK context/);
    await t.throwsAsync(client.call('UNWATCH'), { message: /^ERR UNWATCH is not supported/ });
    await t.throwsAsync(client.call('WATCH'), { message: "ERR wrong number of arguments for 'watch' command" });
  });
}

test('raw › the exact reply stream of a pipelined transaction, as redis-server writes it', async (t) => {
  const bytes = multibulk('SET', 'raw:k', 'before') + multibulk('MULTI') + multibulk('SET', 'raw:k', 'queued') + multibulk('GET', 'raw:k') +
    multibulk('EXEC') + multibulk('GET', 'raw:k') + multibulk('QUIT');
  const result = await exchange(node.port, bytes);
  t.is(result.reply, '+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$6\r\nqueued\r\n$6\r\nqueued\r\n+OK\r\n');
});

test('raw › MULTI, SET, DISCARD, GET: the queued SET never ran', async (t) => {
  const result = await exchange(node.port, multibulk('MULTI') + multibulk('SET', 'raw:mx', '1') + multibulk('DISCARD') + multibulk('GET', 'raw:mx') + multibulk('QUIT'));
  t.is(result.reply, '+OK\r\n+QUEUED\r\n+OK\r\n$-1\r\n+OK\r\n');
});

test('raw › an arity error while queueing, WATCH inside MULTI, QUIT inside MULTI', async (t) => {
  const arity = await exchange(node.port, multibulk('MULTI') + multibulk('SET', 'raw:ar') + multibulk('EXEC') + multibulk('QUIT'));
  t.is(arity.reply, "+OK\r\n-ERR wrong number of arguments for 'set' command\r\n-EXECABORT Transaction discarded because of previous errors.\r\n+OK\r\n");
  const watch = await exchange(node.port, multibulk('MULTI') + multibulk('WATCH', 'raw:w') + multibulk('EXEC') + multibulk('QUIT'));
  t.is(watch.reply, '+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n*0\r\n+OK\r\n');
  // QUIT runs at once, as in Redis: the transaction goes with the connection.
  const quit = await exchange(node.port, multibulk('MULTI') + multibulk('SET', 'raw:q', '1') + multibulk('QUIT') + multibulk('EXEC'));
  t.is(quit.reply, '+OK\r\n+QUEUED\r\n+OK\r\n');
  t.is(await node.client().exists('raw:q'), 0);
});

test('raw › a queued command has not run: another client does not see it before EXEC', async (t) => {
  const c = node.client();
  t.is(await c.multi({ pipeline: false }), 'OK');
  t.is(await c.set('raw:iso', 'x') as string, 'QUEUED');
  t.is(await node.client().get('raw:iso'), null);
  t.deepEqual(await c.exec(), [[null, 'OK']]);
  t.is(await node.client().get('raw:iso'), 'x');
});

test('raw › CLIENT LIST shows the open transaction (flags=x, multi=queued commands)', async (t) => {
  const c = node.client({ protocol: 2 });
  const replies = await c.pipeline().call('MULTI').set('raw:cl', '2').call('CLIENT', 'INFO').call('EXEC').exec();
  const info = (replies![3]![1] as unknown[])[1] as string;
  t.regex(info, / flags=x /);
  t.regex(info, / multi=2 /);
  t.regex(await c.call('CLIENT', 'INFO') as string, / flags=N .* multi=-1 /);
});

/** redis-cli reading commands from its standard input, as a user pastes them. */
function cliWithInput(port: number, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port)]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end(input);
  });
}

test('redis-cli › MULTI … EXEC typed into redis-cli', async (t) => {
  const out = await cliWithInput(node.port, 'MULTI\nSET cli:tx hello\nGET cli:tx\nEXEC\nEXEC\n');
  t.is(out, 'OK\nQUEUED\nQUEUED\nOK\nhello\nERR EXEC without MULTI\n\n');
});

test('limits › a transaction whose queue would pass the query buffer limit is aborted and keeps nothing', async (t) => {
  const server = await startRespServer(protocolLimits({ queryBufferBytesMax: 1024 * 1024 }));
  t.teardown(() => server.close());
  const value = 'x'.repeat(300 * 1024);
  const sets = [1, 2, 3, 4].map((i) => multibulk('SET', `big:${i}`, value)).join('');
  const result = await exchange(server.port, multibulk('MULTI') + sets + multibulk('EXEC') + multibulk('EXISTS', 'big:1') + multibulk('QUIT'));
  t.is(result.reply, '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n' +
    '-ERR Transaction discarded: its queued commands would hold more than 1048576 bytes (client-query-buffer-limit); EXEC will answer EXECABORT\r\n' +
    '-EXECABORT Transaction discarded because of previous errors.\r\n:0\r\n+OK\r\n');
});

test.serial('cluster › on 3 nodes EXEC runs each queued command as its own quorum operation; one may fail while the rest apply', async (t) => {
  cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2 });
  const [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  const c1 = n1.client();
  const keys = Array.from({ length: 8 }, (_, i) => `cl:tx:${i}`);
  let tx = c1.multi();
  for (const key of keys) tx = tx.set(key, `v-${key}`);
  tx = tx.mget(...keys);
  const replies = await tx.exec();
  t.deepEqual(replies!.slice(0, keys.length), keys.map(() => [null, 'OK']));
  t.deepEqual(replies![keys.length], [null, keys.map((key) => `v-${key}`)]);
  t.deepEqual(await n2.client().mget(...keys), keys.map((key) => `v-${key}`));

  // One replica down: W=2 writes still succeed, a queued CONSISTENCY 3 3 STRICT makes the next write fail (no
  // rollback of the one before), and CONSISTENCY DEFAULT queued after it applies to the rest.
  await n3.kill();
  const partial = await c1.multi()
    .set('cl:tx:ok', 'applied')
    .call('CONSISTENCY', '3', '3', 'STRICT')
    .set('cl:tx:strict', 'needs-three')
    .call('CONSISTENCY', 'DEFAULT')
    .get('cl:tx:ok')
    .exec();
  t.deepEqual(partial![0], [null, 'OK']);
  t.deepEqual(partial![1], [null, 'OK']);
  t.regex((partial![2]![0] as Error).message, /^NOQUORUM /);
  t.deepEqual(partial!.slice(3), [[null, 'OK'], [null, 'applied']]);
  t.is(await n2.client().get('cl:tx:ok'), 'applied');
});
