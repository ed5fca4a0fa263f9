// The binary pieces every type's encoding is made of: a growable writer and
// a bounds-checked reader (clock/byte-reader.ts) that fail only with
// CrdtCodecError, integers as minimal LEB128 varints, byte strings length
// prefixed, actor ids written once per state and then referred to by index
// (a state names a handful of actors thousands of times), and the causal
// context. Hand-written rather than msgpack for the same reason as the
// record codec: it sits on every write of a collection, and a 100k-member
// set must encode in milliseconds.
//
// A state's encoding starts with u8 formatVersion and u8 type code, so bytes
// of one type are never read as another, and ends exactly at the buffer's end.
//
// Context layout:
//   varint actorCount, per actor: actor, varint rangeCount, per range: varint lo, varint hi
//   varint itemDotCount, per dot: dot, varint itemCount, per item: key
// An actor is varint 0 then varint byteLength and UTF-8 (first mention), or
// varint i+1 for the i-th actor mentioned before; a dot is actor, varint counter;
// a key or a value is varint byteLength then the bytes.

import { ByteReader } from '../clock/byte-reader.js';
import { counterMax } from '../clock/vclock.js';
import type { Dot } from '../clock/types.js';
import { actorBytesMax, actorIdBytes } from '../clock/record-codec.js';
import { CrdtCodecError } from './kind.js';
import { dotKey, dotOfKey, isValidContext, type CausalContext } from './causal-context.js';

export const crdtFormatVersion = 1;

/** Safe integers need at most 8 groups of 7 bits. */
const varintBytesMax = 8;
/**
 * Keys and values up to this long are copied byte by byte in JavaScript: a
 * call into Buffer's native copy or latin1 write costs more than the loop for
 * the short members, fields and values a collection holds by the thousand
 * (a whole-state encode is mostly these).
 */
const shortCopyBytesMax = 32;

/**
 * One working buffer lent to a writer at a time: encoding is synchronous
 * and finish() copies out, so the operations, deltas and outcomes each write
 * encodes (several a write) need no buffer of their own. A writer that finds
 * it lent (one writing inside another) takes a buffer of its own; one that
 * never finishes (it threw) keeps it, and later writers do the same.
 */
let spare: Buffer | undefined = Buffer.allocUnsafe(4096);

/** A writer's actors searched in a list up to this many (a few comparisons), then through a Map. */
const actorsListedMax = 8;

export class Writer {
  private buf: Buffer;
  private at = 0;
  /** The spare buffer this writer was lent, to give back when it finishes (it may have outgrown it). */
  private lent: Buffer | undefined;

  constructor() {
    if (spare !== undefined) {
      this.buf = this.lent = spare;
      spare = undefined;
    } else this.buf = Buffer.allocUnsafe(256);
  }
  /**
   * The actors written so far, in order (an actor's index is its place): a
   * list searched from the start while it is short, as most writers
   * (operations, outcomes, deltas) name one actor and a whole state a
   * handful (a Map per writer was most of what encoding a one-field delta
   * allocated); indexed by a Map once it is longer. The first actor is
   * kept on its own and the list made only for a second: a one-actor delta
   * (every SADD's and HSET's) then allocates no list at all.
   */
  private firstActor: string | undefined;
  private actors: string[] | undefined;
  private actorIndex: Map<string, number> | undefined;

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  f64(v: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleBE(v, this.at);
  }

  varint(v: number): void {
    this.room(varintBytesMax);
    while (v >= 128) {
      this.buf[this.at++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.at++] = v;
  }

  bytes(b: Buffer): void {
    const n = b.length;
    this.varint(n);
    this.room(n);
    if (n <= shortCopyBytesMax) {
      const buf = this.buf;
      let at = this.at;
      for (let i = 0; i < n; i++) buf[at++] = b[i]!;
      this.at = at;
    } else this.at += b.copy(this.buf, this.at);
  }

  /** A member or field key: a latin1 string, one char per byte. */
  key(k: string): void {
    const n = k.length;
    this.varint(n);
    this.room(n);
    if (n <= shortCopyBytesMax) {
      const buf = this.buf;
      let at = this.at;
      for (let i = 0; i < n; i++) buf[at++] = k.charCodeAt(i);
      this.at = at;
    } else this.at += this.buf.write(k, this.at, n, 'latin1');
  }

  actor(a: string): void {
    if (a === this.firstActor) {
      this.varint(1);
      return;
    }
    const listed = this.actors;
    const index = listed === undefined ? -1 : this.actorIndex === undefined ? listed.indexOf(a) : this.actorIndex.get(a) ?? -1;
    if (index >= 0) {
      this.varint(index + 1);
      return;
    }
    const utf8 = actorIdBytes(a);
    if (utf8 === undefined) throw new CrdtCodecError(`actor id longer than ${actorBytesMax} bytes`);
    this.varint(0);
    this.bytes(utf8);
    if (this.firstActor === undefined) {
      this.firstActor = a;
      return;
    }
    const actors = (this.actors ??= [this.firstActor]);
    actors.push(a);
    if (this.actorIndex !== undefined) this.actorIndex.set(a, actors.length - 1);
    else if (actors.length > actorsListedMax) this.actorIndex = new Map(actors.map((x, i) => [x, i]));
  }

  dot(d: Dot): void {
    this.actor(d.actor);
    this.varint(d.counter);
  }

  /** The bytes written, as a buffer of their own (the working buffer is mostly empty room). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.at);
    this.buf.copy(out, 0, 0, this.at);
    if (this.lent !== undefined) {
      spare = this.lent;
      this.lent = undefined;
    }
    return out;
  }
}

/** A count as an operation's outcome (SADD's, HSET's, HDEL's…): a varint. */
export function countOutcome(n: number): Buffer {
  return n < smallCountOutcomes.length ? smallCountOutcomes[n]! : encodeCount(n);
}

function encodeCount(n: number): Buffer {
  const w = new Writer();
  w.varint(n);
  return w.finish();
}

/** The counts answered most (one member or field, or a few), encoded once and shared: an outcome is only ever read. */
const smallCountOutcomes: readonly Buffer[] = Array.from({ length: 16 }, (_, n) => encodeCount(n));

export class Reader {
  private readonly r: ByteReader;
  private readonly actors: string[] = [];

  constructor(private readonly buf: Buffer) {
    this.r = new ByteReader(buf, 0, buf.length, (m) => new CrdtCodecError(m));
  }

  get remaining(): number {
    return this.r.remaining;
  }

  u8(): number {
    return this.r.u8();
  }

  f64(): number {
    return this.r.f64();
  }

  varint(): number {
    return this.r.varint(varintBytesMax);
  }

  /** A count of things that each take at least `bytesEach` more bytes: refused when the rest cannot hold them. */
  count(bytesEach = 1): number {
    const n = this.varint();
    if (n * bytesEach > this.r.remaining) throw new CrdtCodecError('count beyond the end');
    return n;
  }

  /** A copy of the next byte string, so a state never aliases the caller's buffer. */
  bytes(): Buffer {
    return Buffer.from(this.r.bytes(this.count()));
  }

  key(): string {
    const length = this.count();
    const at = this.r.offset;
    this.r.offset += length; // count() checked the room; no view needed
    return this.buf.toString('latin1', at, at + length);
  }

  actor(): string {
    const ref = this.varint();
    if (ref > 0) {
      const actor = this.actors[ref - 1];
      if (actor === undefined) throw new CrdtCodecError('actor reference out of range');
      return actor;
    }
    const length = this.count();
    if (length === 0 || length > actorBytesMax) throw new CrdtCodecError('bad actor id length');
    const actor = this.r.actorId(length, 'actor id');
    this.actors.push(actor);
    return actor;
  }

  dot(): Dot {
    const actor = this.actor();
    const counter = this.varint();
    if (counter < 1 || counter > counterMax) throw new CrdtCodecError('dot counter out of range');
    return { actor, counter };
  }

  end(): void {
    if (this.r.remaining !== 0) throw new CrdtCodecError('trailing bytes');
  }
}

/** Starts a state's encoding. */
export function header(w: Writer, typeCode: number): void {
  w.u8(crdtFormatVersion);
  w.u8(typeCode);
}

/**
 * Decodes `bytes` with `body`, refusing another version or type and any
 * trailing byte. Whatever `body` throws on malformed input becomes a
 * CrdtCodecError, so a decoder can only ever return a state or refuse.
 */
export function decodeState<S>(bytes: Buffer, typeCode: number, what: string, body: (r: Reader) => S): S {
  try {
    if (!Buffer.isBuffer(bytes)) throw new CrdtCodecError(`${what}: not a buffer`);
    const r = new Reader(bytes);
    const version = r.u8();
    if (version !== crdtFormatVersion) throw new CrdtCodecError(`${what}: unknown format version ${version}`);
    const code = r.u8();
    if (code !== typeCode) throw new CrdtCodecError(`${what}: bytes of another type (${code})`);
    const state = body(r);
    r.end();
    return state;
  } catch (err) {
    if (err instanceof CrdtCodecError) {
      if (err.message.startsWith(what)) throw err;
      throw new CrdtCodecError(`${what}: ${err.message}`);
    }
    throw new CrdtCodecError(`${what}: malformed (${err instanceof Error ? err.message : String(err)})`);
  }
}

export function writeContext(w: Writer, ctx: CausalContext): void {
  w.varint(ctx.ops.size);
  for (const [actor, ranges] of ctx.ops) {
    w.actor(actor);
    w.varint(ranges.length / 2);
    for (const v of ranges) w.varint(v);
  }
  w.varint(ctx.items.size);
  for (const [key, items] of ctx.items) {
    w.dot(dotOfKey(key));
    w.varint(items.size);
    for (const item of items) w.key(item);
  }
}

export function readContext(r: Reader): CausalContext {
  const ops = new Map<string, readonly number[]>();
  const items = new Map<string, ReadonlySet<string>>();
  for (let n = r.count(3); n > 0; n--) {
    const actor = r.actor();
    if (ops.has(actor)) throw new CrdtCodecError('actor twice in a context');
    const ranges: number[] = [];
    for (let k = r.count(2); k > 0; k--) ranges.push(r.varint(), r.varint());
    ops.set(actor, ranges);
  }
  for (let n = r.count(3); n > 0; n--) {
    const key = dotKey(r.dot());
    if (items.has(key)) throw new CrdtCodecError('dot twice in a context');
    const set = new Set<string>();
    for (let k = r.count(1); k > 0; k--) {
      const item = r.key();
      if (set.has(item)) throw new CrdtCodecError('item twice in a context');
      set.add(item);
    }
    items.set(key, set);
  }
  const ctx = { ops, items };
  if (!isValidContext(ctx)) throw new CrdtCodecError('context breaks its invariants');
  return ctx;
}

/** Refuses a stored entry the state's own context never saw (a store only holds what its context covers). */
export function checkSeen(ok: boolean): void {
  if (!ok) throw new CrdtCodecError('an entry its context never saw');
}
