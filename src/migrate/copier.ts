// The copy itself: walk the source with SCAN (never KEYS: it would block a
// production Redis for the whole keyspace), and for each batch read every
// key's TYPE and remaining PTTL, read the values of the types ringkv holds,
// write them to ringkv pipelined, and only once the target acknowledged the
// whole batch move the checkpoint past it. Reads are paced by a token bucket
// (--rate; a page of a big collection counts as pageReadCostKeys keys) and
// one batch is in flight at a time, so the source sees at most `batchKeys`
// keys' worth of commands at once.
//
// Which types are copied, and how, is the table in value-copiers.ts; a
// collection too big for one page is copied after its batch's pipelined
// writes, one key at a time (paged-copy.ts).

import type { Redis } from 'ioredis';
import { saveCheckpoint, type Checkpoint, type InFlightKey } from './checkpoint.js';
import { TokenBucket } from './token-bucket.js';
import { copyPaged, presentInRingkv } from './paged-copy.js';
import { expiryOf, skipReasons, valueCopiers, wholeValueWrite, type CopyMode, type Write } from './value-copiers.js';

export interface CopyOptions {
  /** SCAN's COUNT: keys per batch (about: SCAN's count is a hint). */
  readonly batchKeys: number;
  /** Keys read from the source per second at most. */
  readonly rateKeysPerSec: number;
  /** SET over whatever ringkv holds, or IMPORT only where it holds nothing (value-copiers.ts). */
  readonly mode: CopyMode;
  readonly checkpointFile: string;
  /** Called after every batch with the counts so far. */
  readonly onBatch?: (cp: Checkpoint) => void;
  /** Stops after the batch in flight (SIGINT): the checkpoint is saved and the copy resumes later. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export class MigrateError extends Error {
  readonly code = 'MIGRATE_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrateError';
  }
}

/** A batch the target refused (NOQUORUM while a node restarts…) is tried this many times in all. */
const batchAttemptsMax = 6;
const retryBackoffMsFirst = 250;
/**
 * Value bytes in one pipeline of writes to the target: a batch of 500 keys
 * may hold 500 collections of 1,000 items, and ringkv reads a client's whole
 * pipeline into its query buffer (1 GiB at most) before answering, so the
 * batch is sent in pipelines of at most this much, one after another.
 */
const writePipelineBytesMax = 16 * 1024 * 1024;
/**
 * What one page read of a big collection costs the source, in the keys
 * `--rate` counts: a key is TYPE, PTTL and its value (three commands). On
 * redis-server 7.0 here (redis-benchmark), GET served ~41,000/s, LRANGE of
 * 1,000 elements ~7,200/s and HSCAN COUNT 1000 of a hash ~2,100/s: a page is
 * 2-7 keys' worth; 10 rounds the dearest up.
 */
const pageReadCostKeys = 10;

export { skipReasons };

/** Copies from `cp.cursor` to the end of the keyspace; resolves with the final checkpoint (done, or stopped by the signal). */
export async function copyKeyspace(source: Redis, target: Redis, start: Checkpoint, options: CopyOptions): Promise<Checkpoint> {
  const now = options.now ?? Date.now;
  const bucket = new TokenBucket(options.rateKeysPerSec, now());
  let cp = start;
  if (cp.done) return cp;
  for (;;) {
    if (options.signal?.aborted === true) return cp;
    const batchStartMs = now();
    const [nextCursor, keys] = await source.scanBuffer(cp.cursor, 'COUNT', options.batchKeys);
    const inFlight: InFlight = { resume: cp.inFlight, save: (entry) => {
      cp = withInFlight(cp, entry);
      saveCheckpoint(options.checkpointFile, cp);
    } };
    const counts = await copyBatch(source, target, keys, options.mode, inFlight, now);
    const copied = { ...cp.copied };
    for (const [type, n] of Object.entries(counts.copied)) copied[type] = (copied[type] ?? 0) + n;
    const skipped = { ...cp.skipped };
    for (const [reason, n] of Object.entries(counts.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
    const cursor = nextCursor.toString();
    cp = { ...withInFlight(cp, undefined), cursor, done: cursor === '0', copied, skipped, bytes: cp.bytes + counts.bytes, elapsedMs: cp.elapsedMs + (now() - batchStartMs) };
    saveCheckpoint(options.checkpointFile, cp);
    options.onBatch?.(cp);
    if (cp.done) return cp;
    const waitMs = bucket.take(keys.length + counts.pageReads * pageReadCostKeys, now());
    if (waitMs > 0) await abortableSleep(waitMs, options.signal);
  }
}

interface BatchCounts {
  copied: Record<string, number>;
  skipped: Record<string, number>;
  bytes: number;
  /** Pages of big collections read from the source (paged-copy.ts), for the rate limit. */
  pageReads: number;
}

/** The checkpoint's big key copied in pages right now, and how to record its progress. */
interface InFlight {
  readonly resume: InFlightKey | undefined;
  save(entry: InFlightKey | undefined): void;
}

function withInFlight(cp: Checkpoint, entry: InFlightKey | undefined): Checkpoint {
  const { inFlight: _, ...rest } = cp;
  return entry === undefined ? rest : { ...rest, inFlight: entry };
}

async function copyBatch(source: Redis, target: Redis, keys: Buffer[], mode: CopyMode, inFlight: InFlight, now: () => number): Promise<BatchCounts> {
  const counts: BatchCounts = { copied: {}, skipped: {}, bytes: 0, pageReads: 0 };
  if (keys.length === 0) return counts;
  // One round trip for what each key is and how long it has left.
  const meta = source.pipeline();
  for (const key of keys) meta.type(key).pttl(key);
  const metaReadAtMs = now();
  const metaReplies = await execOrThrow(meta.exec(), 'reading TYPE and PTTL from the source');
  const reads = source.pipeline();
  const plan: { key: Buffer; type: string; pttl: number }[] = [];
  for (let i = 0; i < keys.length; i++) {
    const type = String(metaReplies[2 * i]);
    const pttl = Number(metaReplies[2 * i + 1]);
    if (type === 'none' || pttl === -2) {
      bump(counts.skipped, skipReasons.vanished);
      continue;
    }
    const copier = valueCopiers[type];
    if (copier === undefined) {
      bump(counts.skipped, `${skipReasons.unsupportedType} (${type})`);
      continue;
    }
    copier.readPage(reads, keys[i]!, '0');
    plan.push({ key: keys[i]!, type, pttl });
  }
  if (plan.length === 0) return counts;
  const values = await reads.exec();
  if (values === null) throw new MigrateError('the source closed the connection while the values were read');
  const writes: Write[] = [];
  const types: string[] = [];
  const paged: { key: Buffer; type: string }[] = [];
  for (let i = 0; i < plan.length; i++) {
    const { key, type, pttl } = plan[i]!;
    const [err, reply] = values[i]!;
    const page = err === null ? valueCopiers[type]!.parsePage(reply, '0') : undefined;
    if (page === undefined) {
      bump(counts.skipped, skipReasons.changed);
      continue;
    }
    // The key an interrupted run was paging goes the paged way again, whatever its size now, to replace the pages it left.
    if (page.next !== undefined || (inFlight.resume !== undefined && mode === 'missing' && key.equals(Buffer.from(inFlight.resume.key, 'base64')))) {
      paged.push({ key, type });
      continue;
    }
    writes.push(wholeValueWrite(key, type, page.items, expiryOf(pttl, metaReadAtMs), mode));
    types.push(type);
  }
  if (writes.length > 0) {
    const replies: unknown[] = [];
    for (const chunk of byBytes(writes, writePipelineBytesMax)) replies.push(...(await writeWithRetries(target, chunk)));
    for (let i = 0; i < writes.length; i++) {
      // IMPORT answers 0 where ringkv already held a version: written or deleted there, so newer than this copy.
      if (mode === 'missing' && replies[i] === 0) {
        bump(counts.skipped, skipReasons.present);
        continue;
      }
      bump(counts.copied, types[i]!);
      counts.bytes += writes[i]!.bytes;
    }
  }
  for (const { key, type } of paged) await copyOnePaged(source, target, key, type, mode, inFlight, now, counts);
  return counts;
}

async function copyOnePaged(
  source: Redis, target: Redis, key: Buffer, type: string, mode: CopyMode, inFlight: InFlight, now: () => number, counts: BatchCounts,
): Promise<void> {
  const resume = inFlight.resume;
  const resumeToken = mode === 'missing' && resume !== undefined && key.equals(Buffer.from(resume.key, 'base64')) ? Buffer.from(resume.token, 'base64') : undefined;
  const outcome = await copyPaged(source, key, type, mode, {
    now,
    ...(resumeToken === undefined ? {} : { resumeToken }),
    write: async (args) => (await writeWithRetries(target, [{ send: (t) => void t.callBuffer('IMPORT', ...args), bytes: 0 }]))[0],
    onToken: (token) => inFlight.save(token === undefined ? undefined : { key: key.toString('base64'), token: token.toString('base64') }),
    onPageRead: () => void counts.pageReads++,
  });
  if (outcome === presentInRingkv) bump(counts.skipped, skipReasons.present);
  else if (outcome.copied) {
    bump(counts.copied, type);
    counts.bytes += outcome.bytes;
  } else bump(counts.skipped, outcome.reason);
}

/** `writes` in runs of at most `bytesMax` value bytes (a bigger write alone), in order. */
export function byBytes(writes: readonly Write[], bytesMax: number): Write[][] {
  const runs: Write[][] = [];
  let run: Write[] = [];
  let bytes = 0;
  for (const write of writes) {
    if (run.length > 0 && bytes + write.bytes > bytesMax) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(write);
    bytes += write.bytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The target may refuse a batch for a moment (a node restarting): the same writes are sent again, then the copy stops. */
async function writeWithRetries(target: Redis, writes: readonly Write[]): Promise<unknown[]> {
  let lastError = '';
  for (let attempt = 0; attempt < batchAttemptsMax; attempt++) {
    if (attempt > 0) await abortableSleep(retryBackoffMsFirst * 2 ** (attempt - 1), undefined);
    const pipeline = target.pipeline();
    for (const write of writes) write.send(pipeline);
    const replies = await pipeline.exec().catch((err: Error) => [[err, null]] as [Error | null, unknown][]);
    const failed = replies?.find(([err]) => err !== null);
    if (replies !== null && failed === undefined) return replies.map(([, reply]) => reply);
    lastError = failed?.[0]?.message ?? 'the target closed the connection';
  }
  throw new MigrateError(`the target refused a batch ${batchAttemptsMax} times; last: ${lastError}`);
}

async function execOrThrow(pending: Promise<[Error | null, unknown][] | null>, what: string): Promise<unknown[]> {
  const replies = await pending;
  if (replies === null) throw new MigrateError(`connection closed while ${what}`);
  return replies.map(([err, value]) => {
    if (err !== null) throw new MigrateError(`${what}: ${err.message}`, { cause: err });
    return value;
  });
}

function bump(counts: Record<string, number>, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
