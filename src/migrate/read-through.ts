// `--read-through redis://…`: during a cut-over, a key that ringkv has no
// version of (never written here, never deleted here) is read from the Redis
// being migrated from, and its value is imported (coordinator: an `imported`
// write, kept only where no version exists, stamped older than any ringkv
// write) so the next read finds it here. With `ringkv migrate --mode missing`
// copying in the background, clients can move to ringkv first and the data
// follows (README "Migrating from Redis").
//
// Strings only, as ringkv migrate copies today. A read the old Redis cannot
// answer is an error to the client, never a nil: a nil would tell it the key
// does not exist.

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CommandError, type ReadThroughSource, type ReadThroughValue } from '../commands/types.js';
import { redacted, type RedisEndpoint } from './endpoint.js';

/** Reads of the old Redis in flight at most: past it a read is refused rather than queued without bound. */
export const readThroughInFlightMax = 1024;
/** A read of the old Redis that takes longer fails: a client's GET must not hang on it. */
const readThroughTimeoutMs = 2_000;
const connectTimeoutMs = 5_000;

export class RedisReadThrough implements ReadThroughSource {
  private readonly client: Redis;
  private inFlight = 0;
  private reads = 0;
  private found = 0;
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
      const replies = await this.client.pipeline().getBuffer(key).pttl(key).exec();
      const [getError, value] = replies?.[0] ?? [new Error('no reply'), null];
      const [, pttl] = replies?.[1] ?? [null, -2];
      if (getError !== null) {
        // WRONGTYPE: the old Redis holds another type there, which ringkv does not read through.
        if (/^WRONGTYPE/.test(getError.message)) return undefined;
        throw getError;
      }
      if (!Buffer.isBuffer(value)) return undefined;
      this.found++;
      const ttl = Number(pttl);
      return ttl >= 0 ? { value, expiresAt: Date.now() + Math.max(1, ttl) } : { value };
    } catch (err) {
      if (err instanceof CommandError) throw err;
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
      ['read_through_failures', this.failures],
    ];
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
