// The broker between nodes, with the peers wired to each other in memory:
// a publish reaches every node's subscribers and counts them, a peer that
// fails or is slow counts 0, a peer's backlog is bounded (drops counted),
// one node's messages reach another in order, and PUBSUB questions merge
// the nodes' answers.

import test from 'ava';
import { pino } from 'pino';
import { MessageType } from '../../src/peer/message-types.js';
import { PeerError, type PeerMessage } from '../../src/peer/transport.js';
import { PubSub, PubSubError, peerPublishesInFlightMax, type PubSubPeers, type Subscriber } from '../../src/pubsub/broker.js';
import { decodePubsubQueryReply, encodePubsubQuery, queryReplyBytesMax } from '../../src/pubsub/messages.js';

const logger = pino({ level: 'silent' });
const b = (s: string) => Buffer.from(s);

class Inbox implements Subscriber {
  readonly got: string[] = [];
  deliver(channel: Buffer, message: Buffer, pattern: Buffer | undefined): void {
    this.got.push(`${pattern === undefined ? '' : `${pattern.toString()}>`}${channel.toString()}:${message.toString()}`);
  }
}

type Fault = 'none' | 'fail' | 'hang';

/** Nodes whose peers call each other's handle() directly; `fault` makes a node's answers fail or never come. */
function cluster(ids: readonly string[]): { nodes: Map<string, PubSub>; fault: Map<string, Fault>; sent: string[] } {
  const nodes = new Map<string, PubSub>();
  const fault = new Map<string, Fault>(ids.map((id) => [id, 'none']));
  const sent: string[] = [];
  for (const self of ids) {
    const peers: PubSubPeers = {
      upPeers: () => ids.filter((id) => id !== self),
      timeoutMs: () => 50,
      request: (id: string, message: PeerMessage) => {
        sent.push(`${self}>${id}:${message.type}`);
        const f = fault.get(id);
        if (f === 'fail') return Promise.reject(new PeerError('PEER_UNREACHABLE', 'down'));
        if (f === 'hang') return new Promise<PeerMessage>(() => undefined);
        return Promise.resolve(nodes.get(id)!.handle(self, message));
      },
    };
    nodes.set(self, new PubSub(peers, logger));
  }
  return { nodes, fault, sent };
}

test('broker › a publish reaches subscribers on every node and counts them all', async (t) => {
  const { nodes } = cluster(['a', 'b', 'c']);
  const onA = new Inbox();
  const onB = new Inbox();
  const onC = new Inbox();
  nodes.get('a')!.registry.subscribe(onA, b('news'));
  nodes.get('b')!.registry.subscribe(onB, b('news'));
  nodes.get('b')!.registry.psubscribe(onB, b('n*'));
  nodes.get('c')!.registry.psubscribe(onC, b('*'));
  t.is(await nodes.get('a')!.publish(b('news'), b('hi')), 4);
  t.deepEqual(onA.got, ['news:hi']);
  t.deepEqual(onB.got, ['news:hi', 'n*>news:hi']);
  t.deepEqual(onC.got, ['*>news:hi']);
  t.is(await nodes.get('c')!.publish(b('other'), b('x')), 1);
});

test('broker › a node with no peers answers its local count at once', (t) => {
  const pubsub = new PubSub(undefined, logger);
  const inbox = new Inbox();
  pubsub.registry.subscribe(inbox, b('c'));
  t.is(pubsub.publish(b('c'), b('m')), 1);
  t.is(pubsub.publish(b('d'), b('m')), 0);
  t.deepEqual(inbox.got, ['c:m']);
});

test('broker › a peer that fails or does not answer in time counts 0; the others still count', async (t) => {
  const { nodes, fault } = cluster(['a', 'b', 'c']);
  nodes.get('b')!.registry.subscribe(new Inbox(), b('ch'));
  nodes.get('c')!.registry.subscribe(new Inbox(), b('ch'));
  fault.set('c', 'fail');
  t.is(await nodes.get('a')!.publish(b('ch'), b('1')), 1);
  const real = nodes.get('a')!;
  t.is(real.stats.peerPublishesUnanswered, 1);
  // A peer that never answers: the transport's timeout ends the wait; here a request that rejects late stands for it.
  const { nodes: late } = clusterWithLateAnswer();
  t.is(await late.publish(b('ch'), b('2')), 0);
  t.is(late.stats.peerPublishesUnanswered, 1);
});

/** A one-peer node whose peer answers only with a timeout error after 20 ms, as the transport would. */
function clusterWithLateAnswer(): { nodes: PubSub } {
  const peers: PubSubPeers = {
    upPeers: () => ['slow'],
    timeoutMs: () => 20,
    request: (_id, _message, timeoutMs) => new Promise((_, reject) => setTimeout(() => reject(new PeerError('PEER_TIMEOUT', 'late')), timeoutMs)),
  };
  return { nodes: new PubSub(peers, logger) };
}

test('broker › a peer\'s backlog is bounded: past peerPublishesInFlightMax messages are dropped and counted', async (t) => {
  const { nodes, fault, sent } = cluster(['a', 'b']);
  fault.set('b', 'hang');
  const a = nodes.get('a')!;
  for (let i = 0; i < peerPublishesInFlightMax + 10; i++) void a.publish(b('ch'), b(String(i)));
  t.is(a.stats.peerPublishes, peerPublishesInFlightMax);
  t.is(a.stats.peerPublishesDropped, 10);
  t.is(sent.length, peerPublishesInFlightMax);
});

test('broker › messages from one node reach another node\'s subscriber in publish order', async (t) => {
  const { nodes } = cluster(['a', 'b']);
  const inbox = new Inbox();
  nodes.get('b')!.registry.subscribe(inbox, b('seq'));
  const counts = await Promise.all(Array.from({ length: 500 }, (_, i) => nodes.get('a')!.publish(b('seq'), b(String(i)))));
  t.true(counts.every((n) => n === 1));
  t.deepEqual(inbox.got, Array.from({ length: 500 }, (_, i) => `seq:${i}`));
});

test('broker › a message that cannot fit a peer frame is refused before any delivery when peers exist', (t) => {
  const { nodes } = cluster(['a', 'b']);
  const inbox = new Inbox();
  nodes.get('a')!.registry.subscribe(inbox, b('big'));
  const huge = Buffer.alloc(64 * 1024 * 1024);
  const error = t.throws(() => nodes.get('a')!.publish(b('big'), huge), { instanceOf: PubSubError });
  t.is(error?.code, 'PUBSUB_MESSAGE_TOO_LARGE');
  t.deepEqual(inbox.got, []);
  const alone = new PubSub(undefined, logger);
  alone.registry.subscribe(inbox, b('big'));
  t.is(alone.publish(b('big'), huge), 1, 'without peers nothing has to cross a frame');
});

test('broker › delivered bytes are a copy, so the caller\'s buffer may be reused', async (t) => {
  const pubsub = new PubSub(undefined, logger);
  let kept: Buffer | undefined;
  pubsub.registry.subscribe({ deliver: (_c, message) => (kept = message) }, b('c'));
  const request = b('message');
  pubsub.publish(b('c'), request);
  request.fill(0);
  t.is(kept!.toString(), 'message');
});

test('broker › PUBSUB CHANNELS, NUMSUB and NUMPAT merge every node\'s answer', async (t) => {
  const { nodes, fault } = cluster(['a', 'b', 'c']);
  const s = () => new Inbox();
  nodes.get('a')!.registry.subscribe(s(), b('x'));
  nodes.get('b')!.registry.subscribe(s(), b('x'));
  nodes.get('b')!.registry.subscribe(s(), b('y'));
  nodes.get('c')!.registry.subscribe(s(), b('zz'));
  nodes.get('a')!.registry.psubscribe(s(), b('p*'));
  nodes.get('c')!.registry.psubscribe(s(), b('p*'));
  nodes.get('c')!.registry.psubscribe(s(), b('q*'));
  const a = nodes.get('a')!;
  t.deepEqual((await a.channels(undefined)).map(String).sort(), ['x', 'y', 'zz']);
  t.deepEqual((await a.channels(b('?'))).map(String).sort(), ['x', 'y']);
  t.deepEqual(await a.numsub([b('x'), b('y'), b('none')]), [2, 1, 0]);
  t.is(await a.numpat(), 2, 'distinct patterns across the nodes');
  fault.set('c', 'fail');
  t.deepEqual((await a.channels(undefined)).map(String).sort(), ['x', 'y'], 'a node that does not answer is left out');
  t.is(a.stats.peerQueriesUnanswered, 1);
  // A PubsubQuery sent to a node is answered from its registry alone.
  const reply = nodes.get('c')!.handle('a', { type: MessageType.PubsubQuery, payload: encodePubsubQuery({ kind: 'numpat' }) });
  t.is(reply.type, MessageType.PubsubQueryReply);
  t.deepEqual(decodePubsubQueryReply(reply.payload), { names: [b('p*'), b('q*')] });
});

test('broker › a node with more channels than a reply may carry makes PUBSUB CHANNELS an error, not a silent cut', async (t) => {
  const { nodes } = cluster(['a', 'b']);
  const inbox = new Inbox();
  const name = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < queryReplyBytesMax / name.length + 1; i++) {
    const channel = Buffer.from(name);
    channel.writeUInt32BE(i, 0);
    nodes.get('b')!.registry.subscribe(inbox, channel);
  }
  const error = await t.throwsAsync(nodes.get('a')!.channels(undefined), { instanceOf: PubSubError });
  t.is(error?.code, 'PUBSUB_QUERY_TOO_LARGE');
  t.is(await nodes.get('a')!.numpat(), 0);
});
