// The bridge from command handlers to the coordinator: quorum reads and
// versioned writes with this connection's consistency, and the live view of a
// record that Redis semantics are defined on (one value, or none).

import { causalContext, live } from '../clock/siblings.js';
import type { Siblings, VClock } from '../clock/types.js';
import type { PutResult } from '../coordinator/coordinator.js';
import type { Mutation } from '../coordinator/versioning.js';
import { redisTypeOf, typeEntry } from '../crdt/registry.js';
import { typedValue, withStateOf, type TypedValue } from '../crdt/view.js';
import type { Convergent } from '../crdt/kind.js';
import { KeyPresentError } from '../coordinator/errors.js';
import { importMutation } from './read-through.js';
import { CommandError, type CommandContext, type ReadThroughSource } from './types.js';

export type { TypedValue };

/** Redis's shared.wrongtypeerr. */
export const wrongTypeError = 'WRONGTYPE Operation against a key holding the wrong kind of value';

export interface KeyState {
  /** Every version the read met, tombstones included. */
  readonly versions: Siblings;
  /** The live value commands see (crdt/view.ts): the winner's type, its value or the merge of its type's versions. */
  readonly current: TypedValue | undefined;
  /** What a write superseding everything read must carry. */
  readonly context: VClock;
  readonly now: number;
}

export function readQuorum(ctx: CommandContext): number {
  return ctx.session.r ?? ctx.server.config.r;
}

export function writeQuorum(ctx: CommandContext): number {
  return ctx.session.w ?? ctx.server.config.w;
}

export async function readKey(ctx: CommandContext, key: Buffer): Promise<KeyState> {
  const coordinator = ctx.server.coordinator;
  const versions = await versionsOf(ctx, key);
  const now = coordinator.now();
  return { versions, current: typedValue(live(versions, now)), context: causalContext(versions), now };
}

/**
 * The live value GET would return, without the context (no clock merge).
 * Synchronous when the read is (a single-replica key): the GET hot path.
 */
export function readValue(ctx: CommandContext, key: Buffer): TypedValue | undefined | Promise<TypedValue | undefined> {
  const coordinator = ctx.server.coordinator;
  const versions = versionsOf(ctx, key);
  if (versions instanceof Promise) return versions.then((v) => typedValue(live(v, coordinator.now())));
  return typedValue(live(versions, coordinator.now()));
}

/**
 * Runs `read` on the collection of `convergent`'s type at `key` (undefined
 * for no key; WRONGTYPE for another type) in the step its record is read in,
 * so it may be lent the state the key's last write left (crdt/view.ts
 * withStateOf): a read right after a write does not decode the collection.
 * `read` must be done with the state when it returns.
 */
export function withCollection<S, T>(ctx: CommandContext, key: Buffer, convergent: Convergent<S>, read: (state: S | undefined) => T): Promise<T> {
  return Promise.resolve(readValue(ctx, key)).then((current) => {
    if (current === undefined) return read(undefined);
    if (current.type !== convergent.type) throw new CommandError(wrongTypeError);
    return withStateOf(current, convergent, read);
  });
}

/**
 * The key's versions read at R; with --read-through, a key ringkv holds no
 * version of (never written or deleted here) is read from the old Redis and
 * imported first (migrate/read-through.ts), whatever its type. Synchronous
 * when the read is.
 */
function versionsOf(ctx: CommandContext, key: Buffer): Siblings | Promise<Siblings> {
  const versions = ctx.server.coordinator.get(key, readQuorum(ctx), ctx.session.strict);
  const source = ctx.server.readThrough;
  if (source === undefined) return versions;
  readThroughChecked.add(key);
  if (versions instanceof Promise) return versions.then((v) => (v.length === 0 ? readThrough(ctx, source, key) : v));
  return versions.length === 0 ? readThrough(ctx, source, key) : versions;
}

/**
 * The key arguments (the Buffers themselves, one per command call) that this
 * call already read with read-through: its write of the key needs no read
 * of its own (writeKey). Weak: a call's arguments go with it.
 */
const readThroughChecked = new WeakSet<Buffer>();

/**
 * Imports the old Redis's value of a key ringkv has no version of, and
 * answers the record that holds it. Written at W=1: the copy is a cache of
 * what the old Redis still holds, not a client's write. A version that
 * appeared meanwhile wins (KeyPresentError): the key is read again.
 */
async function readThrough(ctx: CommandContext, source: ReadThroughSource, key: Buffer): Promise<Siblings> {
  const found = await source.fetch(key);
  if (found === undefined) return [];
  const coordinator = ctx.server.coordinator;
  try {
    return (await coordinator.put(key, importMutation(found), { w: 1, strict: ctx.session.strict })).stored;
  } catch (err) {
    if (err instanceof KeyPresentError) return coordinator.get(key, readQuorum(ctx), ctx.session.strict);
    throw err;
  }
}

/**
 * With --read-through, the read a write needs first when its handler has not
 * read the key: an operation (SADD, LPUSH, INCR…) acts on the value the old
 * Redis holds, so that value is imported before it. A whole value written
 * without a read (SET, MSET, RENAME's destination) replaces whatever the old
 * Redis held, and a write with a context was read by its handler: neither
 * needs one. Undefined when no read is needed.
 */
function readBeforeWrite(ctx: CommandContext, key: Buffer, mutation: Mutation, context: VClock | undefined): Promise<unknown> | undefined {
  if (ctx.server.readThrough === undefined || context !== undefined || mutation.kind === 'value' || readThroughChecked.has(key)) return undefined;
  const versions = versionsOf(ctx, key);
  return versions instanceof Promise ? versions : undefined;
}

/** True when TYPE calls the value a string (a string, or a counter): what string commands act on. */
export function isString(current: TypedValue): boolean {
  return current.type === undefined || redisTypeOf(current.type) === 'string';
}

/** The string a string command acts on (a counter's digits); WRONGTYPE for a value of another type. */
export function stringOf(current: TypedValue): Buffer {
  if (current.type === undefined) return current.value;
  const entry = typeEntry(current.type);
  if (entry.redisType !== 'string' || entry.stringForm === undefined) throw new CommandError(wrongTypeError);
  return entry.stringForm(entry.convergent.decode(current.value));
}

/** The string of a value that may be absent; WRONGTYPE for another type. */
export function stringOrUndefined(current: TypedValue | undefined): Buffer | undefined {
  return current === undefined ? undefined : stringOf(current);
}

/**
 * The same value again, with another expiry (EXPIRE, PERSIST, GETEX): a
 * convergent value keeps its type and merged state, so increments made
 * concurrently elsewhere still merge with it.
 */
export function rewriteMutation(current: TypedValue, expiresAt: number | undefined): Mutation {
  const value = valueMutation(current.value, expiresAt);
  return current.type === undefined ? value : { ...value, type: current.type } as Mutation;
}

/**
 * The value written under another key (RENAME, COPY): a counter moves as its
 * string (its next INCR starts a counter from it there); another convergent
 * type keeps its state, whose tags are unique whatever key holds them.
 */
export function copyMutation(current: TypedValue, expiresAt: number | undefined): Mutation {
  if (current.type !== undefined && isString(current)) return valueMutation(stringOf(current), expiresAt);
  return rewriteMutation(current, expiresAt);
}

export function writeKey(ctx: CommandContext, key: Buffer, mutation: Mutation, context?: VClock): Promise<PutResult> {
  const read = readBeforeWrite(ctx, key, mutation, context);
  if (read !== undefined) return read.then(() => writeWithoutReadThrough(ctx, key, mutation, context));
  return writeWithoutReadThrough(ctx, key, mutation, context);
}

/**
 * A write made as it is, never read through first: IMPORT's (a value copied
 * from the old Redis already), and writeKey's once it has read.
 */
export function writeWithoutReadThrough(ctx: CommandContext, key: Buffer, mutation: Mutation, context?: VClock): Promise<PutResult> {
  const strict = ctx.session.strict;
  const options = context === undefined ? { w: writeQuorum(ctx), strict } : { w: writeQuorum(ctx), context, strict };
  return ctx.server.coordinator.put(key, mutation, options);
}

/**
 * As writeKey (reading through first where writeKey would), for a command
 * whose reply does not depend on what the write made (SET's +OK): see
 * Coordinator.putAcknowledged.
 */
export function writeKeyAcknowledged(ctx: CommandContext, key: Buffer, mutation: Mutation, context?: VClock): Promise<unknown> {
  const read = readBeforeWrite(ctx, key, mutation, context);
  if (read !== undefined) return read.then(() => writeWithoutReadThrough(ctx, key, mutation, context));
  const strict = ctx.session.strict;
  const options = context === undefined ? { w: writeQuorum(ctx), strict } : { w: writeQuorum(ctx), context, strict };
  return ctx.server.coordinator.putAcknowledged(key, mutation, options);
}

/** A value version keeping `expiresAt` only when set. */
export function valueMutation(value: Buffer, expiresAt: number | undefined): Mutation {
  return expiresAt === undefined ? { kind: 'value', value } : { kind: 'value', value, expiresAt };
}

export const deleteMutation: Mutation = { kind: 'delete' };
