// The seam between the cluster logic and the network: request/response
// messages between nodes, addressed by "host:port". Two implementations stand
// behind it (TCP in tcp-transport.ts, in-memory in memory-transport.ts) so the
// coordinator, gossip and handoff can run over seeded faults in tests.

import { frameBytesMax, frameHeaderBytes } from './frame.js';

/** No request waits longer than this, whatever the caller asks: a stuck peer must not pin memory. */
export const requestTimeoutMsMax = 60_000;
/** The timeout for a request whose caller passes none (0, negative, not finite): a LAN round trip plus a slow disk. */
export const requestTimeoutMsDefault = 1_000;

export interface PeerMessage {
  /** A MessageType from message-types.ts. */
  readonly type: number;
  readonly payload: Buffer;
}

/**
 * Serves one request from a peer. `from` is the node id the peer proved in
 * the handshake. A thrown PeerError (or any error) is sent back as an error
 * reply and surfaces at the requester as PeerError('PEER_REMOTE_ERROR').
 */
export type RequestHandler = (from: string, message: PeerMessage) => Promise<PeerMessage> | PeerMessage;

export interface Transport {
  readonly nodeId: string;
  /** Starts accepting peers (no-op for transports that need no listener). */
  listen(): Promise<void>;
  /**
   * Sends a request and resolves with the reply; rejects with PeerError, never
   * hangs past timeoutMs. With `expectedNodeId` (the caller knows which member
   * it means to reach) the request is sent only if the node at `address`
   * proves that id in the handshake; a different node there (the address was
   * reused) fails it with PEER_WRONG_NODE.
   */
  request(address: string, message: PeerMessage, timeoutMs: number, expectedNodeId?: string): Promise<PeerMessage>;
  setHandler(handler: RequestHandler): void;
  /** Stops listening, fails pending requests with PEER_CLOSED, closes every connection. */
  close(): Promise<void>;
}

export type PeerErrorCode =
  | 'PEER_TIMEOUT'        // no reply within the request's timeout
  | 'PEER_UNREACHABLE'    // could not connect (refused, reset, backing off)
  | 'PEER_REFUSED'        // the handshake failed: wrong cluster, secret or version
  | 'PEER_CLOSED'         // the connection or the transport closed with the request pending
  | 'PEER_REMOTE_ERROR'   // the peer's handler failed
  | 'PEER_OVERLOADED'     // the bounded outbound queue for that peer is full
  | 'PEER_WRONG_NODE';    // the node at the address proved another id than the caller expected

/** An operating failure of the peer layer, with a stable code. */
export class PeerError extends Error {
  constructor(readonly code: PeerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PeerError';
  }
}

/** The rules every transport applies to a request before sending it. */

/** The timeout a request gets: the caller's, else the transport's default, never past requestTimeoutMsMax. */
export function effectiveTimeoutMs(timeoutMs: number, defaultMs: number): number {
  return Math.min(Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : defaultMs, requestTimeoutMsMax);
}

/** A request whose payload cannot fit one frame fails at once (the peer would drop the connection). */
export function oversizedRequest(message: PeerMessage): PeerError | undefined {
  if (frameHeaderBytes + message.payload.length <= frameBytesMax) return undefined;
  return new PeerError('PEER_OVERLOADED', `payload of ${message.payload.length} bytes exceeds frameBytesMax`);
}
