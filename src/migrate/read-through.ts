// `--read-through redis://…`: during a cut-over, a key that ringkv has no
// version of (never written here, never deleted here) is read from the Redis
// being migrated from, and its value is imported (commands/read-through.ts:
// an `imported` write, kept only where no version exists, stamped older than
// any ringkv write) before the command runs on it, so SADD adds to the old
// members, LPUSH to the old list, HGET finds the old field, TYPE and TTL
// answer as for the old key. With `ringkv migrate --mode missing` copying in
// the background, clients can move to ringkv first and the data follows
// (README "Migrating from Redis").
//
// Every type ringkv holds: strings, lists, sets, hashes and sorted sets, each
// with its TTL. A value is read in one or two MULTI/EXEC transactions, each
// one atomic look at the key: the first asks its type, its TTL, every type's
// size and a string's bytes (most keys end there: absent, or a string); a
// collection small enough is then read whole, with its type and size asked
// again in the same transaction, so the items are exactly the value the key
// held at that instant. A changed type between the two (a delete and a
// write of another type) reads again, at most readThroughAttemptsMax times.
//
// Why not pages under WATCH, as `ringkv migrate` reads big collections
// (paged-copy.ts): WATCH belongs to a connection, and this one is shared by
// every read in flight; and the bounds below keep a read-through to what one
// page-sized reply holds, which Redis builds in about a millisecond, so one
// transaction costs the source no more than a page would. A bigger
// collection is an error to the client naming `ringkv migrate --mode
// missing`, which copies it in pages — never a partial value, never a nil.
//
// A read the old Redis cannot answer (down, slow, refusing) is an error to
// the client, never a nil: a nil would tell it the key does not exist.

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CommandError, type ReadThroughSource, type ReadThroughValue } from '../commands/types.js';
import { redacted, type RedisEndpoint } from './endpoint.js';
import { expiryOf, itemBytes, writePageItems } from './value-copiers.js';

/** Reads of the old Redis in flight at most: past it a read is refused rather than queued without bound. */
export const readThroughInFlightMax = 1024;
/**
 * Items (elements, members, fields, sorted-set entries) of a collection that
 * read-through imports. As many as one IMPORT page of `ringkv migrate`
 * (value-copiers.ts writePageItems): the import is one write, whose encoding
 * costs the key's coordinator a few milliseconds, and the read is one reply
 * Redis builds in about as long. A bigger collection needs the paged copy.
 */
export const readThroughItemsMax = writePageItems;
/**
 * Bytes of a value read-through imports: a string, or a collection's items.
 * Held in memory between the read and the import, and written and
 * replicated in one message, so far below a replica frame (64 MiB); 8 MiB
 * takes tens of ms to move on a LAN, what a client's first command on the key
 * can wait. A string is read at most this long (GETRANGE), so a bigger one
 * costs the source no more.
 */
export const readThroughBytesMax = 8 * 1024 * 1024;
/** A value whose type changes between the two reads this many times in a row is refused with TRYAGAIN: the client's retry reads it again. */
export const readThroughAttemptsMax = 3;
/**
 * One read of the old Redis (a whole fetch, every round trip) that takes
 * longer fails: a client's command must not hang on it. Each command sent
 * also times out after it (ioredis commandTimeout).
 */
export const readThroughTimeoutMs = 2_000;
const connectTimeoutMs = 5_000;

/** The collection types and the command that counts each one's items, as Redis's TYPE names them. */
const collectionSizes = { list: 'llen', zset: 'zcard', set: 'scard', hash: 'hlen' } as const;
type CollectionType = keyof typeof collectionSizes;

export function tooLargeError(type: string, size: string): CommandError {
  return new CommandError(
    `ERR read-through: the ${type} at this key in the old Redis is too large to import on read (${size}; read-through imports at most `
    + `${readThroughItemsMax} items and ${readThroughBytesMax / (1024 * 1024)} MiB): copy it with ringkv migrate --mode missing`,
  );
}

export function unsupportedTypeError(type: string): CommandError {
  return new CommandError(`ERR read-through: the old Redis holds a ${type} at this key, a type ringkv does not hold`);
}

/** An EXEC reply as ioredis gives it: one [error, reply] per command. */
export type ExecReplies = readonly (readonly [Error | null, unknown])[];

/** What the first look at a key says. */
export type Probe =
  | { readonly kind: 'absent' }
  | { readonly kind: 'value'; readonly value: ReadThroughValue }
  | { readonly kind: 'collection'; readonly type: CollectionType };

/**
 * The first transaction: TYPE, PTTL, STRLEN, GETRANGE 0 readThroughBytesMax-1,
 * then each collection type's size command. Commands of another type than
 * the key's answer WRONGTYPE inside EXEC, which is no failure.
 */
export function probeCommands(key: Buffer): (string | Buffer)[][] {
  return [['type', key], ['pttl', key], ['strlen', key], ['getrange', key, '0', String(readThroughBytesMax - 1)], ...Object.values(collectionSizes).map((size) => [size, key])];
}

/** The verdict on the first transaction's replies (probeCommands), read at `readAtMs`. Throws for a value read-through does not import. */
export function probeOutcome(replies: ExecReplies, readAtMs: number): Probe {
  const type = String(replyAt(replies, 0));
  if (type === 'none') return { kind: 'absent' };
  const expiry = expiryField(Number(replyAt(replies, 1)), readAtMs);
  if (type === 'string') {
    const length = Number(replyAt(replies, 2));
    if (length > readThroughBytesMax) throw tooLargeError('string', `${length} bytes`);
    const value = replyAt(replies, 3);
    if (!Buffer.isBuffer(value)) throw new Error('GETRANGE answered no bytes');
    return { kind: 'value', value: { type: 'string', value, ...expiry } };
  }
  if (!Object.hasOwn(collectionSizes, type)) throw unsupportedTypeError(type);
  const size = Number(replyAt(replies, 4 + Object.keys(collectionSizes).indexOf(type)));
  if (size > readThroughItemsMax) throw tooLargeError(type, `${size} items`);
  return { kind: 'collection', type: type as CollectionType };
}

/**
 * The second transaction, for a collection: TYPE, PTTL, its size, and its
 * items, at most readThroughItemsMax of them: a list's or sorted set's
 * first ranks, a set's or hash's distinct random members, which are all of
 * them when the size in the same transaction is at most that.
 */
export function readCommands(key: Buffer, type: CollectionType): (string | Buffer)[][] {
  const n = String(readThroughItemsMax);
  const last = String(readThroughItemsMax - 1);
  const read: Record<CollectionType, (string | Buffer)[]> = {
    list: ['lrange', key, '0', last],
    zset: ['zrange', key, '0', last, 'WITHSCORES'],
    set: ['srandmember', key, n],
    hash: ['hrandfield', key, n, 'WITHVALUES'],
  };
  return [['type', key], ['pttl', key], [collectionSizes[type], key], read[type]];
}

/** The collection the second transaction read; 'changed' when the key holds another type now, 'absent' when it is gone. Throws past the bounds. */
export function readOutcome(type: CollectionType, replies: ExecReplies, readAtMs: number): ReadThroughValue | 'changed' | 'absent' {
  const typeNow = String(replyAt(replies, 0));
  if (typeNow === 'none') return 'absent';
  if (typeNow !== type) return 'changed';
  const size = Number(replyAt(replies, 2));
  if (size > readThroughItemsMax) throw tooLargeError(type, `${size} items`);
  const flat = replyAt(replies, 3);
  if (!Array.isArray(flat) || !flat.every(Buffer.isBuffer)) throw new Error(`the ${type} read answered no items`);
  const items = flat as Buffer[];
  if (items.length !== (type === 'zset' || type === 'hash' ? 2 * size : size)) throw new Error(`the ${type} read answered ${items.length} items for ${size}`);
  const bytes = itemBytes(items);
  if (bytes > readThroughBytesMax) throw tooLargeError(type, `${bytes} bytes of items`);
  // Redis holds no empty collection: an empty read is a key that is gone.
  if (items.length === 0) return 'absent';
  const expiry = expiryField(Number(replyAt(replies, 1)), readAtMs);
  switch (type) {
    case 'list':
    case 'set':
      return { type, items, ...expiry };
    case 'hash':
      return { type, entries: pairs(items, (field, value) => [field, value] as const), ...expiry };
    case 'zset':
      return { type, entries: pairs(items, (member, score) => [scoreOf(score), member] as const), ...expiry };
  }
}

/** A sorted-set score as Redis writes it in a reply (%.17g, or inf / -inf). */
export function scoreOf(text: Buffer): number {
  const s = text.toString('latin1').toLowerCase();
  const score = s === 'inf' || s === '+inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
  if (Number.isNaN(score) || s.trim() === '') throw new Error(`not a score: ${s}`);
  return score;
}

function pairs<T>(flat: readonly Buffer[], pair: (a: Buffer, b: Buffer) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(pair(flat[i]!, flat[i + 1]!));
  return out;
}

function expiryField(pttl: number, readAtMs: number): { expiresAt?: number } {
  const expiresAt = expiryOf(pttl, readAtMs);
  return expiresAt === undefined ? {} : { expiresAt };
}

/** The reply of command `i`; its error where it failed (a WRONGTYPE of a size command for another type is never asked for). */
function replyAt(replies: ExecReplies, i: number): unknown {
  const entry = replies[i];
  if (entry === undefined) throw new Error(`EXEC answered ${replies.length} replies`);
  if (entry[0] !== null) throw entry[0];
  return entry[1];
}

export class RedisReadThrough implements ReadThroughSource {
  private readonly client: Redis;
  private inFlight = 0;
  private reads = 0;
  private found = 0;
  private refused = 0;
  private failures = 0;
  private unreachableLogged = false;

  constructor(endpoint: RedisEndpoint, private readonly url: string, private readonly logger: Logger) {
    this.client = new Redis({
      host: endpoint.host, port: endpoint.port, db: endpoint.db,
      ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      ...(endpoint.tls ? { tls: {} } : {}),
      lazyConnect: false, connectTimeout: connectTimeoutMs, commandTimeout: readThroughTimeoutMs,
      maxRetriesPerRequest: 1, enableOfflineQueue: false,
    });
    this.client.on('error', (err: Error) => {
      if (this.unreachableLogged) return;
      this.unreachableLogged = true;
      this.logger.warn({ source: redacted(url), err: err.message }, 'read-through: the old Redis is unreachable; reads of keys ringkv does not hold fail until it is back');
    });
    this.client.on('ready', () => {
      if (this.unreachableLogged) this.logger.info({ source: redacted(url) }, 'read-through: the old Redis answers again');
      this.unreachableLogged = false;
    });
  }

  async fetch(key: Buffer): Promise<ReadThroughValue | undefined> {
    if (this.inFlight >= readThroughInFlightMax) {
      this.failures++;
      throw new CommandError(`TRYAGAIN read-through: ${readThroughInFlightMax} reads of the old Redis already in flight`);
    }
    this.inFlight++;
    this.reads++;
    try {
      const value = await this.read(key, Date.now() + readThroughTimeoutMs);
      if (value !== undefined) this.found++;
      return value;
    } catch (err) {
      if (err instanceof CommandError) {
        this.refused++;
        throw err;
      }
      this.failures++;
      throw new CommandError(`ERR read-through to ${redacted(this.url)} failed: ${(err as Error).message}`);
    } finally {
      this.inFlight--;
    }
  }

  private async read(key: Buffer, deadlineMs: number): Promise<ReadThroughValue | undefined> {
    for (let attempt = 0; attempt < readThroughAttemptsMax; attempt++) {
      const probe = probeOutcome(await this.transaction(probeCommands(key), deadlineMs), Date.now());
      if (probe.kind === 'absent') return undefined;
      if (probe.kind === 'value') return probe.value;
      const readAtMs = Date.now();
      const read = readOutcome(probe.type, await this.transaction(readCommands(key, probe.type), deadlineMs), readAtMs);
      if (read === 'absent') return undefined;
      if (read !== 'changed') return read;
    }
    throw new CommandError(`TRYAGAIN read-through: the key changed type in the old Redis during each of ${readThroughAttemptsMax} reads`);
  }

  /** One MULTI/EXEC of `commands`, refused once the fetch's deadline has passed. */
  private async transaction(commands: (string | Buffer)[][], deadlineMs: number): Promise<ExecReplies> {
    if (Date.now() > deadlineMs) throw new Error(`no answer within ${readThroughTimeoutMs} ms`);
    const multi = this.client.multi();
    for (const [name, ...args] of commands) multi.callBuffer(name as string, ...args);
    const replies = await multi.exec();
    if (replies === null) throw new Error('EXEC was aborted');
    return replies;
  }

  info(): [string, number | string][] {
    return [
      ['read_through_source', redacted(this.url)],
      ['read_through_reads', this.reads],
      ['read_through_found', this.found],
      ['read_through_refused', this.refused],
      ['read_through_failures', this.failures],
    ];
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
