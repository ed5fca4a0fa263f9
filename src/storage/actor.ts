// A node's write actor: the identity under which it mints dots, and the
// counter behind them. Dots must never repeat (two different writes under
// one dot are indistinguishable, and one silently swallows the other), so:
//  - the counter is node-wide, not per key: it survives the collection of a
//    key's record, which is where a per-key counter restarts;
//  - it never goes back within a process, whatever happens to a LevelDB
//    batch after the dot was minted;
//  - across restarts it resumes above a ceiling persisted before any counter
//    below it is handed out (reserved in blocks, as TigerBeetle and
//    Riak's vnode counter leases do, so the disk is touched once per block);
//  - a node whose data dir is lost gets a new epoch, hence a new actor id,
//    even if it keeps its node id (Riak's vnode epochs): its old counters
//    live on in other replicas' clocks, and reusing them would collide.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { counterMax } from '../clock/vclock.js';

export const actorFileName = 'actor.json';
/**
 * Counters reserved per write of the actor file: at 100k writes a second the
 * file is written (with two fsyncs, a few ms) every 10 s; a restart skips at
 * most this many counters, which costs nothing.
 */
export const counterBlock = 1_000_000;
/** Random characters after the node id: 41 bits, so a rebuilt node never draws an old epoch. */
const epochChars = 8;
/** The epoch as open() draws it; a stored id of any other shape is corrupt (one too long could not even go into a clock). */
const epochPattern = new RegExp(`^[0-9a-z]{${epochChars}}$`);

export class ActorError extends Error {
  constructor(readonly code: 'ACTOR_CORRUPT' | 'ACTOR_EXHAUSTED', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ActorError';
  }
}

export interface Actor {
  /** The id written into dots and clocks: `<nodeId>#<epoch>`. */
  readonly id: string;
  /** A counter above every earlier one and above `atLeast`; throws ActorError past counterMax. */
  next(atLeast: number): number;
}

/** An actor whose counters live only in memory: for tests and the simulation. */
export class MemoryActor implements Actor {
  private counter = 0;
  constructor(readonly id: string) {}

  next(atLeast: number): number {
    const n = Math.max(this.counter, atLeast) + 1;
    if (n > counterMax) throw exhausted(this.id);
    this.counter = n;
    return n;
  }
}

/** The node's actor, with its counter ceiling kept in `<dataDir>/actor.json`. */
export class FileActor implements Actor {
  private counter: number;
  private ceiling: number;

  private constructor(readonly id: string, private readonly dir: string, counter: number) {
    this.counter = counter;
    this.ceiling = counter;
  }

  /** Opens (or creates, with a new epoch) the actor of `nodeId` in `dataDir`, reserving a first block. */
  static open(dataDir: string, nodeId: string): FileActor {
    mkdirSync(dataDir, { recursive: true });
    const stored = readStored(join(dataDir, actorFileName), nodeId);
    const id = stored?.id ?? `${nodeId}#${randomBytes(8).readBigUInt64BE().toString(36).slice(0, epochChars).padStart(epochChars, '0')}`;
    const actor = new FileActor(id, dataDir, stored?.ceiling ?? 0);
    actor.reserve(actor.counter);
    return actor;
  }

  next(atLeast: number): number {
    const n = Math.max(this.counter, atLeast) + 1;
    if (n > counterMax) throw exhausted(this.id);
    if (n > this.ceiling) this.reserve(n);
    this.counter = n;
    return n;
  }

  /** Persists a ceiling one block above `from` before any counter up to it is used. */
  private reserve(from: number): void {
    const ceiling = Math.min(from + counterBlock, counterMax);
    const path = join(this.dir, actorFileName);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${JSON.stringify({ id: this.id, ceiling })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.ceiling = ceiling;
  }
}

function readStored(path: string, nodeId: string): { id: string; ceiling: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw new ActorError('ACTOR_CORRUPT', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ActorError('ACTOR_CORRUPT', `${path} is not JSON`, { cause: err });
  }
  // null and other non-objects parse too: no field of theirs is read.
  const { id, ceiling } = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown; ceiling?: unknown }) : {};
  const ownId = typeof id === 'string' && id.startsWith(`${nodeId}#`) && epochPattern.test(id.slice(nodeId.length + 1));
  if (!ownId || typeof ceiling !== 'number' || !Number.isSafeInteger(ceiling) || ceiling < 0 || ceiling > counterMax) {
    throw new ActorError('ACTOR_CORRUPT', `${path} does not hold an actor of node ${nodeId}`);
  }
  return { id, ceiling };
}

function exhausted(id: string): ActorError {
  return new ActorError('ACTOR_EXHAUSTED', `actor ${id} has used every counter up to ${counterMax}`);
}
