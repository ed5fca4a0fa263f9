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
// with its TTL. A key is read by one Lua script (readScript), which Redis
// runs atomically: its type, TTL and whole value as they were at one
// instant, however clients change the key meanwhile, in one round trip.
//
// Why not pages under WATCH, as `ringkv migrate` reads big collections
// (paged-copy.ts): WATCH belongs to a connection, and this one is shared by
// every read in flight; and the bounds below keep a read-through to as many
// items as ten of migrate's read pages, which the script reads in 2–7 ms
// (10,000 items of a list / set / hash / sorted set on a loaded 2-core box;
// a collection over the bound is refused in 25 µs), under Redis's own 10 ms
// slowlog threshold: one atomic read holds up the source's other clients
// about as long as ten pages in a row would. A bigger
// collection is an error to the client naming `ringkv migrate --mode
// missing`, which copies it in pages — never a partial value, never a nil.
//
// A read the old Redis cannot answer (down, slow, refusing) is an error to
// the client, never a nil: a nil would tell it the key does not exist.

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CommandError, type ReadThroughSource, type ReadThroughValue } from '../commands/types.js';
import { redacted, type RedisEndpoint } from './endpoint.js';
import { expiryOf, writePageItems } from './value-copiers.js';

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
 * can wait. A bigger string is refused by its length alone, unread.
 */
export const readThroughBytesMax = 8 * 1024 * 1024;
/** A read of the old Redis (one script call) that takes longer fails: a client's command must not hang on it. */
export const readThroughTimeoutMs = 2_000;
const connectTimeoutMs = 5_000;

/**
 * The whole read of a key in the old Redis, as one Lua script: Redis runs a
 * script atomically, so the type, TTL, size and items it answers are one
 * look at the key however clients change it meanwhile, in one round trip
 * (100 in flight against a local redis-server it read 31,000–54,000 keys/s,
 * where a MULTI/EXEC of the same commands read 8,500 and the strings-only
 * GET+PTTL pipeline 20,000–24,000). It checks the bounds before it reads: a collection over
 * readThroughItemsMax, or whose items pass readThroughBytesMax, and a string
 * over readThroughBytesMax are answered by their size alone.
 *
 * KEYS[1] the key; ARGV[1] readThroughItemsMax; ARGV[2] readThroughBytesMax.
 * Answers {type} for none, {type, pttl} for a type ringkv does not hold, else
 * {type, pttl, size, bytes} and, within the bounds, the value: a string's
 * bytes, or a collection's items as LRANGE, SMEMBERS, HGETALL and ZRANGE …
 * WITHSCORES give them.
 */
export const readScript = `
local key = KEYS[1]
local itemsMax = tonumber(ARGV[1])
local bytesMax = tonumber(ARGV[2])
local t = redis.call('TYPE', key).ok
if t == 'none' then return {t} end
local pttl = redis.call('PTTL', key)
if t == 'string' then
  local n = redis.call('STRLEN', key)
  if n > bytesMax then return {t, pttl, n, n} end
  return {t, pttl, n, n, redis.call('GET', key)}
end
local sizes = {list = 'LLEN', set = 'SCARD', hash = 'HLEN', zset = 'ZCARD'}
if sizes[t] == nil then return {t, pttl} end
local size = redis.call(sizes[t], key)
if size > itemsMax then return {t, pttl, size, 0} end
local items
if t == 'list' then items = redis.call('LRANGE', key, 0, -1)
elseif t == 'set' then items = redis.call('SMEMBERS', key)
elseif t == 'hash' then items = redis.call('HGETALL', key)
else items = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES') end
local bytes = 0
for i = 1, #items do bytes = bytes + #items[i] end
if bytes > bytesMax then return {t, pttl, size, bytes} end
return {t, pttl, size, bytes, items}
`;

const collectionTypes = new Set(['list', 'set', 'hash', 'zset']);

export function tooLargeError(type: string, size: string): CommandError {
  return new CommandError(
    `ERR read-through: the ${type} at this key in the old Redis is too large to import on read (${size}; read-through imports at most `
    + `${readThroughItemsMax} items and ${readThroughBytesMax / (1024 * 1024)} MiB): copy it with ringkv migrate --mode missing`,
  );
}

export function unsupportedTypeError(type: string): CommandError {
  return new CommandError(`ERR read-through: the old Redis holds a ${type} at this key, a type ringkv does not hold`);
}

/**
 * The value readScript's reply holds, read at `readAtMs`; undefined for no
 * key. Throws a CommandError for a value read-through does not import (too
 * large, a type ringkv does not hold), an Error for a reply that is not one
 * the script gives.
 */
export function valueOf(reply: unknown, readAtMs: number): ReadThroughValue | undefined {
  if (!Array.isArray(reply) || reply.length === 0) throw new Error('the read script answered no array');
  const type = String(reply[0]);
  if (type === 'none') return undefined;
  if (type !== 'string' && !collectionTypes.has(type)) throw unsupportedTypeError(type);
  const [pttl, size, bytes, value] = [Number(reply[1]), Number(reply[2]), Number(reply[3]), reply[4]];
  if (type === 'string') {
    if (size > readThroughBytesMax) throw tooLargeError('string', `${size} bytes`);
    if (!Buffer.isBuffer(value)) throw new Error('the read script answered no string');
    return { type, value, ...expiryField(pttl, readAtMs) };
  }
  if (size > readThroughItemsMax) throw tooLargeError(type, `${size} items`);
  if (bytes > readThroughBytesMax) throw tooLargeError(type, `${bytes} bytes of items`);
  if (!Array.isArray(value) || !value.every(Buffer.isBuffer)) throw new Error(`the read script answered no items for a ${type}`);
  const items = value as Buffer[];
  // Redis holds no empty collection.
  if (items.length === 0 || items.length !== (type === 'zset' || type === 'hash' ? 2 * size : size)) throw new Error(`the read script answered ${items.length} items for a ${type} of ${size}`);
  const expiry = expiryField(pttl, readAtMs);
  switch (type) {
    case 'list':
    case 'set':
      return { type, items, ...expiry };
    case 'hash':
      return { type, entries: pairs(items, (field, v) => [field, v] as const), ...expiry };
    default:
      return { type: 'zset', entries: pairs(items, (member, score) => [scoreOf(score), member] as const), ...expiry };
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

/** The client with readScript defined on it (ioredis sends EVALSHA, and EVAL once when the old Redis does not know it yet). */
interface ScriptedRedis extends Redis {
  readThroughBuffer(key: Buffer, itemsMax: string, bytesMax: string): Promise<unknown>;
}

export class RedisReadThrough implements ReadThroughSource {
  private readonly client: ScriptedRedis;
  private inFlight = 0;
  private reads = 0;
  private found = 0;
  private refused = 0;
  private failures = 0;
  private unreachableLogged = false;
  /**
   * Settles when the first connection is made or fails: reads that come
   * before it (a node serves as soon as it starts) wait for it rather than
   * fail for a connection still being made. Once it has settled, a read
   * while the old Redis is unreachable fails at once.
   */
  private firstConnection: Promise<void> | undefined;

  constructor(endpoint: RedisEndpoint, private readonly url: string, private readonly logger: Logger) {
    this.client = new Redis({
      host: endpoint.host, port: endpoint.port, db: endpoint.db,
      ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      ...(endpoint.tls ? { tls: {} } : {}),
      lazyConnect: false, connectTimeout: connectTimeoutMs, commandTimeout: readThroughTimeoutMs,
      maxRetriesPerRequest: 1, enableOfflineQueue: false,
    }) as ScriptedRedis;
    this.client.defineCommand('readThrough', { numberOfKeys: 1, lua: readScript });
    this.firstConnection = new Promise<void>((resolve) => {
      const settle = (): void => {
        this.firstConnection = undefined;
        resolve();
      };
      // ioredis reports a connect timeout (connectTimeoutMs) as an error: the wait is bounded.
      for (const event of ['ready', 'error', 'end']) this.client.once(event, settle);
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
      if (this.firstConnection !== undefined) await this.firstConnection;
      const readAtMs = Date.now();
      const value = valueOf(await this.client.readThroughBuffer(key, String(readThroughItemsMax), String(readThroughBytesMax)), readAtMs);
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
