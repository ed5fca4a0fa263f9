import test, { type ExecutionContext } from 'ava';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { encodeControl } from '../../src/peer/codec.js';
import { FrameDecoder, FrameFlags, checksum, encodeFrame, frameBytesMax, handshakeFrameBytesMax } from '../../src/peer/frame.js';
import { decodeChallenge, encodeChallenge, encodeHello, newNonce } from '../../src/peer/handshake.js';
import { MessageType } from '../../src/peer/message-types.js';
import { TcpTransport, parseAddress, type TcpTransportOptions } from '../../src/peer/tcp-transport.js';
import { PeerError, type PeerErrorCode, type PeerMessage } from '../../src/peer/transport.js';

const silent = pino({ level: 'silent' });

/** A logger that keeps its lines, to count warnings. */
function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

async function start(t: ExecutionContext, nodeId: string, options: Partial<TcpTransportOptions> = {}): Promise<TcpTransport> {
  const transport = new TcpTransport({
    nodeId,
    clusterName: 'ringkv-test',
    clusterSecret: 'right secret',
    bindHost: '127.0.0.1',
    port: 0,
    logger: silent,
    ...options,
  });
  await transport.listen();
  t.teardown(() => transport.close());
  return transport;
}

const addressOf = (transport: TcpTransport) => `127.0.0.1:${transport.address().port}`;
const ping = (payload: string | Buffer): PeerMessage => ({ type: MessageType.Ping, payload: Buffer.from(payload) });
const echo = (from: string, message: PeerMessage): PeerMessage => ({ type: MessageType.Pong, payload: Buffer.concat([Buffer.from(`${from}:`), message.payload]) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejectsWith(t: ExecutionContext, promise: Promise<unknown>, code: PeerErrorCode): Promise<void> {
  const error = await t.throwsAsync(promise, { instanceOf: PeerError });
  t.is(error?.code, code, error?.message);
}

test('peer tcp › request and reply carry the proven node id', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b');
  a.setHandler(echo);
  const reply = await b.request(addressOf(a), ping('hi'), 2000);
  t.is(reply.type, MessageType.Pong);
  t.is(reply.payload.toString(), 'node-b:hi');
  t.true(a.address().port > 0);
});

test('peer tcp › 1000 concurrent requests share one connection and all come back', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b');
  let connections = 0;
  a.setHandler(async (from, message) => {
    await sleep(message.payload.readUInt32BE(0) % 5);
    return echo(from, message);
  });
  const counted = new Set<string>();
  const replies = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(i, 0);
      return b.request(addressOf(a), { type: MessageType.Ping, payload }, 5000);
    }),
  );
  replies.forEach((reply, i) => {
    t.is(reply.payload.subarray(7).readUInt32BE(0), i);
    counted.add(reply.payload.subarray(0, 7).toString());
  });
  connections = a.inbound.size;
  t.deepEqual([...counted], ['node-b:']);
  t.is(connections, 1);
});

test('peer tcp › a handler that never answers times out as PEER_TIMEOUT', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b');
  a.setHandler((from, message) => (message.payload.toString() === 'warm' ? echo(from, message) : new Promise<PeerMessage>(() => {})));
  await b.request(addressOf(a), ping('warm'), 2000); // connect first: time only the request
  const started = Date.now();
  await rejectsWith(t, b.request(addressOf(a), ping('x'), 200), 'PEER_TIMEOUT');
  const elapsed = Date.now() - started;
  t.true(elapsed >= 195 && elapsed < 700, `took ${elapsed} ms`);
});

test('peer tcp › a request without a timeout gets the transport default', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b', { requestTimeoutMs: 150 });
  a.setHandler(() => new Promise<PeerMessage>(() => {}));
  const started = Date.now();
  await rejectsWith(t, b.request(addressOf(a), ping('x'), 0), 'PEER_TIMEOUT');
  const elapsed = Date.now() - started;
  t.true(elapsed >= 145 && elapsed < 650, `took ${elapsed} ms`);
});

test('peer tcp › a handler that throws surfaces as PEER_REMOTE_ERROR', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b');
  a.setHandler((_from, message) => {
    if (message.payload.toString() === 'sync') throw new Error('sync boom');
    return Promise.reject(Object.assign(new Error('async boom'), { code: 'STORAGE_FAILED' }));
  });
  const sync = await t.throwsAsync(b.request(addressOf(a), ping('sync'), 2000), { instanceOf: PeerError });
  t.is(sync?.code, 'PEER_REMOTE_ERROR');
  t.regex(sync!.message, /sync boom/);
  const async = await t.throwsAsync(b.request(addressOf(a), ping('async'), 2000), { instanceOf: PeerError });
  t.regex(async!.message, /STORAGE_FAILED: async boom/);
  a.setHandler(echo);
  t.is((await b.request(addressOf(a), ping('ok'), 2000)).payload.toString(), 'node-b:ok', 'the connection survives');
});

test('peer tcp › wrong secret is refused while right-secret peers are served', async (t) => {
  const { logger, lines } = capturingLogger();
  const a = await start(t, 'node-a', { logger });
  const intruder = await start(t, 'intruder', { clusterSecret: 'wrong secret' });
  const friend = await start(t, 'node-b');
  a.setHandler(echo);
  await rejectsWith(t, intruder.request(addressOf(a), ping('x'), 2000), 'PEER_REFUSED');
  await rejectsWith(t, intruder.request(addressOf(a), ping('x'), 2000), 'PEER_REFUSED'); // backing off, still says why
  t.is((await friend.request(addressOf(a), ping('hi'), 2000)).payload.toString(), 'node-b:hi');
  t.is(lines.filter((l) => l.level === 40).length, 1, JSON.stringify(lines));
  t.regex(lines[0]!.msg, /wrong secret/);
});

test('peer tcp › wrong cluster name is refused', async (t) => {
  const a = await start(t, 'node-a');
  const stranger = await start(t, 'node-x', { clusterName: 'other-cluster' });
  a.setHandler(echo);
  await rejectsWith(t, stranger.request(addressOf(a), ping('x'), 2000), 'PEER_REFUSED');
});

test('peer tcp › an acceptor that cannot prove the secret is refused by the dialer', async (t) => {
  // A fake acceptor: a real challenge, then a Welcome whose proof is wrong.
  const server = createServer((socket) => {
    const decoder = new FrameDecoder(handshakeFrameBytesMax);
    socket.on('error', () => {});
    socket.write(encodeFrame(MessageType.HandshakeChallenge, FrameFlags.Request, 0, encodeChallenge(newNonce())));
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      if (decoder.next()?.type === MessageType.HandshakeHello) {
        const welcome = encodeControl({ nodeId: 'impostor', proof: Buffer.alloc(32) });
        socket.write(encodeFrame(MessageType.HandshakeWelcome, FrameFlags.Reply, 0, welcome));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const b = await start(t, 'node-b');
  const port = (server.address() as AddressInfo).port;
  await rejectsWith(t, b.request(`127.0.0.1:${port}`, ping('x'), 2000), 'PEER_REFUSED');
});

test('peer tcp › empty secrets on both sides agree (no security)', async (t) => {
  const a = await start(t, 'node-a', { clusterSecret: '' });
  const b = await start(t, 'node-b', { clusterSecret: '' });
  a.setHandler(echo);
  t.is((await b.request(addressOf(a), ping('x'), 2000)).payload.toString(), 'node-b:x');
});

test('peer tcp › raw garbage on the peer port is dropped; others are still served', async (t) => {
  const { logger, lines } = capturingLogger();
  const a = await start(t, 'node-a', { logger });
  const b = await start(t, 'node-b');
  a.setHandler(echo);
  const closed = await new Promise<boolean>((resolve) => {
    const raw = connect(a.address().port, '127.0.0.1', () => raw.write(Buffer.from('*1\r\n$4\r\nPING\r\n GARBAGE GARBAGE GARBAGE\r\n')));
    raw.on('data', () => {}); // the challenge
    raw.on('error', () => resolve(true));
    raw.on('close', () => resolve(true));
    setTimeout(() => {
      raw.destroy();
      resolve(false);
    }, 2000).unref();
  });
  t.true(closed, 'the acceptor closed the garbage connection');
  t.is((await b.request(addressOf(a), ping('still'), 2000)).payload.toString(), 'node-b:still');
  t.is(a.inbound.size, 1);
  t.is(lines.length, 1);
  t.regex(lines[0]!.msg, /malformed frame \(header-checksum\)/);
});

test('peer tcp › an oversized frame after the handshake drops that connection only', async (t) => {
  const { logger, lines } = capturingLogger();
  const a = await start(t, 'node-a', { logger });
  const b = await start(t, 'node-b');
  a.setHandler(echo);
  // A fake dialer that proves the secret, then announces a frame over frameBytesMax.
  const closed = await new Promise<boolean>((resolve) => {
    const raw = connect(a.address().port, '127.0.0.1');
    const decoder = new FrameDecoder(handshakeFrameBytesMax);
    raw.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      const frame = decoder.next();
      if (frame?.type !== MessageType.HandshakeChallenge) return;
      const config = { clusterName: 'ringkv-test', clusterSecret: 'right secret', nodeId: 'fake' };
      raw.write(encodeFrame(MessageType.HandshakeHello, FrameFlags.Request, 0, encodeHello(config, decodeChallenge(frame.payload)!, newNonce())));
      const huge = encodeFrame(MessageType.Ping, FrameFlags.Request, 1, Buffer.alloc(0));
      huge.writeUInt32BE(frameBytesMax + 1, 0);
      huge.writeUInt32BE(checksum(huge, 0, 16), 16);
      setTimeout(() => raw.write(huge), 50);
    });
    raw.on('error', () => resolve(true));
    raw.on('close', () => resolve(true));
    setTimeout(() => {
      raw.destroy();
      resolve(false);
    }, 2000).unref();
  });
  t.true(closed);
  t.is((await b.request(addressOf(a), ping('still'), 2000)).payload.toString(), 'node-b:still');
  t.deepEqual(lines.map((l) => l.msg), ['peer protocol violation: malformed frame (length-long)']);
});

test('peer tcp › inbound connections are bounded', async (t) => {
  const a = await start(t, 'node-a', { inboundPeersMax: 1 });
  const b = await start(t, 'node-b');
  const c = await start(t, 'node-c');
  a.setHandler(echo);
  await b.request(addressOf(a), ping('x'), 2000);
  await rejectsWith(t, c.request(addressOf(a), ping('x'), 2000), 'PEER_UNREACHABLE');
  t.is(a.inbound.size, 1);
});

test('peer tcp › reconnects after the acceptor restarts', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b');
  a.setHandler(echo);
  const port = a.address().port;
  await b.request(addressOf(a), ping('1'), 2000);
  await a.close();
  await t.throwsAsync(b.request(`127.0.0.1:${port}`, ping('2'), 2000), { instanceOf: PeerError });
  const a2 = await start(t, 'node-a', { port });
  a2.setHandler(echo);
  const deadline = Date.now() + 5000;
  let reply: PeerMessage | null = null;
  while (reply === null && Date.now() < deadline) {
    reply = await b.request(`127.0.0.1:${port}`, ping('3'), 1000).catch((error: PeerError) => {
      t.true(error.code === 'PEER_UNREACHABLE' || error.code === 'PEER_CLOSED', error.code);
      return sleep(50).then(() => null);
    });
  }
  t.is(reply?.payload.toString(), 'node-b:3');
});

test('peer tcp › dial failures back off and fail fast as PEER_UNREACHABLE', async (t) => {
  const a = await start(t, 'node-a');
  const port = a.address().port;
  await a.close();
  const b = await start(t, 'node-b');
  await rejectsWith(t, b.request(`127.0.0.1:${port}`, ping('x'), 2000), 'PEER_UNREACHABLE');
  const started = Date.now();
  const error = await t.throwsAsync(b.request(`127.0.0.1:${port}`, ping('x'), 2000), { instanceOf: PeerError });
  t.is(error?.code, 'PEER_UNREACHABLE');
  t.regex(error!.message, /backing off/);
  t.true(Date.now() - started < 50);
  await rejectsWith(t, b.request('no-port-here', ping('x'), 2000), 'PEER_UNREACHABLE');
});

test('peer tcp › a full outbound queue fails fast as PEER_OVERLOADED', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b', { outboundQueueBytesMax: 1000 });
  a.setHandler(echo);
  const first = b.request(addressOf(a), ping(Buffer.alloc(600)), 2000);
  await rejectsWith(t, b.request(addressOf(a), ping(Buffer.alloc(600)), 2000), 'PEER_OVERLOADED');
  t.is((await first).payload.length, 7 + 600);
});

test('peer tcp › pending requests per connection are bounded', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b', { pendingRequestsMax: 2 });
  a.setHandler(echo);
  const ok = [b.request(addressOf(a), ping('1'), 2000), b.request(addressOf(a), ping('2'), 2000)];
  await rejectsWith(t, b.request(addressOf(a), ping('3'), 2000), 'PEER_OVERLOADED');
  t.is((await Promise.all(ok)).length, 2);
});

test('peer tcp › close() rejects everything pending and leaves nothing behind', async (t) => {
  const a = await start(t, 'node-a');
  const b = await start(t, 'node-b');
  a.setHandler(() => new Promise<PeerMessage>(() => {}));
  const pending = Array.from({ length: 50 }, () => b.request(addressOf(a), ping('x'), 10_000));
  await sleep(50);
  const started = Date.now();
  await b.close();
  const results = await Promise.allSettled(pending);
  t.true(results.every((r) => r.status === 'rejected' && (r.reason as PeerError).code === 'PEER_CLOSED'));
  await rejectsWith(t, b.request(addressOf(a), ping('x'), 1000), 'PEER_CLOSED');
  await a.close();
  t.true(Date.now() - started < 1000, 'close does not wait for timers');
  await sleep(20);
  t.is(a.inbound.size, 0);
});

test('peer tcp › parseAddress', (t) => {
  t.deepEqual(parseAddress('127.0.0.1:7001'), { host: '127.0.0.1', port: 7001 });
  t.deepEqual(parseAddress('[::1]:7001'), { host: '::1', port: 7001 });
  t.is(parseAddress('host'), null);
  t.is(parseAddress('host:0'), null);
  t.is(parseAddress(':80'), null);
  t.is(parseAddress('host:99999'), null);
});
