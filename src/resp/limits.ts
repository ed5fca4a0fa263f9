// Bounds on what one client request may make us buffer or allocate. Every
// bound is checked on the length header, before any byte of the payload is
// stored, so a hostile client cannot make the parser grow past these numbers.
// The values and their error strings follow Redis 7 (networking.c,
// processMultibulkBuffer / processInlineBuffer; config proto-max-bulk-len,
// client-query-buffer-limit).

import assert from 'node:assert/strict';

export interface ProtocolLimits {
  /** Longest bulk string argument ($<n>); Redis's proto-max-bulk-len. */
  readonly bulkBytesMax: number;
  /** Most arguments in one multibulk request (*<n>). */
  readonly multibulkLengthMax: number;
  /**
   * Most bytes one request may cost while it is being read: its bulks plus
   * argumentOverheadBytes per argument. Redis's client-query-buffer-limit;
   * past it the client is closed.
   */
  readonly queryBufferBytesMax: number;
  /** Longest inline request line, and longest *<n> / $<n> header line. */
  readonly inlineBytesMax: number;
  /** Most arguments before the connection has authenticated. */
  readonly unauthenticatedMultibulkLengthMax: number;
  /** Longest bulk argument before the connection has authenticated. */
  readonly unauthenticatedBulkBytesMax: number;
}

// Redis's default proto-max-bulk-len: the largest value a client may SET;
// configurable because some deployments store bigger blobs.
const bulkBytesMax = 512 * 1024 * 1024;

// Redis accepts up to INT_MAX arguments (it compares the count with INT_MAX);
// what bounds the memory of a long request is queryBufferBytesMax, which
// charges every argument its heap cost, so the count needs no tighter bound.
const multibulkLengthMax = 0x7fffffff;

// Redis's client-query-buffer-limit default: far above any real request (a
// 512 MB value plus its key), so only a broken or hostile client meets it.
// Redis counts the bytes not yet parsed (checked against redis-server 7.0:
// with the limit at 1 MB, an unfinished request of 5 MB of parsed arguments
// is kept, a 3 MB bulk being read is not), so its limit does not bound the
// arguments already parsed; ours counts the whole request being read, so it
// bounds the memory one connection's request takes.
const queryBufferBytesMax = 1024 * 1024 * 1024;

/**
 * What one argument costs beyond its bytes while its request is read: a
 * Buffer view is ~106 bytes of V8 heap however short it is (measured: 10^6
 * one-byte views of one buffer, node 20), its slot in the arguments array 8,
 * and its $<len>\r\n header and trailing \r\n, pinned in the received chunk
 * the view points into, up to 14. Without this charge an empty argument would
 * cost the limit nothing while it takes ~120 bytes; with it, 1 GiB admits at
 * most ~8 M arguments, ~1 GiB of memory.
 */
export const argumentOverheadBytes = 128;

// Redis's PROTO_INLINE_MAX_SIZE: inline requests come from humans typing into
// telnet; a line this long without a newline is garbage or an attack.
const inlineBytesMax = 64 * 1024;

// Redis 7 hard-codes these for connections that still owe AUTH: enough for
// AUTH/HELLO with a long password, too little to make an anonymous client
// expensive to serve.
const unauthenticatedMultibulkLengthMax = 10;
const unauthenticatedBulkBytesMax = 16384;

export const protocolLimitsDefault: ProtocolLimits = Object.freeze({
  bulkBytesMax,
  multibulkLengthMax,
  queryBufferBytesMax,
  inlineBytesMax,
  unauthenticatedMultibulkLengthMax,
  unauthenticatedBulkBytesMax,
});

/** Builds limits from overrides (e.g. a configured proto-max-bulk-len) and checks they fit together. */
export function protocolLimits(overrides: Partial<ProtocolLimits> = {}): ProtocolLimits {
  const limits = Object.freeze({ ...protocolLimitsDefault, ...overrides });
  assertProtocolLimits(limits);
  return limits;
}

export function assertProtocolLimits(limits: ProtocolLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    assert(Number.isSafeInteger(value) && value >= 0, `${name} must be a non-negative integer`);
  }
  // Redis compares counts with INT_MAX; ours must stay representable there.
  assert(limits.multibulkLengthMax <= 0x7fffffff, 'multibulkLengthMax above INT_MAX');
  // A Buffer cannot be larger than this; the parser allocates bulk + CRLF.
  assert(limits.bulkBytesMax + 2 <= 2 ** 32, 'bulkBytesMax too large for a Buffer');
  assert(limits.unauthenticatedMultibulkLengthMax <= limits.multibulkLengthMax);
  assert(limits.unauthenticatedBulkBytesMax <= limits.bulkBytesMax);
  // A header line must be able to hold any legal length.
  assert(limits.inlineBytesMax >= 32, 'inlineBytesMax too small for a length header');
  // Inline lines are bounded by inlineBytesMax alone, not charged: they must fit.
  assert(limits.queryBufferBytesMax >= limits.inlineBytesMax, 'queryBufferBytesMax below inlineBytesMax');
}
