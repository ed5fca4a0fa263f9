// What a membership change moves, computed from the ring before and the ring
// after (Cassandra's pending ranges, Riak's `cluster plan`). Both rings are
// pure functions of the members' tokens, so every node computes the same
// spans: the token space cut at every token of either ring, each piece with
// the preference list it has before and after. A node gains a span when it
// is in the list after but not before; the node it displaces (in the list
// before, not after) holds every write it acknowledged for that span, so
// streaming the span from it leaves at least W copies of every acknowledged
// write in the new list (the others were already there). Pure: no I/O.

import { tokenSpace } from './tokens.js';
import type { Ring } from './ring.js';

const tokenMax = tokenSpace - 1n;

/** An inclusive token span [first, last] and its preference list on each ring. */
export interface SpanChange {
  readonly first: bigint;
  readonly last: bigint;
  readonly before: readonly string[];
  readonly after: readonly string[];
}

/** A span this node is to receive, and the nodes to read it from. */
export interface GainedSpan {
  readonly first: bigint;
  readonly last: bigint;
  /** The nodes the span is streamed from: every displaced replica, or every old replica when none is displaced. */
  readonly sources: readonly string[];
  /** Every replica of the span before the change. */
  readonly before: readonly string[];
  /** Every replica of the span after the change. */
  readonly after: readonly string[];
}

const empty: readonly string[] = Object.freeze([]);

/**
 * Every span of the token space, cut at each token of either ring, with its
 * list on both. Spans whose lists are equal are included (callers filter);
 * adjacent spans are not merged, so there are at most (tokens of both) + 1.
 */
export function* spanChanges(before: Ring, after: Ring): Generator<SpanChange> {
  const cuts = mergedTokens(before, after);
  if (cuts.length === 0) return;
  let first = 0n;
  for (const last of cuts) {
    yield { first, last, before: listAt(before, last), after: listAt(after, last) };
    first = last + 1n;
  }
  // Past the greatest token the ring wraps to its first: the same lists as at token 0.
  if (first <= tokenMax) yield { first, last: tokenMax, before: listAt(before, tokenMax), after: listAt(after, tokenMax) };
}

/** The spans `self` holds after the change but not before, each with where to stream it from. */
export function gainedSpans(before: Ring, after: Ring, self: string): GainedSpan[] {
  const gained: GainedSpan[] = [];
  for (const span of spanChanges(before, after)) {
    if (!span.after.includes(self) || span.before.includes(self)) continue;
    const displaced = span.before.filter((id) => !span.after.includes(id));
    gained.push({ first: span.first, last: span.last, sources: displaced.length > 0 ? displaced : span.before, before: span.before, after: span.after });
  }
  return gained;
}

/** The spans `self` holds before the change but not after (what a leaving node hands over), with who gains each. */
export function lostSpans(before: Ring, after: Ring, self: string): { first: bigint; last: bigint; to: readonly string[]; after: readonly string[] }[] {
  const lost = [];
  for (const span of spanChanges(before, after)) {
    if (!span.before.includes(self) || span.after.includes(self)) continue;
    lost.push({ first: span.first, last: span.last, to: span.after.filter((id) => !span.before.includes(id)), after: span.after });
  }
  return lost;
}

/**
 * The nodes in the key's list on `future` but not on `current` (membership.ts
 * pendingReplicas says why writes and reads ask them too); `digest` is the
 * key's 8-byte token. Empty (shared) when the rings are the same.
 */
export function pendingReplicasFor(current: Ring, future: Ring, digest: Buffer): readonly string[] {
  if (future === current || future.tokenCount === 0) return empty;
  const now = current.tokenCount === 0 ? empty : current.preferenceListForDigest(digest);
  let extra: string[] | undefined;
  for (const id of future.preferenceListForDigest(digest)) if (!now.includes(id)) (extra ??= []).push(id);
  return extra ?? empty;
}

/** One flow of a plan: `fraction` of the token space whose replica moves from `from` to `to`. */
export interface PlanFlow {
  readonly from: string | undefined;
  readonly to: string;
  readonly fraction: number;
}

export interface ChangePlan {
  /** Share of the token space whose preference list changes. */
  readonly changedFraction: number;
  /** Per gaining node and source, the share of the token space it receives (from: undefined when nobody is displaced). */
  readonly flows: readonly PlanFlow[];
  /** Per member, the share of the token space it replicates before and after. */
  readonly ownership: ReadonlyMap<string, { readonly before: number; readonly after: number }>;
}

/** What a change moves: the basis of `ringkv plan`. */
export function planChange(before: Ring, after: Ring): ChangePlan {
  const flows = new Map<string, { from: string | undefined; to: string; fraction: number }>();
  const ownership = new Map<string, { before: number; after: number }>();
  const own = (id: string) => {
    let o = ownership.get(id);
    if (o === undefined) ownership.set(id, (o = { before: 0, after: 0 }));
    return o;
  };
  let changed = 0;
  for (const span of spanChanges(before, after)) {
    const fraction = Number(span.last - span.first + 1n) / Number(tokenSpace);
    for (const id of span.before) own(id).before += fraction;
    for (const id of span.after) own(id).after += fraction;
    const gainers = span.after.filter((id) => !span.before.includes(id));
    if (gainers.length === 0 && span.before.length === span.after.length) continue;
    changed += fraction;
    const displaced = span.before.filter((id) => !span.after.includes(id));
    gainers.forEach((to, i) => {
      const from = displaced[i] ?? span.before[0];
      const key = `${from ?? ''}\u0000${to}`;
      const flow = flows.get(key) ?? { from, to, fraction: 0 };
      flow.fraction += fraction;
      flows.set(key, flow);
    });
  }
  const sorted = [...flows.values()].sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : (a.from ?? '') < (b.from ?? '') ? -1 : 1));
  return { changedFraction: changed, flows: sorted, ownership };
}

function listAt(ring: Ring, token: bigint): readonly string[] {
  return ring.tokenCount === 0 ? empty : ring.preferenceListForToken(token);
}

/** Every distinct token of both rings, ascending. */
function mergedTokens(a: Ring, b: Ring): bigint[] {
  const out: bigint[] = [];
  let i = 0;
  let j = 0;
  while (i < a.tokenCount || j < b.tokenCount) {
    const x = i < a.tokenCount ? a.tokenAt(i) : undefined;
    const y = j < b.tokenCount ? b.tokenAt(j) : undefined;
    let next: bigint;
    if (y === undefined || (x !== undefined && x <= y)) {
      next = x!;
      i++;
      if (y === next) j++;
    } else {
      next = y;
      j++;
    }
    if (out.length === 0 || out[out.length - 1] !== next) out.push(next);
  }
  return out;
}
