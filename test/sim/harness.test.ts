// The simulation's own machinery: the virtual clock, the memory network on
// it (delays in virtual ms, duplicated requests, replies lost with a crashed
// transport), and MemoryStorage's crash (committed changes survive, pending
// ones do not). If these lie, every verdict of the simulation is suspect.
import test from 'ava';
import type { Sibling } from '../../src/clock/types.js';
import { MemoryNetwork, MemoryTransport } from '../../src/peer/memory-transport.js';
import { MessageType } from '../../src/peer/message-types.js';
import { PeerError, type PeerMessage } from '../../src/peer/transport.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { simEpochMs, VirtualTime } from './virtual-time.js';

const ping = (text: string): PeerMessage => ({ type: MessageType.Ping, payload: Buffer.from(text) });
const version = (value: string): Sibling => ({ value: Buffer.from(value), dot: { actor: 'a', counter: 1 }, past: [], timestamp: 1 });
const k = Buffer.from('key');

/** Runs `body` on virtual time to its end. */
async function virtually<T>(time: VirtualTime, body: () => Promise<T>): Promise<T> {
  let done = false;
  const result = body().finally(() => {
    done = true;
  });
  await time.runUntil(() => done, 3_600_000);
  return result;
}

test('virtual time › timers fire in time order, and each one\'s promise callbacks run before the next timer', async (t) => {
  const time = new VirtualTime();
  const log: string[] = [];
  time.setTimeout(() => {
    log.push('b@10');
    void Promise.resolve().then(() => Promise.resolve()).then(() => log.push('b-chain'));
  }, 10);
  time.setTimeout(() => log.push('a@5'), 5);
  time.setTimeout(() => log.push('c@10'), 10);
  await virtually(time, () => time.sleep(60_000));
  t.deepEqual(log, ['a@5', 'b@10', 'b-chain', 'c@10']);
  t.is(time.now(), simEpochMs + 60_000, 'a minute passed, virtually');
});

test('virtual time › a run that cannot end is reported, not hung', async (t) => {
  const time = new VirtualTime();
  await t.throwsAsync(time.runUntil(() => false, 1_000), { message: /nothing scheduled/ });
});

async function pair(time: VirtualTime, options: { duplicateRate?: number; delayMsMin?: number; delayMsMax?: number } = {}) {
  const network = new MemoryNetwork({ seed: 5, timers: time, ...options });
  const a = new MemoryTransport({ network, nodeId: 'a' });
  const b = new MemoryTransport({ network, nodeId: 'b' });
  await a.listen();
  await b.listen();
  return { network, a, b };
}

test('memory network on virtual time › delays and timeouts are virtual ms', async (t) => {
  const time = new VirtualTime();
  const { a, b } = await pair(time, { delayMsMin: 30, delayMsMax: 30 });
  b.setHandler((_from, message) => message);
  const started = time.now();
  const reply = await virtually(time, () => a.request('b', ping('x'), 1_000));
  t.is(reply.payload.toString(), 'x');
  t.is(time.now() - started, 60, 'one delay there, one back');
  b.setHandler(() => new Promise<PeerMessage>(() => {}));
  const timedOut = time.now();
  const error = await virtually(time, () => a.request('b', ping('y'), 500).catch((e: unknown) => e));
  t.is((error as PeerError).code, 'PEER_TIMEOUT');
  t.is(time.now() - timedOut, 500);
});

test('memory network › a duplicated request is served twice; the requester gets one reply', async (t) => {
  const time = new VirtualTime();
  const { network, a, b } = await pair(time, { duplicateRate: 1, delayMsMin: 1, delayMsMax: 20 });
  let served = 0;
  const seen: string[] = [];
  b.setHandler((_from, message) => {
    served++;
    seen.push(message.payload.toString());
    message.payload.fill(0x2a); // the second delivery must still see the original bytes
    return { type: MessageType.Pong, payload: Buffer.alloc(0) };
  });
  await virtually(time, async () => {
    await a.request('b', ping('once'), 1_000);
    await time.sleep(100);
  });
  t.is(served, 2);
  t.deepEqual(seen, ['once', 'once']);
  t.is(network.stats.duplicated, 1);
});

test('memory network › a reply from a transport that closed after taking the request never arrives, even at a new listener there', async (t) => {
  const time = new VirtualTime();
  const { network, a, b } = await pair(time, { delayMsMin: 10, delayMsMax: 10 });
  let release!: () => void;
  b.setHandler(() => new Promise<PeerMessage>((resolve) => (release = () => resolve(ping('old')))));
  const outcome = virtually(time, async () => {
    const request = a.request('b', ping('x'), 300).then(
      (reply) => reply.payload.toString(),
      (e: unknown) => (e as PeerError).code,
    );
    await time.sleep(20); // delivered at 10 ms, being served
    await b.close();
    const reborn = new MemoryTransport({ network, nodeId: 'b' });
    reborn.setHandler(() => ping('new'));
    await reborn.listen();
    release();
    return request;
  });
  t.is(await outcome, 'PEER_TIMEOUT');
});

test('memory storage › a crash keeps committed changes and loses pending ones; the new store reads the disk', async (t) => {
  const time = new VirtualTime();
  // Commits land 5 virtual ms after the change: a window a crash can hit.
  const storage = new MemoryStorage({ scheduler: { setImmediate: (callback, ...args) => time.setTimeout(callback, 5, ...args) } });
  let committed = false;
  const first = storage.update(k, undefined, () => [version('committed')]);
  void first.then(() => (committed = true));
  await virtually(time, () => time.sleep(10));
  t.true(committed);
  let pendingSettled = false;
  storage.update(k, undefined, () => [version('pending')]).then(
    () => (pendingSettled = true),
    () => (pendingSettled = true),
  );
  t.deepEqual(storage.get(k, undefined).map((s) => s.value.toString()), ['pending'], 'visible before the commit');
  const disk = storage.crash();
  await virtually(time, () => time.sleep(10));
  t.false(pendingSettled, 'the caller of a lost change never hears back');
  t.deepEqual(disk.get(k, undefined).map((s) => s.value.toString()), ['committed']);
  t.throws(() => storage.get(k, undefined), { code: 'STORAGE_CLOSED' });
  const other = Buffer.from('other');
  await virtually(time, () => disk.update(other, undefined, () => [version('after')]));
  t.is(disk.recordCount(), 2, 'the reopened store takes writes');
});

test('memory storage › the default commit is the real setImmediate, as before', async (t) => {
  const storage = new MemoryStorage();
  const stored = await storage.update(k, undefined, () => [version('v')]);
  t.is(stored.length, 1);
  await storage.close();
});
