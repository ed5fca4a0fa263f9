// Pub/Sub across the cluster. Each node keeps its own subscribers
// (registry.ts); a PUBLISH is delivered to the local ones at once and sent
// to every other member that is up, as one Publish request each, whose reply
// says how many of that node's subscribers got it. PUBLISH answers the sum.
//
// What that promises (README "Pub/Sub"):
// - At most once. A message is never stored or retried: a member that is
//   down, or that does not answer within the request timeout, gets nothing
//   and counts 0 (it may still have delivered it, if only its answer was
//   late). A member not yet seen down is still sent to, so a PUBLISH may
//   wait up to the timeout for a member that has just died.
// - Ordered per publisher and receiving node. Requests from this node to one
//   peer leave in call order over the one connection the transport keeps to
//   it, and the receiver delivers each as it reads it, so two messages from
//   one node reach another node's subscribers in the order they were
//   published (on this node); across a reconnect a message may be lost, but
//   none overtakes another.
// - Bounded. Publishes waiting on one peer are capped in number and bytes
//   (peerPublishesInFlightMax, peerPublishBytesInFlightMax): past them a
//   message is dropped for that peer and counted, so a slow peer costs the
//   publisher a lost message, not unbounded memory, and replica traffic on the
//   same connection keeps its room. A slow subscriber is the connection's to
//   cut off (output-limit.ts).
//
// PUBSUB CHANNELS, NUMSUB and NUMPAT ask every member that is up too, and
// merge: channels and patterns as sets (NUMPAT counts distinct patterns, as
// Redis does on one node), subscriber counts summed. A member that does not
// answer in time is left out.

import type { Logger } from 'pino';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage } from '../peer/transport.js';
import {
  decodePublish, decodePublishReply, decodePubsubQuery, decodePubsubQueryReply, encodePublish, encodePublishReply,
  encodePubsubQuery, encodePubsubQueryReply, publishOverheadBytes, publishPayloadBytesMax, queryNameOverheadBytes,
  queryReplyBytesMax, type PubsubQuery, type PubsubQueryReply,
} from './messages.js';
import { SubscriptionRegistry } from './registry.js';

/**
 * Publishes to one peer that may wait for its answer at once: ~1 s of a busy
 * channel at LAN latency, and a quarter of the transport's requests per
 * connection (pendingRequestsMax 4096), so replica traffic keeps the rest.
 */
export const peerPublishesInFlightMax = 1024;
/** Message bytes waiting on one peer: a quarter of the transport's outbound queue (2 frames, 128 MiB), for the same reason. */
export const peerPublishBytesInFlightMax = 32 * 1024 * 1024;

/** Where published messages go on this node: a client connection, in practice. */
export interface Subscriber {
  /** One message; `pattern` is the pattern it matched, undefined when it came by its channel. */
  deliver(channel: Buffer, message: Buffer, pattern: Buffer | undefined): void;
}

/** The rest of the cluster, as Pub/Sub needs it; absent on a node built without peers. */
export interface PubSubPeers {
  /** The members to send to: up, this node excluded. */
  upPeers(): readonly string[];
  request(id: string, message: PeerMessage, timeoutMs: number): Promise<PeerMessage>;
  /** How long to wait for a peer's answer: the node's request timeout, read at each publish. */
  timeoutMs(): number;
}

export type PubSubErrorCode =
  | 'PUBSUB_MESSAGE_TOO_LARGE'  // channel and message do not fit one peer frame
  | 'PUBSUB_QUERY_TOO_LARGE';   // a PUBSUB question or a peer's answer past its bound

/** An operating refusal with a stable code; the RESP edge answers it with ERR and the message. */
export class PubSubError extends Error {
  constructor(readonly code: PubSubErrorCode, message: string) {
    super(message);
    this.name = 'PubSubError';
  }
}

/** Counters for INFO (ringkv's own; they count from the node's start). */
export interface PubSubStats {
  /** PUBLISH commands run on this node. */
  published: number;
  /** Publish requests sent to peers. */
  peerPublishes: number;
  /** Messages not sent to a peer because its in-flight bounds were full. */
  peerPublishesDropped: number;
  /** Publish requests a peer did not answer (timeout, connection lost, refused). */
  peerPublishesUnanswered: number;
  /** PUBSUB questions a peer did not answer; the reply was made without that peer. */
  peerQueriesUnanswered: number;
}

interface InFlight {
  count: number;
  bytes: number;
}

export class PubSub {
  readonly registry = new SubscriptionRegistry<Subscriber>();
  readonly stats: PubSubStats = { published: 0, peerPublishes: 0, peerPublishesDropped: 0, peerPublishesUnanswered: 0, peerQueriesUnanswered: 0 };
  private readonly inFlight = new Map<string, InFlight>();

  constructor(private readonly peers: PubSubPeers | undefined, private readonly logger: Logger) {}

  /** True for the peer message types handle() answers. */
  static handles(type: number): boolean {
    return type === MessageType.Publish || type === MessageType.PubsubQuery;
  }

  /**
   * Delivers to this node's subscribers and sends to every peer that is up;
   * resolves with the receivers counted across the cluster. Refused (before
   * anything is delivered) when a peer should get it and it cannot fit a peer frame.
   */
  publish(channel: Buffer, message: Buffer): number | Promise<number> {
    this.stats.published++;
    const peers = this.peers?.upPeers() ?? [];
    if (peers.length > 0 && publishOverheadBytes + channel.length + message.length > publishPayloadBytesMax) {
      throw new PubSubError('PUBSUB_MESSAGE_TOO_LARGE', `message too large to publish across the cluster: channel and message exceed ${publishPayloadBytesMax - publishOverheadBytes} bytes, what one peer frame carries`);
    }
    const local = this.deliverLocal(channel, message);
    if (peers.length === 0) return local;
    const payload = encodePublish({ channel, message });
    const timeoutMs = this.peers!.timeoutMs();
    const counts = peers.map((id) => this.sendPublish(id, payload, timeoutMs));
    return Promise.all(counts).then((answered) => answered.reduce((sum, n) => sum + n, local));
  }

  /** Serves a peer's Publish or PubsubQuery. */
  handle(_from: string, message: PeerMessage): PeerMessage {
    if (message.type === MessageType.Publish) {
      const { channel, message: body } = decodePublish(message.payload);
      return { type: MessageType.PublishReply, payload: encodePublishReply(this.deliverLocal(channel, body)) };
    }
    const query = decodePubsubQuery(message.payload);
    return { type: MessageType.PubsubQueryReply, payload: encodePubsubQueryReply(this.answer(query)) };
  }

  /** PUBSUB CHANNELS [pattern] across the cluster: every active channel, once. */
  channels(pattern: Buffer | undefined): Promise<Buffer[]> {
    return this.gatherNames({ kind: 'channels', pattern }, this.registry.channels(pattern));
  }

  /** PUBSUB NUMPAT across the cluster: distinct patterns. */
  async numpat(): Promise<number> {
    return (await this.gatherNames({ kind: 'numpat' }, this.registry.patterns())).length;
  }

  /** PUBSUB NUMSUB across the cluster: each channel's subscribers (by name, not pattern), summed over the nodes. */
  async numsub(channels: readonly Buffer[]): Promise<number[]> {
    const totals = channels.map((channel) => this.registry.numsub(channel));
    for (const reply of await this.ask({ kind: 'numsub', channels })) {
      if (!('counts' in reply) || reply.counts.length !== channels.length) continue;
      reply.counts.forEach((count, i) => (totals[i]! += count));
    }
    return totals;
  }

  /** Delivers to this node's receivers; returns how many. The bytes are copied once, so no subscriber pins a larger read buffer. */
  private deliverLocal(channel: Buffer, message: Buffer): number {
    const receivers = this.registry.receivers(channel);
    if (receivers.length === 0) return 0;
    const copy = Buffer.allocUnsafe(channel.length + message.length);
    channel.copy(copy, 0);
    message.copy(copy, channel.length);
    const ownChannel = copy.subarray(0, channel.length);
    const ownMessage = copy.subarray(channel.length);
    for (const { subscriber, pattern } of receivers) subscriber.deliver(ownChannel, ownMessage, pattern);
    return receivers.length;
  }

  /** One peer's count for a publish; 0 when it is dropped here or not answered. */
  private sendPublish(id: string, payload: Buffer, timeoutMs: number): Promise<number> {
    let load = this.inFlight.get(id);
    if (load === undefined) this.inFlight.set(id, (load = { count: 0, bytes: 0 }));
    const full = load.count >= peerPublishesInFlightMax || (load.count > 0 && load.bytes + payload.length > peerPublishBytesInFlightMax);
    if (full) {
      this.stats.peerPublishesDropped++;
      return Promise.resolve(0);
    }
    load.count++;
    load.bytes += payload.length;
    this.stats.peerPublishes++;
    const done = (): void => {
      load.count--;
      load.bytes -= payload.length;
      if (load.count === 0) this.inFlight.delete(id);
    };
    return this.peers!.request(id, { type: MessageType.Publish, payload }, timeoutMs).then(
      (reply) => {
        done();
        return decodePublishReply(reply.payload);
      },
    ).catch((err: unknown) => {
      done();
      this.stats.peerPublishesUnanswered++;
      this.logger.debug({ err, peer: id }, 'publish not answered by peer; counted as 0 receivers there');
      return 0;
    });
  }

  /** This node's answer to a PUBSUB question, bounded by queryReplyBytesMax. */
  private answer(query: PubsubQuery): PubsubQueryReply {
    if (query.kind === 'numsub') return { counts: query.channels.map((channel) => this.registry.numsub(channel)) };
    const names = query.kind === 'channels' ? this.registry.channels(query.pattern) : this.registry.patterns();
    let bytes = 0;
    for (const name of names) bytes += name.length + queryNameOverheadBytes;
    return bytes > queryReplyBytesMax ? { tooLarge: true } : { names };
  }

  /** The local names and every answering peer's, each distinct name once, in the order first seen. */
  private async gatherNames(query: PubsubQuery, local: Buffer[]): Promise<Buffer[]> {
    const seen = new Map<string, Buffer>();
    for (const name of local) seen.set(name.toString('latin1'), name);
    for (const reply of await this.ask(query)) {
      if ('tooLarge' in reply) {
        throw new PubSubError('PUBSUB_QUERY_TOO_LARGE', `a node has more than ${queryReplyBytesMax} bytes of ${query.kind === 'numpat' ? 'patterns' : 'channels'} to list; narrow the pattern`);
      }
      if (!('names' in reply)) continue;
      for (const name of reply.names) seen.set(name.toString('latin1'), name);
    }
    return [...seen.values()];
  }

  /** Asks every peer that is up; the answers of those that answered in time. */
  private async ask(query: PubsubQuery): Promise<PubsubQueryReply[]> {
    const peers = this.peers?.upPeers() ?? [];
    if (peers.length === 0) return [];
    const payload = encodePubsubQuery(query);
    if (payload.length > publishPayloadBytesMax) {
      throw new PubSubError('PUBSUB_QUERY_TOO_LARGE', `the channels asked for exceed ${publishPayloadBytesMax} bytes, what one peer frame carries`);
    }
    const timeoutMs = this.peers!.timeoutMs();
    const replies = await Promise.all(peers.map((id) => this.peers!.request(id, { type: MessageType.PubsubQuery, payload }, timeoutMs).then(
      (reply) => decodePubsubQueryReply(reply.payload),
      (err: unknown) => {
        this.stats.peerQueriesUnanswered++;
        this.logger.debug({ err, peer: id }, 'PUBSUB question not answered by peer; replying without it');
        return undefined;
      },
    )));
    return replies.filter((reply): reply is PubsubQueryReply => reply !== undefined);
  }
}
