// The annotated preference list for a sloppy quorum (Dynamo 2007 §4.6),
// after riak_core_apl:get_apl_ann/4: the key's n primaries that are up, in
// ring order, then for each down primary, in order, the next up node clockwise
// beyond the first n distinct nodes, labelled as a fallback for it. A fallback
// stores the write with a hint naming `for`, and hands it back when the
// primary recovers. Pure: the up-set is passed in, so the coordinator's live
// view of membership stays at the edge.

import type { Ring } from './ring.js';

export interface AnnotatedNode {
  readonly node: string;
  readonly role: 'primary' | 'fallback';
  /** For a fallback: the down primary it stands in for. */
  readonly for?: string;
}

/** Fewer than n entries when too few nodes are up to replace every down primary. */
export function annotatedPreferenceList(ring: Ring, key: Buffer, upNodes: ReadonlySet<string>): AnnotatedNode[] {
  if (ring.tokenCount === 0) return [];
  return annotateFrom(ring, ring.tokenIndexOfKey(key), upNodes);
}

export function annotatedPreferenceListForToken(ring: Ring, token: bigint, upNodes: ReadonlySet<string>): AnnotatedNode[] {
  if (ring.tokenCount === 0) return [];
  return annotateFrom(ring, ring.tokenIndexOf(token), upNodes);
}

/**
 * The nodes that may stand in for the key's primaries, in the order a sloppy
 * quorum tries them: up nodes clockwise beyond the first n distinct ones, at
 * most `max`. `digest` is the key's tokenOf.
 */
export function fallbacksForDigest(ring: Ring, digest: Buffer, isUp: (node: string) => boolean, max: number): string[] {
  if (ring.tokenCount === 0 || max <= 0) return [];
  const index = ring.tokenIndexOf(digest.readBigUInt64BE(0));
  return upFallbacks(ring, index, new Set(ring.preferenceListAt(index)), isUp, max);
}

function annotateFrom(ring: Ring, index: number, upNodes: ReadonlySet<string>): AnnotatedNode[] {
  const primaries = ring.preferenceListAt(index);
  const entries: AnnotatedNode[] = [];
  const down: string[] = [];
  for (const node of primaries) {
    if (upNodes.has(node)) entries.push({ node, role: 'primary' });
    else down.push(node);
  }
  if (down.length === 0) return entries;
  const fallbacks = upFallbacks(ring, index, new Set(primaries), (node) => upNodes.has(node), down.length);
  fallbacks.forEach((node, i) => entries.push({ node, role: 'fallback', for: down[i]! }));
  return entries;
}

/** Up to `wanted` up nodes, distinct and outside `skip`, clockwise from `index`. */
function upFallbacks(ring: Ring, index: number, skip: Set<string>, isUp: (node: string) => boolean, wanted: number): string[] {
  const found: string[] = [];
  const othersCount = ring.members.length - skip.size;
  let seen = 0;
  for (let step = 0; step < ring.tokenCount && found.length < wanted && seen < othersCount; step++) {
    const node = ring.ownerAt((index + step) % ring.tokenCount);
    if (skip.has(node)) continue;
    skip.add(node);
    seen++;
    if (isUp(node)) found.push(node);
  }
  return found;
}
