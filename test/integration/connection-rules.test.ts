// Redis's connection rules, as a client meets them on a real socket: nothing
// pipelined after QUIT runs and QUIT's +OK is written before the close; after
// a protocol error the error is written and the connection closed outright,
// so nothing more is read and the client's next write fails; a multibulk may
// have more than a million elements; a request past the query buffer limit
// closes the client. Each expectation was checked against redis-server 7.0.15.
// A node process for what a user sees, an in-process server where the test
// needs its own limits or the server's exact byte counts.

import net from 'node:net';
import test from 'ava';
import { argumentOverheadBytes, protocolLimits } from '../../src/resp/limits.js';
import { infoNumber, startNode, type RingkvNode } from '../helpers/cluster.js';
import { exchange, multibulk, rawSocket, startRespServer } from '../helpers/resp-server.js';

let node: RingkvNode;

test.before(async () => {
  node = await startNode();
});

test.after.always(async () => {
  await node?.cleanup();
});

const resetCodes = ['EPIPE', 'ECONNRESET'];

test('quit › commands pipelined after QUIT are not run; the replies before it and its +OK are written, then the close', async (t) => {
  const client = node.client();
  const pipeline = multibulk('SET', 'quit:k', 'before') + multibulk('GET', 'quit:k') + multibulk('QUIT') +
    multibulk('SET', 'quit:k', 'after') + multibulk('SET', 'quit:other', 'x');
  const result = await exchange(node.port, pipeline);
  t.is(result.reply, '+OK\r\n$6\r\nbefore\r\n+OK\r\n');
  t.true(result.closed);
  t.is(await client.get('quit:k'), 'before');
  t.is(await client.exists('quit:other'), 0);
});

test('quit › PING; QUIT; PING pipelined answers +PONG, +OK, then closes outright', async (t) => {
  const result = await exchange(node.port, 'PING\r\nQUIT\r\nPING\r\n', { afterEnd: 'PING\r\n' });
  t.is(result.reply, '+PONG\r\n+OK\r\n');
  t.true(result.closed, 'the connection stayed open after QUIT');
  // Closed, not half-closed: what the client writes after our FIN is refused, not read.
  t.true(resetCodes.includes(result.error ?? ''), `error: ${result.error}`);
});

test('protocol error › the error is written and the connection closed outright: a later write is refused', async (t) => {
  const result = await exchange(node.port, '*1\r\n$-10\r\n', { afterEnd: multibulk('SET', 'proto:after', 'x') });
  t.is(result.reply, '-ERR Protocol error: invalid bulk length\r\n');
  t.true(result.closed, 'the connection stayed open after the protocol error');
  t.true(resetCodes.includes(result.error ?? ''), `error: ${result.error}`);
  t.is(await node.client().exists('proto:after'), 0);
});

/**
 * Writes chunk after chunk, as a client that never reads would, until the
 * socket fails or closes, bytesMax is written, or deadlineMs passes.
 */
async function writeUntilRefused(socket: net.Socket, chunk: Buffer, bytesMax: number, deadlineMs: number): Promise<{ written: number; error: string | undefined }> {
  let error: string | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code));
  const deadline = Date.now() + deadlineMs;
  let written = 0;
  while (!socket.destroyed && written < bytesMax && Date.now() < deadline) {
    written += chunk.length;
    if (socket.write(chunk)) continue;
    // The kernel's buffers are full: wait for room, the close, or a moment.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 100);
      function done(): void {
        clearTimeout(timer);
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      }
      socket.once('drain', done);
      socket.once('close', done);
    });
  }
  return { written, error };
}

test('protocol error › after a stray NUL and an endless line, the server reads nothing more and the writer is refused', async (t) => {
  const server = await startRespServer(protocolLimits());
  t.teardown(() => server.close());
  const socket = await rawSocket(server.port);
  t.teardown(() => socket.destroy());
  socket.write(Buffer.from([0]));
  const bytesMax = 64 * 1024 * 1024;
  const { written, error } = await writeUntilRefused(socket, Buffer.alloc(64 * 1024, 0x61), bytesMax, 20_000);
  t.true(resetCodes.includes(error ?? ''), `no reset after ${written} bytes written (error: ${error})`);
  t.true(written < bytesMax);
  t.is(server.stats.protocolErrors, 1);
  // The error comes past the 64 KB inline limit; what the server read is that and the chunk in hand, not what followed.
  t.true(server.stats.netInputBytes < 1024 * 1024, `the server read ${server.stats.netInputBytes} bytes of ${written} written`);
});

test('multibulk › 1,048,577 elements are accepted, as by Redis (up to INT_MAX, bounded by the query buffer)', async (t) => {
  const client = node.client();
  await client.set('mbulk:k', '1');
  const keys = 1024 * 1024;
  const request = `*${keys + 1}\r\n$6\r\nEXISTS\r\n${'$7\r\nmbulk:k\r\n'.repeat(keys)}`;
  const socket = await rawSocket(node.port);
  t.teardown(() => socket.destroy());
  let reply = '';
  const replied = new Promise<void>((resolve) => socket.on('data', (d: Buffer) => {
    reply += d.toString('latin1');
    if (reply.endsWith('\r\n')) resolve();
  }));
  socket.write(request);
  await replied;
  // EXISTS counts a key once per time it is named, as Redis does.
  t.is(reply, `:${keys}\r\n`);
});

test('query buffer › a request past the limit closes the client with a reply saying why; the commands before it ran', async (t) => {
  const queryBufferBytesMax = 1024 * 1024;
  const server = await startRespServer(protocolLimits({ queryBufferBytesMax }));
  t.teardown(() => server.close());
  const within = 'v'.repeat(queryBufferBytesMax / 2);
  // Refused from its $ header: the value's bytes need not (and, unread, would only make the close a reset) follow.
  const tooBig = `*3\r\n$3\r\nSET\r\n$6\r\nqb:big\r\n$${queryBufferBytesMax}\r\n`;
  const pipeline = multibulk('SET', 'qb:small', within) + tooBig + multibulk('SET', 'qb:after', 'x');
  const result = await exchange(server.port, pipeline, { afterEnd: 'PING\r\n' });
  t.is(result.reply, `+OK\r\n-ERR Closing client that reached max query buffer length (client-query-buffer-limit is ${queryBufferBytesMax} bytes)\r\n`);
  t.true(result.closed);
  t.true(resetCodes.includes(result.error ?? ''), `error: ${result.error}`);
  t.is(server.stats.queryBufferLimitDisconnections, 1);
  t.is(server.stats.protocolErrors, 0);
  t.is(server.storage.recordCount(), 1, 'only the SET before the refused request was applied');
});

test('query buffer › many short arguments are charged their memory, not only their bytes', async (t) => {
  const queryBufferBytesMax = 1024 * 1024;
  const server = await startRespServer(protocolLimits({ queryBufferBytesMax }));
  t.teardown(() => server.close());
  // Each one-byte argument costs 1 + argumentOverheadBytes: ~8,100 of them fit in 1 MiB, though on the wire they are 57 KiB.
  const fitting = Math.floor((queryBufferBytesMax - 6 - argumentOverheadBytes) / (1 + argumentOverheadBytes));
  const exists = (keys: number) => `*${keys + 1}\r\n$6\r\nEXISTS\r\n${'$1\r\nk\r\n'.repeat(keys)}`;
  const fits = await exchange(server.port, exists(fitting), { waitMs: 1000 });
  t.is(fits.reply, ':0\r\n');
  t.false(fits.closed);
  const refused = await exchange(server.port, exists(fitting + 1));
  t.regex(refused.reply, /^-ERR Closing client that reached max query buffer length/);
  t.true(refused.closed);
  t.is(server.stats.queryBufferLimitDisconnections, 1);
});

test('info › total_net_input_bytes and total_net_output_bytes count what clients sent and received', async (t) => {
  const server = await startRespServer(protocolLimits());
  t.teardown(() => server.close());
  const requests = 'PING\r\n'.repeat(100) + multibulk('ECHO', 'hello');
  const result = await exchange(server.port, requests, { waitMs: 500 });
  t.is(result.reply, `${'+PONG\r\n'.repeat(100)}$5\r\nhello\r\n`);
  t.is(server.stats.netInputBytes, Buffer.byteLength(requests));
  t.is(server.stats.netOutputBytes, Buffer.byteLength(result.reply));
  // And INFO stats shows them under Redis's names.
  const info = await node.info('stats');
  t.true(infoNumber(info, 'total_net_input_bytes') > 0);
  t.true(infoNumber(info, 'total_net_output_bytes') > 0);
  t.is(infoNumber(info, 'client_query_buffer_limit_disconnections'), 0);
});
