// Clients that misbehave at the edge of the RESP listener: connections refused
// at --maxclients and then reset by their client, refused connections that
// never close, and clients that reset in the middle of a reply. Each must cost
// the node nothing but that one socket: no crash (an 'error' event without a
// listener kills a Node process), no descriptor kept open.

import net from 'node:net';
import test from 'ava';
import type { Redis } from 'ioredis';
import { sleep, startNode, type RingkvNode } from '../helpers/cluster.js';

const host = '127.0.0.1';

function connected(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * A client holding one of the node's slots. The harness's readiness probe may
 * still hold a slot for a moment after it closed, so a refused try is retried.
 */
async function occupySlot(node: RingkvNode): Promise<Redis> {
  for (let attempt = 0; ; attempt++) {
    const client = node.client();
    try {
      if ((await client.ping()) === 'PONG') return client;
    } catch (err) {
      client.disconnect();
      if (attempt >= 20) throw err;
      await sleep(100);
    }
  }
}

/** A socket that connects and is reset (RST, SO_LINGER 0) as soon as it is connected. */
async function connectAndReset(port: number): Promise<void> {
  const socket = await connected(port);
  socket.resetAndDestroy();
  await new Promise((resolve) => socket.once('close', resolve));
}

test('maxclients › refused connections reset by their client do not crash the node', async (t) => {
  const node = await startNode({ extraArgs: ['--maxclients', '2'] });
  t.teardown(() => node.cleanup());
  const a = await occupySlot(node);
  const b = await occupySlot(node);
  for (let i = 0; i < 20 && node.alive; i++) {
    await connectAndReset(node.port).catch(() => undefined);
    // Give the reset a moment to reach the node before the next one (the crash came on reading it).
    if (i % 5 === 4) await sleep(50);
  }
  await sleep(200);
  t.true(node.alive, `node died: ${node.output.tail(20)}`);
  t.is(await a.ping(), 'PONG');
  t.is(await b.ping(), 'PONG');
  // A client slot freed is usable again.
  b.disconnect();
  await sleep(200);
  const c = await occupySlot(node);
  t.is(await c.ping(), 'PONG');
});

test('maxclients › a refused client that never closes is cut, not kept', async (t) => {
  const node = await startNode({ extraArgs: ['--maxclients', '1'] });
  t.teardown(() => node.cleanup());
  await occupySlot(node);
  // allowHalfOpen: we never answer the node's FIN, as a client that just sits there would.
  const refused = net.connect({ port: node.port, host, allowHalfOpen: true });
  refused.on('error', () => undefined);
  let reply = '';
  refused.on('data', (d: Buffer) => (reply += d.toString('latin1')));
  await new Promise((resolve) => refused.once('end', resolve));
  t.is(reply, '-ERR max number of clients reached\r\n');
  // While the node keeps its end open, what we send is taken in silently; once it
  // has closed the socket, a write draws a reset and our socket closes.
  let closed = false;
  refused.once('close', () => (closed = true));
  const deadline = Date.now() + 10_000;
  while (!closed && Date.now() < deadline) {
    refused.write('PING\r\n');
    await sleep(250);
  }
  refused.destroy();
  t.true(closed, 'the node kept a refused connection open for 10 s');
  t.true(node.alive);
});

test('clients › resets in the middle of replies do not crash the node', async (t) => {
  const node = await startNode();
  t.teardown(() => node.cleanup());
  const c = node.client();
  await c.set('big', Buffer.alloc(2 * 1024 * 1024, 0x61));
  for (let i = 0; i < 10; i++) {
    const socket = await connected(node.port);
    socket.write('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(20));
    // Reset once the first bytes of the replies arrive: the node is mid-write.
    await new Promise((resolve) => socket.once('data', resolve));
    socket.resetAndDestroy();
  }
  await sleep(200);
  t.true(node.alive, `node died: ${node.output.tail(20)}`);
  t.is(await c.ping(), 'PONG');
});
