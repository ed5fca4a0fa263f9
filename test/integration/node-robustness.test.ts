// What a node does with broken input, lost processes and bad configuration:
// Redis's protocol errors then a closed connection (with other clients
// served meanwhile), acknowledged writes surviving kill -9, clean SIGTERM,
// authentication, and a one-line error with exit code 2 for bad flags.

import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { repoRoot, startNode, type RingkvNode } from '../helpers/cluster.js';

let node: RingkvNode;

test.before(async () => {
  node = await startNode();
});

test.after.always(async () => {
  await node?.cleanup();
});

/** Sends raw bytes; resolves with everything the server wrote and whether it closed the connection. */
/** Sends `bytes` and collects replies until the connection closes, `until` holds, or `waitMs` passes. */
function raw(port: number, bytes: Buffer | string, waitMs = 5000, until?: (reply: string) => boolean): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed });
    }, waitMs);
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (until?.(reply) === true) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ reply, closed });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ reply, closed });
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

const malformed: [string, string | Buffer, string][] = [
  ['multibulk count too large', '*3000000000\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['negative bulk length', '*1\r\n$-10\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['bulk over proto-max-bulk-len', '*1\r\n$600000000\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['bulk without $', '*1\r\nfoo\r\n', "-ERR Protocol error: expected '$', got 'f'\r\n"],
  ['unbalanced quotes inline', 'SET "foo bar\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ['inline request over 64 KB without newline', Buffer.alloc(70 * 1024, 0x61), '-ERR Protocol error: too big inline request\r\n'],
];

for (const [name, bytes, expected] of malformed) {
  test(`protocol › ${name}: Redis's error, then the connection closes, others are served`, async (t) => {
    const other = node.client();
    const [result, pong] = await Promise.all([raw(node.port, bytes), other.ping()]);
    t.is(result.reply, expected);
    t.true(result.closed);
    t.is(pong, 'PONG');
    t.is(await other.set(`after:${name}`, 'ok'), 'OK');
  });
}

test('protocol › *0 and *-10 are ignored, inline commands work', async (t) => {
  const expected = '+PONG\r\n$3\r\na b\r\n';
  const result = await raw(node.port, '*0\r\n*-10\r\nPING\r\nECHO "a b"\r\n', 5000, (reply) => reply.length >= expected.length);
  t.is(result.reply, expected);
  t.false(result.closed);
});

test('protocol › a client that never reads cannot grow the server without bound', async (t) => {
  const big = Buffer.alloc(1024 * 1024, 0x78);
  const c = node.client();
  await c.set('big:value', big);
  const socket = net.connect(node.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.pause();
  const request = Buffer.from('*2\r\n$3\r\nGET\r\n$9\r\nbig:value\r\n');
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  // ~2 GB of replies requested; the server must stop reading instead of buffering them.
  let writes = 0;
  const deadline = Date.now() + 3000;
  while (writes < 2000 && Date.now() < deadline) {
    if (!socket.write(request)) await new Promise((r) => setTimeout(r, 20));
    writes++;
  }
  await new Promise((r) => setTimeout(r, 500));
  const rss = Number(/used_memory_rss:(\d+)/.exec(String(await c.info('memory')))![1]);
  t.true(rss < 600 * 1024 * 1024, `rss ${rss}`);
  t.is(await c.ping(), 'PONG');
  socket.destroy();
});

test('auth › NOAUTH before AUTH, WRONGPASS, then served', async (t) => {
  const secured = await startNode({ requirepass: 's3cret' });
  t.teardown(() => secured.cleanup());
  const anonymous = secured.client({ protocol: 2, password: '', redis: { lazyConnect: true, enableReadyCheck: false } });
  await anonymous.connect();
  await t.throwsAsync(anonymous.get('x'), { message: 'NOAUTH Authentication required.' });
  await t.throwsAsync(anonymous.call('AUTH', 'wrong'), { message: 'WRONGPASS invalid username-password pair or user is disabled.' });
  t.is(await anonymous.call('AUTH', 's3cret'), 'OK');
  t.is(await anonymous.set('x', '1'), 'OK');
  const result = await raw(secured.port, '*20\r\n', 500);
  t.is(result.reply, '-ERR Protocol error: unauthenticated multibulk length\r\n');
  const authed = secured.client();
  t.is(await authed.get('x'), '1');
});

test('durability › acknowledged writes survive kill -9', async (t) => {
  const victim = await startNode();
  t.teardown(() => victim.cleanup());
  const c = victim.client();
  const count = 2000;
  const pipeline = c.pipeline();
  for (let i = 0; i < count; i++) pipeline.set(`durable:${i}`, `value-${i}`);
  const results = (await pipeline.exec())!;
  t.true(results.every(([err, reply]) => err === null && reply === 'OK'));
  await victim.kill();
  await victim.restart();
  const check = victim.client();
  const values = await check.mget(...Array.from({ length: count }, (_, i) => `durable:${i}`));
  t.deepEqual(values, Array.from({ length: count }, (_, i) => `value-${i}`));
});

test('shutdown › SIGTERM finishes and exits 0; data is kept', async (t) => {
  const n = await startNode();
  t.teardown(() => n.cleanup());
  const c = n.client();
  await c.set('kept', 'yes');
  t.is(await n.stop(), 0);
  await n.restart();
  t.is(await n.client().get('kept'), 'yes');
});

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin/ringkv.js'), ...args], { timeout: 10_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr });
    });
  });
}

test('config › bad configuration is one line on stderr and exit code 2', async (t) => {
  for (const args of [['start', '--port', 'abc'], ['start', '--bogus', '1'], ['start', '--n', '3', '--r', '4'], ['nonsense']]) {
    const { code, stderr } = await runCli(args);
    t.is(code, 2, args.join(' '));
    t.is(stderr.trim().split('\n').length, 1, stderr);
    t.regex(stderr, /^ringkv: /);
  }
  const { code } = await runCli(['start', '--port', String(node.port), '--peer-port', '0', '--data', path.join(node.dataDir, 'other')]);
  t.is(code, 2);
});
