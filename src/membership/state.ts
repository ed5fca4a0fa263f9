// What one node believes about each member, and the pure rules for combining
// beliefs. Each member owns its state: only the owner changes it, and it bumps
// `version` (its heartbeat) every gossip round, so "newer" is simply the larger
// (generation, version) pair. A restart starts a new generation (its start time),
// which beats any version of an older life — Cassandra's HeartBeatState
// (generation + version) and Gossiper.examineGossiper's digest comparison.
// No I/O and no clock reads here; liveness is the failure detector's (phi.ts).

import assert from 'node:assert/strict';

export type MemberStatus = 'joining' | 'normal' | 'leaving' | 'left';

export const memberStatuses: readonly MemberStatus[] = ['joining', 'normal', 'leaving', 'left'];

/**
 * A member that left (was removed) is remembered this long, then forgotten:
 * Cassandra keeps a LEFT state for 3 days for the same reasons — long enough
 * for every node, including ones down at the time, to hear of it, and for
 * the removed node, should it be started again on its old disk, to learn
 * that it is out and refuse to serve instead of taking its ranges back.
 */
export const leftRetentionMs = 3 * 24 * 60 * 60 * 1000;

export interface MemberState {
  readonly id: string;
  readonly host: string;
  readonly respPort: number;
  readonly peerPort: number;
  /** Fixed for a node's identity; never changes within a generation. */
  readonly tokens: readonly bigint[];
  readonly status: MemberStatus;
  /** The owner's start time in ms: a larger one means the node restarted. */
  readonly generation: number;
  /** The owner's heartbeat within a generation, bumped each round and on every change. */
  readonly version: number;
}

/** A compact claim "I know member `id` at (generation, version)". */
export interface Digest {
  readonly id: string;
  readonly generation: number;
  readonly version: number;
}

export type StateMap = ReadonlyMap<string, MemberState>;

/** Orders two (generation, version) pairs: negative when a is older. */
export function compareStamps(a: Digest, b: Digest): number {
  if (a.generation !== b.generation) return a.generation < b.generation ? -1 : 1;
  if (a.version !== b.version) return a.version < b.version ? -1 : 1;
  return 0;
}


export function digestOf(s: MemberState): Digest {
  return { id: s.id, generation: s.generation, version: s.version };
}

export function digestsOf(states: StateMap): Digest[] {
  return [...states.values()].map(digestOf);
}

/**
 * Compares what we know with a peer's complete digest list (Cassandra's
 * examineGossiper): `send` are our states the peer lacks or has older;
 * `request` are our digests for members where the peer is newer or that we
 * have never heard of (generation and version 0), so the peer can answer with
 * exactly what we miss.
 */
export function diff(
  local: StateMap,
  remote: readonly Digest[],
): { readonly send: MemberState[]; readonly request: Digest[] } {
  const send: MemberState[] = [];
  const request: Digest[] = [];
  const remoteIds = new Set<string>();
  for (const digest of remote) {
    remoteIds.add(digest.id);
    const mine = local.get(digest.id);
    if (mine === undefined) {
      request.push({ id: digest.id, generation: 0, version: 0 });
      continue;
    }
    const order = compareStamps(mine, digest);
    if (order > 0) send.push(mine);
    // A member we hold as left that gossips a later life: tell it (it must learn it was removed), and want nothing of it.
    else if (order < 0 && mine.status === 'left') send.push(mine);
    else if (order < 0) request.push(digestOf(mine));
  }
  for (const mine of local.values()) {
    if (!remoteIds.has(mine.id)) send.push(mine);
  }
  return { send, request };
}

/** Whether a member owns ranges: joining nodes take ownership only once they are normal; a member that left owns none. */
export function ownsTokens(s: MemberState): boolean {
  return s.status !== 'joining' && s.status !== 'left' && s.tokens.length > 0;
}

/** Whether a member owns ranges once the changes under way complete: joining ones do, leaving ones do not. */
export function ownsFutureTokens(s: MemberState): boolean {
  return (s.status === 'normal' || s.status === 'joining') && s.tokens.length > 0;
}

/**
 * The state another node gossips for a dead member it removes. Only an
 * owner changes its own state, except for this: its `version` is the
 * removal's wall time in ms, larger than any heartbeat count of that life
 * (one per gossip round), so it supersedes the member's last state of that
 * generation everywhere, and it tells every node when to forget it.
 */
export function removedState(s: MemberState, nowMs: number): MemberState {
  return { ...s, status: 'left', version: Math.max(s.version + 1, Math.floor(nowMs)) };
}

/** When a member that left was removed (its version: removedState). */
export function leftAtMs(s: MemberState): number {
  return s.version;
}

/** Whether moving from `before` to `after` changes the ring (membership or placement). */
export function ringPlacementChanged(before: MemberState | undefined, after: MemberState): boolean {
  if (before === undefined) return ownsTokens(after);
  if (ownsTokens(before) !== ownsTokens(after)) return true;
  if (before.tokens === after.tokens) return false;
  if (before.tokens.length !== after.tokens.length) return true;
  return before.tokens.some((t, i) => t !== after.tokens[i]);
}
