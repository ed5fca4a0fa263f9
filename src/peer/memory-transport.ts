// An in-memory network for tests and seeded simulation: transports register
// on a hub by address, and the hub decides with a seeded PRNG what each
// message meets: drops, delays, partitions, nodes down. The same seed gives
// the same decisions, so a failing simulation replays (TigerBeetle's VOPR and
// FoundationDB's simulator rest on the same idea).
//
// Fault semantics, chosen to match what the TCP transport reports:
// - target unknown, down, or partitioned from the sender when the request is
//   sent: rejects with PEER_UNREACHABLE, asynchronously, at once (a refused
//   dial, or the TCP link backing off);
// - a message dropped (drop rate), or whose path breaks while it is in
//   flight (partition, node down, transport closed): nothing comes back, and
//   the request rejects with PEER_TIMEOUT after its timeout;
// - a request duplicated (duplicate rate): the target serves it twice, as
//   after a retransmission; the requester takes the first reply;
// - a reply from a transport that has closed since it took the request (a
//   crashed process) never arrives, even if a new transport listens at that
//   address by then;
// - a request that names the node it is for (expectedNodeId) is never served
//   by a transport with another node id at that address: it rejects with
//   PEER_WRONG_NODE, asynchronously, as the TCP transport does once the
//   handshake shows who is there — whether that node listened when the
//   request was sent or took the address over while it was in flight.
// Delivery is always asynchronous (at least a 0 ms timer), payloads are
// copied as a wire would, and a handler's failure arrives as PEER_REMOTE_ERROR.
//
// Time comes from a TimerSource: the real globals by default, a virtual clock
// in the simulation (test/sim), where a run must be a pure function of its
// seed and minutes of virtual time pass in milliseconds.

import assert from 'node:assert';
import {
  effectiveTimeoutMs,
  oversizedRequest,
  PeerError,
  requestTimeoutMsDefault,
  type PeerMessage,
  type RequestHandler,
  type Transport,
} from './transport.js';

/**
 * Where the memory network takes time from. Callbacks get their extra
 * arguments as Node's timers pass them. @sinonjs/fake-timers' createClock()
 * provides all of it once `now` is wrapped as a function.
 */
export interface TimerSource {
  now(): number;
  setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms: number, ...args: A): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate<A extends unknown[]>(callback: (...args: A) => void, ...args: A): unknown;
}

/** The process's own clock and timers. */
export const realTimers: TimerSource = {
  now: () => Date.now(),
  setTimeout: (callback, ms, ...args) => setTimeout(callback, ms, ...args),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (callback, ...args) => setImmediate(callback, ...args),
};

export interface MemoryNetworkOptions {
  /** PRNG seed: same seed, same drops and delays. */
  readonly seed?: number;
  /** Probability in [0, 1] that any one message (request or reply) is lost. */
  readonly dropRate?: number;
  /** Probability in [0, 1] that a delivered request is delivered a second time. */
  readonly duplicateRate?: number;
  readonly delayMsMin?: number;
  readonly delayMsMax?: number;
  /** Every transport on the network times its messages with this; real timers by default. */
  readonly timers?: TimerSource;
}

/** mulberry32: tiny, fast, good enough for fault injection; not for crypto. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MemoryNetworkStats {
  delivered: number;
  dropped: number;
  unreachable: number;
  duplicated: number;
}

export class MemoryNetwork {
  readonly stats: MemoryNetworkStats = { delivered: 0, dropped: 0, unreachable: 0, duplicated: 0 };
  readonly timers: TimerSource;
  private readonly nodes = new Map<string, MemoryTransport>();
  private readonly downNodes = new Set<string>();
  /** Blocked pairs, stored as "a\nb" with a < b. */
  private readonly cuts = new Set<string>();
  private readonly random: () => number;
  private dropRate: number;
  private duplicateRate: number;
  private delayMsMin: number;
  private delayMsMax: number;

  constructor(options: MemoryNetworkOptions = {}) {
    this.random = mulberry32(options.seed ?? 1);
    this.timers = options.timers ?? realTimers;
    this.dropRate = 0;
    this.duplicateRate = 0;
    this.delayMsMin = 0;
    this.delayMsMax = 0;
    this.setDropRate(options.dropRate ?? 0);
    this.setDuplicateRate(options.duplicateRate ?? 0);
    this.setDelay(options.delayMsMin ?? 0, options.delayMsMax ?? options.delayMsMin ?? 0);
  }

  setDropRate(rate: number): void {
    assert(rate >= 0 && rate <= 1, 'dropRate in [0, 1]');
    this.dropRate = rate;
  }

  setDuplicateRate(rate: number): void {
    assert(rate >= 0 && rate <= 1, 'duplicateRate in [0, 1]');
    this.duplicateRate = rate;
  }

  setDelay(minMs: number, maxMs: number): void {
    assert(minMs >= 0 && maxMs >= minMs, '0 <= delayMsMin <= delayMsMax');
    this.delayMsMin = minMs;
    this.delayMsMax = maxMs;
  }

  /** Cuts every link between the two sides (addresses or groups of them), both ways. */
  partition(a: string | readonly string[], b: string | readonly string[]): void {
    for (const x of typeof a === 'string' ? [a] : a) {
      for (const y of typeof b === 'string' ? [b] : b) if (x !== y) this.cuts.add(pairKey(x, y));
    }
  }

  /** Restores every cut link. */
  heal(): void {
    this.cuts.clear();
  }

  down(address: string): void {
    this.downNodes.add(address);
  }

  up(address: string): void {
    this.downNodes.delete(address);
  }

  /** Whether a request from `from` can reach a listening `to` right now (drops aside). */
  reachable(from: string, to: string): boolean {
    const target = this.nodes.get(to);
    return target !== undefined && target.listening && this.linkUp(from, to);
  }

  /** Whether neither end is down and no partition cuts them (replies need no listener). */
  linkUp(a: string, b: string): boolean {
    return !this.downNodes.has(a) && !this.downNodes.has(b) && !this.cuts.has(pairKey(a, b));
  }

  /** One seeded draw: is this message lost? */
  drops(): boolean {
    const lost = this.dropRate > 0 && this.random() < this.dropRate;
    if (lost) this.stats.dropped++;
    return lost;
  }

  /** One seeded draw (none at rate 0): is this request delivered twice? */
  duplicates(): boolean {
    const twice = this.duplicateRate > 0 && this.random() < this.duplicateRate;
    if (twice) this.stats.duplicated++;
    return twice;
  }

  /** One seeded draw of a delivery delay in ms. */
  delayMs(): number {
    return this.delayMsMin + Math.floor(this.random() * (this.delayMsMax - this.delayMsMin + 1));
  }

  node(address: string): MemoryTransport | undefined {
    return this.nodes.get(address);
  }

  register(transport: MemoryTransport): void {
    const existing = this.nodes.get(transport.address);
    assert(existing === undefined || existing === transport || !existing.listening, `address ${transport.address} already registered`);
    this.nodes.set(transport.address, transport);
  }

  unregister(transport: MemoryTransport): void {
    if (this.nodes.get(transport.address) === transport) this.nodes.delete(transport.address);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`;
}

/** One request in flight: owned by the requester, which clears its timers. */
class MemoryCall {
  timeoutTimer: unknown = null;
  hopTimer: unknown = null;
  settled = false;

  constructor(
    readonly from: MemoryTransport,
    readonly to: string,
    readonly message: PeerMessage,
    readonly expectedNodeId: string | undefined,
    readonly resolve: (reply: PeerMessage) => void,
    readonly reject: (error: PeerError) => void,
  ) {}

  settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    const timers = this.from.timers;
    if (this.timeoutTimer !== null) timers.clearTimeout(this.timeoutTimer);
    if (this.hopTimer !== null) timers.clearTimeout(this.hopTimer);
    this.timeoutTimer = null;
    this.hopTimer = null;
    this.from.calls.delete(this);
    return true;
  }
}

export interface MemoryTransportOptions {
  readonly network: MemoryNetwork;
  readonly nodeId: string;
  /** Where peers reach this node; defaults to the node id. */
  readonly address?: string;
  /** The timeout of a request passed without a positive one, as in TcpTransport. */
  readonly requestTimeoutMs?: number;
}

export class MemoryTransport implements Transport {
  readonly nodeId: string;
  readonly address: string;
  readonly calls = new Set<MemoryCall>();
  /** The network's timers. */
  readonly timers: TimerSource;
  listening = false;
  private handler: RequestHandler | null = null;
  private closed = false;
  private readonly network: MemoryNetwork;
  private readonly requestTimeoutMs: number;

  constructor(options: MemoryTransportOptions) {
    this.network = options.network;
    this.timers = options.network.timers;
    this.requestTimeoutMs = options.requestTimeoutMs ?? requestTimeoutMsDefault;
    this.nodeId = options.nodeId;
    this.address = options.address ?? options.nodeId;
  }

  async listen(): Promise<void> {
    assert(!this.closed, 'listen() after close()');
    this.network.register(this);
    this.listening = true;
  }

  setHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  request(address: string, message: PeerMessage, timeoutMs: number, expectedNodeId?: string): Promise<PeerMessage> {
    if (this.closed) return Promise.reject(new PeerError('PEER_CLOSED', 'transport closed'));
    const oversized = oversizedRequest(message);
    if (oversized !== undefined) return Promise.reject(oversized);
    return new Promise<PeerMessage>((resolve, reject) => {
      const copy = { type: message.type, payload: Buffer.from(message.payload) };
      const call = new MemoryCall(this, address, copy, expectedNodeId, resolve, reject);
      const network = this.network;
      const timers = this.timers;
      this.calls.add(call);
      call.timeoutTimer = timers.setTimeout(onCallTimeout, effectiveTimeoutMs(timeoutMs, this.requestTimeoutMs), call);
      if (!network.reachable(this.address, address)) {
        network.stats.unreachable++;
        call.hopTimer = timers.setTimeout(onCallUnreachable, 0, call);
      } else if (isWrongNode(call, network.node(address)!)) {
        // No seeded draw here: a run where every id matches draws exactly as before.
        call.hopTimer = timers.setTimeout(onCallWrongNode, 0, call, network.node(address)!.nodeId);
      } else if (!network.drops()) {
        call.hopTimer = timers.setTimeout(deliverRequest, network.delayMs(), call, network);
        // The copy is no part of the call: it arrives even after the call settled, as a retransmission would.
        if (network.duplicates()) timers.setTimeout(deliverDuplicate, network.delayMs(), call, network);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listening = false;
    this.network.unregister(this);
    for (const call of [...this.calls]) {
      if (call.settle()) call.reject(new PeerError('PEER_CLOSED', 'transport closed'));
    }
  }

  /** Runs the handler for a delivered request; resolves to the reply or the error to send back. */
  serve(from: string, message: PeerMessage): Promise<PeerMessage> {
    const handler = this.handler;
    if (handler === null) return Promise.reject(new PeerError('PEER_REMOTE_ERROR', 'no handler set'));
    try {
      return Promise.resolve(handler(from, message));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function onCallTimeout(call: MemoryCall): void {
  call.timeoutTimer = null;
  if (call.settle()) call.reject(new PeerError('PEER_TIMEOUT', `request to ${call.to} timed out`));
}

function onCallUnreachable(call: MemoryCall): void {
  call.hopTimer = null;
  if (call.settle()) call.reject(new PeerError('PEER_UNREACHABLE', `${call.to} is unreachable`));
}

/** The call names a node, and `server` (listening at the call's address) is another. */
function isWrongNode(call: MemoryCall, server: MemoryTransport): boolean {
  return call.expectedNodeId !== undefined && server.nodeId !== call.expectedNodeId;
}

function onCallWrongNode(call: MemoryCall, actualNodeId: string): void {
  call.hopTimer = null;
  if (call.settle()) call.reject(wrongNodeError(call, actualNodeId));
}

function wrongNodeError(call: MemoryCall, actualNodeId: string): PeerError {
  return new PeerError('PEER_WRONG_NODE', `${call.to} is node ${actualNodeId}, not ${call.expectedNodeId}`);
}

function deliverRequest(call: MemoryCall, network: MemoryNetwork): void {
  call.hopTimer = null;
  if (call.settled) return;
  serveCall(call, network, call.message);
}

function deliverDuplicate(call: MemoryCall, network: MemoryNetwork): void {
  // Its own copy: the handler of the first delivery may have written into that one.
  serveCall(call, network, { type: call.message.type, payload: Buffer.from(call.message.payload) });
}

function serveCall(call: MemoryCall, network: MemoryNetwork, message: PeerMessage): void {
  if (!network.reachable(call.from.address, call.to)) return; // lost in flight: times out
  const server = network.node(call.to)!;
  if (isWrongNode(call, server)) {
    // Another node took the address over while the request was in flight.
    if (call.settle()) call.reject(wrongNodeError(call, server.nodeId));
    return;
  }
  network.stats.delivered++;
  server.serve(call.from.nodeId, message).then(
    (reply) => sendReply(call, network, server, { type: reply.type, payload: Buffer.from(reply.payload) }, null),
    (error: unknown) => sendReply(call, network, server, null, error),
  );
}

/** `server` is the transport that took the request: if it has closed since, its reply dies with it. */
function sendReply(call: MemoryCall, network: MemoryNetwork, server: MemoryTransport, reply: PeerMessage | null, error: unknown): void {
  if (call.settled || !server.listening || !network.linkUp(call.to, call.from.address) || network.drops()) return;
  call.hopTimer = call.from.timers.setTimeout(deliverReply, network.delayMs(), call, network, reply, error);
}

function deliverReply(call: MemoryCall, network: MemoryNetwork, reply: PeerMessage | null, error: unknown): void {
  call.hopTimer = null;
  if (!network.linkUp(call.to, call.from.address) || !call.settle()) return;
  network.stats.delivered++;
  if (reply !== null) call.resolve(reply);
  else call.reject(remoteError(call.to, error));
}

function remoteError(peer: string, error: unknown): PeerError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = String((error as Error | null)?.message ?? error);
  return new PeerError('PEER_REMOTE_ERROR', `peer ${peer} failed: ${typeof code === 'string' ? code : 'ERR'}: ${message}`);
}
