// The set commands over the add-wins set (crdt/set.ts). Writes (SADD, SREM,
// SPOP, a STORE form's destination) are operations the key's coordinator
// applies to the record it holds, atomically per key (crdt/set-operations.ts),
// like INCR: concurrent adds on both sides of a partition all stay, and an
// add concurrent with a remove of the same member wins. Reads merge every
// live set version of the key (crdt/view.ts). Members are listed in byte
// order, the same on every replica, where Redis lists them in hash order.
//
// Across keys (SMOVE, SINTERSTORE…) nothing is atomic: each key is read or
// written on its own, as RENAME's two writes are.

import { readStateOf } from '../crdt/view.js';
import { randomInt } from 'node:crypto';
import { SetReply, type Reply } from '../resp/reply.js';
import { notInteger, parseLongLong, syntaxError, upper } from './args.js';
import { readValue, withCollection, writeKey, wrongTypeError } from './data.js';
import { globMatch } from './glob.js';
import { has, memberKeyAt, memberKeys, setType, size, type SetState } from '../crdt/set.js';
import { decodeCountOutcome, decodeMembersOutcome, emptySet, encodeSetOperation, type SetOperation } from '../crdt/set-operations.js';
import type { PutResult } from '../coordinator/coordinator.js';
import { CommandError, type CommandContext } from './types.js';

/** SRANDMEMBER with a negative count repeats members: more than this many in one reply is refused, so one command cannot build an unbounded reply. */
export const randomRepeatsMax = 1_000_000;
/** SSCAN / HSCAN: at most this many elements per call whatever COUNT asks, as SCAN bounds its pages. */
export const collectionScanCountMax = 10_000;

const cursorPattern = /^(0|[1-9][0-9]{0,19})$/;
const llongMax = (1n << 63n) - 1n;

function operate(ctx: CommandContext, key: Buffer, op: SetOperation): Promise<PutResult> {
  return writeKey(ctx, key, { kind: 'operate', type: 'set', operation: encodeSetOperation(op), decoded: op });
}

/** `read` on the set at `key` (empty for no key), lent the state its last write left (data.ts withCollection). */
function withSet<T>(ctx: CommandContext, key: Buffer, read: (state: SetState) => T): Promise<T> {
  return withCollection(ctx, key, setType, (state) => read(state ?? emptySet()));
}

/** The set at `key` as this read sees it: empty for no key, WRONGTYPE for another type. */
export async function readSet(ctx: CommandContext, key: Buffer): Promise<SetState> {
  const current = await readValue(ctx, key);
  if (current === undefined) return emptySet();
  if (current.type !== 'set') throw new CommandError(wrongTypeError);
  // Read only, never changed: a version's decoded state is kept for the next read (crdt/state-cache.ts readState).
  return readStateOf(current, setType);
}

function toBuffers(keys: readonly string[]): Buffer[] {
  return keys.map((k) => Buffer.from(k, 'latin1'));
}

/** The count an add or remove reports. SADD and SREM chain it with then(), not await: an async function's frame and promises were ~0.5 KB of garbage a write. */
function countReply(result: PutResult): Reply {
  return decodeCountOutcome(result.outcome);
}

function sadd(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return operate(ctx, args[1]!, { kind: 'add', members: args.slice(2) }).then(countReply);
}

function srem(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return operate(ctx, args[1]!, { kind: 'remove', members: args.slice(2) }).then(countReply);
}

function smembers(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withSet(ctx, args[1]!, (state) => new SetReply(toBuffers(memberKeys(state))));
}

function sismember(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withSet(ctx, args[1]!, (state) => (has(state, args[2]!) ? 1 : 0));
}

function smismember(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withSet(ctx, args[1]!, (state) => args.slice(2).map((m) => (has(state, m) ? 1 : 0)));
}

function scard(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withSet(ctx, args[1]!, size);
}

/** Redis's getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX) for SRANDMEMBER's count. */
function randomCount(arg: Buffer): number {
  const n = parseLongLong(arg);
  if (n === null) throw new CommandError(notInteger);
  if (n < -llongMax) throw new CommandError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  if (n < -BigInt(randomRepeatsMax)) throw new CommandError(`ERR count is out of range: ringkv repeats at most ${randomRepeatsMax} members`);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** `count` distinct keys at random (all when fewer), or with `repeat`, |count| draws with repetition. */
export function randomPicks(keys: readonly string[], count: number, repeat: boolean): string[] {
  if (keys.length === 0) return [];
  if (repeat) return Array.from({ length: count }, () => keys[randomInt(keys.length)]!);
  if (count >= keys.length) return keys.slice();
  const order = keys.slice();
  for (let i = 0; i < count; i++) {
    const j = i + randomInt(order.length - i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, count);
}

async function srandmember(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (args.length > 3) throw new CommandError(syntaxError);
  if (args.length === 2) {
    return withSet(ctx, args[1]!, (state) => (size(state) === 0 ? null : Buffer.from(memberKeyAt(state, randomInt(size(state))), 'latin1')));
  }
  const count = randomCount(args[2]!);
  return withSet(ctx, args[1]!, (state) => toBuffers(randomPicks(memberKeys(state), Math.abs(count), count < 0)));
}

/** Redis's getPositiveLongFromObjectOrReply for SPOP's count (a non-number is "out of range" too). */
function popCount(arg: Buffer): number {
  const n = parseLongLong(arg);
  if (n === null || n < 0n) throw new CommandError('ERR value is out of range, must be positive');
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

async function spop(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (args.length > 3) throw new CommandError(syntaxError);
  if (args.length === 2) {
    const popped = decodeMembersOutcome((await operate(ctx, args[1]!, { kind: 'pop', count: 1 })).outcome);
    return popped[0] ?? null;
  }
  const count = popCount(args[2]!);
  if (count === 0) {
    return withSet(ctx, args[1]!, () => new SetReply([])); // Redis checks the key's type even for nothing to pop
  }
  return new SetReply(decodeMembersOutcome((await operate(ctx, args[1]!, { kind: 'pop', count })).outcome));
}

/**
 * SMOVE: two writes, not atomic. The member is removed from the source
 * first (that write's outcome decides the reply: was it there?), then added
 * to the destination. Between the two a reader sees it in neither; if the
 * add fails, the error is returned and the member is in neither key. Run on
 * both sides of a partition, both may move the same member (each side's
 * source still held it), and it ends in both destinations.
 */
async function smove(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const [source, destination, member] = [args[1]!, args[2]!, args[3]!];
  const from = await readValue(ctx, source);
  if (from === undefined) return 0;
  const to = await readValue(ctx, destination);
  if (from.type !== 'set' || (to !== undefined && to.type !== 'set')) throw new CommandError(wrongTypeError);
  if (source.equals(destination)) return has(setType.decode(from.value), member) ? 1 : 0;
  const removed = decodeCountOutcome((await operate(ctx, source, { kind: 'remove', members: [member] })).outcome);
  if (removed === 0) return 0;
  await operate(ctx, destination, { kind: 'add', members: [member] });
  return 1;
}

type Combine = 'inter' | 'union' | 'diff';

/** Reads every key (Redis checks each key's type, missing ones included) and combines them; members in byte order. */
async function combine(ctx: CommandContext, keys: readonly Buffer[], how: Combine): Promise<string[]> {
  const sets: SetState[] = [];
  for (const key of keys) sets.push(await readSet(ctx, key));
  const [first, ...rest] = sets;
  if (first === undefined) return [];
  if (how === 'union') {
    const all = new Set<string>();
    for (const s of sets) for (const k of s.members.keys()) all.add(k);
    return [...all].sort();
  }
  if (how === 'diff') return memberKeys(first).filter((k) => !rest.some((s) => s.members.has(k)));
  // Smallest first: each member is checked against the others.
  const bySize = sets.slice().sort((a, b) => size(a) - size(b));
  const [smallest, ...others] = bySize;
  return memberKeys(smallest!).filter((k) => others.every((s) => s.members.has(k)));
}

async function readCombination(ctx: CommandContext, args: Buffer[], how: Combine): Promise<Reply> {
  return new SetReply(toBuffers(await combine(ctx, args.slice(1), how)));
}

/** The STORE forms: the destination becomes the result whatever it held (no key when the result is empty), as in Redis. */
async function storeCombination(ctx: CommandContext, args: Buffer[], how: Combine): Promise<Reply> {
  const members = await combine(ctx, args.slice(2), how);
  await operate(ctx, args[1]!, { kind: 'store', members: toBuffers(members) });
  return members.length;
}

async function sintercard(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const numkeys = parseLongLong(args[1]!);
  if (numkeys === null || numkeys < 1n) throw new CommandError('ERR numkeys should be greater than 0');
  if (numkeys > BigInt(args.length - 2)) throw new CommandError('ERR Number of keys can\'t be greater than number of args');
  const keyCount = Number(numkeys);
  let limit = 0;
  for (let i = 2 + keyCount; i < args.length; i += 2) {
    if (upper(args[i]!) !== 'LIMIT' || i + 1 >= args.length) throw new CommandError(syntaxError);
    const n = parseLongLong(args[i + 1]!);
    if (n === null || n < 0n) throw new CommandError('ERR LIMIT can\'t be negative');
    limit = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
  }
  const members = await combine(ctx, args.slice(2, 2 + keyCount), 'inter');
  return limit === 0 ? members.length : Math.min(limit, members.length);
}

/** SSCAN / HSCAN's options after the cursor, checked as Redis's scanGenericCommand does. */
export function scanOptions(args: readonly Buffer[], from: number): { count: number; pattern: Buffer | undefined } {
  let count = 10;
  let pattern: Buffer | undefined;
  for (let i = from; i < args.length; i += 2) {
    const option = upper(args[i]!);
    const value = args[i + 1];
    if (value === undefined) throw new CommandError(syntaxError);
    if (option === 'COUNT') {
      const n = parseLongLong(value);
      if (n === null) throw new CommandError(notInteger);
      if (n < 1n) throw new CommandError(syntaxError);
      count = n > BigInt(collectionScanCountMax) ? collectionScanCountMax : Number(n);
    } else if (option === 'MATCH') pattern = value;
    else throw new CommandError(syntaxError);
  }
  return { count, pattern };
}

/** A cursor as SCAN takes it; ringkv's cursor is an index into the byte-ordered elements. */
export function scanCursor(arg: Buffer): number {
  const text = arg.toString('latin1');
  if (!cursorPattern.test(text) || BigInt(text) >= 1n << 64n) throw new CommandError('ERR invalid cursor');
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
}

/**
 * One page of a collection's keys in byte order from `cursor`, and the next
 * cursor (0 at the end). A member added or removed between calls shifts the
 * indexes: elements present the whole scan are returned at least once only
 * if nothing before them was removed — weaker than Redis's guarantee, and
 * said so in the README.
 */
export function scanPage(keys: readonly string[], cursor: number, count: number): { next: number; page: readonly string[] } {
  if (cursor >= keys.length) return { next: 0, page: [] };
  const end = Math.min(keys.length, cursor + count);
  return { next: end >= keys.length ? 0 : end, page: keys.slice(cursor, end) };
}

function sscan(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const cursor = scanCursor(args[2]!);
  // The state kept for the version (or lent by the last write), not decoded per call: a full SSCAN of a 150k-member
  // set at COUNT 100 decoded and sorted it ~1,500 times, ~0.7 s each, blocking every other client meanwhile.
  return withCollection(ctx, args[1]!, setType, (state): Reply => {
    if (state === undefined) return ['0', []];
    const { count, pattern } = scanOptions(args, 3);
    const { next, page } = scanPage(memberKeys(state), cursor, count);
    let found = toBuffers(page);
    if (pattern !== undefined) found = found.filter((m) => globMatch(pattern, m));
    return [String(next), found];
  });
}

export const setCommands = {
  sadd,
  srem,
  smembers,
  sismember,
  smismember,
  scard,
  srandmember,
  spop,
  smove,
  sinter: (ctx: CommandContext, args: Buffer[]) => readCombination(ctx, args, 'inter'),
  sunion: (ctx: CommandContext, args: Buffer[]) => readCombination(ctx, args, 'union'),
  sdiff: (ctx: CommandContext, args: Buffer[]) => readCombination(ctx, args, 'diff'),
  sinterstore: (ctx: CommandContext, args: Buffer[]) => storeCombination(ctx, args, 'inter'),
  sunionstore: (ctx: CommandContext, args: Buffer[]) => storeCombination(ctx, args, 'union'),
  sdiffstore: (ctx: CommandContext, args: Buffer[]) => storeCombination(ctx, args, 'diff'),
  sintercard,
  sscan,
};
