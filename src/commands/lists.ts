// List commands (crdt/list.ts, crdt/list-operation.ts). Writes are operations
// applied by the key's coordinator to the record it holds, in one step, as
// INCR is (counters.ts); their replies are the outcome the operation gave
// there. Reads are the merge of every live list version of the key, so
// pushes made on both sides of a partition all show, in one order every
// replica agrees on. Arguments are judged in Redis's order (t_list.c).
//
// LMOVE and RPOPLPUSH with two keys are two operations on two coordinators:
// the pop, then the push of what it popped. They are not atomic: a reader
// between the two sees the element in neither list, and if the push fails
// (no write quorum) the element is pushed back where it came from and the
// push's error answered; if that fails too, the element is lost and the error
// says so. With one key (a rotation) it is one operation.

import type { Reply } from '../resp/reply.js';
import { NULL_ARRAY, OK } from '../resp/reply.js';
import { integerArg, parseInteger, syntaxError, upper } from './args.js';
import { readValue, withCollection, writeKey, wrongTypeError } from './data.js';
import { at, length, listType, slice, values, type ListState } from '../crdt/list.js';
import { decodeListOutcome, encodeListOperation, type ListEnd, type ListOperation, type ListOutcome } from '../crdt/list-operation.js';
import { CommandError, type CommandContext } from './types.js';

function operate(ctx: CommandContext, key: Buffer, op: ListOperation): Promise<ListOutcome> {
  return writeKey(ctx, key, { kind: 'operate', type: 'list', operation: encodeListOperation(op) }).then((result) => {
    if (result.outcome === undefined) throw new Error('a list operation answered no outcome');
    return decodeListOutcome(result.outcome);
  });
}

function integerOf(outcome: ListOutcome): number {
  if (outcome.kind !== 'integer') throw new Error('a list operation answered elements where an integer was due');
  return outcome.value;
}

function elementsOf(outcome: ListOutcome): readonly Buffer[] | undefined {
  if (outcome.kind !== 'elements') throw new Error('a list operation answered an integer where elements were due');
  return outcome.values;
}

/** `look` on the key's list (undefined for no key), lent the state its last write left (data.ts withCollection). */
function readNow<T>(ctx: CommandContext, key: Buffer, look: (state: ListState | undefined) => T): Promise<T> {
  return withCollection(ctx, key, listType, look);
}

/** Whether the key holds a list (WRONGTYPE for another type), without decoding one its last write left. */
function exists(ctx: CommandContext, key: Buffer): Promise<boolean> {
  return readNow(ctx, key, (state) => state !== undefined);
}

function pusher(end: ListEnd, onlyIfExists: boolean) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> =>
    integerOf(await operate(ctx, args[1]!, { kind: 'push', end, values: args.slice(2), onlyIfExists }));
}

function popper(end: ListEnd) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    if (args.length > 3) throw new CommandError(syntaxError);
    let count = 1;
    if (args.length === 3) {
      // getPositiveLongFromObjectOrReply: one message for malformed and negative.
      const parsed = parseInteger(args[2]!);
      if (parsed === null || parsed < 0) throw new CommandError('ERR value is out of range, must be positive');
      count = parsed;
    }
    const popped = elementsOf(await operate(ctx, args[1]!, { kind: 'pop', end, count }));
    if (args.length === 2) return popped === undefined || popped.length === 0 ? null : popped[0]!;
    // With a count: a missing key is a null array, as Redis 7.
    return popped === undefined ? NULL_ARRAY : [...popped];
  };
}

function llen(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return readNow(ctx, args[1]!, (state) => (state === undefined ? 0 : length(state)));
}

function lindex(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  // As Redis: the key before the index.
  return readNow(ctx, args[1]!, (state) => {
    if (state === undefined) return null;
    const index = integerArg(args[2]!);
    const i = index < 0 ? length(state) + index : index;
    return i < 0 ? null : at(state, i) ?? null;
  });
}

function lrange(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const start = integerArg(args[2]!);
  const stop = integerArg(args[3]!);
  return readNow(ctx, args[1]!, (state) => (state === undefined ? [] : range(state, start, stop)));
}

/** LRANGE's elements of `state` from start to stop, both inclusive and negative from the end, as Redis clamps them. */
function range(state: ListState, start: number, stop: number): Reply {
  const n = length(state);
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return [];
  if (stop >= n) stop = n - 1;
  return slice(state, start, stop + 1);
}

async function lset(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  await operate(ctx, args[1]!, { kind: 'set', index: args[2]!, value: args[3]! });
  return OK;
}

async function lrem(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const count = integerArg(args[2]!);
  return integerOf(await operate(ctx, args[1]!, { kind: 'remove', count, element: args[3]! }));
}

async function ltrim(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const start = integerArg(args[2]!);
  const stop = integerArg(args[3]!);
  // A missing key: nothing to trim, and no write (Redis answers OK). Lent, not decoded: LPUSH then LTRIM caps a list.
  if (!(await exists(ctx, args[1]!))) return OK;
  await operate(ctx, args[1]!, { kind: 'trim', start, stop });
  return OK;
}

async function linsert(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const where = upper(args[2]!);
  if (where !== 'BEFORE' && where !== 'AFTER') throw new CommandError(syntaxError);
  return integerOf(await operate(ctx, args[1]!, { kind: 'insert', after: where === 'AFTER', pivot: args[3]!, element: args[4]! }));
}

/** LPOS with RANK, COUNT and MAXLEN, as lposCommand judges them. */
async function lpos(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  let rank = 1;
  let count: number | undefined;
  let maxlen = 0;
  for (let i = 3; i < args.length; i++) {
    const option = upper(args[i]!);
    const more = i + 1 < args.length;
    if (option === 'RANK' && more) {
      rank = integerArg(args[++i]!);
      if (rank === 0) throw new CommandError('ERR RANK can\'t be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list');
    } else if (option === 'COUNT' && more) {
      count = integerArg(args[++i]!);
      if (count < 0) throw new CommandError('ERR COUNT can\'t be negative');
    } else if (option === 'MAXLEN' && more) {
      maxlen = integerArg(args[++i]!);
      if (maxlen < 0) throw new CommandError('ERR MAXLEN can\'t be negative');
    } else throw new CommandError(syntaxError);
  }
  return readNow(ctx, args[1]!, (state) => {
    if (state === undefined) return count === undefined ? null : [];
    const all = values(state);
    const wanted = count === undefined ? 1 : count === 0 ? Infinity : count;
    const found: number[] = [];
    let skip = Math.abs(rank) - 1;
    const scan = maxlen === 0 ? all.length : Math.min(maxlen, all.length);
    for (let k = 0; k < scan && found.length < wanted; k++) {
      const i = rank > 0 ? k : all.length - 1 - k;
      if (!all[i]!.equals(args[2]!)) continue;
      if (skip > 0) skip--;
      else found.push(i);
    }
    if (count === undefined) return found.length === 0 ? null : found[0]!;
    return found;
  });
}

function endOf(arg: Buffer): ListEnd {
  const word = upper(arg);
  if (word === 'LEFT') return 'head';
  if (word === 'RIGHT') return 'tail';
  throw new CommandError(syntaxError);
}

/** LMOVE/RPOPLPUSH: see the module comment for what two keys guarantee. */
async function move(ctx: CommandContext, source: Buffer, destination: Buffer, from: ListEnd, to: ListEnd): Promise<Reply> {
  if (source.equals(destination)) {
    const moved = elementsOf(await operate(ctx, source, { kind: 'rotate', from, to }));
    return moved === undefined || moved.length === 0 ? null : moved[0]!;
  }
  // As Redis: a missing source answers nil whatever the destination holds; a destination of another type refuses the move before the pop.
  if (!(await exists(ctx, source))) return null;
  const target = await Promise.resolve(readValue(ctx, destination));
  if (target !== undefined && target.type !== 'list') throw new CommandError(wrongTypeError);
  const popped = elementsOf(await operate(ctx, source, { kind: 'pop', end: from, count: 1 }));
  if (popped === undefined || popped.length === 0) return null;
  const element = popped[0]!;
  try {
    await operate(ctx, destination, { kind: 'push', end: to, values: [element], onlyIfExists: false });
  } catch (err) {
    try {
      await operate(ctx, source, { kind: 'push', end: from, values: [element], onlyIfExists: false });
    } catch {
      throw new CommandError(`ERR LMOVE popped an element from the source but could neither push it to the destination nor back (${(err as Error).message}): the element is lost`);
    }
    throw err;
  }
  return element;
}

function lmove(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const from = endOf(args[3]!);
  const to = endOf(args[4]!);
  return move(ctx, args[1]!, args[2]!, from, to);
}

function rpoplpush(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return move(ctx, args[1]!, args[2]!, 'tail', 'head');
}

/** Blocking forms refused: a coordinator cannot hold a client until another node's write arrives. */
function refuseBlocking(name: string) {
  return (): Reply => {
    throw new CommandError(`ERR ${name} is not supported by ringkv: blocking until another client writes would need a wait across the cluster's coordinators; poll with the non-blocking form instead`);
  };
}

export const listCommands = {
  lpush: pusher('head', false), rpush: pusher('tail', false), lpushx: pusher('head', true), rpushx: pusher('tail', true),
  lpop: popper('head'), rpop: popper('tail'), llen, lindex, lrange, lset, lrem, ltrim, linsert, lpos, lmove, rpoplpush,
  blpop: refuseBlocking('BLPOP'), brpop: refuseBlocking('BRPOP'), blmove: refuseBlocking('BLMOVE'),
  brpoplpush: refuseBlocking('BRPOPLPUSH'), blmpop: refuseBlocking('BLMPOP'),
};
