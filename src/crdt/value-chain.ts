// Versions of a large collection whose value is not encoded when they are
// made: the value is the last encoded state (the chain's base) followed by
// the deltas of every operation since (crdt/operation.ts Operated.delta), and
// is encoded only if something reads the bytes. Encoding a 100k-member set on
// every SADD cost the write O(n) CPU and O(n) bytes in LevelDB's log; a
// chained write costs the operation and its delta. Storage appends each new
// link to the key's log on disk (storage/level-storage.ts) instead of
// rewriting the record, and a replica extends its own chain from a delta
// (coordinator/delta.ts), so neither side touches the whole state.
//
// A chain is immutable: each link holds encoded bytes only, never the decoded
// state an operation goes on to change in place (crdt/state-cache.ts), so a
// version's value is the same whenever it is first read. The chain is cut
// (the next version is encoded whole, a new base) past chainLinksMax links or
// once its deltas outweigh its base: replaying the chain then costs at most
// about one more decode of the base, and the whole write it takes is paid
// for by the base's size in writes that were not whole.
//
// Sets, hashes, lists and sorted sets chain (see chainable): their
// mergeDelta costs the delta; a merge that visited or copied the whole state
// would make replaying k links cost k passes.

import { encodedSize } from '../clock/record-codec.js';
import { covers } from '../clock/vclock.js';
import type { Sibling, Siblings } from '../clock/types.js';
import type { TypeName } from './kind.js';
import { typeEntry } from './registry.js';

type StoredType = Exclude<TypeName, 'string'>;

/**
 * A version whose value is smaller than this is encoded when it is made: a
 * few microseconds, and small keys stay plain records that every path reads
 * directly. The size from which decoded states are kept (state-cache.ts
 * decodedStateBytesMin: a chain needs its state kept to stay cheap) and
 * from which deltas are replicated (delta.ts deltaRecordBytesMin: a whole
 * record sent would encode the chain).
 */
export const chainBaseBytesMin = 4 * 1024;

/**
 * Links in a chain at most, for a base up to chainLinksMax ×
 * chainBaseBytesPerLink: bounds what a read of the key from disk (one
 * LevelDB read per link) and the first read of its bytes replay, and the
 * link objects a hot key keeps in memory (~100 bytes each). Each cut encodes
 * the whole state: 1,024 links cost a 26k-member set 15 µs per SADD in those
 * encodes, a share of the write as large as a SET's.
 */
export const chainLinksMax = 4096;

/**
 * A larger base allows one link per this many of its bytes: a cut's whole
 * encode (~6 ns a byte, and more again in LevelDB's log and compactions)
 * then costs each write about as much however large the collection grows,
 * where a fixed 4,096 made SADD to a 250k-member set (5 MB) spend half its
 * CPU in cuts. Replaying a link costs about what decoding this many bytes of
 * base does (a delta's decode and merge, ~2-4 µs), so a cold read of a chain
 * costs at most about two decodes of its base. 64 measured slower on the
 * command path (process CPU, two alternated runs: SADD +7-12%, HSET +8-22%): more live links for the collector.
 */
export const chainBaseBytesPerLink = 128;

/** The limits in force: the constants, unless a simulation or test lowered them to chain small collections (setChainLimits). */
let limits = { baseBytesMin: chainBaseBytesMin, linksMax: chainLinksMax, baseBytesPerLink: chainBaseBytesPerLink };

/** For simulations and tests only: chains from smaller bases, cut sooner. Returns the limits it replaced. */
export function setChainLimits(next: { readonly baseBytesMin: number; readonly linksMax: number; readonly baseBytesPerLink?: number }): typeof limits {
  const before = limits;
  limits = { baseBytesPerLink: Infinity, ...next };
  return before;
}

export interface ChainLink {
  readonly type: StoredType;
  /** The encoded state the chain starts from: `origin`'s value. */
  readonly base: Buffer;
  /** The plain version the chain starts from: storage writes it as the record the links follow. */
  readonly origin: Sibling;
  readonly previous: ChainLink | undefined;
  /** The encoded delta this link merges into the state of `previous` (or of the base). */
  readonly delta: Buffer;
  /** 1 for the first link after the base. */
  readonly position: number;
  /** The deltas' bytes from the base up to this link. */
  readonly deltaBytes: number;
  /** The fields of the version this link makes: storage writes them with the delta as the link's record. */
  readonly fields: Omit<Sibling, 'value'>;
  /**
   * The version this link makes, until a later link is made from it: a
   * superseded version is dropped here so that a long chain keeps per link
   * only its delta and fields, not a version object and its accessor (a
   * third of a hot chain's memory, all of it promoted and marked by the
   * garbage collector). Anything still holding a superseded version reads it
   * as a plain one (chainOf undefined): its value getter still encodes it.
   */
  version: Sibling | undefined;
  /** Shared by every link of the chain. */
  readonly memo: ChainMemo;
}

/**
 * The one value of a chain kept once encoded: the last one read. A value
 * kept per link would keep every value a read-after-write pattern encoded
 * alive through the links after it (a 1 MiB set read after each of 4,096
 * SADDs: 4 GiB). A later link's replay starts from it when it is an
 * ancestor.
 */
interface ChainMemo {
  link: ChainLink | undefined;
  value: Buffer | undefined;
}

/**
 * Where a chained version keeps its link: a property of its own, read only
 * when the link names the version back, so a copy (`{ ...v, value }`, which
 * copies the property) is a plain version with its value. A WeakMap from
 * version to link cost ~2.5 µs a write: every version of a hot chain was a
 * live key of one ephemeron table.
 */
const linkOf = Symbol('chain link');

interface Linked {
  readonly [linkOf]?: ChainLink;
}

/** The chain link that makes `version`, or undefined for a plain version. */
export function chainOf(version: Sibling): ChainLink | undefined {
  const link = (version as Linked)[linkOf];
  return link !== undefined && link.version === version ? link : undefined;
}

/** The bytes of a version's value without encoding it: for a chained version not yet read, its base and deltas (about its size). */
export function valueBytesOf(version: Sibling): number {
  const link = chainOf(version);
  if (link === undefined) return version.value.length;
  return link.memo.link === link ? link.memo.value!.length : link.base.length + link.deltaBytes;
}

/**
 * A version's fields without its value, read one by one: a rest pattern
 * (`{ value: _, ...fields }`) would read `value`, encoding a chained version.
 * The properties go in the order the record codec makes them in (value, dot,
 * past, timestamp, then the optional ones), so versions made here and
 * versions read from disk share hidden classes: every function that reads
 * versions (the keyspace tally, liveness, sizing) stays fast only while it
 * meets few shapes.
 */
export function withValue(version: Omit<Sibling, 'value'>, value: Buffer): Sibling {
  const out: { -readonly [K in keyof Sibling]: Sibling[K] } = { value, dot: version.dot, past: version.past, timestamp: version.timestamp };
  if (version.expiresAt !== undefined) out.expiresAt = version.expiresAt;
  if (version.deleted === true) out.deleted = true;
  if (version.type !== undefined) out.type = version.type;
  if (version.emptied === true) out.emptied = true;
  return out;
}

/** About a record's encoded size, without encoding a chained version's value (for limits and the delta decision). */
export function recordBytesEstimate(record: Siblings): number {
  return encodedSize(record, valueBytesOf);
}

/**
 * The types whose versions may be chained: those whose mergeDelta costs the
 * delta, not the state, over the state the delta was made on (causal-
 * context.ts itemsDeltaRemoves, claimsNothingSeen): a replay of k links then
 * costs the base's decode and the deltas (a list's LSET overlays are still
 * visited per delta: few, in the patterns lists serve). Counters are small
 * and never chained.
 */
const chainableTypes: ReadonlySet<StoredType> = new Set(['set', 'hash', 'list', 'zset']);

export function chainable(type: StoredType): boolean {
  return chainableTypes.has(type);
}

/**
 * Whether a version of `type` made over `previous` alone may be a link of a
 * chain (a chain's own limits aside): the caller encodes the delta only then.
 */
export function mayChainOnto(previous: Sibling, type: StoredType): boolean {
  if (previous.type !== type || previous.deleted === true || !chainable(type)) return false;
  return chainOf(previous) !== undefined || previous.value.length >= limits.baseBytesMin;
}

/**
 * The version `fields` describes as the next link after `previous` (the one
 * version its operation started from), with `delta` its change; undefined
 * when it must be encoded whole (a small or unchainable value, or a chain at
 * its limits). `delta` must be the version's own (not a view into a buffer
 * that is reused).
 */
export function extendChain(previous: Sibling, fields: Omit<Sibling, 'value'>, delta: Buffer): Sibling | undefined {
  const type = fields.type;
  // A link follows its predecessor (its past covers it): what tells a chain's links on disk from older ones left under them (storage/level-storage.ts).
  if (type === undefined || !mayChainOnto(previous, type) || !covers(fields.past, previous.dot)) return undefined;
  const before = chainOf(previous);
  if (before === undefined) {
    const memo: ChainMemo = { link: undefined, value: undefined };
    return chained(fields, { type, base: previous.value, origin: previous, previous: undefined, delta, position: 1, deltaBytes: delta.length, memo });
  }
  const deltaBytes = before.deltaBytes + delta.length;
  if (before.position >= linksMaxFor(before.base.length) || deltaBytes > Math.max(before.base.length, limits.baseBytesMin)) return undefined;
  return chained(fields, { type, base: before.base, origin: before.origin, previous: before, delta, position: before.position + 1, deltaBytes, memo: before.memo });
}

/** The links a chain from a base of `baseBytes` may have. */
export function linksMaxFor(baseBytes: number): number {
  return Math.max(limits.linksMax, Math.floor(baseBytes / limits.baseBytesPerLink));
}

/**
 * A chained version as it was stored: the plain version `origin` and the
 * links' deltas and versions (oldest first, without their values). The last
 * one is the version.
 */
export function restoreChain(origin: Sibling, steps: readonly { readonly fields: Omit<Sibling, 'value'>; readonly delta: Buffer }[]): Sibling {
  const base = origin.value;
  const type = origin.type;
  if (type === undefined) throw new Error('a chain starts from a typed version');
  const memo: ChainMemo = { link: undefined, value: undefined };
  let link: ChainLink | undefined;
  let version: Sibling | undefined;
  for (const { fields, delta } of steps) {
    const deltaBytes = (link?.deltaBytes ?? 0) + delta.length;
    version = chained(fields, { type, base, origin, previous: link, delta, position: (link?.position ?? 0) + 1, deltaBytes, memo });
    link = chainOf(version);
  }
  if (version === undefined) throw new Error('a chain has at least one link');
  return version;
}

/**
 * The state `link`'s version holds, decoded afresh (the caller's own): the
 * chain's kept value when it is this link's or an ancestor's, else the base,
 * decoded, and each delta after it merged in order.
 */
export function chainState(link: ChainLink): unknown {
  const convergent = typeEntry(link.type).convergent;
  const { memo } = link;
  const path: ChainLink[] = [];
  let from: ChainLink | undefined = link;
  for (; from !== undefined && from !== memo.link; from = from.previous) path.push(from);
  let state = convergent.decode(from === undefined ? link.base : memo.value!);
  for (let i = path.length - 1; i >= 0; i--) state = convergent.mergeDelta!(state, convergent.decode(path[i]!.delta));
  return state;
}

/** Chained versions made and chain values encoded in this process so far: for the simulation's report and tests. */
const made = { chained: 0, encoded: 0 };

export function chainCounts(): { readonly chained: number; readonly encoded: number } {
  return { ...made };
}

/**
 * A chained version's `value`: one getter shared by every chained version,
 * defined on each as an own enumerable property (so a spread or a deep
 * comparison reads the value as it would a plain version's). A getter in
 * the object literal was a new closure per version: measured here, making a
 * version cost ~2.5 times as much and each read of `value` 6-10 times, as no
 * call site could inline the getter of the version it met.
 */
const chainedValue: PropertyDescriptor = {
  get(this: Linked): Buffer {
    return valueOf(this[linkOf]!);
  },
  enumerable: true,
  configurable: true,
};

function chained(fields: Omit<Sibling, 'value'>, parts: Omit<ChainLink, 'version' | 'fields'>): Sibling {
  made.chained++;
  const link: ChainLink = {
    type: parts.type, base: parts.base, origin: parts.origin, previous: parts.previous, delta: parts.delta,
    position: parts.position, deltaBytes: parts.deltaBytes, memo: parts.memo, fields, version: undefined,
  };
  const version: Omit<{ -readonly [K in keyof Sibling]: Sibling[K] }, 'value'> & { [linkOf]: ChainLink } = {
    dot: fields.dot,
    past: fields.past,
    timestamp: fields.timestamp,
    type: fields.type,
    [linkOf]: link,
  };
  if (fields.expiresAt !== undefined) version.expiresAt = fields.expiresAt;
  if (fields.emptied === true) version.emptied = true;
  const chainedVersion = Object.defineProperty(version, 'value', chainedValue) as typeof version & Pick<Sibling, 'value'>;
  link.version = chainedVersion;
  if (parts.previous !== undefined) parts.previous.version = undefined;
  return chainedVersion;
}

/** A chained version's value: the one the chain keeps when it is this link's, else encoded now (and kept instead). */
function valueOf(link: ChainLink): Buffer {
  const { memo } = link;
  if (memo.link === link) return memo.value!;
  const value = typeEntry(link.type).convergent.encode(chainState(link));
  made.encoded++;
  memo.link = link;
  memo.value = value;
  return value;
}
