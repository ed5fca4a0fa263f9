// Decoded collection states kept beside the versions they were decoded from,
// so an operation on a large collection does not decode the whole value
// first: a key's coordinator applies each SADD or LPUSH to the state the
// previous one left, which is then encoded once as the new version's value.
// Only the single-version case is served (the common one, a key written
// through its coordinators without conflict); a state is handed out once,
// for the operation to change in place, and remembered again under the
// version that operation made. Bounded by the encoded bytes of the states it
// holds; least recently used first out.

import type { Sibling } from '../clock/types.js';
import type { Convergent } from './kind.js';
import { chainOf, chainState, valueBytesOf } from './value-chain.js';

/**
 * Encoded bytes of the versions whose decoded states are kept. A decoded
 * state takes ~8-12× its encoded size in heap (measured: a 300k-member set,
 * 7.8 MB encoded, 65 MB decoded; a 300k-field hash, 9.3 MB and 108 MB plus
 * its value buffers), so 32 MiB of values is up to ~400 MB; past it
 * a collection is decoded per operation, as it would be without the cache.
 * One state may take the whole budget: a cap of a quarter made every HSET to
 * a 250k-field hash (8 MiB) decode the hash and replay its chain, ~0.5 s a
 * write, where kept it costs the field.
 */
export const decodedStatesBytesMax = 32 * 1024 * 1024;
/** A value smaller than this decodes in microseconds: not worth a slot. */
export const decodedStateBytesMin = 4 * 1024;

/**
 * States by version within a budget of their versions' encoded bytes (a
 * chained version's is counted as it was when kept: its size changes once
 * its value is encoded), oldest kept (or, for reads, used) first out.
 *
 * The most recent state sits in a slot before the map: a hot key's writes
 * each take the state the last one kept and keep the next, and through a
 * Map that is a delete and an insert per write, whose deleted entries make
 * the table be rebuilt every few writes (a Set's add and delete measured ~430
 * ns a pair here once it churned). Only a second key's state pushes the
 * slot's into the map.
 */
class StateShelf {
  private readonly kept = new Map<Sibling, Shelved>();
  private slotVersion: Sibling | undefined;
  private slot: Shelved | undefined;
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  /** The state kept for `version`, left kept. */
  get(version: Sibling): unknown {
    if (version === this.slotVersion) return this.slot!.state;
    return this.kept.get(version)?.state;
  }

  /** The state kept for `version`, no longer kept (the caller owns it). */
  take(version: Sibling): unknown {
    if (version === this.slotVersion) {
      const entry = this.slot!;
      this.slotVersion = undefined;
      this.slot = undefined;
      this.bytes -= entry.bytes;
      return entry.state;
    }
    const entry = this.kept.get(version);
    if (entry === undefined) return undefined;
    this.kept.delete(version);
    this.bytes -= entry.bytes;
    return entry.state;
  }

  /** The state kept for `version`, made the most recent (last out). */
  use(version: Sibling): unknown {
    if (version === this.slotVersion) return this.slot!.state;
    const entry = this.kept.get(version);
    if (entry === undefined) return undefined;
    this.kept.delete(version);
    this.toSlot(version, entry);
    return entry.state;
  }

  keep(version: Sibling, state: unknown): void {
    const size = valueBytesOf(version);
    if (size < decodedStateBytesMin || size > this.bytesMax || version === this.slotVersion || this.kept.has(version)) return;
    this.toSlot(version, { state, bytes: size });
    this.bytes += size;
    for (const [old, entry] of this.kept) {
      if (this.bytes <= this.bytesMax) break;
      this.kept.delete(old);
      this.bytes -= entry.bytes;
    }
  }

  usage(): { states: number; bytes: number } {
    return { states: this.kept.size + (this.slot === undefined ? 0 : 1), bytes: this.bytes };
  }

  /** Puts `entry` in the slot; the slot's own moves to the map's newest end. */
  private toSlot(version: Sibling, entry: Shelved): void {
    if (this.slotVersion !== undefined) this.kept.set(this.slotVersion, this.slot!);
    this.slotVersion = version;
    this.slot = entry;
  }
}

interface Shelved {
  readonly state: unknown;
  readonly bytes: number;
}

/** The states operations change in place. */
const operationStates = new StateShelf(decodedStatesBytesMax);

/** `version`'s state decoded afresh: a chained version's is its chain replayed (encoding its value first would only be decoded again). */
function decoded<S>(version: Sibling, convergent: Convergent<S>): S {
  const link = chainOf(version);
  return link === undefined ? convergent.decode(version.value) : (chainState(link) as S);
}

/**
 * The state `version` holds, for an operation to change in place: the kept
 * one if there is one (it is no longer kept: the caller owns it), else
 * decoded afresh.
 */
export function takeState<S>(version: Sibling, convergent: Convergent<S>): S {
  return (operationStates.take(version) as S | undefined) ?? decoded(version, convergent);
}

/** The state kept for `version`, handed over as takeState does; undefined when none is kept (nothing is decoded). */
export function takeKeptState<S>(version: Sibling): S | undefined {
  return operationStates.take(version) as S | undefined;
}

/**
 * The state an operation left for `version`, lent to a read that finishes
 * with it in the same synchronous step (crdt/view.ts withStateOf): the next
 * operation on the key changes it in place, so a caller that holds it past an
 * await, or changes it, breaks every later write. Undefined when none is
 * kept. Without it a read right after a write decoded the collection whole
 * (a 100k-field hash: ~160 ms an HSET-then-HGET pair, against 0.5 ms for
 * each alone).
 */
export function lendState<S>(version: Sibling): S | undefined {
  return operationStates.get(version) as S | undefined;
}

/** Keeps `state` as the decoded form of `version` (whose value is its encoding); nobody may change it after. */
export function keepState(version: Sibling, state: unknown): void {
  operationStates.keep(version, state);
}

/** What is kept now, for INFO and tests. */
export function keptStates(): { states: number; bytes: number } {
  return operationStates.usage();
}

/**
 * Decoded states for reads (HGET, SISMEMBER, LRANGE, ZSCORE…), kept per
 * version apart from the states above: those are handed to an operation to
 * change in place, these are never changed by anyone, so a read may hold one
 * across awaits (SINTER reads its sets one after another) while writes go on.
 * A read-heavy key decodes once per version instead of once per read: an
 * HGET of a 10,000-field hash decoded the whole hash every time. Bounded as
 * the states above are; least recently used first out.
 */
export const readStatesBytesMax = 32 * 1024 * 1024;

const readStates = new StateShelf(readStatesBytesMax);

/** The state `version` holds, for reading only: callers must not change it. */
export function readState<S>(version: Sibling, convergent: Convergent<S>): S {
  const kept = readStates.use(version) as S | undefined;
  if (kept !== undefined) return kept;
  const state = decoded(version, convergent);
  readStates.keep(version, state);
  return state;
}

/** What the read cache holds now, for tests. */
export function readStatesKept(): { states: number; bytes: number } {
  return readStates.usage();
}
