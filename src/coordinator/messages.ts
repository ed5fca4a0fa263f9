// Payloads of the coordinator's control messages (forwarded writes, keyspace
// pages, flush). They are off the hot path, so they ride on the generic
// msgpack codec; records inside them use the record codec.

import { ContextError, contextEntriesMax, type ContextErrorCode } from '../clock/context.js';
import { actorBytesMax, decodeSiblings, encodeSiblings } from '../clock/record-codec.js';
import type { ClockEntry, Sibling, VClock } from '../clock/types.js';
import { CodecError, decodeControl, encodeControl } from '../peer/codec.js';
import { isValidClock } from '../clock/vclock.js';
import { KeyPresentError, NotReplicaError, QuorumError, RecordTooLargeError, SiblingLimitError } from './errors.js';
import type { Mutation } from './versioning.js';
import { TypeOperationError, typeOperationErrorCodes, type TypeOperationErrorCode } from '../crdt/operation.js';
import type { TypeName } from '../crdt/kind.js';

/** The convergent types a version or an operation may name on the wire. */
const wireTypes: readonly Exclude<TypeName, 'string'>[] = ['counter', 'hash', 'set', 'zset', 'list'];

function wireType(t: unknown): Exclude<TypeName, 'string'> {
  if (!wireTypes.includes(t as Exclude<TypeName, 'string'>)) throw new CodecError('bad coordinate-put type');
  return t as Exclude<TypeName, 'string'>;
}

export interface CoordinatePutRequest {
  readonly key: Buffer;
  readonly mutation: Mutation;
  readonly w: number;
  readonly context: VClock | undefined;
  /** Count only the key's primaries (CONSISTENCY … STRICT). */
  readonly strict?: boolean;
  /** Every primary is down: the receiver, a fallback, coordinates the write as hints (Coordinator.coordinateAsFallback). */
  readonly fallback?: boolean;
  /**
   * A forwarded operation's identity (random, 8 bytes): an operation is not
   * idempotent (INCR twice counts twice), so a receiver that meets the same
   * request again (a duplicated message) answers it without applying it twice.
   */
  readonly id?: Buffer;
}

type WireClock = [string, number][];
/** A forwarded operation's id: 64 random bits, so two never meet in a receiver's memory of recent ones. */
export const operationIdBytes = 8;
const contextErrorCodes: readonly ContextErrorCode[] = ['CONTEXT_MALFORMED', 'CONTEXT_FOREIGN', 'CONTEXT_IMPLAUSIBLE', 'CONTEXT_TOO_LARGE'];
/** A forwarded write's W: at most the largest N anyone configures (config caps N far lower). */
const forwardedWMax = 64;
/**
 * Expiries a command can produce: Redis's long long ms, up to LLONG_MAX
 * (`PEXPIREAT k 9223372036854775807`), which a double rounds to 2^63.
 */
const expiresAtMsMax = 2 ** 63;

interface WireCoordinatePut {
  k: Buffer;
  d?: true;
  v?: Buffer;
  x?: number;
  w: number;
  c?: WireClock;
  s?: true;
  f?: true;
  /** The value's convergent type, or the operation's. */
  t?: string;
  /** An operation (Mutation 'operate'). */
  o?: Buffer;
  i?: Buffer;
  /** An import (Mutation 'value' or 'operate' imported): written only where no version is held. */
  m?: true;
}

function clockToWire(clock: VClock): WireClock {
  return clock.map((e) => [e.actor, e.counter]);
}

/** A peer's context is checked as strictly as a client's: sorted, distinct, counters in range. */
function clockFromWire(wire: unknown): VClock {
  if (!Array.isArray(wire) || wire.length > contextEntriesMax) throw new CodecError('context is not an array of entries');
  const clock = wire.map((e): ClockEntry => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw new CodecError('bad context entry');
    return { actor: e[0], counter: e[1] };
  });
  if (!isValidClock(clock) || clock.some((e) => Buffer.byteLength(e.actor) > actorBytesMax)) {
    throw new CodecError('bad context');
  }
  return clock;
}

export function encodeCoordinatePut(request: CoordinatePutRequest): Buffer {
  const wire: WireCoordinatePut = { k: request.key, w: request.w };
  const mutation = request.mutation;
  if (mutation.kind === 'delete') wire.d = true;
  else if (mutation.kind === 'operate') {
    wire.o = mutation.operation;
    wire.t = mutation.type;
    if (mutation.imported === true) wire.m = true;
  } else {
    wire.v = mutation.value;
    if (mutation.expiresAt !== undefined) wire.x = mutation.expiresAt;
    if (mutation.type !== undefined) wire.t = mutation.type;
    if (mutation.imported === true) wire.m = true;
  }
  if (request.context !== undefined) wire.c = clockToWire(request.context);
  if (request.strict === true) wire.s = true;
  if (request.fallback === true) wire.f = true;
  if (request.id !== undefined) wire.i = request.id;
  return encodeControl(wire);
}

export function decodeCoordinatePut(payload: Buffer): CoordinatePutRequest {
  const wire = decodeControl<WireCoordinatePut>(payload);
  if (!wire || !Buffer.isBuffer(wire.k) || !Number.isInteger(wire.w) || wire.w < 1 || wire.w > forwardedWMax) throw new CodecError('bad coordinate-put');
  let mutation: Mutation;
  if (wire.d === true) mutation = { kind: 'delete' };
  else if (wire.m !== undefined && wire.m !== true) throw new CodecError('bad coordinate-put import flag');
  else if (Buffer.isBuffer(wire.o)) mutation = { kind: 'operate', type: wireType(wire.t), operation: wire.o, ...(wire.m === true ? { imported: true } : {}) };
  else if (Buffer.isBuffer(wire.v)) {
    if (wire.x !== undefined && (typeof wire.x !== 'number' || !Number.isInteger(wire.x) || wire.x < 0 || wire.x > expiresAtMsMax)) throw new CodecError('bad coordinate-put expiry');
    const value = { kind: 'value' as const, value: wire.v, ...(wire.x === undefined ? {} : { expiresAt: wire.x }), ...(wire.m === true ? { imported: true } : {}) };
    mutation = wire.t === undefined ? value : { ...value, type: wireType(wire.t) };
  } else throw new CodecError('coordinate-put without value');
  if (wire.s !== undefined && wire.s !== true) throw new CodecError('bad coordinate-put strict flag');
  if (wire.f !== undefined && wire.f !== true) throw new CodecError('bad coordinate-put fallback flag');
  if (wire.i !== undefined && (!Buffer.isBuffer(wire.i) || wire.i.length !== operationIdBytes)) throw new CodecError('bad coordinate-put id');
  let request: CoordinatePutRequest = { key: wire.k, mutation, w: wire.w, context: wire.c === undefined ? undefined : clockFromWire(wire.c) };
  if (wire.i !== undefined) request = { ...request, id: wire.i };
  if (wire.s === true) return { ...request, strict: true };
  return wire.f === true ? { ...request, fallback: true } : request;
}

type WirePutReply =
  | { ok: true; s: Buffer; v: Buffer; h?: true; o?: Buffer }
  | { ok: false; code: 'TYPE_OPERATION'; reason: TypeOperationErrorCode; message: string }
  | { ok: false; code: 'NOQUORUM'; n: number; a: number; asked: number; t: boolean; op: 'read' | 'write' }
  | { ok: false; code: 'SIBLINGS_MAX'; siblings: number; limit: number }
  | { ok: false; code: 'RECORD_TOO_LARGE'; bytes: number; limit: number }
  | { ok: false; code: 'NOT_REPLICA'; node: string }
  | { ok: false; code: 'KEY_PRESENT' }
  | { ok: false; code: 'CONTEXT'; reason: ContextErrorCode; message: string };

export function encodeCoordinatePutReply(outcome: { stored: readonly Sibling[]; version: Sibling; hintedOnly?: boolean; outcome?: Buffer } | Error): Buffer {
  if (outcome instanceof TypeOperationError) return encodeControl({ ok: false, code: 'TYPE_OPERATION', reason: outcome.code, message: outcome.message });
  if (outcome instanceof QuorumError) {
    return encodeControl({ ok: false, code: 'NOQUORUM', n: outcome.needed, a: outcome.succeeded, asked: outcome.asked, t: outcome.timedOut, op: outcome.operation });
  }
  if (outcome instanceof SiblingLimitError) {
    return encodeControl({ ok: false, code: 'SIBLINGS_MAX', siblings: outcome.siblings, limit: outcome.limit });
  }
  if (outcome instanceof RecordTooLargeError) return encodeControl({ ok: false, code: 'RECORD_TOO_LARGE', bytes: outcome.bytes, limit: outcome.limit });
  if (outcome instanceof ContextError) return encodeControl({ ok: false, code: 'CONTEXT', reason: outcome.code, message: outcome.message });
  if (outcome instanceof NotReplicaError) return encodeControl({ ok: false, code: 'NOT_REPLICA', node: outcome.nodeId });
  if (outcome instanceof KeyPresentError) return encodeControl({ ok: false, code: 'KEY_PRESENT' });
  if (outcome instanceof Error) throw outcome;
  const reply: Record<string, unknown> = { ok: true, s: encodeSiblings(outcome.stored), v: encodeSiblings([outcome.version]) };
  if (outcome.hintedOnly === true) reply['h'] = true;
  // An operation's answer (ZADD's count, LPOP's elements) goes back with its version.
  if (outcome.outcome !== undefined) reply['o'] = outcome.outcome;
  return encodeControl(reply);
}

/** The forwarded write's outcome; a failure the remote coordinator decided is thrown as the same typed error. */
export function decodeCoordinatePutReply(payload: Buffer): { stored: Sibling[]; version: Sibling; hintedOnly?: true; outcome?: Buffer } {
  const wire = decodeControl<WirePutReply>(payload);
  if (wire?.ok === true && Buffer.isBuffer(wire.s) && Buffer.isBuffer(wire.v)) {
    const made = decodeRecord(wire.v);
    if (made.length !== 1) throw new CodecError('coordinate-put reply without its version');
    const result: { stored: Sibling[]; version: Sibling; hintedOnly?: true; outcome?: Buffer } = { stored: decodeRecord(wire.s), version: made[0]! };
    if (wire.h === true) result.hintedOnly = true;
    if (wire.o !== undefined) {
      if (!Buffer.isBuffer(wire.o)) throw new CodecError('bad coordinate-put outcome');
      result.outcome = wire.o;
    }
    return result;
  }
  throw typedFailure(wire) ?? new CodecError('bad coordinate-put reply');
}

/** A ring token in decimal: 0 ≤ t < 2^64. */
function isToken(text: string): boolean {
  return /^\d{1,20}$/.test(text) && BigInt(text) < 1n << 64n;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The typed error a failure reply carries, built only from fields checked here; undefined for anything else. */
function typedFailure(wire: WirePutReply | undefined): Error | undefined {
  if (wire?.ok !== false) return undefined;
  switch (wire.code) {
    case 'NOQUORUM':
      if ((wire.op !== 'read' && wire.op !== 'write') || !isCount(wire.n) || !isCount(wire.a) || !isCount(wire.asked) || typeof wire.t !== 'boolean') return undefined;
      return new QuorumError(wire.op, wire.n, wire.a, wire.asked, wire.t);
    case 'SIBLINGS_MAX':
      return isCount(wire.siblings) && isCount(wire.limit) ? new SiblingLimitError(wire.siblings, wire.limit) : undefined;
    case 'RECORD_TOO_LARGE':
      return isCount(wire.bytes) && isCount(wire.limit) ? new RecordTooLargeError(wire.bytes, wire.limit) : undefined;
    case 'CONTEXT':
      return contextErrorCodes.includes(wire.reason) && typeof wire.message === 'string' ? new ContextError(wire.reason, wire.message) : undefined;
    case 'TYPE_OPERATION':
      return typeOperationErrorCodes.includes(wire.reason) && typeof wire.message === 'string' ? new TypeOperationError(wire.reason, wire.message) : undefined;
    case 'NOT_REPLICA':
      return typeof wire.node === 'string' ? new NotReplicaError(wire.node) : undefined;
    case 'KEY_PRESENT':
      return new KeyPresentError();
    default:
      return undefined;
  }
}

/** A record from a peer: any flaw is the peer's, reported as CodecError like every other payload flaw. */
function decodeRecord(bytes: Buffer): Sibling[] {
  try {
    return decodeSiblings(bytes);
  } catch (cause) {
    throw new CodecError(`malformed record: ${(cause as Error).message}`, { cause });
  }
}

export interface KeysScanRequest {
  readonly from: bigint;
  readonly limit: number;
}

export interface KeysScanReply {
  readonly entries: { key: Buffer; token: bigint; siblings: Sibling[] }[];
  readonly more: boolean;
}

export function encodeKeysScan(request: KeysScanRequest): Buffer {
  return encodeControl({ f: request.from.toString(), l: request.limit });
}

export function decodeKeysScan(payload: Buffer): KeysScanRequest {
  const wire = decodeControl<{ f: string; l: number }>(payload);
  if (!wire || typeof wire.f !== 'string' || !isToken(wire.f) || !Number.isInteger(wire.l) || wire.l < 1) {
    throw new CodecError('bad keys-scan');
  }
  return { from: BigInt(wire.f), limit: wire.l };
}

const noValue = Buffer.alloc(0);

/** Pages carry versions without values: enough to reconcile liveness across replicas. */
export function encodeKeysScanReply(reply: KeysScanReply): Buffer {
  return encodeControl({
    e: reply.entries.map((e) => [e.key, e.token.toString(), encodeSiblings(e.siblings.map((s) => ({ ...s, value: noValue })))]),
    m: reply.more,
  });
}

export function decodeKeysScanReply(payload: Buffer): KeysScanReply {
  const wire = decodeControl<{ e: [Buffer, string, Buffer][]; m: boolean }>(payload);
  if (!wire || !Array.isArray(wire.e) || typeof wire.m !== 'boolean') throw new CodecError('bad keys-scan reply');
  const entries = wire.e.map((e) => {
    if (!Array.isArray(e) || !Buffer.isBuffer(e[0]) || typeof e[1] !== 'string' || !isToken(e[1]) || !Buffer.isBuffer(e[2])) {
      throw new CodecError('bad keys-scan entry');
    }
    return { key: e[0], token: BigInt(e[1]), siblings: decodeRecord(e[2]) };
  });
  return { entries, more: wire.m };
}
