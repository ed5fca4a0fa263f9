// How a coordinator mints a new version and how any node folds versions into
// its record. Pure apart from the actor's counter: record in, record out.
//
// A new version gets a fresh dot from the node's actor (a node-wide counter
// that never repeats, storage/actor.ts) and a past:
//  - a client's context (SET … VCLOCK ctx): exactly what the client was
//    shown, so the write supersedes exactly that and nothing it did not see;
//  - otherwise everything the coordinator knows: its record's context and
//    every event its own actor made before (a plain SET supersedes what its
//    coordinator has seen — including its own earlier writes to the key that
//    its record no longer holds, e.g. a tombstone already reaped).
// The dot's counter is above every counter of this actor that the record or
// the context mention, so the new version is never covered by a past that
// already exists (that would make it lose to an older write).
//
// An operation on a convergent type (INCR…) is applied here, on the record
// the coordinator holds, inside the same synchronous step that mints the dot
// and stores the version (storage.update): two INCRs of one key arriving at
// one coordinator at once are applied one after the other, never both over
// the same state. Its new state merges every live version of the type the
// coordinator knows (crdt/view.ts) and supersedes them, like a plain SET.

import { ContextError, contextCounterMax, contextEntriesMax } from '../clock/context.js';
import { causalContext, reconcile } from '../clock/siblings.js';
import { counterOf, merge } from '../clock/vclock.js';
import { live } from '../clock/siblings.js';
import type { Sibling, VClock } from '../clock/types.js';
import type { TypeName } from '../crdt/kind.js';
import { typeEntry } from '../crdt/registry.js';
import '../crdt/types.js';
import { keepState } from '../crdt/state-cache.js';
import { chainOf, extendChain, mayChainOnto, withValue } from '../crdt/value-chain.js';
import { ownValue } from '../storage/storage.js';
import { isEmptied, operandView, startVersions } from '../crdt/view.js';
import type { VersionDelta } from './delta.js';
import type { Actor } from '../storage/actor.js';

type StoredType = Exclude<TypeName, 'string'>;

export type Mutation =
  /** A whole value: a string, or (with `type`) a convergent type's encoded state (EXPIRE of a counter keeps it one). */
  /**
   * `imported`: a value copied from a Redis being migrated (IMPORT,
   * read-through), written only where the coordinator holds no version of the
   * key, and stamped with importedTimestamp so that a ringkv write concurrent
   * with it wins GET's choice while both stand.
   */
  | { readonly kind: 'value'; readonly value: Buffer; readonly expiresAt?: number; readonly type?: StoredType; readonly imported?: boolean }
  | { readonly kind: 'delete' }
  /**
   * An operation on a convergent type, applied to the coordinator's record
   * (crdt/registry.ts apply); the key's expiry is kept. `imported`: as for a
   * value, written only where the coordinator holds no version of the key
   * (the first page of a collection's IMPORT in `missing` mode). `decoded`:
   * the operation `operation` encodes, as its type's apply takes it, from
   * the command that encoded it; never sent (a forwarded write carries the
   * bytes, and its coordinator decodes them).
   */
  | { readonly kind: 'operate'; readonly type: StoredType; readonly operation: Buffer; readonly imported?: boolean; readonly decoded?: unknown };

/** True for a write that is made only where the coordinator holds no version of the key (IMPORT, read-through). */
export function onlyWhereAbsent(mutation: Mutation): boolean {
  return mutation.kind !== 'delete' && mutation.imported === true;
}

/** An imported version's timestamp: older than any write made through ringkv, which GET's deterministic choice then prefers. */
export const importedTimestamp = 0;

/**
 * The actor a node writes under when it coordinates as a fallback (its
 * record of the key is only what it holds for hints, dropped once they are
 * handed off). A coordinator's version claims every earlier dot of its
 * actor (the past up to counter - 1, and the gap in a collection's causal
 * context): true of the writes it made as a primary, which its record holds
 * or reaped as dead, but not of those it made as a fallback. Under the same
 * actor a later write would supersede a fallback's acknowledged write it
 * never saw (the simulation lost an HSET so: a field added through a
 * fallback, then another through the same node as a primary). Under an actor
 * of its own, and claiming only its own dot, a fallback's write stays
 * concurrent with every write that did not see it.
 */
export function fallbackActorId(actorId: string): string {
  return `${actorId}~f`;
}

/** How the version is minted: `freshRun` when this coordinator's record may lack its own earlier updates (a fallback's hints). */
export interface MintOptions {
  readonly freshRun?: boolean;
}

/** The highest counter of `actor` that `siblings` mention, in dots or pasts. */
function highestCounter(siblings: readonly Sibling[], actor: string): number {
  let max = 0;
  for (const s of siblings) {
    if (s.dot.actor === actor && s.dot.counter > max) max = s.dot.counter;
    const inPast = counterOf(s.past, actor);
    if (inPast > max) max = inPast;
  }
  return max;
}

/**
 * The past of this actor's write `counter` over `stored`: the record's
 * context and every earlier event of the actor. A key written by one
 * coordinator (no record, or one version of its own actor whose past names
 * only it) needs no context to be built and merged: its past is the one
 * entry `actor: counter - 1` (the record's dot is below the new counter),
 * which is what the merge would give.
 */
function ownPast(stored: readonly Sibling[], actorId: string, counter: number): VClock {
  const only = stored.length === 1 ? stored[0]! : undefined;
  if (stored.length === 0 || (only !== undefined && only.dot.actor === actorId && onlyActor(only.past, actorId))) return [{ actor: actorId, counter: counter - 1 }];
  return merge([causalContext(stored), [{ actor: actorId, counter: counter - 1 }]]);
}

function onlyActor(clock: VClock, actorId: string): boolean {
  for (let i = 0; i < clock.length; i++) if (clock[i]!.actor !== actorId) return false;
  return true;
}

/**
 * The version a write at this coordinator makes over `stored`. A value whose
 * absolute expiry has already passed is a delete, as in Redis (`SET k v PXAT
 * 1` removes k): storing it as a value would leave it dead on arrival and
 * the versions it superseded to be reaped with nothing to mark the delete.
 */
export function newVersion(
  stored: readonly Sibling[], mutation: Mutation, context: VClock | undefined, actor: Actor, nowMs: number, mint: MintOptions = {},
): Sibling {
  const fresh = mint.freshRun === true;
  // A fallback writes under an actor of its own, and claims no earlier write of it: see fallbackActorId.
  const actorId = fresh ? fallbackActorId(actor.id) : actor.id;
  if (context !== undefined) checkContext(stored, context, actorId);
  const counter = actor.next(Math.max(highestCounter(stored, actorId), context === undefined ? 0 : counterOf(context, actorId)));
  const dot = { actor: actorId, counter };
  const past = context ?? (counter > 1 && !fresh ? ownPast(stored, actorId, counter) : causalContext(stored));
  if (mutation.kind === 'operate') return operated(stored, mutation, { dot, freshRun: fresh }, past, nowMs);
  if (mutation.kind === 'delete' || (mutation.expiresAt !== undefined && mutation.expiresAt <= nowMs)) {
    return { value: emptyValue, dot, past, timestamp: nowMs, deleted: true };
  }
  const version: Sibling = { value: mutation.value, dot, past, timestamp: mutation.imported === true ? importedTimestamp : nowMs };
  if (mutation.expiresAt !== undefined) (version as { expiresAt?: number }).expiresAt = mutation.expiresAt;
  if (mutation.type !== undefined) {
    (version as { type?: StoredType }).type = mutation.type;
    // A whole typed value (RESTORE, COPY, EXPIRE of a collection) is flagged as an operation's would be: reads trust the flag (crdt/view.ts).
    const entry = typeEntry(mutation.type);
    if (entry.isEmpty?.(entry.convergent.decode(mutation.value)) === true) (version as { emptied?: true }).emptied = true;
  }
  return version;
}

/**
 * What an operation gave beside the version it made: its answer (SADD's
 * count, LPOP's elements; crdt/operation.ts Operated) and its delta, for the
 * replicas. Kept off the version itself, which is stored and replicated as it
 * is, and taken once by the coordinator right after minting: a version of a
 * hot chain lives as long as its chain (crdt/value-chain.ts), and a delta
 * state and an answer held that long were most of what each SADD left for
 * the garbage collector to copy and promote.
 */
export interface Minted {
  readonly outcome?: Buffer | undefined;
  readonly delta?: VersionDelta | undefined;
}

/**
 * The last operation's version and what it gave. One slot, not a table: both
 * callers take it synchronously right after newVersion, and a WeakMap cost
 * every counter and collection write a set, a get and a delete, and the
 * collector an ephemeron per version. A version not taken before the next one
 * is minted gives nothing: its operation's answer and delta are dropped.
 */
let mintedVersion: Sibling | undefined;
let mintedSide: Minted | undefined;
const nothingMinted: Minted = Object.freeze({});

function mint(version: Sibling, side: Minted): void {
  mintedVersion = version;
  mintedSide = side;
}

/** What the operation that made `version` gave beside it (nothing for a plain value, or once taken or superseded by a later mint). */
export function takeMinted(version: Sibling): Minted {
  if (mintedVersion !== version) return nothingMinted;
  const side = mintedSide!;
  mintedVersion = undefined;
  mintedSide = undefined;
  return side;
}

/**
 * The version an operation makes: its type's new state over the live view of
 * the record, keeping the winner's expiry (INCR keeps a key's TTL, as in
 * Redis). Throws the type's TypeOperationError, before anything is stored.
 */
function operated(
  stored: readonly Sibling[], mutation: Extract<Mutation, { kind: 'operate' }>, writer: { dot: Sibling['dot']; freshRun: boolean }, past: VClock, nowMs: number,
): Sibling {
  const view = operandView(live(stored, nowMs));
  const entry = typeEntry(mutation.type);
  const { state, outcome, replacesValue, delta, expiresAt: ownExpiry, imported } = entry.apply(view, mutation.operation, writer, mutation.decoded);
  // An operation that leaves a key nobody wrote still empty (SREM of a missing key) writes a tombstone: no empty collection stays behind for nothing.
  // A collection emptied by an operation stays an empty state (crdt/registry.ts isEmpty): its context removes, on merge, what it removed from concurrent versions.
  // A value whose own expiry has passed (an IMPORT page) is a delete, as newVersion makes one for a value.
  const empty = entry.isEmpty?.(state) === true;
  if ((view === undefined && empty) || (ownExpiry !== undefined && ownExpiry <= nowMs)) {
    const tombstone: Sibling = { value: emptyValue, dot: writer.dot, past, timestamp: nowMs, deleted: true };
    if (outcome !== undefined) mint(tombstone, { outcome });
    return tombstone;
  }
  const timestamp = imported === true || mutation.imported === true ? importedTimestamp : nowMs;
  // An emptied collection was no key: its old expiry is not the new value's (SPOP of the last member, then SADD).
  const expiresAt = replacesValue === true ? ownExpiry : view === undefined || isEmptied(view) ? undefined : view.winner.expiresAt;
  // Built by assignment, not spreads of conditional literals: this runs once per collection write.
  const fields: { -readonly [K in keyof Omit<Sibling, 'value'>]: Sibling[K] } = { dot: writer.dot, past, timestamp, type: mutation.type };
  if (empty) fields.emptied = true;
  if (expiresAt !== undefined) fields.expiresAt = expiresAt;
  // The delta holds for the start the operation merged (crdt/operation.ts Operated.delta): replicas holding those versions rebuild the state from it.
  const bases = delta !== undefined && replacesValue !== true ? startVersions(view, mutation.type) : undefined;
  let version: Sibling | undefined;
  let encodedDelta: Buffer | undefined;
  let endsChain = false;
  // Over one large version, the new one is that version's chain and this delta, not encoded (crdt/value-chain.ts).
  if (bases !== undefined && bases.length === 1 && !empty && mayChainOnto(bases[0]!, mutation.type)) {
    encodedDelta = entry.convergent.encode(delta);
    version = extendChain(bases[0]!, fields, encodedDelta);
    endsChain = version === undefined && chainOf(bases[0]!) !== undefined;
  }
  version ??= withValue(fields, ownValue(entry.convergent.encode(state)));
  // The next operation on the key starts from this state instead of decoding the value again.
  keepState(version, state);
  const versionDelta: VersionDelta | undefined = bases === undefined ? undefined
    : { type: mutation.type, bases: bases.length === 1 ? [bases[0]!.dot] : bases.map((s) => s.dot), state: delta, encoded: encodedDelta, endsChain };
  if (outcome !== undefined || versionDelta !== undefined) mint(version, { outcome, delta: versionDelta });
  return version;
}

/**
 * Refuses a client's context that would poison the key: a counter beyond
 * contextCounterMax that the stored record does not already mention (only a
 * forgery claims it: every counter minted so far is far below), or more
 * entries than a context may carry once this actor's dot joins them.
 * Throws ContextError; changes nothing.
 */
export function checkContext(stored: readonly Sibling[], context: VClock, actorId: string): void {
  const entries = context.length + (counterOf(context, actorId) === 0 ? 1 : 0);
  if (entries > contextEntriesMax) {
    throw new ContextError('CONTEXT_TOO_LARGE', `a version over this context would have ${entries} entries, over ${contextEntriesMax}`);
  }
  for (const e of context) {
    if (e.counter > contextCounterMax && e.counter > highestCounter(stored, e.actor)) {
      throw new ContextError('CONTEXT_IMPLAUSIBLE', `context claims write ${e.counter} of ${e.actor}, which this key has never seen`);
    }
  }
}

/** Refuses a write that would leave the record with a context too large to give out (ContextError). */
export function checkRecordContext(record: readonly Sibling[]): void {
  const entries = causalContext(record).length;
  if (entries > contextEntriesMax) {
    throw new ContextError('CONTEXT_TOO_LARGE', `the key's siblings would need a context of ${entries} entries, over ${contextEntriesMax}: resolve them first`);
  }
}

/**
 * The record after folding `incoming` versions into `stored`: the one merge
 * every path uses. Nothing is collected here: a version is never dropped by
 * the fold that stores it (only the collector reaps, see collector.ts).
 */
export function foldVersions(stored: readonly Sibling[], incoming: readonly Sibling[]): Sibling[] {
  // The common write: one version whose past covers everything stored replaces it.
  if (incoming.length === 1 && supersedesAll(incoming[0]!, stored)) return [incoming[0]!];
  const all = stored.length === 0 ? incoming : incoming.length === 0 ? stored : [...stored, ...incoming];
  return reconcile(all);
}

function supersedesAll(version: Sibling, stored: readonly Sibling[]): boolean {
  for (const s of stored) {
    if (counterOf(version.past, s.dot.actor) < s.dot.counter) return false;
  }
  return true;
}

const emptyValue = Buffer.alloc(0);
