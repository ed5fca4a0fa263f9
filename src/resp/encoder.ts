// Writes Reply values (reply.ts) as RESP2 or RESP3 bytes, byte for byte as
// Redis 7.0 writes them (networking.c addReply*), into one reused scratch
// buffer, so that a pipelined batch of replies leaves as a single socket write
// without a Buffer per reply. Small things (headers, integers, short ASCII
// strings) are written byte by byte: cheaper than a native call. Redis's
// shared objects become preencoded bytes: +OK, nil, and the integers below
// OBJ_SHARED_INTEGERS. Reference: https://redis.io/docs/reference/protocol-spec/

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  BooleanReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArrayReply,
  OK,
  PONG,
  PushReply,
  QUEUED,
  type Reply,
  ReplySequence,
  SetReply,
  SimpleReply,
  VerbatimReply,
} from './reply.js';

// Redis PROTO_REPLY_CHUNK_BYTES: a typical pipelined batch fits without growing.
const scratchBytesInitial = 16 * 1024;

// A scratch grown past this (a huge reply) is handed over by take() and
// replaced, so it is not pinned for the connection's lifetime; up to it, it is
// kept, so a pipeline of 16 values of 4 KiB does not reallocate per batch.
const scratchBytesRetainedMax = 128 * 1024;

// Redis OBJ_SHARED_INTEGERS: integers below this are preencoded.
const sharedIntegersMax = 10000;

// Strings up to this many UTF-16 units are tried as ASCII byte by byte before
// falling back to Buffer.byteLength + a native write.
const shortStringChars = 64;

const CR = 13;
const LF = 10;

const okBytes = Buffer.from('+OK\r\n');
const pongBytes = Buffer.from('+PONG\r\n');
const queuedBytes = Buffer.from('+QUEUED\r\n');
const nil2Bytes = Buffer.from('$-1\r\n');
const nullArray2Bytes = Buffer.from('*-1\r\n');
const null3Bytes = Buffer.from('_\r\n');
const true3Bytes = Buffer.from('#t\r\n');
const false3Bytes = Buffer.from('#f\r\n');

// ":<n>\r\n" for 0 <= n < sharedIntegersMax, one 8-byte slot each.
const sharedIntegerSlotBytes = 8;
const sharedIntegers = buildSharedIntegers();

function buildSharedIntegers(): { bytes: Buffer; lengths: Uint8Array } {
  const bytes = Buffer.alloc(sharedIntegersMax * sharedIntegerSlotBytes);
  const lengths = new Uint8Array(sharedIntegersMax);
  for (let n = 0; n < sharedIntegersMax; n++) {
    lengths[n] = bytes.write(`:${n}\r\n`, n * sharedIntegerSlotBytes, 'latin1');
  }
  return { bytes, lengths };
}

type TaggedReply = Exclude<Reply, string | number | bigint | null | Buffer | readonly Reply[]>;

/** Redis's integers are C long long: a bigint reply outside it is a programmer error. */
const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;

export class ReplyBuffer {
  private scratch = Buffer.allocUnsafeSlow(scratchBytesInitial);
  private used = 0;

  /** Bytes written since the last take(). */
  get length(): number {
    return this.used;
  }

  write(reply: Reply, protocol: 2 | 3): void {
    if (typeof reply === 'string') this.bulkString(reply);
    else if (typeof reply === 'number') this.integer(reply);
    else if (reply === null) this.constant(protocol === 3 ? null3Bytes : nil2Bytes);
    else if (Buffer.isBuffer(reply)) this.bulkBuffer(reply);
    else if (Array.isArray(reply)) this.array(reply as readonly Reply[], protocol);
    else if (typeof reply === 'bigint') this.bigInteger(reply);
    else this.tagged(reply as TaggedReply, protocol);
  }

  /** Everything written since the last take, as one buffer the caller owns. */
  take(): Buffer {
    const used = this.used;
    this.used = 0;
    if (this.scratch.length > scratchBytesRetainedMax) {
      const taken = this.scratch.subarray(0, used);
      this.scratch = Buffer.allocUnsafeSlow(scratchBytesInitial);
      return taken;
    }
    const out = Buffer.allocUnsafe(used);
    this.scratch.copy(out, 0, 0, used);
    return out;
  }

  private tagged(reply: TaggedReply, protocol: 2 | 3): void {
    if (reply instanceof SimpleReply) this.simple(reply);
    else if (reply instanceof ErrorReply) this.error(reply.message);
    else if (reply instanceof MapReply) this.map(reply, protocol);
    else if (reply instanceof SetReply) this.set(reply, protocol);
    else if (reply instanceof DoubleReply) this.double(reply.value, protocol);
    else if (reply instanceof VerbatimReply) this.verbatim(reply, protocol);
    else if (reply instanceof BooleanReply) this.boolean(reply.value, protocol);
    else if (reply instanceof NullArrayReply) this.constant(protocol === 3 ? null3Bytes : nullArray2Bytes);
    else if (reply instanceof PushReply) this.push(reply, protocol);
    else if (reply instanceof ReplySequence) for (const item of reply.replies) this.write(item, protocol);
    else assert.fail(`not a Reply: ${String(reply)}`);
  }

  private simple(reply: SimpleReply): void {
    if (reply === OK) return this.constant(okBytes);
    if (reply === PONG) return this.constant(pongBytes);
    if (reply === QUEUED) return this.constant(queuedBytes);
    this.line(0x2b /* + */, reply.value);
  }

  /** `message` carries its prefix ("ERR …"); CR/LF would break the framing. */
  private error(message: string): void {
    assert(message.length > 0, 'an error reply needs a message');
    this.line(0x2d /* - */, message);
  }

  private integer(value: number): void {
    assert(Number.isSafeInteger(value), `not a safe integer: ${value}`);
    if (value >= 0 && value < sharedIntegersMax) return this.sharedInteger(value);
    this.header(0x3a /* : */, value);
  }

  /** Integers past 2^53, which a number cannot hold exactly; rare, so no fast path. */
  private bigInteger(value: bigint): void {
    assert(value >= int64Min && value <= int64Max, `integer reply outside int64: ${value}`);
    this.line(0x3a /* : */, value.toString());
  }

  private sharedInteger(value: number): void {
    const length = sharedIntegers.lengths[value]!;
    this.reserve(length);
    const from = value * sharedIntegerSlotBytes;
    const bytes = sharedIntegers.bytes;
    const scratch = this.scratch;
    for (let index = 0; index < length; index++) scratch[this.used++] = bytes[from + index]!;
  }

  private array(items: readonly Reply[], protocol: 2 | 3): void {
    this.header(0x2a /* * */, items.length);
    for (const item of items) this.write(item, protocol);
  }

  private push(reply: PushReply, protocol: 2 | 3): void {
    this.header(protocol === 3 ? 0x3e /* > */ : 0x2a /* * */, reply.items.length);
    for (const item of reply.items) this.write(item, protocol);
  }

  private map(reply: MapReply, protocol: 2 | 3): void {
    const count = reply.entries.length;
    if (protocol === 3) this.header(0x25 /* % */, count);
    else this.header(0x2a /* * */, 2 * count);
    for (const [key, value] of reply.entries) {
      this.write(key, protocol);
      this.write(value, protocol);
    }
  }

  private set(reply: SetReply, protocol: 2 | 3): void {
    this.header(protocol === 3 ? 0x7e /* ~ */ : 0x2a /* * */, reply.items.length);
    for (const item of reply.items) this.write(item, protocol);
  }

  private double(value: number, protocol: 2 | 3): void {
    const text = formatDouble(value);
    if (protocol === 2) return this.bulkString(text);
    this.line(0x2c /* , */, text);
  }

  private verbatim(reply: VerbatimReply, protocol: 2 | 3): void {
    if (protocol === 2) return this.bulkString(reply.text);
    assert(reply.format.length === 3 && Buffer.byteLength(reply.format) === 3, 'verbatim format is 3 bytes');
    const textBytes = Buffer.byteLength(reply.text);
    this.header(0x3d /* = */, textBytes + 4);
    this.reserve(textBytes + 6);
    this.used += this.scratch.write(reply.format, this.used, 3, 'latin1');
    this.scratch[this.used++] = 0x3a; // :
    this.used += this.scratch.write(reply.text, this.used, textBytes, 'utf8');
    this.crlf();
  }

  private boolean(value: boolean, protocol: 2 | 3): void {
    if (protocol === 3) this.constant(value ? true3Bytes : false3Bytes);
    else this.sharedInteger(value ? 1 : 0);
  }

  private bulkBuffer(value: Buffer): void {
    this.header(0x24 /* $ */, value.length);
    this.reserve(value.length + 2);
    // Measured: a native copy beats a JS byte loop already at 32 bytes.
    this.used += value.copy(this.scratch, this.used);
    this.crlf();
  }

  private bulkString(value: string): void {
    if (value.length <= shortStringChars && this.shortAsciiBulk(value)) return;
    const bytes = Buffer.byteLength(value);
    this.header(0x24 /* $ */, bytes);
    this.reserve(bytes + 2);
    this.used += this.scratch.write(value, this.used, bytes, 'utf8');
    this.crlf();
  }

  /** Writes an ASCII string as a bulk byte by byte; false (nothing written) if it is not ASCII. */
  private shortAsciiBulk(value: string): boolean {
    const start = this.used;
    this.header(0x24 /* $ */, value.length);
    this.reserve(value.length + 2);
    const scratch = this.scratch;
    for (let index = 0; index < value.length; index++) {
      const code = value.charCodeAt(index);
      if (code >= 0x80) {
        this.used = start;
        return false;
      }
      scratch[this.used++] = code;
    }
    this.crlf();
    return true;
  }

  /**
   * A one-line reply (+, -, ,). Redis's addReplyErrorFormat trims CR/LF at
   * the ends and turns inner ones into spaces; a status must obey the same.
   */
  private line(type: number, text: string): void {
    const clean = text.includes('\r') || text.includes('\n') ? oneLine(text) : text;
    const bytes = Buffer.byteLength(clean);
    this.reserve(bytes + 3);
    this.scratch[this.used++] = type;
    this.used += this.scratch.write(clean, this.used, bytes, 'utf8');
    this.crlf();
  }

  /** <type><decimal>\r\n: lengths, counts and integers. */
  private header(type: number, value: number): void {
    this.reserve(24); // type, '-', 16 digits of a safe integer, CRLF
    const scratch = this.scratch;
    scratch[this.used++] = type;
    let magnitude = value;
    if (value < 0) {
      scratch[this.used++] = 0x2d; // -
      magnitude = -value;
    }
    const digits = decimalDigits(magnitude);
    let at = this.used + digits;
    this.used = at;
    do {
      const digit = magnitude % 10;
      scratch[--at] = 0x30 + digit;
      magnitude = (magnitude - digit) / 10;
    } while (magnitude > 0);
    this.crlf();
  }

  private constant(bytes: Buffer): void {
    this.reserve(bytes.length);
    const scratch = this.scratch;
    for (let index = 0; index < bytes.length; index++) scratch[this.used++] = bytes[index]!;
  }

  /** Only after reserve(): every writer reserves its 2 trailing bytes. */
  private crlf(): void {
    this.scratch[this.used++] = CR;
    this.scratch[this.used++] = LF;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes > this.scratch.length) this.grow(this.used + bytes);
  }

  private grow(bytesMin: number): void {
    let size = this.scratch.length * 2;
    while (size < bytesMin) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    this.scratch.copy(grown, 0, 0, this.used);
    this.scratch = grown;
  }
}

function decimalDigits(value: number): number {
  let digits = 1;
  for (let bound = 10; value >= bound; bound *= 10) digits++;
  return digits;
}

function oneLine(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isLineBreak(text.charCodeAt(start))) start++;
  while (end > start && isLineBreak(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end).replaceAll('\r', ' ').replaceAll('\n', ' ');
}

function isLineBreak(code: number): boolean {
  return code === CR || code === LF;
}

// %.17g switches to exponent form outside [1e-4, 1e17).
const doubleDigits = 17;
const fixedExponentMin = -4;

/**
 * A double as Redis 7.0 prints it: inf, -inf, nan (Redis prints "-nan" for a
 * negative NaN, a sign JavaScript cannot see), otherwise C's "%.17g": 17
 * significant digits, trailing zeros dropped, exponent of at least 2 digits.
 */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential(doubleDigits - 1).split('e') as [string, string];
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exponent < fixedExponentMin || exponent >= doubleDigits) {
    const fraction = dropTrailingZeros(digits.slice(1));
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${digits[0]}${fraction === '' ? '' : '.' + fraction}e${exponent < 0 ? '-' : '+'}${exponentDigits}`;
  }
  if (exponent < 0) return `${sign}0.${dropTrailingZeros('0'.repeat(-exponent - 1) + digits)}`;
  const fraction = dropTrailingZeros(digits.slice(exponent + 1));
  return `${sign}${digits.slice(0, exponent + 1)}${fraction === '' ? '' : '.' + fraction}`;
}

function dropTrailingZeros(digits: string): string {
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 0x30) end--;
  return digits.slice(0, end);
}
