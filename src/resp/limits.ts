// Bounds on what one client request may make us buffer or allocate. Every
// bound is checked on the length header, before any byte of the payload is
// stored, so a hostile client cannot make the parser grow past these numbers.
// The values and their error strings follow Redis 7 (networking.c,
// processMultibulkBuffer / processInlineBuffer; config proto-max-bulk-len).

import assert from 'node:assert/strict';

export interface ProtocolLimits {
  /** Longest bulk string argument ($<n>); Redis's proto-max-bulk-len. */
  readonly bulkBytesMax: number;
  /** Most arguments in one multibulk request (*<n>). */
  readonly multibulkLengthMax: number;
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

// Redis accepts up to INT_MAX arguments, bounded in practice only by its 1 GiB
// query buffer. In V8 every argument is a Buffer view costing ~106 bytes of
// heap (measured) however short it is on the wire (an empty bulk is 6 bytes),
// so the count, not the byte limit, bounds the heap: 1 Mi arguments is
// ~110 MB worst case per connection, still far above any real MSET/DEL batch.
const multibulkLengthMax = 1024 * 1024;

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
}
