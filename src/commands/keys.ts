// Keyspace commands. DEL writes a tombstone (so a replica that missed the
// delete cannot bring the value back); expiry changes are versioned writes
// like any other; KEYS, SCAN and DBSIZE walk the whole cluster's keyspace.

import { forEachKey } from './multi-key.js';
import { OK, SimpleReply, type Reply } from '../resp/reply.js';
import { randomBytes } from 'node:crypto';
import { integerArg, longLongArg, syntaxError, upper } from './args.js';
import { commandExpiry, msReply, secondsReply } from './expiry.js';
import { deleteMutation, readKey, readValue, rewriteMutation, writeKey, writeQuorum } from './data.js';
import { redisTypeOf } from '../crdt/registry.js';
import { globMatch } from './glob.js';
import { CommandError, type CommandContext } from './types.js';

/**
 * Reads the key at R, then writes a tombstone with that context, so the
 * delete covers every version a quorum holds (not only the coordinator's),
 * and the count is Redis's: keys that existed.
 */
async function deleteKey(ctx: CommandContext, key: Buffer): Promise<boolean> {
  const state = await readKey(ctx, key);
  if (state.versions.length === 0) return false;
  await writeKey(ctx, key, deleteMutation, state.context);
  return state.current !== undefined;
}

async function del(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  // A key named twice is deleted once and counted once, as Redis's second lookup finds it gone.
  const unique = [...new Map(args.slice(1).map((k) => [k.toString('latin1'), k])).values()];
  const existed = await forEachKey(unique.length, (i) => deleteKey(ctx, unique[i]!));
  return existed.filter(Boolean).length;
}

async function exists(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const values = await forEachKey(args.length - 1, (i) => readValue(ctx, args[i + 1]!));
  return values.filter((v) => v !== undefined).length;
}

interface ExpireFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
}

/**
 * EXPIRE's NX|XX|GT|LT as Redis parses them (expire.c
 * parseExtendedExpireArgumentsOrReply): every option is read first (an
 * unknown one is refused as met), then only NX with any other, and GT with
 * LT, conflict — `XX LT` and `XX GT` are both checked, repeats are fine.
 */
export function expireFlags(args: Buffer[], from: number): ExpireFlags {
  const flags: ExpireFlags = { nx: false, xx: false, gt: false, lt: false };
  for (let i = from; i < args.length; i++) {
    const option = upper(args[i]!);
    if (option === 'NX') flags.nx = true;
    else if (option === 'XX') flags.xx = true;
    else if (option === 'GT') flags.gt = true;
    else if (option === 'LT') flags.lt = true;
    else throw new CommandError(`ERR Unsupported option ${args[i]!.toString('utf8')}`);
  }
  if (flags.nx && (flags.xx || flags.gt || flags.lt)) throw new CommandError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (flags.gt && flags.lt) throw new CommandError('ERR GT and LT options at the same time are not compatible');
  return flags;
}

/** Whether the flags let a key whose expiry is `ttl` (undefined: none) take the expiry `at`, in Redis's order of checks. */
function expireAllowed(flags: ExpireFlags, ttl: number | undefined, at: number): boolean {
  if (flags.nx && ttl !== undefined) return false;
  if (flags.xx && ttl === undefined) return false;
  // No expiry counts as an infinite one: GT never beats it, LT always does.
  if (flags.gt && (ttl === undefined || at <= ttl)) return false;
  if (flags.lt && ttl !== undefined && at >= ttl) return false;
  return true;
}

/** EXPIRE and friends: `unitMs` scales the amount, `absolute` makes it a timestamp. */
function expire(unitMs: 1 | 1000, absolute: boolean, command: string) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    const key = args[1]!;
    const flags = expireFlags(args, 3);
    const at = commandExpiry(args[2]!, unitMs, absolute, ctx.server.coordinator.now(), command);
    const state = await readKey(ctx, key);
    const current = state.current;
    if (current === undefined) return 0;
    if (!expireAllowed(flags, current.expiresAt, at)) return 0;
    if (at <= state.now) await writeKey(ctx, key, deleteMutation, state.context);
    else await writeKey(ctx, key, rewriteMutation(current, at), state.context);
    return 1;
  };
}

function ttl(unitMs: number) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    const current = await readValue(ctx, args[1]!);
    if (current === undefined) return -2;
    if (current.expiresAt === undefined) return -1;
    const remaining = Math.max(0, current.expiresAt - ctx.server.coordinator.now());
    return unitMs === 1 ? msReply(remaining) : secondsReply(remaining);
  };
}

/** EXPIRETIME and PEXPIRETIME: the absolute expiry, -1 without one, -2 for a missing key. */
function expiretime(unitMs: number) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    const current = await readValue(ctx, args[1]!);
    if (current === undefined) return -2;
    if (current.expiresAt === undefined) return -1;
    return unitMs === 1 ? msReply(current.expiresAt) : secondsReply(current.expiresAt);
  };
}

async function persist(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const state = await readKey(ctx, key);
  const current = state.current;
  if (current === undefined || current.expiresAt === undefined) return 0;
  await writeKey(ctx, key, rewriteMutation(current, undefined), state.context);
  return 1;
}

const typeReplies = new Map(['none', 'string', 'hash', 'set', 'zset', 'list'].map((name) => [name, new SimpleReply(name)]));

/** TYPE: Redis's name for the winner's type (a counter is a string, as INCR's keys are in Redis). */
async function type(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const current = await readValue(ctx, args[1]!);
  return typeReplies.get(current === undefined ? 'none' : redisTypeOf(current.type))!;
}

/**
 * RANDOMKEY: the first live key at or after a random ring position (wrapping
 * once), found with the cluster-wide SCAN. Keys after a wide gap between
 * tokens come up more often than others — Redis's pick is not uniform
 * either — and an empty keyspace answers nil after one full turn.
 */
async function randomkey(ctx: CommandContext): Promise<Reply> {
  const start = randomBytes(8).readBigUInt64BE();
  const coordinator = ctx.server.coordinator;
  let cursor = start;
  let wrapped = false;
  for (;;) {
    const page = await coordinator.scan(cursor, randomKeyPageKeys);
    if (page.keys.length > 0) return page.keys[0]!;
    if (page.cursor === 0n) {
      if (wrapped || start === 0n) return null;
      wrapped = true;
    } else if (wrapped && page.cursor > start) return null;
    cursor = page.cursor;
  }
}

/**
 * WAIT: in ringkv every write this connection made was acknowledged by W
 * replicas before its reply, so W−1 copies besides the coordinator's exist
 * already; WAIT answers that at once and never blocks (a later replica's
 * copy is not tracked). With W=1, as for a Redis without replicas, 0.
 */
function wait(ctx: CommandContext, args: Buffer[]): Reply {
  longLongArg(args[1]!);
  const timeout = longLongArg(args[2]!, 'ERR timeout is not an integer or out of range');
  if (timeout < 0n) throw new CommandError('ERR timeout is negative');
  return writeQuorum(ctx) - 1;
}

async function keys(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const pattern = args[1]!;
  const matchAll = pattern.length === 1 && pattern[0] === 0x2a;
  const found: Buffer[] = [];
  for await (const page of ctx.server.coordinator.allKeys()) {
    for (const key of page) if (matchAll || globMatch(pattern, key)) found.push(key);
  }
  return found;
}

/** SCAN COUNT is a hint; larger values are clamped to bound one reply. */
const scanCountMax = 10_000;
/** Keys RANDOMKEY asks of each member per step: a few, so a sparse stretch of the ring costs few round trips. */
const randomKeyPageKeys = 16;
const cursorPattern = /^(0|[1-9][0-9]{0,19})$/;

async function scan(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const cursorText = args[1]!.toString('latin1');
  if (!cursorPattern.test(cursorText) || BigInt(cursorText) >= 1n << 64n) throw new CommandError('ERR invalid cursor');
  let count = 10;
  let pattern: Buffer | undefined;
  let typeFilter: string | undefined;
  for (let i = 2; i < args.length; i += 2) {
    const option = upper(args[i]!);
    const value = args[i + 1];
    if (value === undefined) throw new CommandError(syntaxError);
    if (option === 'COUNT') {
      count = integerArg(value);
      if (count < 1) throw new CommandError(syntaxError);
    } else if (option === 'MATCH') pattern = value;
    else if (option === 'TYPE') typeFilter = value.toString('latin1').toLowerCase();
    else throw new CommandError(syntaxError);
  }
  const page = await ctx.server.coordinator.scan(BigInt(cursorText), Math.min(count, scanCountMax));
  let found = page.keys;
  if (pattern !== undefined) found = found.filter((k) => globMatch(pattern, k));
  // As Redis: TYPE names a type as TYPE answers it (a counter is a string); an unknown name matches nothing.
  if (typeFilter !== undefined) found = found.filter((k) => redisTypeOf(page.types.get(k)) === typeFilter);
  return [page.cursor.toString(), found];
}

async function dbsize(ctx: CommandContext): Promise<Reply> {
  return ctx.server.coordinator.dbsize();
}

async function flushall(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (args.length > 2) throw new CommandError(syntaxError);
  if (args.length === 2) {
    const mode = upper(args[1]!);
    if (mode !== 'ASYNC' && mode !== 'SYNC') throw new CommandError(syntaxError);
  }
  await ctx.server.coordinator.flushAll();
  return OK;
}

export const keyCommands = {
  del,
  exists,
  // TOUCH counts the keys that exist, as Redis does; there is no access time to update (OBJECT IDLETIME counts from the last write).
  touch: exists,
  randomkey,
  wait,
  expire: expire(1000, false, 'expire'),
  pexpire: expire(1, false, 'pexpire'),
  expireat: expire(1000, true, 'expireat'),
  pexpireat: expire(1, true, 'pexpireat'),
  ttl: ttl(1000),
  pttl: ttl(1),
  expiretime: expiretime(1000),
  pexpiretime: expiretime(1),
  persist,
  type,
  keys,
  scan,
  dbsize,
  flushall,
};
