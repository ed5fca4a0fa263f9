// What a command handler returns: a protocol-neutral reply value that the
// encoder (encoder.ts) writes as RESP2 or RESP3 for the connection's protocol.
// Common shapes are plain JS values so the hot path allocates little:
//   Buffer        → bulk string        string → bulk string (UTF-8)
//   number        → integer            null   → nil (RESP2 $-1 / RESP3 _)
//   bigint        → integer beyond 2^53 (BITFIELD's i64, expiry times near 2^63 ms)
//   Reply[]       → array
// The rest are tagged objects, built through the helpers below.

export type Reply =
  | Buffer
  | string
  | number
  | bigint
  | null
  | readonly Reply[]
  | SimpleReply
  | ErrorReply
  | MapReply
  | SetReply
  | DoubleReply
  | VerbatimReply
  | BooleanReply
  | NullArrayReply
  | PushReply
  | ReplySequence;

/** +status */
export class SimpleReply {
  constructor(readonly value: string) {}
}

/** -ERR … : `message` carries its prefix ("ERR syntax error", "WRONGTYPE …"). */
export class ErrorReply {
  constructor(readonly message: string) {}
}

/** RESP3 map (%); RESP2 writes it as a flat array of key, value, key, value. */
export class MapReply {
  constructor(readonly entries: readonly (readonly [Reply, Reply])[]) {}
}

/** RESP3 set (~); RESP2 writes an array. */
export class SetReply {
  constructor(readonly items: readonly Reply[]) {}
}

/** RESP3 double (,); RESP2 writes a bulk string. */
export class DoubleReply {
  constructor(readonly value: number) {}
}

/** RESP3 verbatim string (=txt:…); RESP2 writes a bulk string. */
export class VerbatimReply {
  constructor(readonly text: string, readonly format: string = 'txt') {}
}

/** RESP3 boolean (#t/#f); RESP2 writes integer 1/0. */
export class BooleanReply {
  constructor(readonly value: boolean) {}
}

/** A nil array: RESP2 *-1, RESP3 _ (e.g. a timed-out blocking pop). */
export class NullArrayReply {}

/** Out-of-band data (Pub/Sub's messages and confirmations): RESP3 push (>), RESP2 an array. */
export class PushReply {
  constructor(readonly items: readonly Reply[]) {}
}

/**
 * Several replies to one command, written back to back with no header (a
 * SUBSCRIBE of three channels answers three confirmations). Inside EXEC's
 * array it still counts as one element, as in Redis, whose EXEC header
 * counts commands, not the replies they write.
 */
export class ReplySequence {
  constructor(readonly replies: readonly Reply[]) {}
}

export const OK = new SimpleReply('OK');
export const PONG = new SimpleReply('PONG');
export const QUEUED = new SimpleReply('QUEUED');
export const NULL_ARRAY = new NullArrayReply();
export const EMPTY_ARRAY: readonly Reply[] = Object.freeze([]);
