// The consistent-hashing ring: every member's tokens sorted on [0, 2^64), and
// for each token the preference list — the first n distinct physical nodes
// clockwise from it (Dynamo 2007 §4.3). A key lands on the first token ≥ its
// own token, wrapping past the top. The ring is a pure function of the
// members' token lists, so every node that has gossiped the same lists routes
// the same way.
//
// Lookups are the hot path of every request: tokens are kept as two
// Uint32Array halves (hi, lo) so the binary search compares plain numbers, and
// each token index points at a frozen preference list precomputed at build
// time and shared by every lookup landing there. A lookup allocates nothing
// beyond the 8-byte hash digest.

import assert from 'node:assert';
import { tokenOf, tokenSpace } from './tokens.js';

export interface RingMember {
  readonly id: string;
  readonly tokens: readonly bigint[];
}

const emptyList: readonly string[] = Object.freeze([]);

export class Ring {
  /** Replication factor the preference lists were built for. */
  readonly n: number;
  /** Ids of the members holding at least one token, sorted. */
  readonly members: readonly string[];
  readonly tokenCount: number;
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  /** Member index (into `members`) owning each sorted token. */
  private readonly owners: Int32Array;
  private readonly lists: readonly (readonly string[])[];

  private constructor(n: number, members: readonly string[], sorted: SortedTokens) {
    this.n = n;
    this.members = members;
    this.tokenCount = sorted.owners.length;
    this.hi = sorted.hi;
    this.lo = sorted.lo;
    this.owners = sorted.owners;
    this.lists = buildPreferenceLists(sorted.owners, members, Math.min(n, members.length));
  }

  /**
   * Members must have distinct ids. Identical tokens held by two nodes are
   * ordered by node id, so the lower id is met first clockwise and owns the
   * arc; the other copy owns an empty arc. Members without tokens are not on
   * the ring and are left out of `members`.
   */
  static build(members: readonly RingMember[], n: number): Ring {
    assert(Number.isInteger(n) && n >= 1, `replication factor ${n} must be a positive integer`);
    const ids = members.filter((m) => m.tokens.length > 0).map((m) => m.id).sort(compareStrings);
    assert(new Set(members.map((m) => m.id)).size === members.length, 'member ids must be distinct');
    return new Ring(n, Object.freeze(ids), sortTokens(members, ids));
  }

  /** The first min(n, members) distinct nodes clockwise from the key's token. */
  preferenceList(key: Buffer): readonly string[] {
    if (this.tokenCount === 0) return emptyList;
    return this.lists[this.tokenIndexOfKey(key)]!;
  }

  /** As preferenceList, from the key's 8-byte digest (tokenOf) when the caller already hashed it. */
  preferenceListForDigest(digest: Buffer): readonly string[] {
    if (this.tokenCount === 0) return emptyList;
    return this.lists[this.successor(digest.readUInt32BE(0), digest.readUInt32BE(4))]!;
  }

  preferenceListForToken(token: bigint): readonly string[] {
    if (this.tokenCount === 0) return emptyList;
    return this.lists[this.tokenIndexOf(token)]!;
  }

  /** The preference list precomputed for a sorted token index. */
  preferenceListAt(index: number): readonly string[] {
    assert(index >= 0 && index < this.tokenCount, `token index ${index} out of range`);
    return this.lists[index]!;
  }

  /** Index of the first token ≥ the key's token, wrapping to 0. Ring must be non-empty. */
  tokenIndexOfKey(key: Buffer): number {
    const digest = tokenOf(key);
    return this.successor(digest.readUInt32BE(0), digest.readUInt32BE(4));
  }

  /** As tokenIndexOf, from the key's 8-byte digest (tokenOf): no bigint, for per-write callers. Ring must be non-empty. */
  tokenIndexOfDigest(digest: Buffer): number {
    return this.successor(digest.readUInt32BE(0), digest.readUInt32BE(4));
  }

  /** Index of the first token ≥ `token`, wrapping to 0. Ring must be non-empty. */
  tokenIndexOf(token: bigint): number {
    assert(token >= 0n && token < tokenSpace, `token ${token} outside [0, 2^64)`);
    return this.successor(Number(token >> 32n), Number(token & 0xffff_ffffn));
  }

  /** The node owning the token at a sorted index. */
  ownerAt(index: number): string {
    assert(index >= 0 && index < this.tokenCount, `token index ${index} out of range`);
    return this.members[this.owners[index]!]!;
  }

  tokenAt(index: number): bigint {
    assert(index >= 0 && index < this.tokenCount, `token index ${index} out of range`);
    return (BigInt(this.hi[index]!) << 32n) | BigInt(this.lo[index]!);
  }

  /** Primary share of the token space per member; the shares sum to 1. */
  ownership(): Map<string, number> {
    const shares = this.zeroShares();
    for (let i = 0; i < this.tokenCount; i++) {
      const owner = this.members[this.owners[i]!]!;
      shares.set(owner, shares.get(owner)! + this.arcFraction(i));
    }
    return shares;
  }

  /**
   * Share of the token space each member stores as one of the key's n
   * replicas. Each share is ≤ 1 (a node appears at most once per list); the
   * shares sum to min(n, members).
   */
  effectiveOwnership(): Map<string, number> {
    const shares = this.zeroShares();
    for (let i = 0; i < this.tokenCount; i++) {
      const arc = this.arcFraction(i);
      for (const node of this.lists[i]!) shares.set(node, shares.get(node)! + arc);
    }
    return shares;
  }

  private zeroShares(): Map<string, number> {
    return new Map(this.members.map((id) => [id, 0]));
  }

  /** Fraction of the ring in (token[i-1], token[i]]; the first arc wraps. */
  private arcFraction(i: number): number {
    const prev = i === 0 ? this.tokenAt(this.tokenCount - 1) - tokenSpace : this.tokenAt(i - 1);
    return Number(this.tokenAt(i) - prev) / Number(tokenSpace);
  }

  /** Lower bound on (hi, lo) pairs; past the last token wraps to 0. */
  private successor(hi: number, lo: number): number {
    const his = this.hi;
    const los = this.lo;
    let low = 0;
    let high = this.tokenCount;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const h = his[mid]!;
      if (h < hi || (h === hi && los[mid]! < lo)) low = mid + 1;
      else high = mid;
    }
    return low === this.tokenCount ? 0 : low;
  }
}

interface SortedTokens {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly owners: Int32Array;
}

/** Every token as (hi, lo, owner index), sorted by token then by owner id
 * (owner indices follow sorted ids). Typed arrays and an index sort keep a
 * 100k-token build free of per-token objects. */
function sortTokens(members: readonly RingMember[], ids: readonly string[]): SortedTokens {
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const count = members.reduce((sum, m) => sum + m.tokens.length, 0);
  const hi = new Uint32Array(count);
  const lo = new Uint32Array(count);
  const owners = new Int32Array(count);
  let at = 0;
  for (const member of members) {
    for (const token of member.tokens) {
      assert(token >= 0n && token < tokenSpace, `token ${token} outside [0, 2^64)`);
      hi[at] = Number(token >> 32n);
      lo[at] = Number(token & 0xffff_ffffn);
      owners[at++] = indexOf.get(member.id)!;
    }
  }
  const order = new Uint32Array(count).map((_, i) => i);
  order.sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]! || owners[a]! - owners[b]!);
  return { hi: order.map((i) => hi[i]!), lo: order.map((i) => lo[i]!), owners: Int32Array.from(order, (i) => owners[i]!) };
}

/**
 * The preference list at every token index, in O(T·width): walking the ring
 * backwards and moving each owner to the front of a `width`-slot window leaves
 * the window holding the first `width` distinct owners clockwise from the
 * current index. Two laps, so the window is full at the wrap. Equal lists
 * share one frozen array (5 nodes, n=3 have only 60 distinct lists).
 */
function buildPreferenceLists(owners: Int32Array, ids: readonly string[], width: number): (readonly string[])[] {
  const lists = new Array<readonly string[]>(owners.length);
  const interned = new Map<number | string, readonly string[]>();
  const numericKeys = ids.length ** width <= Number.MAX_SAFE_INTEGER;
  const window: number[] = [];
  for (let lap = 0; lap < 2; lap++) {
    for (let i = owners.length - 1; i >= 0; i--) {
      moveToFront(window, owners[i]!, width);
      if (lap === 0) continue;
      const key = numericKeys ? numericKey(window, ids.length) : window.join(',');
      let list = interned.get(key);
      if (list === undefined) {
        list = Object.freeze(window.map((owner) => ids[owner]!));
        interned.set(key, list);
      }
      lists[i] = list;
    }
  }
  return lists;
}

function moveToFront(window: number[], owner: number, width: number): void {
  const at = window.indexOf(owner);
  if (at >= 0) window.splice(at, 1);
  else if (window.length === width) window.pop();
  window.unshift(owner);
}

/** The window's owners as digits in base `members`: exact below 2^53. */
function numericKey(window: readonly number[], members: number): number {
  let key = 0;
  for (const owner of window) key = key * members + owner;
  return key;
}

/** Code-unit order: locale-independent, so every node sorts ids alike. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
