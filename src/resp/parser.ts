// A pull parser for client requests, in both forms Redis accepts: multibulk
// (*<argc>\r\n$<len>\r\n<bytes>\r\n…, what every client library sends) and
// inline (a text line, what telnet users type). The connection appends socket
// chunks and pulls whole commands with next(); pulling lets it stop parsing
// while a command is in flight (AUTH must finish before the limits relax) and
// keeps backpressure in its hands.
//
// The state machine, the accepted quirks and every error string follow
// Redis 7 networking.c (processMultibulkBuffer, processInlineBuffer), checked
// against redis-server 7.0: the two bytes after a bulk and the byte after a
// header's \r are skipped unchecked; *0 and negative counts are ignored; the
// unauthenticated limits apply to the header being read. Unlike Redis, which
// uses strchr, a NUL byte does not hide the rest of the buffer, and header
// and line limits do not depend on how the bytes were chunked.
//
// Memory: lengths are validated before anything is allocated, and each bulk
// header charges the request its length plus argumentOverheadBytes against
// queryBufferBytesMax, so a request of millions of arguments is refused once
// it would cost more than the limit, before its bytes are stored. Arguments are
// zero-copy views of the appended chunks (or of the parser's own buffer when a
// command straddled chunks); the parser never writes over bytes it has handed
// out, so views stay valid, but they pin their backing memory: the server
// copies what it retains. A bulk of bulkDirectBytesMin or more that is still
// arriving is filled straight into its own allocation, each byte copied once.
// What stays buffered between calls is at most one header or inline line
// (inlineBytesMax) plus one chunk, kept in a buffer sized to it.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { splitInlineArgs } from './inline.js';
import { argumentOverheadBytes, assertProtocolLimits, type ProtocolLimits } from './limits.js';

export class ProtocolError extends Error {
  readonly code: 'PROTOCOL_ERROR' | 'QUERY_BUFFER_LIMIT' = 'PROTOCOL_ERROR';
  /** `message` is the reply's text after "ERR "; the connection replies with it, then closes. */
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * The request being read would cost more than queryBufferBytesMax. Redis
 * closes such a client without a reply and logs why; the connection logs
 * Redis's words and closes too, after a reply saying so.
 */
export class QueryBufferLimitError extends ProtocolError {
  override readonly code = 'QUERY_BUFFER_LIMIT';
  constructor(readonly limitBytes: number) {
    super(`Closing client that reached max query buffer length (client-query-buffer-limit is ${limitBytes} bytes)`);
    this.name = 'QueryBufferLimitError';
  }
}

// Redis PROTO_MBULK_BIG_ARG: from this size, a partial bulk gets its own
// buffer rather than waiting in (and being copied through) the shared one.
const bulkDirectBytesMin = 32 * 1024;

// Redis PROTO_IOBUF_LEN: the smallest buffer worth allocating for a
// command that straddles chunks.
const stitchBytesMin = 16 * 1024;

// A request's argument array is made at its header, sized to its count up to
// this: an array grown by push from empty takes room for 17 elements at the
// first push (~150 bytes), more than a GET's two views together. Beyond it
// the array grows as the bulks arrive, so a header alone reserves no memory
// for arguments that may never come (queryBufferBytesMax charges per bulk).
const argsPresizedMax = 16;
/** The arguments between requests: frozen, as every request replaces it at its header before filling it. */
const noArgs = Object.freeze([]) as unknown as Buffer[];

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
const EMPTY = Buffer.alloc(0);

export class RequestParser {
  private readonly limits: ProtocolLimits;
  /** Bytes received and not yet parsed are data[pos, data.length). */
  private data: Buffer = EMPTY;
  private pos = 0;
  /** Our own allocation behind `data`, with room past data.length; null when data is a caller's chunk. */
  private backing: Buffer | null = null;
  /** A header or line search already covered [pos, scanFrom): resume there. */
  private scanFrom = 0;
  /** Arguments the current multibulk command still expects. */
  private argsLeft = 0;
  /** The current command's arguments; the first argsRead are filled. */
  private args: Buffer[] = noArgs;
  private argsRead = 0;
  private argsBytes = 0;
  /** What the multibulk request being read has been charged so far (see queryBufferBytesMax). */
  private requestBytes = 0;
  /** Length of the bulk whose $ header was read, or -1 before its header. */
  private bulkLength = -1;
  /** A large bulk (plus its 2 trailing bytes) being filled by append(). */
  private bulk: Buffer | null = null;
  private bulkFilled = 0;
  /** Once the stream is broken it stays broken: the connection must close. */
  private failure: ProtocolError | null = null;

  constructor(limits: ProtocolLimits) {
    assertProtocolLimits(limits);
    this.limits = limits;
  }

  /** Bytes received but not yet returned as part of a command. */
  get bufferedBytes(): number {
    return this.data.length - this.pos + this.argsBytes + this.bulkFilled;
  }

  /** Takes the chunk (it must not be modified afterwards). */
  append(chunk: Buffer): void {
    if (this.failure !== null || chunk.length === 0) return;
    const used = this.bulk === null ? 0 : this.fillBulk(chunk);
    if (used < chunk.length) this.store(used === 0 ? chunk : chunk.subarray(used));
  }

  /**
   * The next complete command's arguments, or null until more bytes arrive.
   * `authenticated` selects the limits for headers read during this call.
   * Throws ProtocolError, and again on every later call, when the stream is broken.
   */
  next(authenticated: boolean): Buffer[] | null {
    if (this.failure !== null) throw this.failure;
    for (;;) {
      if (this.argsLeft > 0 && !this.readBulks(authenticated)) return this.needMore();
      if (this.argsRead > 0) return this.takeArgs();
      if (this.pos === this.data.length) return this.needMore();
      if (this.data[this.pos] === STAR) {
        const count = this.readCount(authenticated);
        if (count === null) return this.needMore();
        // Redis ignores *0 and negative counts: nothing to run.
        if (count > 0) {
          this.argsLeft = count;
          this.args = count <= argsPresizedMax ? new Array<Buffer>(count) : [];
        }
      } else {
        const args = this.readInline();
        if (args === null) return this.needMore();
        if (args.length > 0) return args;
      }
    }
  }

  private needMore(): null {
    // Drop a fully parsed chunk so the parser does not pin it.
    if (this.pos === this.data.length && this.data !== EMPTY) this.releaseData();
    return null;
  }

  private releaseData(): void {
    this.data = EMPTY;
    this.backing = null;
    this.pos = 0;
    this.scanFrom = 0;
  }

  private takeArgs(): Buffer[] {
    const args = this.args;
    this.args = noArgs;
    this.argsRead = 0;
    this.argsBytes = 0;
    this.requestBytes = 0;
    return args;
  }

  private pushArg(arg: Buffer): void {
    this.args[this.argsRead++] = arg;
    this.argsBytes += arg.length;
    this.argsLeft--;
    this.bulkLength = -1;
  }

  private fail(message: string): ProtocolError {
    return this.failWith(new ProtocolError(message));
  }

  private failWith(failure: ProtocolError): ProtocolError {
    this.failure = failure;
    this.releaseData();
    this.args = noArgs;
    this.argsRead = 0;
    this.argsBytes = 0;
    this.requestBytes = 0;
    this.bulk = null;
    this.bulkFilled = 0;
    return this.failure;
  }

  /** Copies the front of chunk into the large bulk being filled; returns the bytes used. */
  private fillBulk(chunk: Buffer): number {
    const bulk = this.bulk;
    assert(bulk !== null);
    const used = Math.min(chunk.length, bulk.length - this.bulkFilled);
    chunk.copy(bulk, this.bulkFilled, 0, used);
    this.bulkFilled += used;
    if (this.bulkFilled === bulk.length) {
      this.bulk = null;
      this.bulkFilled = 0;
      this.pushArg(bulk.subarray(0, bulk.length - 2));
    }
    return used;
  }

  private store(chunk: Buffer): void {
    const pending = this.data.length - this.pos;
    if (pending === 0) {
      this.data = chunk;
      this.backing = null;
      this.pos = 0;
      this.scanFrom = 0;
      return;
    }
    const backing = this.backing;
    if (backing !== null && backing.length - this.data.length >= chunk.length) {
      // Room past the parsed bytes: nothing handed out lives there.
      chunk.copy(backing, this.data.length);
      this.data = backing.subarray(0, this.data.length + chunk.length);
      return;
    }
    this.stitch(pending, chunk);
  }

  /** Moves the unparsed tail and the chunk into a fresh buffer sized to them (doubling). */
  private stitch(pending: number, chunk: Buffer): void {
    const bytes = pending + chunk.length;
    const backing = Buffer.allocUnsafe(Math.max(2 * bytes, stitchBytesMin));
    this.data.copy(backing, 0, this.pos);
    chunk.copy(backing, pending);
    this.scanFrom -= this.pos;
    this.data = backing.subarray(0, bytes);
    this.backing = backing;
    this.pos = 0;
  }

  /** Reads bulks until the command is complete (true) or bytes run out (false). */
  private readBulks(authenticated: boolean): boolean {
    if (this.bulk !== null) return false;
    while (this.argsLeft > 0) {
      if (this.bulkLength < 0 && !this.readBulkLength(authenticated)) return false;
      const length = this.bulkLength;
      const available = this.data.length - this.pos;
      if (available < length + 2) {
        if (length >= bulkDirectBytesMin) this.startBulk(length, available);
        return false;
      }
      // The 2 bytes after the bulk are skipped unchecked, as Redis does.
      this.pushArg(this.data.subarray(this.pos, this.pos + length));
      this.pos += length + 2;
    }
    return true;
  }

  private startBulk(length: number, available: number): void {
    const bulk = Buffer.allocUnsafe(length + 2);
    this.data.copy(bulk, 0, this.pos);
    this.bulk = bulk;
    this.bulkFilled = available;
    this.pos = this.data.length;
  }

  private readCount(authenticated: boolean): number | null {
    const cr = this.headerEnd('Protocol error: too big mbulk count string');
    if (cr < 0) return null;
    const count = parseRedisInteger(this.data, this.pos + 1, cr);
    if (!(count <= this.limits.multibulkLengthMax)) {
      throw this.fail('Protocol error: invalid multibulk length');
    }
    if (count > this.limits.unauthenticatedMultibulkLengthMax && !authenticated) {
      throw this.fail('Protocol error: unauthenticated multibulk length');
    }
    this.pos = cr + 2;
    return count;
  }

  private readBulkLength(authenticated: boolean): boolean {
    const cr = this.headerEnd('Protocol error: too big bulk count string');
    if (cr < 0) return false;
    const first = this.data[this.pos]!;
    if (first !== DOLLAR) throw this.fail(expectedDollarMessage(first));
    const length = parseRedisInteger(this.data, this.pos + 1, cr);
    if (!(length >= 0 && length <= this.limits.bulkBytesMax)) {
      throw this.fail('Protocol error: invalid bulk length');
    }
    if (length > this.limits.unauthenticatedBulkBytesMax && !authenticated) {
      throw this.fail('Protocol error: unauthenticated bulk length');
    }
    const requestBytes = this.requestBytes + length + argumentOverheadBytes;
    if (requestBytes > this.limits.queryBufferBytesMax) throw this.failWith(new QueryBufferLimitError(this.limits.queryBufferBytesMax));
    this.requestBytes = requestBytes;
    this.pos = cr + 2;
    this.bulkLength = length;
    return true;
  }

  /**
   * Index of the \r ending the header line at pos, once the byte after it has
   * arrived too (Redis skips that byte unchecked); -1 while incomplete.
   * Headers are a few bytes, so a byte loop beats a native indexOf call.
   */
  private headerEnd(tooBig: string): number {
    const data = this.data;
    const limit = Math.min(data.length, this.pos + this.limits.inlineBytesMax + 1);
    let index = Math.max(this.scanFrom, this.pos);
    while (index < limit && data[index] !== CR) index++;
    this.scanFrom = index;
    if (index === limit) {
      if (limit - this.pos > this.limits.inlineBytesMax) throw this.fail(tooBig);
      return -1;
    }
    return index + 1 < data.length ? index : -1;
  }

  /** The next inline line's arguments (possibly none), or null while incomplete. */
  private readInline(): Buffer[] | null {
    const data = this.data;
    const lf = data.indexOf(LF, Math.max(this.scanFrom, this.pos));
    const lineBytes = (lf < 0 ? data.length : lf) - this.pos;
    if (lineBytes > this.limits.inlineBytesMax) throw this.fail('Protocol error: too big inline request');
    if (lf < 0) {
      this.scanFrom = data.length;
      return null;
    }
    const end = lf > this.pos && data[lf - 1] === CR ? lf - 1 : lf;
    const args = splitInlineArgs(data, this.pos, end);
    if (args === null) throw this.fail('Protocol error: unbalanced quotes in request');
    this.pos = lf + 1;
    return args;
  }
}

// Redis formats the byte with %c into a C string: \r and \n become spaces
// (addReplyErrorFormat), and a NUL ends the message there.
function expectedDollarMessage(byte: number): string {
  const prefix = "Protocol error: expected '$', got '";
  if (byte === 0) return prefix;
  const shown = byte === CR || byte === LF ? ' ' : String.fromCharCode(byte);
  return `${prefix}${shown}'`;
}

const ZERO = 48;
const NINE = 57;
const MINUS = 45;
// string2ll rejects strings of LONG_STR_SIZE (21) bytes or more outright.
const integerBytesMax = 20;
const int64MaxDigits = Buffer.from('9223372036854775807');
const int64MinDigits = Buffer.from('9223372036854775808');

/**
 * data[from, to) as Redis's string2ll reads it (util.c): an optional '-',
 * no leading zeros or '+', no blanks, within int64; NaN when invalid.
 * Values beyond 2^53 lose precision, which no limit comparison can notice.
 */
export function parseRedisInteger(data: Uint8Array, from: number, to: number): number {
  const length = to - from;
  if (length === 0 || length > integerBytesMax) return NaN;
  if (length === 1 && data[from] === ZERO) return 0;
  const negative = data[from] === MINUS;
  const first = negative ? from + 1 : from;
  if (first === to || data[first] === ZERO) return NaN;
  let value = 0;
  for (let index = first; index < to; index++) {
    const byte = data[index]!;
    if (byte < ZERO || byte > NINE) return NaN;
    value = value * 10 + (byte - ZERO);
  }
  if (to - first >= int64MaxDigits.length && overflowsInt64(data, first, to, negative)) return NaN;
  return negative ? -value : value;
}

function overflowsInt64(data: Uint8Array, first: number, to: number, negative: boolean): boolean {
  const bound = negative ? int64MinDigits : int64MaxDigits;
  if (to - first !== bound.length) return to - first > bound.length;
  for (let index = 0; index < bound.length; index++) {
    const difference = data[first + index]! - bound[index]!;
    if (difference !== 0) return difference > 0;
  }
  return false;
}
