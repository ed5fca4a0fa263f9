import test, { type ExecutionContext } from 'ava';
import { MemoryNetwork, MemoryTransport, type MemoryNetworkOptions } from '../../src/peer/memory-transport.js';
import { MessageType } from '../../src/peer/message-types.js';
import { PeerError, type PeerErrorCode, type PeerMessage } from '../../src/peer/transport.js';
import { VirtualTime } from '../sim/virtual-time.js';

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
  // On virtual time: what is measured is the network's delays, not how busy the machine running the test is.
  const time = new VirtualTime();
  const { nodes } = await cluster(t, ['a', 'b'], { delayMsMin: 20, delayMsMax: 40, timers: time });
  const [a] = nodes as [MemoryTransport, MemoryTransport];
  for (let i = 0; i < 20; i++) {
    const started = time.now();
    let done = false;
    const reply = a.request('b', ping(`x${i}`), 1000).finally(() => (done = true));
    await time.runUntil(() => done, 1000);
    await reply;
    const elapsed = time.now() - started;
    t.true(elapsed >= 40 && elapsed <= 80, `round trip ${i} took ${elapsed} virtual ms: two hops of 20..40 ms`);
  }
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

/** A transport with node id `nodeId` listening at `address`, answering with its id and counting what it served. */
async function listening(t: ExecutionContext, network: MemoryNetwork, nodeId: string, address: string): Promise<{ transport: MemoryTransport; served: string[] }> {
  const served: string[] = [];
  const transport = new MemoryTransport({ network, nodeId, address });
  transport.setHandler((_from, message) => {
    served.push(message.payload.toString());
    return { type: MessageType.Pong, payload: Buffer.from(nodeId) };
  });
  await transport.listen();
  t.teardown(() => transport.close());
  return { transport, served };
}

/** Lets every pending promise callback run, but no timer. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

test('memory transport › a request for a node whose address another node holds is refused with PEER_WRONG_NODE, asynchronously, never served', async (t) => {
  const network = new MemoryNetwork({ seed: 9 });
  const dialer = new MemoryTransport({ network, nodeId: 'dialer' });
  t.teardown(() => dialer.close());
  const impostor = await listening(t, network, 'node-x', 'addr-a');
  let settled = false;
  const refused = dialer.request('addr-a', ping('for-a'), 1000, 'node-a');
  refused.then(() => (settled = true), () => (settled = true));
  await microtasks();
  t.false(settled, 'not refused before a timer turn, like every other outcome');
  const error = await t.throwsAsync(refused, { instanceOf: PeerError });
  t.is(error?.code, 'PEER_WRONG_NODE');
  t.regex(error!.message, /addr-a is node node-x, not node-a/);
  t.deepEqual(impostor.served, [], 'node-x never saw a request meant for node-a');
  t.is(dialer.calls.size, 0, 'the call is settled and its timers cleared');
  // The same address still serves requests meant for node-x, or for whoever is there.
  t.is((await dialer.request('addr-a', ping('for-x'), 1000, 'node-x')).payload.toString(), 'node-x');
  t.is((await dialer.request('addr-a', ping('anyone'), 1000)).payload.toString(), 'node-x');
  t.deepEqual(impostor.served, ['for-x', 'anyone']);
});

test('memory transport › an address taken over by another node while the request is in flight: PEER_WRONG_NODE, the new node never serves it', async (t) => {
  const network = new MemoryNetwork({ seed: 9, delayMsMin: 40, delayMsMax: 40, duplicateRate: 1 });
  const dialer = new MemoryTransport({ network, nodeId: 'dialer' });
  t.teardown(() => dialer.close());
  const original = await listening(t, network, 'node-a', 'addr-a');
  const pending = dialer.request('addr-a', ping('for-a'), 1000, 'node-a');
  await original.transport.close();
  const impostor = await listening(t, network, 'node-x', 'addr-a');
  const error = await t.throwsAsync(pending, { instanceOf: PeerError });
  t.is(error?.code, 'PEER_WRONG_NODE');
  await new Promise((resolve) => setTimeout(resolve, 100)); // the duplicate's delivery too
  t.deepEqual(impostor.served, [], 'neither the request nor its duplicate reached node-x');
  t.deepEqual(original.served, []);
});

test('memory transport › the unreachable verdict comes before the wrong-node one, as a TCP dial fails before any handshake', async (t) => {
  const network = new MemoryNetwork({ seed: 9 });
  const dialer = new MemoryTransport({ network, nodeId: 'dialer' });
  t.teardown(() => dialer.close());
  await listening(t, network, 'node-x', 'addr-a');
  network.down('addr-a');
  t.is(await codeOf(dialer.request('addr-a', ping('x'), 1000, 'node-a')), 'PEER_UNREACHABLE');
});

test('memory transport › naming the expected node draws nothing from the seed: the same faults hit the same requests', async (t) => {
  type Expect = 'absent' | 'matching' | 'wrong-interleaved';
  // On virtual time, so the run is a function of the seed alone (real timers reorder draws).
  async function run(expect: Expect): Promise<string> {
    const time = new VirtualTime();
    const network = new MemoryNetwork({ seed: 4242, dropRate: 0.2, duplicateRate: 0.2, delayMsMin: 0, delayMsMax: 3, timers: time });
    const a = new MemoryTransport({ network, nodeId: 'a' });
    const b = new MemoryTransport({ network, nodeId: 'b' });
    b.setHandler(echo);
    await b.listen();
    const outcomes: Promise<PeerErrorCode | 'ok'>[] = [];
    const refused: Promise<PeerErrorCode | 'ok'>[] = [];
    for (let i = 0; i < 300; i++) {
      if (expect === 'wrong-interleaved' && i % 3 === 0) refused.push(codeOf(a.request('b', ping('w'), 300, 'c')));
      outcomes.push(codeOf(a.request('b', ping(String(i)), 300, expect === 'absent' ? undefined : 'b')));
    }
    let done = false;
    const all = Promise.all([Promise.all(outcomes), Promise.all(refused)]).finally(() => (done = true));
    await time.runUntil(() => done, 60_000);
    const [codes, wrong] = await all;
    t.true(wrong.every((c) => c === 'PEER_WRONG_NODE'));
    await a.close();
    await b.close();
    return codes.map((c) => (c === 'ok' ? '1' : '0')).join('');
  }
  const absent = await run('absent');
  t.true(absent.includes('0') && absent.includes('1'), 'the seed drops some requests and not others');
  t.is(await run('absent'), absent, 'the seed replays');
  t.is(await run('matching'), absent, 'an expected id that matches changes nothing');
  t.is(await run('wrong-interleaved'), absent, 'refused requests make no draws either');
});
