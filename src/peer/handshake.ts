// The peer handshake: mutual proof of a shared cluster secret before any
// request is served, and a cluster name so a node never talks to the wrong
// cluster (TigerBeetle's header `cluster` field does the same).
//
//   acceptor → dialer   Challenge { nonce: Na }
//   dialer → acceptor   Hello     { cluster, nodeId, version, nonce: Nd,
//                                   proof: HMAC(secret, Na|Nd|cluster|dialerId|"dialer") }
//   acceptor → dialer   Welcome   { nodeId, proof: HMAC(secret, Nd|Na|cluster|acceptorId|"acceptor") }
//                    or Refused   { reason } and the connection closes
//
// The dialer then knows which node it reached, and a caller that named the
// node it meant (tcp-transport.ts) is refused with PEER_WRONG_NODE when
// another node holds that address now.
//
// Fresh nonces on both sides keep a recorded proof from being replayed; the
// role in the MAC keeps one side's proof from being reflected back as the
// other's. Fields are length-prefixed inside the MAC so no two field lists
// concatenate to the same bytes.
//
// SECURITY: this authenticates the peer at connect time only. Frames after
// the handshake are neither encrypted nor MACed: run peers on a private
// network or a tunnel (WireGuard, stunnel). With no secret configured both
// sides use the empty string, which proves nothing: no security at all.
//
// Pure: the transport moves the bytes; these functions build and verify them.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeControl, encodeControl } from './codec.js';
import { protocolVersion } from './frame.js';

/** A connection that has not proved itself within this is dropped: a LAN round trip is < 1 ms, a loaded node's a few 100 ms. */
export const handshakeTimeoutMs = 5_000;
/** 256 bits: a nonce never repeats across the lifetime of a cluster. */
export const nonceBytes = 32;
const proofBytes = 32;
/** Cluster names and node ids are short labels; longer ones are refused. */
export const handshakeNameBytesMax = 255;

export interface HandshakeConfig {
  readonly clusterName: string;
  readonly clusterSecret: string;
  readonly nodeId: string;
}

export type RefusalReason = 'malformed' | 'cluster' | 'version' | 'secret';

export type WelcomeVerdict = { ok: true; peerNodeId: string } | { ok: false; reason: RefusalReason };

export function newNonce(): Buffer {
  return randomBytes(nonceBytes);
}

function proof(secret: string, first: Buffer, second: Buffer, cluster: string, nodeId: string, role: 'dialer' | 'acceptor'): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of [first, second, Buffer.from(cluster, 'utf8'), Buffer.from(nodeId, 'utf8'), Buffer.from(role, 'utf8')]) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(part.length, 0);
    mac.update(length);
    mac.update(part);
  }
  return mac.digest();
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= handshakeNameBytesMax;
}

function isBytes(value: unknown, length: number): value is Buffer {
  return Buffer.isBuffer(value) && value.length === length;
}

/** Decodes a control payload into a plain object, or null when it is not one. */
function decodeObject(payload: Buffer): Record<string, unknown> | null {
  try {
    const value = decodeControl<unknown>(payload);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function encodeChallenge(acceptorNonce: Buffer): Buffer {
  return encodeControl({ nonce: acceptorNonce });
}

export function decodeChallenge(payload: Buffer): Buffer | null {
  const value = decodeObject(payload);
  return value !== null && isBytes(value['nonce'], nonceBytes) ? value['nonce'] : null;
}

export function encodeHello(config: HandshakeConfig, acceptorNonce: Buffer, dialerNonce: Buffer): Buffer {
  return encodeControl({
    cluster: config.clusterName,
    nodeId: config.nodeId,
    version: protocolVersion,
    nonce: dialerNonce,
    proof: proof(config.clusterSecret, acceptorNonce, dialerNonce, config.clusterName, config.nodeId, 'dialer'),
  });
}

export interface Hello {
  readonly peerNodeId: string;
  readonly dialerNonce: Buffer;
}

/** The acceptor's check of a Hello; on success the dialer's nonce is needed for the Welcome. */
/**
 * The acceptor's check of the dialer's hello. A refusal carries the node id
 * the dialer claimed, when it sent a well-formed one: unproven, so only for
 * the operator's log line, never for a decision.
 */
export function verifyHello(config: HandshakeConfig, acceptorNonce: Buffer, payload: Buffer): ({ ok: true } & Hello) | { ok: false; reason: RefusalReason; claimedNodeId?: string } {
  const v = decodeObject(payload);
  if (v === null) return { ok: false, reason: 'malformed' };
  const { cluster, nodeId, version, nonce } = v;
  if (!isName(cluster) || !isName(nodeId) || typeof version !== 'number' || !isBytes(nonce, nonceBytes) || !isBytes(v['proof'], proofBytes)) {
    return { ok: false, reason: 'malformed' };
  }
  if (version !== protocolVersion) return { ok: false, reason: 'version', claimedNodeId: nodeId };
  if (cluster !== config.clusterName) return { ok: false, reason: 'cluster', claimedNodeId: nodeId };
  const expected = proof(config.clusterSecret, acceptorNonce, nonce, cluster, nodeId, 'dialer');
  if (!timingSafeEqual(expected, v['proof'])) return { ok: false, reason: 'secret', claimedNodeId: nodeId };
  return { ok: true, peerNodeId: nodeId, dialerNonce: nonce };
}

export function encodeWelcome(config: HandshakeConfig, dialerNonce: Buffer, acceptorNonce: Buffer): Buffer {
  return encodeControl({
    nodeId: config.nodeId,
    proof: proof(config.clusterSecret, dialerNonce, acceptorNonce, config.clusterName, config.nodeId, 'acceptor'),
  });
}

/** The dialer's check that the acceptor knows the secret too. */
export function verifyWelcome(config: HandshakeConfig, dialerNonce: Buffer, acceptorNonce: Buffer, payload: Buffer): WelcomeVerdict {
  const v = decodeObject(payload);
  if (v === null || !isName(v['nodeId']) || !isBytes(v['proof'], proofBytes)) return { ok: false, reason: 'malformed' };
  const expected = proof(config.clusterSecret, dialerNonce, acceptorNonce, config.clusterName, v['nodeId'], 'acceptor');
  if (!timingSafeEqual(expected, v['proof'])) return { ok: false, reason: 'secret' };
  return { ok: true, peerNodeId: v['nodeId'] };
}

export function encodeRefused(reason: RefusalReason): Buffer {
  return encodeControl({ reason });
}

export function decodeRefused(payload: Buffer): RefusalReason {
  const v = decodeObject(payload);
  const reason = v?.['reason'];
  return reason === 'cluster' || reason === 'version' || reason === 'secret' ? reason : 'malformed';
}
