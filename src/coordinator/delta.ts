// Delta replication of convergent types (issue 12 item 7; Almeida, Shoker,
// Baquero, "Delta State Replicated Data Types", 2018, §4 "delta-based
// synchronization"). An operation on a collection makes a new version whose
// state is merge(start, delta), where start merges the versions the
// coordinator's view held of the type (crdt/view.ts startVersions). A replica
// that holds those very versions — found by dot: dots never repeat, and a
// version's bytes never change once minted, so equal dots are equal bytes —
// rebuilds the state itself from the delta, and the write ships the delta
// instead of the whole collection: an SADD to a 100k-member set sends a few
// dozen bytes, not megabytes.
//
// What the replica stores must be the coordinator's bytes exactly (a version
// is the same bytes everywhere, or anti-entropy would see replicas differ
// forever): both merge the same decoded inputs in the same order
// (crdt/view.ts mergeVersions), and the coordinator sends a digest of its
// bytes that the replica checks before it stores anything; a mismatch (a
// merge whose map order differs, a bug) costs a whole-record send, never a
// divergent version.
//
// Pure: the coordinator and the replica service do the I/O.

import type { Dot, Sibling, Siblings } from '../clock/types.js';
import { CrdtCodecError, type TypeName } from '../crdt/kind.js';
import { typeEntry } from '../crdt/registry.js';
import { mergeVersions } from '../crdt/view.js';
import { takeKeptState } from '../crdt/state-cache.js';
import { extendChain } from '../crdt/value-chain.js';
import { tokenOf } from '../ring/tokens.js';
import { ownValue } from '../storage/storage.js';

type StoredType = Exclude<TypeName, 'string'>;

/**
 * A record smaller than this (bytes, encoded) is always replicated whole. A
 * delta saves at most these bytes per replica, while it risks an extra round
 * trip (the replica lacks the base). A replica applies a delta to a chained
 * version at the delta's cost (crdt/value-chain.ts), so past the size from
 * which versions chain, a whole record costs both sides an encode the delta
 * does not: the same 4 KiB (at 16 KiB, the first ~650 writes of a growing
 * set each sent 2 × 16 KiB and halved a 3-node cluster's SADD rate over a
 * 5,000-write run). Below it, a whole record is three TCP segments.
 */
export const deltaRecordBytesMin = 4 * 1024;

/**
 * A delta is sent only when the whole record is at least this many times its
 * message's size: a delta nearly as large as the whole (SREM of half the
 * set, LTRIM of most of a list) saves little and may still cost the fallback
 * round trip, which then sends both.
 */
export const wholeToDeltaBytesMin = 4;

/** The bytes of a value's digest: xxhash64, as tokens (ring/tokens.ts). A check against bugs, not forgery: peers are authenticated. */
export const valueDigestBytes = 8;

/** What a version's operation changed, kept beside the version (never stored): the coordinator replicates it instead of the state. */
export interface VersionDelta {
  readonly type: StoredType;
  /** The versions the new state merged, in merge order (crdt/view.ts startVersions). */
  readonly bases: readonly Dot[];
  /** The delta as a state of `type`: encoded only when a write is worth sending one. */
  readonly state: unknown;
  /** The delta already encoded (a chained version's link holds it, crdt/value-chain.ts). */
  readonly encoded?: Buffer | undefined;
  /**
   * The version cut its base's chain (crdt/value-chain.ts): it was encoded
   * whole here, from the state this coordinator keeps. A replica holds that
   * chain without its state (it extends chains from deltas alone), so to
   * rebuild the version it would decode the base and replay every link: an
   * 80k-field hash stalled each replica 180-270 ms per cut, long enough for
   * W=2 writes to time out behind it. The whole record is sent instead: the
   * bytes exist already, and a replica stores them without decoding, its
   * next chain starting from the same base as the coordinator's.
   */
  readonly endsChain?: boolean;
}

/** The delta's encoding, as the replica decodes it. */
export function encodeDelta(delta: VersionDelta): Buffer {
  return delta.encoded ?? typeEntry(delta.type).convergent.encode(delta.state);
}

export function valueDigest(value: Buffer): Buffer {
  return tokenOf(value);
}

/** When a delta replaces the whole record: a coordinator option, for tests and the benchmark's "before". */
export interface DeltaLimits {
  readonly recordBytesMin: number;
  readonly wholeToDeltaBytesMin: number;
}

export const deltaLimitsDefault: DeltaLimits = { recordBytesMin: deltaRecordBytesMin, wholeToDeltaBytesMin };

/** Whether a delta message of `deltaBytes` is worth sending instead of a record of `recordBytes`. */
export function deltaWorthIt(recordBytes: number, deltaBytes: number, limits: DeltaLimits): boolean {
  return recordBytes >= limits.recordBytesMin && recordBytes >= limits.wholeToDeltaBytesMin * deltaBytes;
}

/** A delta as a replica receives it: the new version without its value, what it was built on, and the change. */
export interface DeltaPut {
  /** The new version; its `value` is empty, to be rebuilt. */
  readonly version: Sibling;
  readonly bases: readonly Dot[];
  /** The encoded delta state. */
  readonly delta: Buffer;
  /**
   * The coordinator's value, to check the rebuilt one against: its
   * valueDigest and length. Absent when the coordinator never encoded it (a
   * chained version, crdt/value-chain.ts): encoding it to check would cost
   * both sides the O(n) the chain saves.
   */
  readonly check?: { readonly digest: Buffer; readonly valueBytes: number };
}

/**
 * What a replica does with a delta, given its record:
 *  - 'held': it already holds the version, or a version that supersedes it
 *    (a duplicate, or a delta delayed past a newer write): nothing to apply;
 *  - 'missing-base': it lacks a base version (it missed a write, restarted
 *    without its disk, or a newer write replaced the base): it needs the whole record;
 *  - 'mismatch': the rebuilt value differs from the coordinator's (or the
 *    delta does not decode): it needs the whole record;
 *  - 'rebuilt': the version with its value, to fold into the record.
 */
export type DeltaVerdict =
  | { readonly kind: 'held' }
  | { readonly kind: 'missing-base' }
  | { readonly kind: 'mismatch' }
  /**
   * `state` is the value decoded, the caller's own: kept beside the version (crdt/state-cache.ts), the next delta or
   * operation starts from it; undefined when nothing was decoded (a chained version over a base whose state was not kept).
   */
  | { readonly kind: 'rebuilt'; readonly version: Sibling; readonly state: unknown };

export function applyDelta(record: Siblings, put: DeltaPut): DeltaVerdict {
  const { version } = put;
  if (holds(record, version.dot)) return { kind: 'held' };
  const type = version.type;
  if (type === undefined) return { kind: 'mismatch' };
  const bases: Sibling[] = [];
  for (const dot of put.bases) {
    const found = record.find((s) => sameDot(s.dot, dot));
    if (found === undefined || found.deleted === true || found.type !== type) return { kind: 'missing-base' };
    bases.push(found);
  }
  const convergent = typeEntry(type).convergent;
  // Decoded first, once: a malformed delta changes nothing here, not even the base's chain (extending it ends the base's own link).
  let delta: unknown;
  try {
    delta = convergent.decode(put.delta);
  } catch (err) {
    if (err instanceof CrdtCodecError) return { kind: 'mismatch' };
    throw err;
  }
  // One large base (crdt/value-chain.ts): the version extends the base's chain with the delta, nothing encoded (the
  // delta is merged into the base's kept state when there is one, so the next delta or operation starts from it).
  if (bases.length === 1 && put.check === undefined) {
    const { value: _, ...fields } = version;
    const chained = extendChain(bases[0]!, fields, Buffer.from(put.delta));
    if (chained !== undefined) {
      const kept = takeKeptState(bases[0]!);
      return { kind: 'rebuilt', version: chained, state: kept === undefined ? undefined : convergent.mergeDelta!(kept, delta) };
    }
  }
  let value: Buffer;
  let state: unknown;
  try {
    // The start is this call's own (decoded afresh, or a kept state handed over), so mergeDelta may reuse it.
    const start = mergeVersions(convergent, bases);
    state = convergent.mergeDelta === undefined ? convergent.merge(start, delta) : convergent.mergeDelta(start, delta);
    value = convergent.encode(state);
  } catch (err) {
    if (err instanceof CrdtCodecError) return { kind: 'mismatch' };
    throw err;
  }
  if (put.check !== undefined && (value.length !== put.check.valueBytes || !valueDigest(value).equals(put.check.digest))) return { kind: 'mismatch' };
  // Made for this version: storage keeps the value, and so the version object the kept state is found by, as it is.
  return { kind: 'rebuilt', version: { ...version, value: ownValue(value) }, state };
}

/** The record holds the version of `dot`, or one whose past covers it (then the version was superseded here and folding it changes nothing). */
function holds(record: Siblings, dot: Dot): boolean {
  for (const s of record) {
    if (sameDot(s.dot, dot)) return true;
    for (const e of s.past) if (e.actor === dot.actor && e.counter >= dot.counter) return true;
  }
  return false;
}

function sameDot(a: Dot, b: Dot): boolean {
  return a.actor === b.actor && a.counter === b.counter;
}
