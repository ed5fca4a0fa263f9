// The hash commands over the observed-remove map (crdt/hash.ts). Writes
// (HSET, HMSET, HSETNX, HDEL, HINCRBY, HINCRBYFLOAT) are operations the key's
// coordinator applies to the record it holds, atomically per key
// (crdt/hash-operations.ts): HSETs of different fields on both sides of a
// partition all stay, increments of one field all count, and an HSET or
// HINCRBY concurrent with an HDEL of the field wins over it. Two concurrent
// HSETs of one field both stay until a later HSET of the field replaces
// them; HGET shows one of them, the same on every replica (the greatest
// dot), and HSIBLINGS key field shows them all. Fields are listed in byte
// order, where Redis lists them in hash order.

import { readStateOf } from '../crdt/view.js';
import { randomInt } from 'node:crypto';
import { MapReply, OK, type Reply } from '../resp/reply.js';
import { notInteger, parseLongLong, syntaxError, upper } from './args.js';
import { readValue, withCollection, writeKey, wrongTypeError } from './data.js';
import { globMatch } from './glob.js';
import { emptyHash, entries, fieldConflict, fieldCount, fieldKeyAt, fieldKeys, getField, hasField, hashType, type HashState } from '../crdt/hash.js';
import { decodeHashCountOutcome, encodeHashOperation, type HashOperation } from '../crdt/hash-operations.js';
import { parseLongDouble } from '../crdt/long-double.js';
import type { PutResult } from '../coordinator/coordinator.js';
import { randomPicks, randomRepeatsMax, scanCursor, scanOptions, scanPage } from './sets.js';
import { CommandError, type CommandContext } from './types.js';

const llongMax = (1n << 63n) - 1n;

function operate(ctx: CommandContext, key: Buffer, op: HashOperation): Promise<PutResult> {
  return writeKey(ctx, key, { kind: 'operate', type: 'hash', operation: encodeHashOperation(op), decoded: op });
}

/** `read` on the hash at `key` (empty for no key), lent the state its last write left (data.ts withCollection). */
function withHash<T>(ctx: CommandContext, key: Buffer, read: (state: HashState) => T): Promise<T> {
  return withCollection(ctx, key, hashType, (state) => read(state ?? emptyHash()));
}

async function readHash(ctx: CommandContext, key: Buffer): Promise<HashState> {
  const current = await readValue(ctx, key);
  if (current === undefined) return emptyHash();
  if (current.type !== 'hash') throw new CommandError(wrongTypeError);
  // Read only, never changed: a version's decoded state is kept for the next read (crdt/state-cache.ts readState).
  return readStateOf(current, hashType);
}

/** The field-value pairs after the key; Redis's arity error when one is missing its value. */
function pairsOf(args: Buffer[]): [Buffer, Buffer][] {
  if (args.length % 2 !== 0) throw new CommandError(`ERR wrong number of arguments for '${args[0]!.toString('latin1').toLowerCase()}' command`);
  const pairs: [Buffer, Buffer][] = [];
  for (let i = 2; i < args.length; i += 2) pairs.push([args[i]!, args[i + 1]!]);
  return pairs;
}

/** The count a write reports. HSET, HSETNX and HDEL chain it with then(), not await: an async function's frame and promises were ~0.5 KB of garbage a write. */
function countReply(result: PutResult): Reply {
  return decodeHashCountOutcome(result.outcome);
}

function hset(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return operate(ctx, args[1]!, { kind: 'set', pairs: pairsOf(args) }).then(countReply);
}

async function hmset(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  await operate(ctx, args[1]!, { kind: 'set', pairs: pairsOf(args) });
  return OK;
}

function hsetnx(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return operate(ctx, args[1]!, { kind: 'setnx', field: args[2]!, value: args[3]! }).then(countReply);
}

function hdel(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return operate(ctx, args[1]!, { kind: 'del', fields: args.slice(2) }).then(countReply);
}

function hget(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, (state) => getField(state, args[2]!) ?? null);
}

function hmget(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, (state) => args.slice(2).map((f) => getField(state, f) ?? null));
}

function hgetall(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, (state) => new MapReply(entries(state)));
}

function hlen(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, fieldCount);
}

function hexists(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, (state) => (hasField(state, args[2]!) ? 1 : 0));
}

function hkeys(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, (state) => fieldKeys(state).map((k) => Buffer.from(k, 'latin1')));
}

function hvals(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, (state) => entries(state).map(([, value]) => value));
}

function hstrlen(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return withHash(ctx, args[1]!, (state) => getField(state, args[2]!)?.length ?? 0);
}

/** The increment is judged before the key, as Redis's hincrbyCommand does. */
async function hincrby(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const increment = parseLongLong(args[3]!);
  if (increment === null) throw new CommandError(notInteger);
  const result = await operate(ctx, args[1]!, { kind: 'incrby', field: args[2]!, increment });
  const value = result.outcome === undefined ? null : parseLongLong(result.outcome);
  if (value === null) throw new CommandError('ERR malformed operation from a peer; see the node log');
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

async function hincrbyfloat(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const increment = parseLongDouble(args[3]!);
  if (increment === undefined) throw new CommandError('ERR value is not a valid float');
  if ('infinity' in increment) throw new CommandError('ERR value is NaN or Infinity');
  const result = await operate(ctx, args[1]!, { kind: 'incrbyfloat', field: args[2]!, increment: args[3]! });
  if (result.outcome === undefined) throw new CommandError('ERR malformed operation from a peer; see the node log');
  return result.outcome;
}

/** HRANDFIELD key [count [WITHVALUES]], checked in Redis's order. */
function hrandfield(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (args.length === 2) {
    return withHash(ctx, args[1]!, (state) => (fieldCount(state) === 0 ? null : Buffer.from(fieldKeyAt(state, randomInt(fieldCount(state))), 'latin1')));
  }
  const n = parseLongLong(args[2]!);
  if (n === null) throw new CommandError(notInteger);
  if (n < -llongMax) throw new CommandError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  if (args.length > 4 || (args.length === 4 && upper(args[3]!) !== 'WITHVALUES')) throw new CommandError(syntaxError);
  const withValues = args.length === 4;
  if (withValues && (n < -(llongMax / 2n) || n > llongMax / 2n)) throw new CommandError('ERR value is out of range');
  if (n < -BigInt(randomRepeatsMax)) throw new CommandError(`ERR count is out of range: ringkv repeats at most ${randomRepeatsMax} fields`);
  const count = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Math.abs(Number(n));
  return withHash(ctx, args[1]!, (state): Reply => {
    const picked = randomPicks(fieldKeys(state), count, n < 0n).map((k) => Buffer.from(k, 'latin1'));
    if (!withValues) return picked;
    // RESP3 pairs each field with its value; RESP2 flattens them, as Redis does.
    if (ctx.session.protocol === 3) return picked.map((f) => [f, getField(state, f)!]);
    return picked.flatMap((f) => [f, getField(state, f)!]);
  });
}

function hscan(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const cursor = scanCursor(args[2]!);
  // The state kept for the version (or lent by the last write), not decoded per call: see sets.ts sscan.
  return withCollection(ctx, args[1]!, hashType, (state): Reply => {
    if (state === undefined) return ['0', []];
    const { count, pattern } = scanOptions(args, 3);
    const { next, page } = scanPage(fieldKeys(state), cursor, count);
    const flat: Buffer[] = [];
    for (const key of page) {
      const field = Buffer.from(key, 'latin1');
      if (pattern !== undefined && !globMatch(pattern, field)) continue;
      flat.push(field, getField(state, field)!);
    }
    return [String(next), flat];
  });
}

/**
 * HSIBLINGS key field (ringkv's own): every value concurrent HSETs left in
 * the field, in the order that picks the one HGET shows (it is last) —
 * one value when there is no conflict, none when the field is absent. An
 * HSET of the field replaces them all: that is how a client resolves it.
 */
async function hsiblings(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const conflict = fieldConflict(await readHash(ctx, args[1]!), args[2]!);
  return conflict?.values ?? [];
}

export const hashCommands = {
  hset, hmset, hsetnx, hdel, hget, hmget, hgetall, hlen, hexists, hkeys, hvals, hstrlen, hincrby, hincrbyfloat, hrandfield, hscan, hsiblings,
};
