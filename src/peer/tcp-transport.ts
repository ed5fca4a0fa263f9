// The TCP transport: one multiplexed connection per peer address, dialed
// lazily and reused; requests carry a correlation id and their own timeout;
// replies come back on the same connection in any order. Connections are
// one-way in purpose: the dialer sends requests, the acceptor serves them
// with the handler from setHandler. A connection serves nothing until the
// handshake (handshake.ts) proves both sides know the cluster secret.
//
// A peer that sends garbage, oversized or out-of-place frames gets one warn
// line and loses that connection; nothing else is affected. Reconnecting is
// lazy: after a failed dial the link backs off exponentially (capped) and
// requests fail fast meanwhile, so no timer runs for an idle dead peer.
//
// Hot path in the style of undici (lib/dispatcher/client-h1.js): socket
// handlers are module-level functions bound once per socket, per-connection
// state lives on objects reached through a symbol on the socket, timers take
// their state as an argument instead of a closure.

import assert from 'node:assert';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { decodeControl, encodeControl } from './codec.js';
import {
  FrameDecoder,
  FrameFlags,
  FrameWriter,
  encodeFrame,
  frameBytesMax,
  frameHeaderBytes,
  handshakeFrameBytesMax,
  outboundQueueBytesMax as outboundQueueBytesMaxDefault,
  type Frame,
  type FrameFlag,
  type FrameInvalidReason,
} from './frame.js';
import {
  decodeChallenge,
  decodeRefused,
  encodeChallenge,
  encodeHello,
  encodeRefused,
  encodeWelcome,
  handshakeTimeoutMs,
  newNonce,
  verifyHello,
  verifyWelcome,
  type HandshakeConfig,
  type RefusalReason,
} from './handshake.js';
import { MessageType } from './message-types.js';
import { StateChanges } from '../logs/state-changes.js';
import {
  effectiveTimeoutMs,
  oversizedRequest,
  PeerError,
  requestTimeoutMsDefault,
  type PeerErrorCode,
  type PeerMessage,
  type RequestHandler,
  type Transport,
} from './transport.js';


/** In-flight requests per connection: far above a node's fan-out at LAN latency, low enough to bound memory. */
export const pendingRequestsMax = 4096;
/** Inbound connections: one per peer in a cluster of a few hundred nodes, plus reconnect overlap. */
export const inboundPeersMax = 512;
/** First retry after a failed dial: a restarting peer is usually back within a few 100 ms. */
export const reconnectBackoffMsMin = 100;
/** Backoff cap: a recovered peer is redialed within this long. */
export const reconnectBackoffMsMax = 5_000;
/** TCP keepalive probes start after this idle time, to notice half-open connections. */
export const keepAliveInitialDelayMs = 10_000;
/**
 * Peers whose link state the log remembers (logs/state-changes.ts): one per
 * address dialed and per host and claimed id refused, for a cluster of a few
 * hundred nodes; past it a forgotten peer's next change logs one line more.
 */
export const peerLogKeysMax = 1024;
/** Error replies carry at most this much message text. */
const errorMessageCharsMax = 1024;

export interface TcpTransportOptions {
  readonly nodeId: string;
  readonly clusterName: string;
  /** Empty string = no secret on either side: no security (see handshake.ts). */
  readonly clusterSecret: string;
  readonly bindHost: string;
  /** 0 picks a free port; read it back with address(). */
  readonly port: number;
  readonly logger: Logger;
  /** The timeout of a request passed without a positive one; default requestTimeoutMsDefault. */
  readonly requestTimeoutMs?: number;
  readonly inboundPeersMax?: number;
  readonly pendingRequestsMax?: number;
  readonly outboundQueueBytesMax?: number;
  /**
   * TLS on the peer port (--tls-cluster yes): the listener's options and
   * those of dialling a peer. The handshake (handshake.ts) runs inside the
   * tunnel, unchanged.
   */
  readonly tls?: { readonly server: tls.TlsOptions; readonly client: tls.ConnectionOptions };
}

/** Peers whose TLS handshake failed, remembered to log each one once: bounded, cleared when full. */
const tlsRefusedPeersLoggedMax = 256;

const kConnection = Symbol('ringkv.peerConnection');
type PeerSocket = Socket & { [kConnection]?: Connection };

class PendingRequest {
  readonly timer: NodeJS.Timeout;
  constructor(
    readonly connection: OutboundConnection,
    readonly id: number,
    readonly resolve: (reply: PeerMessage) => void,
    readonly reject: (error: PeerError) => void,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(onRequestTimeout, timeoutMs, this);
  }
}

function onRequestTimeout(pending: PendingRequest): void {
  const connection = pending.connection;
  if (connection.pending.get(pending.id) !== pending) return;
  connection.pending.delete(pending.id);
  pending.reject(new PeerError('PEER_TIMEOUT', `request to ${connection.link.address} timed out`));
}

/** Per peer address: the current connection and the dial backoff. */
class PeerLink {
  connection: OutboundConnection | null = null;
  failures = 0;
  retryAt = 0;
  lastFailure: PeerErrorCode = 'PEER_UNREACHABLE';
  constructor(readonly address: string, readonly host: string, readonly port: number) {}

  recordFailure(code: PeerErrorCode, now: number): void {
    this.failures++;
    this.lastFailure = code;
    const backoffMs = Math.min(reconnectBackoffMsMax, reconnectBackoffMsMin * 2 ** Math.min(this.failures - 1, 16));
    this.retryAt = now + backoffMs;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.retryAt = 0;
  }
}

abstract class Connection {
  readonly decoder = new FrameDecoder(handshakeFrameBytesMax);
  readonly writer: FrameWriter;
  state: 'handshake' | 'ready' | 'closing' | 'closed' = 'handshake';
  handshakeTimer: NodeJS.Timeout | null;
  peerNodeId = '';
  paused = false;

  constructor(readonly transport: TcpTransport, readonly socket: PeerSocket, held: boolean) {
    this.writer = new FrameWriter(socket, transport.outboundQueueBytesMax, held);
    socket[kConnection] = this;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, keepAliveInitialDelayMs);
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('drain', onSocketDrain);
    this.handshakeTimer = setTimeout(onHandshakeTimeout, handshakeTimeoutMs, this);
  }

  abstract get remote(): string;
  protected abstract onFrame(frame: Frame): void;
  /** Tears the connection down once, failing whatever waits on it with `code`. */
  abstract destroy(code: PeerErrorCode, reason: string): void;
  /** The stream broke the protocol: one warn line, then the connection goes. */
  abstract violation(reason: string): void;

  onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let frame = this.decoder.next(); frame !== null; frame = this.decoder.next()) {
      this.onFrame(frame);
      if (this.state === 'closed' || this.state === 'closing') return;
    }
    if (this.decoder.invalid !== null) this.onInvalid(this.decoder.invalid);
  }

  protected onInvalid(reason: FrameInvalidReason): void {
    this.violation(`malformed frame (${reason})`);
  }

  protected sendDirect(type: number, flags: FrameFlag, payload: Buffer): void {
    this.socket.write(encodeFrame(type, flags, 0, payload));
  }

  protected finishHandshake(peerNodeId: string): void {
    this.peerNodeId = peerNodeId;
    this.state = 'ready';
    this.decoder.maxFrameBytes = frameBytesMax;
    this.clearHandshakeTimer();
    this.writer.release();
  }

  protected tearDown(): void {
    this.state = 'closed';
    this.clearHandshakeTimer();
    this.writer.close();
    this.socket.destroy();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}

function onSocketData(this: PeerSocket, chunk: Buffer): void {
  const connection = this[kConnection];
  if (connection !== undefined && (connection.state === 'ready' || connection.state === 'handshake')) connection.onData(chunk);
}

function onSocketError(this: PeerSocket, error: Error): void {
  this[kConnection]?.destroy('PEER_UNREACHABLE', error.message);
}

function onSocketClose(this: PeerSocket): void {
  this[kConnection]?.destroy('PEER_UNREACHABLE', 'connection closed');
}

function onSocketDrain(this: PeerSocket): void {
  const connection = this[kConnection];
  if (connection !== undefined && connection.paused) {
    connection.paused = false;
    this.resume();
  }
}

function onHandshakeTimeout(connection: Connection): void {
  connection.handshakeTimer = null;
  if (connection.state === 'closing') connection.destroy('PEER_CLOSED', 'refused peer did not close');
  // A dial into a black hole is an unreachable peer, not misbehaviour: no warn line.
  else if (connection instanceof OutboundConnection) connection.destroy('PEER_UNREACHABLE', `no handshake within ${handshakeTimeoutMs} ms`);
  else connection.violation(`handshake not done within ${handshakeTimeoutMs} ms`);
}

/** A request for a named node, held until the handshake shows which node is at the address. */
interface HeldRequest {
  readonly id: number;
  readonly message: PeerMessage;
  readonly expectedNodeId: string;
}

/**
 * Our side of a dialed connection: sends requests, receives replies. A
 * request that names the node it is for goes out only once the handshake has
 * proved that id; for any other proven id it fails with PEER_WRONG_NODE (an
 * address reused by another node: a restart with a new id, or a new node on
 * a dead one's host and port). The connection itself stays, for requests
 * meant for the node that is there.
 */
class OutboundConnection extends Connection {
  readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private readonly dialerNonce = newNonce();
  private acceptorNonce: Buffer | null = null;
  private held: HeldRequest[] = [];
  private heldBytes = 0;
  /** Expected ids already warned about on this connection: one warn line each, not one per request. */
  private readonly warnedWrongNode = new Set<string>();

  constructor(transport: TcpTransport, readonly link: PeerLink, socket: PeerSocket) {
    super(transport, socket, true);
  }

  get remote(): string {
    return this.link.address;
  }

  request(message: PeerMessage, timeoutMs: number, expectedNodeId: string | undefined): Promise<PeerMessage> {
    if (expectedNodeId !== undefined && this.state === 'ready' && expectedNodeId !== this.peerNodeId) {
      return Promise.reject(this.wrongNode(expectedNodeId));
    }
    if (this.pending.size >= this.transport.pendingRequestsMax) {
      return Promise.reject(new PeerError('PEER_OVERLOADED', `${this.pending.size} requests pending to ${this.remote}`));
    }
    if (!this.writer.fits(this.heldBytes + message.payload.length)) {
      return Promise.reject(new PeerError('PEER_OVERLOADED', `outbound queue to ${this.remote} is full`));
    }
    const id = this.nextId;
    this.nextId = this.nextId === 0xffff_ffff ? 1 : this.nextId + 1;
    assert(!this.pending.has(id), 'correlation id reused while pending');
    const promise = new Promise<PeerMessage>((resolve, reject) => {
      this.pending.set(id, new PendingRequest(this, id, resolve, reject, timeoutMs));
    });
    if (expectedNodeId !== undefined && this.state === 'handshake') {
      this.held.push({ id, message, expectedNodeId });
      this.heldBytes += frameHeaderBytes + message.payload.length;
    } else {
      this.writer.enqueue(message.type, FrameFlags.Request, id, message.payload);
    }
    return promise;
  }

  protected onFrame(frame: Frame): void {
    if (this.state === 'ready') return this.onReply(frame);
    if (this.acceptorNonce === null) return this.onChallenge(frame);
    if (frame.type === MessageType.HandshakeWelcome && frame.flags === FrameFlags.Reply) return this.onWelcome(frame);
    if (frame.type === MessageType.HandshakeRefused && frame.flags === FrameFlags.ErrorReply) {
      return this.refused(`refused by ${this.remote}: ${decodeRefused(frame.payload)}`);
    }
    this.violation(`unexpected frame type ${frame.type} during handshake`);
  }

  protected override onInvalid(reason: FrameInvalidReason): void {
    if (this.state === 'handshake' && reason === 'version') this.refused(`${this.remote} speaks another protocol version`);
    else super.onInvalid(reason);
  }

  private onChallenge(frame: Frame): void {
    const nonce = frame.type === MessageType.HandshakeChallenge ? decodeChallenge(frame.payload) : null;
    if (nonce === null) return this.violation('expected a handshake challenge');
    this.acceptorNonce = nonce;
    this.sendDirect(MessageType.HandshakeHello, FrameFlags.Request, encodeHello(this.transport.handshake, nonce, this.dialerNonce));
  }

  private onWelcome(frame: Frame): void {
    const verdict = verifyWelcome(this.transport.handshake, this.dialerNonce, this.acceptorNonce!, frame.payload);
    if (!verdict.ok) return this.refused(`${this.remote} failed to prove the cluster secret (${verdict.reason})`);
    this.finishHandshake(verdict.peerNodeId);
    this.link.recordSuccess();
    this.transport.logger.debug({ peer: this.remote, peerNodeId: verdict.peerNodeId }, 'peer connected');
    this.transport.noteDial(this.remote, 'connected', verdict.peerNodeId);
    this.sendHeld();
  }

  /** The handshake proved who is there: send the held requests meant for that node, refuse the rest. */
  private sendHeld(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const { id, message, expectedNodeId } of held) {
      const pending = this.pending.get(id);
      if (pending === undefined) continue; // timed out during the handshake
      if (expectedNodeId === this.peerNodeId) {
        this.writer.enqueue(message.type, FrameFlags.Request, id, message.payload);
        continue;
      }
      this.pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(this.wrongNode(expectedNodeId));
    }
  }

  private wrongNode(expectedNodeId: string): PeerError {
    if (!this.warnedWrongNode.has(expectedNodeId)) {
      this.warnedWrongNode.add(expectedNodeId);
      this.transport.logger.warn(
        { peer: this.remote, peerNodeId: this.peerNodeId, expectedNodeId },
        'the node at this peer address is not the one expected; requests for the expected node are refused',
      );
    }
    return new PeerError('PEER_WRONG_NODE', `${this.remote} is node ${this.peerNodeId}, not ${expectedNodeId}`);
  }

  private onReply(frame: Frame): void {
    if (frame.flags === FrameFlags.Request) return this.violation('request on an outbound connection');
    const pending = this.pending.get(frame.correlationId);
    if (pending === undefined) return; // a late reply to a request that timed out
    this.pending.delete(frame.correlationId);
    clearTimeout(pending.timer);
    if (frame.flags === FrameFlags.Reply) pending.resolve({ type: frame.type, payload: frame.payload });
    else pending.reject(remoteError(this.peerNodeId, frame.payload));
  }

  /** Logged once per change of the link's state (TcpTransport.noteDial), not per retry. */
  private refused(reason: string): void {
    this.destroy('PEER_REFUSED', reason);
  }

  violation(reason: string): void {
    this.transport.logger.warn({ peer: this.remote }, `peer protocol violation: ${reason}`);
    this.destroy(this.state === 'ready' ? 'PEER_CLOSED' : 'PEER_UNREACHABLE', reason);
  }

  destroy(code: PeerErrorCode, reason: string): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.tearDown();
    this.held = [];
    this.heldBytes = 0;
    if (this.link.connection === this) this.link.connection = null;
    // Once ready, a drop is the connection closing under the request; before,
    // it is a failed dial and the link backs off (unless we are closing).
    if (!wasReady && code !== 'PEER_CLOSED') {
      this.link.recordFailure(code, Date.now());
      this.transport.noteDial(this.remote, code === 'PEER_REFUSED' ? 'refused' : 'unreachable', reason);
    }
    this.transport.logger.debug({ peer: this.remote, reason }, 'peer connection closed');
    const error = new PeerError(wasReady ? 'PEER_CLOSED' : code, `${this.remote}: ${reason}`);
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }
}

function remoteError(peerNodeId: string, payload: Buffer): PeerError {
  let detail = 'unreadable error reply';
  try {
    const value = decodeControl<{ code?: unknown; message?: unknown }>(payload);
    detail = `${String(value?.code)}: ${String(value?.message)}`;
  } catch {
    // keep the generic detail: the reply itself is the error
  }
  return new PeerError('PEER_REMOTE_ERROR', `peer ${peerNodeId} failed: ${detail}`);
}

/** The acceptor's side: proves itself, then serves requests with the handler. */
class InboundConnection extends Connection {
  private readonly acceptorNonce = newNonce();
  private inflight = 0;
  readonly remote: string;

  constructor(transport: TcpTransport, socket: PeerSocket) {
    super(transport, socket, false);
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.sendDirect(MessageType.HandshakeChallenge, FrameFlags.Request, encodeChallenge(this.acceptorNonce));
  }

  protected onFrame(frame: Frame): void {
    if (this.state === 'ready') return this.onRequest(frame);
    if (frame.type !== MessageType.HandshakeHello || frame.flags !== FrameFlags.Request) {
      return this.violation(`unexpected frame type ${frame.type} during handshake`);
    }
    const verdict = verifyHello(this.transport.handshake, this.acceptorNonce, frame.payload);
    if (!verdict.ok) return this.refuse(verdict.reason, verdict.claimedNodeId);
    this.sendDirect(MessageType.HandshakeWelcome, FrameFlags.Reply, encodeWelcome(this.transport.handshake, verdict.dialerNonce, this.acceptorNonce));
    this.finishHandshake(verdict.peerNodeId);
    this.transport.logger.debug({ peer: this.remote, peerNodeId: verdict.peerNodeId }, 'peer accepted');
    this.transport.noteAccept(this.socket.remoteAddress ?? '?', verdict.peerNodeId, undefined);
  }

  protected override onInvalid(reason: FrameInvalidReason): void {
    if (this.state === 'handshake' && reason === 'version') this.refuse('version', undefined);
    else super.onInvalid(reason);
  }

  /** Tells the dialer why, then closes; the handshake timer still bounds the close. Logged once per change (TcpTransport.noteAccept). */
  private refuse(reason: RefusalReason, claimedNodeId: string | undefined): void {
    this.transport.noteAccept(this.socket.remoteAddress ?? '?', claimedNodeId, reason);
    this.state = 'closing';
    this.socket.end(encodeFrame(MessageType.HandshakeRefused, FrameFlags.ErrorReply, 0, encodeRefused(reason)));
  }

  private onRequest(frame: Frame): void {
    if (frame.flags !== FrameFlags.Request) return this.violation('reply on an inbound connection');
    if (this.inflight >= this.transport.pendingRequestsMax) return this.violation(`more than ${this.transport.pendingRequestsMax} requests in flight`);
    const handler = this.transport.handler;
    const id = frame.correlationId;
    this.inflight++;
    let result: Promise<PeerMessage> | PeerMessage;
    try {
      if (handler === null) throw new PeerError('PEER_REMOTE_ERROR', 'no handler set');
      result = handler(this.peerNodeId, { type: frame.type, payload: frame.payload });
    } catch (error) {
      return this.replyError(id, error);
    }
    if (result instanceof Promise) result.then((reply) => this.reply(id, reply), (error: unknown) => this.replyError(id, error));
    else this.reply(id, result);
  }

  private reply(id: number, reply: PeerMessage): void {
    const valid = typeof reply === 'object' && reply !== null && Number.isInteger(reply.type) && reply.type >= 0 && reply.type <= 0xff && Buffer.isBuffer(reply.payload);
    if (!valid) return this.replyError(id, new Error('handler returned an invalid PeerMessage'));
    if (frameHeaderBytes + reply.payload.length > frameBytesMax) return this.replyError(id, new Error('reply exceeds frameBytesMax'));
    this.inflight--;
    this.send(reply.type, FrameFlags.Reply, id, reply.payload);
  }

  private replyError(id: number, error: unknown): void {
    this.inflight--;
    const code = (error as { code?: unknown } | null)?.code;
    const message = String((error as Error | null)?.message ?? error).slice(0, errorMessageCharsMax);
    this.transport.logger.debug({ peer: this.remote, err: error }, 'peer request handler failed');
    this.send(MessageType.Error, FrameFlags.ErrorReply, id, encodeControl({ code: typeof code === 'string' ? code : 'ERR', message }));
  }

  /** Replies always queue; reading pauses while the dialer is not taking them, so the backlog stays bounded. */
  private send(type: number, flags: FrameFlag, id: number, payload: Buffer): void {
    if (this.state !== 'ready') return;
    this.writer.enqueue(type, flags, id, payload);
    if (!this.paused && this.writer.backlogBytes > this.transport.outboundQueueBytesMax) {
      this.paused = true;
      this.socket.pause();
    }
  }

  violation(reason: string): void {
    this.transport.logger.warn({ peer: this.remote }, `peer protocol violation: ${reason}`);
    this.destroy('PEER_CLOSED', reason);
  }

  destroy(_code: PeerErrorCode, _reason: string): void {
    if (this.state === 'closed') return;
    this.tearDown();
    this.transport.inbound.delete(this);
  }
}

export class TcpTransport implements Transport {
  readonly nodeId: string;
  readonly logger: Logger;
  readonly handshake: HandshakeConfig;
  readonly pendingRequestsMax: number;
  readonly outboundQueueBytesMax: number;
  readonly inbound = new Set<InboundConnection>();
  handler: RequestHandler | null = null;
  private readonly links = new Map<string, PeerLink>();
  private readonly tlsRefusedLogged = new Set<string>();
  private readonly requestTimeoutMs: number;
  private readonly inboundPeersMax: number;
  private server: Server | null = null;
  private closed = false;
  /** What the log last said of each peer: dialed addresses, and hosts (with the id they claim) dialing us. */
  private readonly dialStates = new StateChanges<string>({ keysMax: peerLogKeysMax });
  private readonly acceptStates = new StateChanges<string>({ keysMax: peerLogKeysMax });

  constructor(private readonly options: TcpTransportOptions) {
    this.nodeId = options.nodeId;
    this.logger = options.logger;
    this.handshake = { clusterName: options.clusterName, clusterSecret: options.clusterSecret, nodeId: options.nodeId };
    this.requestTimeoutMs = options.requestTimeoutMs ?? requestTimeoutMsDefault;
    this.inboundPeersMax = options.inboundPeersMax ?? inboundPeersMax;
    this.pendingRequestsMax = options.pendingRequestsMax ?? pendingRequestsMax;
    this.outboundQueueBytesMax = options.outboundQueueBytesMax ?? outboundQueueBytesMaxDefault;
    assert(this.requestTimeoutMs > 0 && this.inboundPeersMax > 0 && this.pendingRequestsMax > 0);
    assert(this.outboundQueueBytesMax >= frameHeaderBytes);
  }

  async listen(): Promise<void> {
    assert(this.server === null && !this.closed, 'listen() once, before close()');
    const peerTls = this.options.tls;
    const server = peerTls === undefined ? createServer((socket) => this.accept(socket)) : tls.createServer(peerTls.server, (socket) => this.accept(socket));
    this.server = server;
    if (peerTls !== undefined) {
      // A peer without a certificate the CA signed never reaches accept(): say so once per address, not per attempt.
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        const peer = socket.remoteAddress ?? 'unknown';
        if (this.tlsRefusedLogged.has(peer)) return;
        if (this.tlsRefusedLogged.size >= tlsRefusedPeersLoggedMax) this.tlsRefusedLogged.clear();
        this.tlsRefusedLogged.add(peer);
        this.logger.warn({ peer, err: err.message }, 'peer connection refused: TLS handshake failed (no certificate signed by --tls-ca-cert-file?)');
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.warn({ err: error }, 'peer listener error'));
  }

  /** The bound address, after listen(). */
  address(): { host: string; port: number } {
    const info = this.server?.address() as AddressInfo | null | undefined;
    assert(info !== null && info !== undefined && typeof info === 'object', 'address() before listen()');
    return { host: info.address, port: info.port };
  }

  setHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  request(address: string, message: PeerMessage, timeoutMs: number, expectedNodeId?: string): Promise<PeerMessage> {
    if (this.closed) return Promise.reject(new PeerError('PEER_CLOSED', 'transport closed'));
    const oversized = oversizedRequest(message);
    if (oversized !== undefined) return Promise.reject(oversized);
    const link = this.link(address);
    if (link === null) return Promise.reject(new PeerError('PEER_UNREACHABLE', `bad peer address ${address}`));
    let connection = link.connection;
    if (connection === null) {
      if (Date.now() < link.retryAt) {
        return Promise.reject(new PeerError(link.lastFailure, `${address}: backing off after ${link.failures} failed attempts`));
      }
      connection = this.dial(link);
    }
    return connection.request(message, effectiveTimeoutMs(timeoutMs, this.requestTimeoutMs), expectedNodeId);
  }

  /**
   * A dial to `address` ended `connected`, `unreachable` or `refused`: one
   * line when that changes, not one per retry (a wrong cluster secret is
   * refused on every dial, for as long as it lasts).
   */
  noteDial(address: string, state: 'connected' | 'unreachable' | 'refused', detail: string): void {
    const key = state === 'refused' ? `refused: ${detail}` : state;
    const change = this.dialStates.report(address, key, Date.now());
    if (change === undefined) return;
    const before = change.previous === undefined ? {} : { before: change.previous, attempts: change.previousReports };
    if (state === 'refused') this.logger.warn({ peer: address, ...before }, `peer handshake refused: ${detail}`);
    else if (state === 'unreachable') this.logger.info({ peer: address, reason: detail, ...before }, 'peer unreachable');
    else if (change.previous !== undefined) this.logger.info({ peer: address, peerNodeId: detail, ...before }, 'peer reachable again');
  }

  /**
   * A handshake from `host` (claiming `claimedNodeId`) was accepted
   * (`refusal` undefined) or refused: one line when that changes. Keyed by
   * host and claimed id, not port: each dial comes from a new port.
   */
  noteAccept(host: string, claimedNodeId: string | undefined, refusal: RefusalReason | undefined): void {
    const key = `${host} ${claimedNodeId ?? '?'}`;
    const change = this.acceptStates.report(key, refusal === undefined ? 'accepted' : `refused: ${refusal}`, Date.now());
    if (change === undefined) return;
    const who = { peer: host, ...(claimedNodeId === undefined ? {} : { claimedNodeId }) };
    const before = change.previous === undefined ? {} : { before: change.previous, attempts: change.previousReports };
    if (refusal !== undefined) this.logger.warn({ ...who, ...before }, `peer refused: ${refusal === 'malformed' ? 'malformed handshake' : `wrong ${refusal}`}`);
    else if (change.previous !== undefined) this.logger.info({ ...who, ...before }, 'peer accepted again');
  }

  /**
   * Forgets the dial backoff for a peer that is known to be back (membership
   * heard its heartbeat), so requests to it stop failing fast at once rather
   * than after the remaining backoff (up to reconnectBackoffMsMax).
   */
  resetBackoff(address: string): void {
    const link = this.links.get(address);
    if (link !== undefined && link.connection === null) link.recordSuccess();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.connection?.destroy('PEER_CLOSED', 'transport closed');
    this.links.clear();
    for (const connection of [...this.inbound]) connection.destroy('PEER_CLOSED', 'transport closed');
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private link(address: string): PeerLink | null {
    let link = this.links.get(address);
    if (link !== undefined) return link;
    const parsed = parseAddress(address);
    if (parsed === null) return null;
    link = new PeerLink(address, parsed.host, parsed.port);
    this.links.set(address, link);
    return link;
  }

  private dial(link: PeerLink): OutboundConnection {
    const peerTls = this.options.tls;
    const socket = peerTls === undefined ? connect({ host: link.host, port: link.port }) : tls.connect({ ...peerTls.client, host: link.host, port: link.port });
    const connection = new OutboundConnection(this, link, socket);
    link.connection = connection;
    return connection;
  }

  private accept(socket: Socket): void {
    if (this.closed) return dropSocket(socket);
    if (this.inbound.size >= this.inboundPeersMax) {
      this.logger.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}` }, `peer connection refused: ${this.inboundPeersMax} inbound peers already`);
      return dropSocket(socket);
    }
    this.inbound.add(new InboundConnection(this, socket));
  }
}

/**
 * Drops a socket we will not serve. It still gets an 'error' listener: no
 * socket may be without one, since an unhandled 'error' (a reset racing the
 * destroy) would take the process down.
 */
function dropSocket(socket: Socket): void {
  socket.on('error', ignoreSocketError);
  socket.destroy();
}

function ignoreSocketError(): void {
  // a dropped socket: nothing waits on it, so its errors have no one to tell
}

/** "host:port" or "[v6]:port" → parts; null when malformed. */
export function parseAddress(address: string): { host: string; port: number } | null {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return null;
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 0xffff || host.length === 0) return null;
  return { host, port };
}
