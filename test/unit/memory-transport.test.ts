import test, { type ExecutionContext } from 'ava';
import { MemoryNetwork, MemoryTransport, type MemoryNetworkOptions } from '../../src/peer/memory-transport.js';
import { MessageType } from '../../src/peer/message-types.js';
import { PeerError, type PeerErrorCode, type PeerMessage } from '../../src/peer/transport.js';

const ping = (text: string): PeerMessage => ({ type: MessageType.Ping, payload: Buffer.from(text) });
const echo = (from: string, message: PeerMessage): PeerMessage => ({ type: MessageType.Pong, payload: Buffer.concat([Buffer.from(`${from}:`), message.payload]) });

async function cluster(t: ExecutionContext, ids: string[], options: MemoryNetworkOptions = {}): Promise<{ network: MemoryNetwork; nodes: MemoryTransport[] }> {
  const network = new MemoryNetwork({ seed: 1234, ...options });
  const nodes = ids.map((nodeId) => new MemoryTransport({ network, nodeId }));
  for (const node of nodes) {
    node.setHandler(echo);
    await node.listen();
    t.teardown(() => node.close());
  }
  return { network, nodes };
}

async function codeOf(promise: Promise<unknown>): Promise<PeerErrorCode | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (!(error instanceof PeerError)) throw error;
    return error.code;
  }
}

test('memory transport › request and reply, always asynchronous, payloads copied', async (t) => {
  const { nodes } = await cluster(t, ['a', 'b']);
  const [a, b] = nodes as [MemoryTransport, MemoryTransport];
  let served = false;
  b.setHandler((from, message) => {
    served = true;
    message.payload.fill(0); // must not reach the sender's buffer
    return echo(from, { type: message.type, payload: Buffer.from('hi') });
  });
  const payload = Buffer.from('hi');
  const reply = a.request('b', { type: MessageType.Ping, payload }, 1000);
  t.false(served, 'not delivered synchronously');
  t.is((await reply).payload.toString(), 'a:hi');
  t.is(payload.toString(), 'hi');
});

test('memory transport › partition rejects as PEER_UNREACHABLE; heal restores', async (t) => {
  const { network, nodes } = await cluster(t, ['a', 'b', 'c']);
  const [a, b] = nodes as [MemoryTransport, MemoryTransport, MemoryTransport];
  network.partition(['a'], ['b', 'c']);
  t.is(await codeOf(a.request('b', ping('x'), 1000)), 'PEER_UNREACHABLE');
  t.is(await codeOf(b.request('a', ping('x'), 1000)), 'PEER_UNREACHABLE', 'both directions');
  t.is(await codeOf(b.request('c', ping('x'), 1000)), 'ok', 'the same side still talks');
  network.heal();
  t.is(await codeOf(a.request('b', ping('x'), 1000)), 'ok');
});

test('memory transport › a partition in flight loses the reply: PEER_TIMEOUT', async (t) => {
  const { network, nodes } = await cluster(t, ['a', 'b']);
  const [a, b] = nodes as [MemoryTransport, MemoryTransport];
  b.setHandler(async (from, message) => {
    network.partition('a', 'b');
    return echo(from, message);
  });
  const started = Date.now();
  t.is(await codeOf(a.request('b', ping('x'), 100)), 'PEER_TIMEOUT');
  t.true(Date.now() - started >= 95);
});

test('memory transport › node down and up; unknown node', async (t) => {
  const { network, nodes } = await cluster(t, ['a', 'b']);
  const [a] = nodes as [MemoryTransport, MemoryTransport];
  network.down('b');
  t.is(await codeOf(a.request('b', ping('x'), 1000)), 'PEER_UNREACHABLE');
  network.up('b');
  t.is(await codeOf(a.request('b', ping('x'), 1000)), 'ok');
  t.is(await codeOf(a.request('nobody', ping('x'), 1000)), 'PEER_UNREACHABLE');
});

test('memory transport › drop rate loses about that share, and the seed replays it', async (t) => {
  async function run(): Promise<string> {
    const network = new MemoryNetwork({ seed: 77, dropRate: 0.2 });
    const a = new MemoryTransport({ network, nodeId: 'a' });
    const b = new MemoryTransport({ network, nodeId: 'b' });
    b.setHandler(echo);
    await b.listen();
    const outcomes = await Promise.all(Array.from({ length: 400 }, (_, i) => codeOf(a.request('b', ping(String(i)), 500))));
    await a.close();
    await b.close();
    return outcomes.map((o) => (o === 'ok' ? '1' : '0')).join('');
  }
  const first = await run();
  const lost = [...first].filter((c) => c === '0').length;
  // Each round trip survives two draws: expected loss 1 - 0.8^2 = 36%.
  t.true(lost > 400 * 0.28 && lost < 400 * 0.44, `lost ${lost} of 400`);
  t.is(await run(), first, 'same seed, same losses');
});

test('memory transport › delays stay within the range', async (t) => {
  const { nodes } = await cluster(t, ['a', 'b'], { delayMsMin: 20, delayMsMax: 40 });
  const [a] = nodes as [MemoryTransport, MemoryTransport];
  const started = Date.now();
  await a.request('b', ping('x'), 1000);
  const elapsed = Date.now() - started;
  t.true(elapsed >= 38 && elapsed < 200, `round trip took ${elapsed} ms`);
});

test('memory transport › handler failures arrive as PEER_REMOTE_ERROR', async (t) => {
  const { nodes } = await cluster(t, ['a', 'b']);
  const [a, b] = nodes as [MemoryTransport, MemoryTransport];
  b.setHandler(() => {
    throw Object.assign(new Error('disk full'), { code: 'STORAGE_FAILED' });
  });
  const error = await t.throwsAsync(a.request('b', ping('x'), 1000), { instanceOf: PeerError });
  t.is(error?.code, 'PEER_REMOTE_ERROR');
  t.regex(error!.message, /STORAGE_FAILED: disk full/);
});

test('memory transport › close rejects pending with PEER_CLOSED and clears timers', async (t) => {
  const network = new MemoryNetwork({ seed: 3 });
  const a = new MemoryTransport({ network, nodeId: 'a' });
  const b = new MemoryTransport({ network, nodeId: 'b' });
  b.setHandler(() => new Promise<PeerMessage>(() => {}));
  await b.listen();
  const pending = Array.from({ length: 10 }, () => codeOf(a.request('b', ping('x'), 60_000)));
  await a.close();
  t.deepEqual(await Promise.all(pending), Array(10).fill('PEER_CLOSED'));
  t.is(a.calls.size, 0);
  t.is(await codeOf(a.request('b', ping('x'), 1000)), 'PEER_CLOSED');
  await b.close();
});
