// Bit commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
// BITFIELD_RO, with Redis 7.0's arguments, replies and errors, in Redis's
// order of checks (bitops.c: e.g. BITCOUNT of a missing key is 0 whatever its
// range arguments). A write reads the key at R and writes with that context,
// keeping its expiry, as SETRANGE does; BITOP reads its sources one by one
// (not a snapshot) and then writes its destination like SET. The arithmetic
// is in bit-ops.ts.

import { forEachKey } from './multi-key.js';
import type { Reply } from '../resp/reply.js';
import { integerReply, longLongArg, notInteger, parseLongLong, syntaxError, upper } from './args.js';
import {
  bitOperation, bitRange, countBits, fieldAdd, findBit, getBit, getField, setBit, setField,
  type BitOperation, type BitRangeUnit, type FieldType, type Overflow,
} from './bit-ops.js';
import { deleteMutation, readKey, readValue, stringOf, stringOrUndefined, valueMutation, writeKey } from './data.js';
import { CommandError, type CommandContext } from './types.js';

const bitOffsetError = 'ERR bit offset is not an integer or out of range';

/**
 * getBitOffsetFromArgument: a bit offset below proto-max-bulk-len bytes;
 * with `fieldBits`, BITFIELD's "#N" form means N fields of that width.
 */
function bitOffsetArg(ctx: CommandContext, arg: Buffer, fieldBits?: number): number {
  const byHash = fieldBits !== undefined && arg.length > 1 && arg[0] === 0x23; /* # */
  let offset = parseLongLong(byHash ? arg.subarray(1) : arg);
  if (offset === null) throw new CommandError(bitOffsetError);
  if (byHash) offset *= BigInt(fieldBits);
  if (offset < 0n || offset >> 3n >= BigInt(ctx.server.config.protoMaxBulkLen)) throw new CommandError(bitOffsetError);
  return Number(offset);
}

/** The value grown with zero bytes to hold bit `lastBit`, as a fresh copy (the stored buffer is never changed in place). */
function grownCopy(value: Buffer | undefined, lastBit: number): Buffer {
  const length = Math.max(value?.length ?? 0, Math.floor(lastBit / 8) + 1);
  const out = Buffer.alloc(length);
  value?.copy(out);
  return out;
}

async function setbit(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const offset = bitOffsetArg(ctx, args[2]!);
  const on = parseLongLong(args[3]!);
  if (on !== 0n && on !== 1n) throw new CommandError('ERR bit is not an integer or out of range');
  const state = await readKey(ctx, key);
  const current = state.current;
  const old = stringOrUndefined(current);
  const previous = old === undefined ? 0 : getBit(old, offset);
  const grows = old === undefined || Math.floor(offset / 8) >= old.length;
  // Redis writes only a new key, a longer string or a changed bit.
  if (!grows && previous === Number(on)) return previous;
  const value = grownCopy(old, offset);
  setBit(value, offset, Number(on) as 0 | 1);
  await writeKey(ctx, key, valueMutation(value, current?.expiresAt), state.context);
  return previous;
}

async function getbit(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const offset = bitOffsetArg(ctx, args[2]!);
  const current = await readValue(ctx, args[1]!);
  return current === undefined ? 0 : getBit(stringOf(current), offset);
}

function rangeUnit(arg: Buffer | undefined): BitRangeUnit {
  if (arg === undefined) return 'BYTE';
  const unit = upper(arg);
  if (unit !== 'BYTE' && unit !== 'BIT') throw new CommandError(syntaxError);
  return unit;
}

async function bitcount(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const current = await readValue(ctx, args[1]!);
  // As Redis 7.0: a missing key counts 0 before its arguments are judged.
  if (current === undefined) return 0;
  const bytes = stringOf(current);
  if (args.length === 2) return countBits(bytes, 0, bytes.length * 8 - 1);
  if (args.length !== 4 && args.length !== 5) throw new CommandError(syntaxError);
  const start = longLongArg(args[2]!);
  const end = longLongArg(args[3]!);
  if (start < 0n && end < 0n && start > end) return 0;
  const range = bitRange(bytes.length, start, end, rangeUnit(args[4]));
  return range === null ? 0 : countBits(bytes, range[0], range[1]);
}

async function bitpos(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const bitArg = longLongArg(args[2]!);
  if (bitArg !== 0n && bitArg !== 1n) throw new CommandError('ERR The bit argument must be 1 or 0.');
  const bit = Number(bitArg) as 0 | 1;
  const current = await readValue(ctx, args[1]!);
  // A missing key is an endless run of zeros.
  if (current === undefined) return bit === 1 ? -1 : 0;
  const bytes = stringOf(current);
  // An empty string is an empty range: neither bit is in it (Redis answers -1, not 0).
  if (args.length === 3) return bytes.length === 0 ? -1 : findBit(bytes, bit, 0, bytes.length * 8 - 1, false);
  if (args.length > 6) throw new CommandError(syntaxError);
  const start = longLongArg(args[3]!);
  const unit = args.length === 6 ? rangeUnit(args[5]) : 'BYTE';
  const endGiven = args.length >= 5;
  const end = endGiven ? longLongArg(args[4]!) : unit === 'BIT' ? BigInt(bytes.length * 8 + 7) : BigInt(bytes.length - 1);
  const range = bitRange(bytes.length, start, end, unit);
  return range === null ? -1 : findBit(bytes, bit, range[0], range[1], endGiven);
}

const bitOperations = new Set<string>(['AND', 'OR', 'XOR', 'NOT']);

async function bitop(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const operation = upper(args[1]!);
  if (!bitOperations.has(operation)) throw new CommandError(syntaxError);
  if (operation === 'NOT' && args.length !== 4) throw new CommandError('ERR BITOP NOT must be called with a single source key.');
  const destination = args[2]!;
  const sources = await forEachKey(args.length - 3, (i) => readValue(ctx, args[i + 3]!));
  const result = bitOperation(operation as BitOperation, sources.map((s) => stringOrUndefined(s) ?? Buffer.alloc(0)));
  if (result.length > 0) {
    // Stored as SET stores: a plain write, no expiry.
    await writeKey(ctx, destination, valueMutation(result, undefined));
  } else {
    // Every source empty or missing: Redis deletes the destination.
    const state = await readKey(ctx, destination);
    if (state.versions.length > 0) await writeKey(ctx, destination, deleteMutation, state.context);
  }
  return result.length;
}

// --- BITFIELD -----------------------------------------------------------------

type FieldOp =
  | { readonly kind: 'GET'; readonly type: FieldType; readonly offset: number }
  | { readonly kind: 'SET' | 'INCRBY'; readonly type: FieldType; readonly offset: number; readonly amount: bigint; readonly overflow: Overflow };

const fieldTypeError = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';

/** "i1".."i64" or "u1".."u63", lowercase as Redis requires. */
function fieldType(arg: Buffer): FieldType {
  const signed = arg[0] === 0x69; /* i */
  if (!signed && arg[0] !== 0x75 /* u */) throw new CommandError(fieldTypeError);
  const bits = parseLongLong(arg.subarray(1));
  if (bits === null || bits < 1n || bits > (signed ? 64n : 63n)) throw new CommandError(fieldTypeError);
  return { signed, bits: Number(bits) };
}

/** BITFIELD's operations, every one checked before anything runs (bitfieldGeneric). */
function parseFieldOps(ctx: CommandContext, args: Buffer[]): FieldOp[] {
  const ops: FieldOp[] = [];
  let overflow: Overflow = 'WRAP';
  for (let j = 2; j < args.length; j++) {
    const remaining = args.length - j - 1;
    const sub = upper(args[j]!);
    if (sub === 'OVERFLOW' && remaining >= 1) {
      const kind = upper(args[++j]!);
      if (kind !== 'WRAP' && kind !== 'SAT' && kind !== 'FAIL') throw new CommandError('ERR Invalid OVERFLOW type specified');
      overflow = kind;
      continue;
    }
    if (!((sub === 'GET' && remaining >= 2) || ((sub === 'SET' || sub === 'INCRBY') && remaining >= 3))) throw new CommandError(syntaxError);
    const type = fieldType(args[j + 1]!);
    const offset = bitOffsetArg(ctx, args[j + 2]!, type.bits);
    if (sub === 'GET') {
      ops.push({ kind: 'GET', type, offset });
      j += 2;
    } else {
      const amount = parseLongLong(args[j + 3]!);
      if (amount === null) throw new CommandError(notInteger);
      ops.push({ kind: sub, type, offset, amount, overflow });
      j += 3;
    }
  }
  return ops;
}

/** Runs the operations on `value` in order; returns each reply. */
function runFieldOps(value: Buffer, ops: readonly FieldOp[]): Reply[] {
  return ops.map((op) => {
    const old = getField(value, op.offset, op.type);
    if (op.kind === 'GET') return integerReply(old);
    const next = op.kind === 'SET' ? fieldAdd(op.amount, 0n, op.type, op.overflow) : fieldAdd(old, op.amount, op.type, op.overflow);
    if (next === null) return null;
    setField(value, op.offset, op.type.bits, next);
    return integerReply(op.kind === 'SET' ? old : next);
  });
}

function bitfieldWith(readOnly: boolean) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    const key = args[1]!;
    const ops = parseFieldOps(ctx, args);
    const writes = ops.filter((op) => op.kind !== 'GET');
    if (writes.length === 0) {
      const current = await readValue(ctx, key);
      return runFieldOps(Buffer.from(stringOrUndefined(current) ?? Buffer.alloc(0)), ops);
    }
    if (readOnly) throw new CommandError('ERR BITFIELD_RO only supports the GET subcommand');
    const state = await readKey(ctx, key);
    const current = state.current;
    const old = stringOrUndefined(current);
    // As Redis: the string grows to the farthest field written even when OVERFLOW FAIL refuses every write.
    const value = grownCopy(old, Math.max(...writes.map((op) => op.offset + op.type.bits - 1)));
    const replies = runFieldOps(value, ops);
    if (old === undefined || !value.equals(old)) {
      await writeKey(ctx, key, valueMutation(value, current?.expiresAt), state.context);
    }
    return replies;
  };
}

export const bitCommands = {
  setbit,
  getbit,
  bitcount,
  bitpos,
  bitop,
  bitfield: bitfieldWith(false),
  bitfieldRo: bitfieldWith(true),
};
