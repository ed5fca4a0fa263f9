// The dialer checks who answered: a caller that names the node it means to
// reach (membership knows id → address) must never have its request served
// by another node that now holds that address — a replica write acknowledged
// by the wrong node would count towards a quorum it is not part of.
// Two real TCP transports; the address is reused by a node with another id.

import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { pino, type Logger } from 'pino';
import { MessageType } from '../../src/peer/message-types.js';
import { TcpTransport, type TcpTransportOptions } from '../../src/peer/tcp-transport.js';
import { PeerError, type PeerMessage } from '../../src/peer/transport.js';

const silent = pino({ level: 'silent' });

function capturingLogger(): { logger: Logger; lines: Array<{ msg: string; peerNodeId?: string; expectedNodeId?: string }> } {
  const lines: Array<{ msg: string; peerNodeId?: string; expectedNodeId?: string }> = [];
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
    clusterSecret: 'secret',
    bindHost: '127.0.0.1',
    port: 0,
    logger: silent,
    ...options,
  });
  await transport.listen();
  t.teardown(() => transport.close());
  return transport;
}

const ping = (payload: string): PeerMessage => ({ type: MessageType.Ping, payload: Buffer.from(payload) });

/** A handler that answers with its own id and counts what it served. */
function serving(id: string): { served: string[]; handler: (from: string, m: PeerMessage) => PeerMessage } {
  const served: string[] = [];
  return {
    served,
    handler: (_from, m) => {
      served.push(m.payload.toString());
      return { type: MessageType.Pong, payload: Buffer.from(id) };
    },
  };
}

async function wrongNode(t: ExecutionContext, promise: Promise<unknown>): Promise<PeerError | undefined> {
  const error = await t.throwsAsync(promise, { instanceOf: PeerError });
  t.is(error?.code, 'PEER_WRONG_NODE', error?.message);
  return error;
}

test('peer identity › a fresh dial to an address now held by another node is refused', async (t) => {
  const { logger, lines } = capturingLogger();
  const dialer = await start(t, 'dialer', { logger });
  const impostor = await start(t, 'node-x');
  const x = serving('node-x');
  impostor.setHandler(x.handler);
  const address = `127.0.0.1:${impostor.address().port}`;
  // Several requests wait on the one handshake; every one expecting node-a is refused.
  const refused = [1, 2, 3].map((i) => dialer.request(address, ping(`for-a-${i}`), 2000, 'node-a'));
  for (const request of refused) await wrongNode(t, request);
  t.deepEqual(x.served, [], 'node-x never saw a request meant for node-a');
  t.true(lines.some((l) => l.peerNodeId === 'node-x' && l.expectedNodeId === 'node-a'), JSON.stringify(lines));
  // The same address still serves requests meant for node-x, or for whoever is there.
  t.is((await dialer.request(address, ping('for-x'), 2000, 'node-x')).payload.toString(), 'node-x');
  t.is((await dialer.request(address, ping('anyone'), 2000)).payload.toString(), 'node-x');
  t.deepEqual(x.served, ['for-x', 'anyone']);
});

test('peer identity › a live connection whose address was taken over by another node is not used for the old one', async (t) => {
  const dialer = await start(t, 'dialer');
  const original = await start(t, 'node-a');
  original.setHandler(serving('node-a').handler);
  const port = original.address().port;
  const address = `127.0.0.1:${port}`;
  t.is((await dialer.request(address, ping('first'), 2000, 'node-a')).payload.toString(), 'node-a');
  await original.close();
  const impostor = await start(t, 'node-x', { port });
  const x = serving('node-x');
  impostor.setHandler(x.handler);
  // Retry until the dialer has noticed the old connection is gone and dialled the new node.
  const deadline = Date.now() + 5000;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await dialer.request(address, ping('for-a'), 1000, 'node-a').catch((err: unknown) => err);
    if ((last as PeerError).code === 'PEER_WRONG_NODE') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is((last as PeerError).code, 'PEER_WRONG_NODE', String(last));
  // Once connected, later requests for node-a are refused on the ready connection too.
  await wrongNode(t, dialer.request(address, ping('for-a-again'), 1000, 'node-a'));
  t.deepEqual(x.served, []);
});

test('peer identity › the expected node is served as before', async (t) => {
  const dialer = await start(t, 'dialer');
  const a = await start(t, 'node-a');
  a.setHandler(serving('node-a').handler);
  const address = `127.0.0.1:${a.address().port}`;
  const replies = await Promise.all([1, 2, 3].map((i) => dialer.request(address, ping(String(i)), 2000, 'node-a')));
  t.deepEqual(replies.map((r) => r.payload.toString()), ['node-a', 'node-a', 'node-a']);
});
