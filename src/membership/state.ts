// What one node believes about each member, and the pure rules for combining
// beliefs. Each member owns its state: only the owner changes it, and it bumps
// `version` (its heartbeat) every gossip round, so "newer" is simply the larger
// (generation, version) pair. A restart starts a new generation (its start time),
// which beats any version of an older life — Cassandra's HeartBeatState
// (generation + version) and Gossiper.examineGossiper's digest comparison.
// No I/O and no clock reads here; liveness is the failure detector's (phi.ts).

import assert from 'node:assert/strict';

export type MemberStatus = 'joining' | 'normal' | 'leaving';

export const memberStatuses: readonly MemberStatus[] = ['joining', 'normal', 'leaving'];

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
    else if (order < 0) request.push(digestOf(mine));
  }
  for (const mine of local.values()) {
    if (!remoteIds.has(mine.id)) send.push(mine);
  }
  return { send, request };
}

/** Whether a member owns ranges: joining nodes take ownership only once they are normal. */
export function ownsTokens(s: MemberState): boolean {
  return s.status !== 'joining' && s.tokens.length > 0;
}

/** Whether moving from `before` to `after` changes the ring (membership or placement). */
export function ringPlacementChanged(before: MemberState | undefined, after: MemberState): boolean {
  if (before === undefined) return ownsTokens(after);
  if (ownsTokens(before) !== ownsTokens(after)) return true;
  if (before.tokens === after.tokens) return false;
  if (before.tokens.length !== after.tokens.length) return true;
  return before.tokens.some((t, i) => t !== after.tokens[i]);
}
