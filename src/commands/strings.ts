// String commands. Plain writes (SET, MSET) go straight to the coordinator;
// commands that depend on the current value (NX/XX/GET, APPEND, SETRANGE…)
// read at R, then write with the context of what they read, so they
// supersede exactly that. Across clients they are not atomic: two APPENDs
// racing through different nodes can become siblings, never a silent loss.

import { forEachKey } from './multi-key.js';
import { OK, type Reply } from '../resp/reply.js';
import { integerArg, syntaxError, upper } from './args.js';
import { isExpireOption, optionExpiry, type ExpireOption } from './expiry.js';
import { deleteMutation, isString, readKey, readValue, rewriteMutation, stringOf, stringOrUndefined, valueMutation, writeKey, writeKeyAcknowledged, type TypedValue } from './data.js';
import { decodeContext } from '../clock/context.js';
import { CommandError, type CommandContext } from './types.js';
import type { VClock } from '../clock/types.js';

interface SetOptions {
  condition?: 'NX' | 'XX';
  get: boolean;
  keepTtl: boolean;
  expiresAt?: number;
  context?: VClock;
}

/**
 * SET's options as Redis parses them (t_string.c
 * parseExtendedStringArgumentsOrReply): a repeated NX, XX, GET, KEEPTTL or
 * expiry is allowed (the last expiry wins), NX with XX and two kinds of expiry
 * (or one with KEEPTTL) are a syntax error; the whole line is checked before
 * the expiry's amount, so `SET k v EX abc NX XX` is a syntax error.
 */
function parseSetOptions(ctx: CommandContext, key: Buffer, args: Buffer[], from: number): SetOptions {
  const options: SetOptions = { get: false, keepTtl: false };
  let expiry: { option: ExpireOption; amount: Buffer } | undefined;
  let context: Buffer | undefined;
  for (let i = from; i < args.length; i++) {
    const option = upper(args[i]!);
    const hasNext = i + 1 < args.length;
    if (option === 'NX' && options.condition !== 'XX') options.condition = 'NX';
    else if (option === 'XX' && options.condition !== 'NX') options.condition = 'XX';
    else if (option === 'GET') options.get = true;
    else if (option === 'KEEPTTL' && expiry === undefined) options.keepTtl = true;
    else if (isExpireOption(option) && !options.keepTtl && (expiry === undefined || expiry.option === option) && hasNext) {
      expiry = { option, amount: args[++i]! };
    } else if (option === 'VCLOCK' && context === undefined && hasNext) {
      context = args[++i]!;
    } else throw new CommandError(syntaxError);
  }
  if (expiry !== undefined) options.expiresAt = optionExpiry(expiry.option, expiry.amount, ctx.server.coordinator.now(), 'set');
  if (context !== undefined) options.context = decodeContext(key, context.toString('latin1'));
  return options;
}

function ok(): Reply {
  return OK;
}

function set(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  // Plain SET is the hot path: no read, one promise.
  if (args.length === 3) return writeKeyAcknowledged(ctx, args[1]!, valueMutation(args[2]!, undefined)).then(ok);
  return setWithOptions(ctx, args);
}

async function setWithOptions(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const value = args[2]!;
  const options = parseSetOptions(ctx, key, args, 3);
  if (options.condition === undefined && !options.get && !options.keepTtl) {
    await writeKeyAcknowledged(ctx, key, valueMutation(value, options.expiresAt), options.context);
    return OK;
  }
  const state = await readKey(ctx, key);
  const exists = state.current !== undefined;
  // SET … GET of a value of another type is WRONGTYPE, and nothing is written.
  const previous = options.get ? stringOrUndefined(state.current) ?? null : OK;
  if ((options.condition === 'NX' && exists) || (options.condition === 'XX' && !exists)) {
    return options.get ? previous : null;
  }
  const expiresAt = options.keepTtl ? state.current?.expiresAt : options.expiresAt;
  await writeKey(ctx, key, valueMutation(value, expiresAt), options.context ?? state.context);
  return previous;
}

function setConcurrently(args: Buffer[]): boolean {
  // Plain SET and SET with only an expiry or a context need no read.
  for (let i = 3; i < args.length; i++) {
    const option = upper(args[i]!);
    if (option === 'NX' || option === 'XX' || option === 'GET' || option === 'KEEPTTL') return false;
  }
  return true;
}

function valueOf(current: TypedValue | undefined): Reply {
  return current === undefined ? null : stringOf(current);
}

function get(ctx: CommandContext, args: Buffer[]): Reply | Promise<Reply> {
  const current = readValue(ctx, args[1]!);
  return current instanceof Promise ? current.then(valueOf) : valueOf(current);
}

async function setnx(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const state = await readKey(ctx, key);
  if (state.current !== undefined) return 0;
  await writeKey(ctx, key, valueMutation(args[2]!, undefined), state.context);
  return 1;
}

function setWithExpiry(option: 'EX' | 'PX', command: string) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    const expiresAt = optionExpiry(option, args[2]!, ctx.server.coordinator.now(), command);
    await writeKey(ctx, args[1]!, valueMutation(args[3]!, expiresAt));
    return OK;
  };
}

async function getset(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const state = await readKey(ctx, key);
  const previous = stringOrUndefined(state.current) ?? null;
  await writeKey(ctx, key, valueMutation(args[2]!, undefined), state.context);
  return previous;
}

async function getdel(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const state = await readKey(ctx, key);
  if (state.current === undefined) return null;
  const previous = stringOf(state.current);
  await writeKey(ctx, key, deleteMutation, state.context);
  return previous;
}

/** GETEX's options (parseExtendedStringArgumentsOrReply for GET): one kind of expiry, repeatable, or PERSIST. */
function parseGetexOptions(args: Buffer[]): { expiry?: { option: ExpireOption; amount: Buffer }; persist: boolean } {
  let expiry: { option: ExpireOption; amount: Buffer } | undefined;
  let persist = false;
  for (let i = 2; i < args.length; i++) {
    const option = upper(args[i]!);
    if (option === 'PERSIST' && expiry === undefined) persist = true;
    else if (isExpireOption(option) && !persist && (expiry === undefined || expiry.option === option) && i + 1 < args.length) {
      expiry = { option, amount: args[++i]! };
    } else throw new CommandError(syntaxError);
  }
  return expiry === undefined ? { persist } : { expiry, persist };
}

async function getex(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const { expiry, persist } = parseGetexOptions(args);
  const state = await readKey(ctx, key);
  const current = state.current;
  // As Redis: a missing key answers nil before the expiry's amount is judged.
  if (current === undefined) return null;
  const value = stringOf(current);
  const expiresAt = expiry === undefined ? undefined : optionExpiry(expiry.option, expiry.amount, ctx.server.coordinator.now(), 'getex');
  if (expiresAt !== undefined || (persist && current.expiresAt !== undefined)) {
    await writeKey(ctx, key, rewriteMutation(current, expiresAt), state.context);
  }
  return value;
}

async function mget(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const values = await forEachKey(args.length - 1, (i) => readValue(ctx, args[i + 1]!));
  // A key of another type answers nil, as in Redis.
  return values.map((v) => (v === undefined || !isString(v) ? null : stringOf(v)));
}

async function mset(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (args.length % 2 === 0) throw new CommandError("ERR wrong number of arguments for 'mset' command");
  await forEachKey((args.length - 1) / 2, (i) => writeKey(ctx, args[2 * i + 1]!, valueMutation(args[2 * i + 2]!, undefined)));
  return OK;
}

async function strlen(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const current = await readValue(ctx, args[1]!);
  return current === undefined ? 0 : stringOf(current).length;
}

async function append(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const state = await readKey(ctx, key);
  const current = state.current;
  const value = current === undefined ? Buffer.from(args[2]!) : Buffer.concat([stringOf(current), args[2]!]);
  checkSize(ctx, value.length);
  await writeKey(ctx, key, valueMutation(value, current?.expiresAt), state.context);
  return value.length;
}

function checkSize(ctx: CommandContext, bytes: number): void {
  if (bytes > ctx.server.config.protoMaxBulkLen) throw new CommandError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
}

/** Redis's GETRANGE index arithmetic: negatives count from the end, clamped. */
export function rangeOf(length: number, start: number, end: number): [number, number] | null {
  if (start < 0 && end < 0 && start > end) return null;
  if (start < 0) start = length + start;
  if (end < 0) end = length + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (length === 0 || start > end) return null;
  return [start, end + 1];
}

async function getrange(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const start = integerArg(args[2]!);
  const end = integerArg(args[3]!);
  const current = await readValue(ctx, args[1]!);
  if (current === undefined) return Buffer.alloc(0);
  const value = stringOf(current);
  const range = rangeOf(value.length, start, end);
  return range === null ? Buffer.alloc(0) : value.subarray(range[0], range[1]);
}

async function setrange(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const offset = integerArg(args[2]!);
  const patch = args[3]!;
  if (offset < 0) throw new CommandError('ERR offset is out of range');
  const state = await readKey(ctx, key);
  const current = state.current;
  const old = stringOrUndefined(current);
  if (patch.length === 0) return old === undefined ? 0 : old.length;
  checkSize(ctx, offset + patch.length);
  const length = Math.max(old?.length ?? 0, offset + patch.length);
  const value = Buffer.alloc(length);
  old?.copy(value);
  patch.copy(value, offset);
  await writeKey(ctx, key, valueMutation(value, current?.expiresAt), state.context);
  return length;
}

export const stringCommands = {
  get,
  set,
  setConcurrently,
  setnx,
  setex: setWithExpiry('EX', 'setex'),
  psetex: setWithExpiry('PX', 'psetex'),
  getset,
  getdel,
  getex,
  mget,
  mset,
  strlen,
  append,
  getrange,
  setrange,
};
