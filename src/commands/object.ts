// OBJECT, DUMP and RESTORE: what Redis says about a value's representation,
// answered with what ringkv can know (README "Redis compatibility"):
//  - ENCODING and REFCOUNT follow Redis's rules for a string written by SET
//    (object.c tryObjectEncoding): "int" for a long long of at most 20
//    characters, shared (refcount 2147483647) below 10000; "embstr" up to 44
//    bytes; else "raw". Redis also answers "raw" (refcount 1) for a value
//    last changed in place (APPEND, SETRANGE, SETBIT, BITFIELD) or made by
//    BITOP; ringkv keeps no such history and judges the value alone.
//  - IDLETIME: seconds since the value was last written (its version's
//    timestamp). ringkv does not record reads, which Redis counts too.
//  - FREQ: Redis's own error, as ringkv's maxmemory-policy is noeviction
//    (no LFU counter is kept).
// DUMP and RESTORE use ringkv's payload (dump-payload.ts).
// A counter (crdt/counter.ts) answers as the string it shows: ENCODING "int"
// while its value fits a long, else by the string's length; DUMP dumps that
// string, so RESTORE makes a string of it (the next INCR a counter again).
// A value of another convergent type answers its type's encoding; DUMP of it
// is refused until its payload exists.

import { OK, SimpleReply, type Reply } from '../resp/reply.js';
import { int64Max, longLongArg, parseLongLong, syntaxError, upper } from './args.js';
import { deleteMutation, isString, readKey, readValue, stringOf, valueMutation, writeKey, type TypedValue } from './data.js';
import { typeEntry } from '../crdt/registry.js';
import { withStateOf } from '../crdt/view.js';
import { decodeDump, encodeDump } from './dump-payload.js';
import { CommandError, type CommandContext } from './types.js';

/** Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT. */
const embstrBytesMax = 44;
/** Redis's OBJ_SHARED_INTEGERS: values below are one shared object. */
const sharedIntegersMax = 10000n;
/** Redis's OBJ_SHARED_REFCOUNT (INT_MAX). */
const sharedRefcount = 2147483647;

/** The integer a string2l-valid value holds (at most 20 characters), else null. */
function integerValue(value: Buffer): bigint | null {
  return value.length <= 20 ? parseLongLong(value) : null;
}

export function stringEncoding(value: Buffer): 'int' | 'embstr' | 'raw' {
  if (integerValue(value) !== null) return 'int';
  return value.length <= embstrBytesMax ? 'embstr' : 'raw';
}

export function stringRefcount(value: Buffer): number {
  const n = integerValue(value);
  return n !== null && n >= 0n && n < sharedIntegersMax ? sharedRefcount : 1;
}

const objectHelp = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

/** A container's HELP reply: status lines, as Redis's addReplyHelp writes them. */
export function helpReply(lines: readonly string[]): Reply {
  return lines.map((line) => new SimpleReply(line));
}

async function object(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const sub = upper(args[1]!);
  const known = ['ENCODING', 'FREQ', 'IDLETIME', 'REFCOUNT', 'HELP'];
  if (!known.includes(sub)) throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try OBJECT HELP.`);
  if (args.length !== (sub === 'HELP' ? 2 : 3)) throw new CommandError(`ERR wrong number of arguments for 'object|${sub.toLowerCase()}' command`);
  if (sub === 'HELP') return helpReply(objectHelp);
  const current = await readValue(ctx, args[2]!);
  if (current === undefined) return null;
  switch (sub) {
    case 'ENCODING':
      return encodingOf(current);
    case 'REFCOUNT':
      return isString(current) ? stringRefcount(stringOf(current)) : 1;
    case 'IDLETIME':
      return Math.max(0, Math.floor((ctx.server.coordinator.now() - current.timestamp) / 1000));
    default:
      throw new CommandError(
        'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
      );
  }
}

function encodingOf(current: TypedValue): string {
  if (current.type === undefined) return stringEncoding(current.value);
  const entry = typeEntry(current.type);
  // The state kept for the version (or lent by the last write): a large collection is not decoded to be sized.
  return withStateOf(current, entry.convergent, entry.objectEncoding);
}

async function dump(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const current = await readValue(ctx, args[1]!);
  if (current === undefined) return null;
  if (!isString(current)) throw new CommandError(`ERR DUMP of a ${current.type} is not supported by ringkv yet`);
  return encodeDump(stringOf(current));
}

interface RestoreOptions {
  replace: boolean;
  absTtl: boolean;
}

/**
 * RESTORE's options as Redis parses them (cluster.c restoreCommand): IDLETIME
 * and FREQ are checked (and exclude each other) but ringkv keeps neither —
 * OBJECT IDLETIME counts from the write, and there is no LFU counter.
 */
function restoreOptions(args: Buffer[]): RestoreOptions {
  const options: RestoreOptions = { replace: false, absTtl: false };
  let idle = false;
  let freq = false;
  for (let j = 4; j < args.length; j++) {
    const option = upper(args[j]!);
    const more = j + 1 < args.length;
    if (option === 'REPLACE') options.replace = true;
    else if (option === 'ABSTTL') options.absTtl = true;
    else if (option === 'IDLETIME' && more && !freq) {
      if (longLongArg(args[++j]!) < 0n) throw new CommandError('ERR Invalid IDLETIME value, must be >= 0');
      idle = true;
    } else if (option === 'FREQ' && more && !idle) {
      const f = longLongArg(args[++j]!);
      if (f < 0n || f > 255n) throw new CommandError('ERR Invalid FREQ value, must be >= 0 and <= 255');
      freq = true;
    } else throw new CommandError(syntaxError);
  }
  return options;
}

async function restore(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const options = restoreOptions(args);
  const state = await readKey(ctx, key);
  // Redis's order: options, the key's existence, the TTL, then the payload.
  if (!options.replace && state.current !== undefined) throw new CommandError('BUSYKEY Target key name already exists.');
  const ttl = longLongArg(args[2]!);
  if (ttl < 0n) throw new CommandError('ERR Invalid TTL value, must be >= 0');
  const payload = decodeDump(args[3]!);
  if (!payload.ok && payload.reason === 'redis') {
    throw new CommandError("ERR DUMP payload is in Redis's RDB format, which ringkv cannot read: DUMP the key from ringkv, or copy its value with GET and SET");
  }
  if (!payload.ok) throw new CommandError('ERR DUMP payload version or checksum are wrong');
  let expiresAt: number | undefined;
  if (ttl > 0n) {
    const at = options.absTtl ? ttl : ttl + BigInt(state.now);
    // Redis adds in a long long: a sum past LLONG_MAX wraps negative, which is already expired.
    expiresAt = at > int64Max ? 0 : Number(at);
  }
  if (expiresAt !== undefined && expiresAt <= state.now) {
    // Already expired: nothing is created, and REPLACE still removes the old value.
    if (options.replace && state.versions.length > 0) await writeKey(ctx, key, deleteMutation, state.context);
    return OK;
  }
  await writeKey(ctx, key, valueMutation(payload.value, expiresAt), state.context);
  return OK;
}

export const objectCommands = { object, dump, restore };
