// IMPORT: ringkv's write of a value copied from a Redis being migrated
// (`ringkv migrate`, src/migrate/). Two forms:
//
//   IMPORT key value [PXAT unix-time-ms]
//     A string, kept only where the key's coordinator holds no version of it
//     — a key written or deleted through ringkv already holds something newer
//     than the old Redis's copy — and stamped older than any ringkv write, so
//     one made concurrently wins GET's choice. Replies 1 when written, 0 when
//     the key had a version. (`overwrite` mode copies strings with SET.)
//
//   IMPORT key TYPE list|zset|set|hash [PXAT unix-time-ms] [REPLACE] [APPEND token | OVER token] ITEMS item [item ...]
//     A collection, in pages (crdt/import-operation.ts): the first page (no
//     APPEND) makes the key hold exactly its items with the expiry given —
//     with REPLACE whatever the key held, without it only where the key has
//     no version (as the string form). Each later page (APPEND with the token
//     the page before answered) adds its items — a list's at the tail — only
//     if nothing else wrote the key since. OVER token: a first page that
//     replaces only the version that token names — a copy interrupted after
//     that page, started again. Items: a list's elements in order, a
//     sorted set's score member pairs, a set's members, a hash's field value
//     pairs. Replies the page's token (a bulk string) when written, 0 when
//     not (a version was there, or the chain was broken).
//
// Why a typed IMPORT and not RESTORE of the source's DUMP payload: DUMP is
// Redis's RDB serialization, whose encodings change with Redis versions
// (listpacks in 7.0, hash field expiry in 7.4) and which Redis itself refuses
// from a newer RDB version; a DUMP is one reply holding the whole value,
// serialized on the source's main thread, so a big key blocks it and cannot
// be read in pages. Elements read with LRANGE/ZSCAN/… are the same on every
// Redis version and page naturally.

import type { Reply } from '../resp/reply.js';
import { KeyPresentError } from '../coordinator/errors.js';
import type { Mutation } from '../coordinator/versioning.js';
import { decodeImportToken } from '../crdt/import-operation.js';
import { encodeListOperation } from '../crdt/list-operation.js';
import { TypeOperationError } from '../crdt/operation.js';
import { encodeZsetOperation } from '../crdt/zset-operation.js';
import { encodeSetOperation } from '../crdt/set-operations.js';
import { encodeHashOperation } from '../crdt/hash-operations.js';
import type { TypeName } from '../crdt/kind.js';
import type { Dot } from '../clock/types.js';
import { longLongArg, syntaxError, upper } from './args.js';
import { writeWithoutReadThrough } from './data.js';
import { parseScore } from './zsets.js';
import { CommandError, type CommandContext } from './types.js';

const invalidExpire = "ERR invalid expire time in 'import' command";

/** PXAT's argument: a positive unix time in ms that a double holds exactly. */
function expiryArg(arg: Buffer): number {
  const at = longLongArg(arg);
  if (at <= 0n || at > BigInt(Number.MAX_SAFE_INTEGER)) throw new CommandError(invalidExpire);
  return Number(at);
}

async function importCommand(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (args.length >= 6 && upper(args[2]!) === 'TYPE') return importTyped(ctx, args);
  let expiresAt: number | undefined;
  if (args.length === 5) {
    if (upper(args[3]!) !== 'PXAT') throw new CommandError(syntaxError);
    expiresAt = expiryArg(args[4]!);
  } else if (args.length !== 3) {
    throw new CommandError(syntaxError);
  }
  const mutation: Mutation = expiresAt === undefined
    ? { kind: 'value', value: args[2]!, imported: true }
    : { kind: 'value', value: args[2]!, expiresAt, imported: true };
  try {
    await writeWithoutReadThrough(ctx, args[1]!, mutation);
    return 1;
  } catch (err) {
    if (err instanceof KeyPresentError) return 0;
    throw err;
  }
}

/** What a typed page says besides its items. */
interface PageHeader {
  readonly expiresAt?: number;
  readonly replace: boolean;
  readonly chain?: Dot;
  readonly over: boolean;
}

/** How each collection type's page becomes its operation's bytes. */
const pageEncoders: Partial<Record<TypeName, (header: PageHeader, items: Buffer[]) => Buffer>> = {
  list: (header, items) => encodeListOperation({ kind: 'import', ...opHeader(header), items }),
  zset: (header, items) => {
    if (items.length % 2 !== 0) throw new CommandError(syntaxError);
    const pairs: (readonly [number, Buffer])[] = [];
    for (let i = 0; i < items.length; i += 2) {
      const score = parseScore(items[i]!);
      if (score === undefined) throw new CommandError('ERR value is not a valid float');
      pairs.push([score, items[i + 1]!]);
    }
    return encodeZsetOperation({ kind: 'import', ...opHeader(header), items: pairs });
  },
  set: (header, items) => encodeSetOperation({ kind: 'import', ...opHeader(header), items }),
  hash: (header, items) => {
    if (items.length % 2 !== 0) throw new CommandError(syntaxError);
    const pairs: (readonly [Buffer, Buffer])[] = [];
    for (let i = 0; i < items.length; i += 2) pairs.push([items[i]!, items[i + 1]!]);
    return encodeHashOperation({ kind: 'import', ...opHeader(header), items: pairs });
  },
};

function opHeader(header: PageHeader): { imported: boolean; chain?: Dot; over?: boolean; expiresAt?: number } {
  return {
    imported: !header.replace,
    ...(header.chain === undefined ? {} : { chain: header.chain }),
    ...(header.over ? { over: true } : {}),
    ...(header.expiresAt === undefined ? {} : { expiresAt: header.expiresAt }),
  };
}

async function importTyped(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const typeName = args[3]!.toString('latin1').toLowerCase() as TypeName;
  const encode = Object.hasOwn(pageEncoders, typeName) ? pageEncoders[typeName] : undefined;
  if (encode === undefined) throw new CommandError(`ERR IMPORT of type '${args[3]!.toString('utf8')}' is not supported`);
  let expiresAt: number | undefined;
  let replace = false;
  let chain: Dot | undefined;
  let over = false;
  let j = 4;
  for (; j < args.length; j++) {
    const option = upper(args[j]!);
    if (option === 'ITEMS') break;
    const more = j + 1 < args.length;
    if (option === 'PXAT' && more && expiresAt === undefined) expiresAt = expiryArg(args[++j]!);
    else if (option === 'REPLACE') replace = true;
    else if ((option === 'APPEND' || option === 'OVER') && more && chain === undefined) {
      over = option === 'OVER';
      chain = decodeImportToken(args[++j]!);
      if (chain === undefined) throw new CommandError(`ERR IMPORT ${option} token is not one IMPORT gave`);
    } else throw new CommandError(syntaxError);
  }
  const items = args.slice(j + 1);
  // A page always carries items (Redis holds no empty collection); the expiry is the first page's.
  if (j >= args.length || items.length === 0 || (chain !== undefined && !over && expiresAt !== undefined)) throw new CommandError(syntaxError);
  const header: PageHeader = { replace, over, ...(chain === undefined ? {} : { chain }), ...(expiresAt === undefined ? {} : { expiresAt }) };
  const operation = encode(header, items);
  const mutation: Mutation = { kind: 'operate', type: typeName as Exclude<TypeName, 'string'>, operation, ...(chain === undefined && !replace ? { imported: true } : {}) };
  try {
    const result = await writeWithoutReadThrough(ctx, args[1]!, mutation);
    if (result.outcome === undefined) throw new Error('an import page answered no token');
    return result.outcome;
  } catch (err) {
    if (err instanceof KeyPresentError || (err instanceof TypeOperationError && err.code === 'IMPORT_CHANGED')) return 0;
    throw err;
  }
}

export const importCommands = { import: importCommand };
