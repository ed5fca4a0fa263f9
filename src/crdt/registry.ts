// The convergent types a record's versions may hold, by the type name each
// version carries (clock/types.ts Sibling.type): how to merge and encode a
// state, what TYPE and OBJECT ENCODING answer for it, and how a coordinator
// applies an operation to it. Strings are no entry: a version without a type
// is a string, as every record written before types existed is.
//
// Types register themselves when their module loads (crdt/types.ts imports
// every one), so the record layer, the coordinator and the commands look a
// type up here and never name it.

import { TypeOperationError, type OperandView, type Operated, type Writer } from './operation.js';
import type { Convergent, TypeName } from './kind.js';

/** What TYPE answers (Redis's names): a counter is a string, as INCR's keys are in Redis. */
export type RedisTypeName = 'string' | 'hash' | 'set' | 'zset' | 'list';

export interface RegisteredType<S = unknown> {
  readonly convergent: Convergent<S>;
  readonly redisType: RedisTypeName;
  /** OBJECT ENCODING for a state: Redis's name for how Redis would hold that value. */
  objectEncoding(state: S): string;
  /** For a type TYPE calls a string (a counter): the string GET shows and string commands act on. */
  stringForm?(state: S): Buffer;
  /**
   * For a collection: true when the state holds nothing. Redis has no empty
   * collections, so such a value reads as no key (crdt/view.ts), yet its
   * version stays: its causal context is what removes, on merge, the
   * members it removed from concurrent versions.
   */
  isEmpty?(state: S): boolean;
  /**
   * The state after an operation (its bytes as the command encoded them) on
   * the key's view, as `writer`'s new version, and the operation's outcome
   * when its reply needs more than the new state (SADD's count of members
   * added, SPOP's members). Throws TypeOperationError when Redis would
   * refuse (WRONGTYPE among them). `decoded`, when the command that encoded
   * `operation` passes it on (versioning.ts Mutation), is that operation as
   * the type decodes it, so a local write does not decode its own bytes.
   */
  apply(view: OperandView | undefined, operation: Buffer, writer: Writer, decoded?: unknown): Operated<S>;
}

const registered = new Map<TypeName, RegisteredType>();

/** Registers a type under its convergent's name; returns what unregisters it (for tests that add a type of their own). */
export function registerType<S>(entry: RegisteredType<S>): () => void {
  const name = entry.convergent.type;
  if (name === 'string') throw new Error('strings are the untyped versions: no registry entry');
  if (registered.has(name)) throw new Error(`type ${name} is registered twice`);
  registered.set(name, entry as RegisteredType);
  return () => {
    if (registered.get(name) === entry) registered.delete(name);
  };
}

/** The entry of a stored version's type; a version of a type this node does not know is refused as WRONGTYPE. */
export function typeEntry(name: TypeName): RegisteredType {
  const entry = registered.get(name);
  if (entry === undefined) throw new TypeOperationError('WRONGTYPE', `no type ${name} on this node`);
  return entry;
}

export function isRegistered(name: TypeName): boolean {
  return registered.has(name);
}

/** TYPE's answer for a version's type (undefined = string). */
export function redisTypeOf(name: TypeName | undefined): RedisTypeName {
  if (name === undefined || name === 'string') return 'string';
  return registered.get(name)?.redisType ?? (name as RedisTypeName);
}
