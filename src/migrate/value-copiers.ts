// How each Redis type is read from the source and written to ringkv: the one
// table to extend as ringkv holds more types.
//
// Reads come in pages so that no reply from the source holds a whole big
// collection (a production Redis serves its other clients between pages): a
// list by LRANGE windows, a sorted set, set or hash by ZSCAN/SSCAN/HSCAN.
// A value's first page is read in the batch's pipeline; when it is the whole
// value (a string, or a collection of at most `collectionPageItems`) it is
// written in the batch's pipeline too, else the copy reads the rest in pages
// under WATCH (paged-copy.ts).
//
// Writes: `overwrite` mode replaces the key's value in ringkv, whatever it
// held (SET for a string; IMPORT … REPLACE for a collection), `missing` mode
// writes only where ringkv holds no version of the key (IMPORT). A
// collection is written as IMPORT pages of at most `writePageItems` items
// and `writePageBytes` bytes (commands/import.ts says why IMPORT and not
// RESTORE of Redis's DUMP payload).

import type { ChainableCommander } from 'ioredis';

/**
 * Items (elements, members, pairs) a read of the source asks for at once.
 * A page of 1,000 short items is a reply of some tens of KiB that Redis
 * builds in well under a millisecond; Redis's own SCAN guidance is of this
 * order (COUNT 10 by default, larger for throughput).
 */
export const collectionPageItems = 1_000;
/**
 * Items in one IMPORT page written to ringkv. Larger than a read page: each
 * page re-encodes the whole collection on the key's coordinator (as any
 * write of a collection does), so a big collection costs about pages × its
 * size; 10,000 copied 20,000-member sorted sets 4 times faster than 1,000
 * did (npm run bench:migrate, before the coordinator kept decoded states,
 * when each page decoded it too). writePageBytes still bounds a page.
 */
export const writePageItems = 10_000;
/** Bytes of items in one IMPORT page: a few big members do not make one huge command (ringkv's replica frames carry the page). */
export const writePageBytes = 1024 * 1024;
/**
 * A collection whose items pass this many bytes is not copied (skipped with
 * the reason): ringkv holds a key in one record of at most 64 MiB less 64 KiB
 * (coordinator.ts replicatedRecordBytesMax), which its per-member tags and
 * positions share with the items; half of that leaves room for them, and it
 * bounds what the paged copy holds in memory for one key.
 */
export const collectionBytesMax = 32 * 1024 * 1024;

export const skipReasons = {
  vanished: 'deleted or expired before it was read',
  changed: 'changed type or was deleted during the copy',
  unsupportedType: 'a type ringkv does not hold',
  present: 'already in ringkv (written or deleted there since clients moved)',
} as const;

/** One key's write to the target, sent again as it is if the target refuses the batch. */
export interface Write {
  send(target: ChainableCommander): void;
  /** The value bytes it writes, for the report. */
  readonly bytes: number;
}

/**
 * How a copied value is written: `overwrite` (a copy made before clients
 * move: SET, IMPORT … REPLACE), or `missing`, written only where ringkv holds
 * no version of the key (a copy running after clients moved, beside
 * --read-through: a key they wrote or deleted through ringkv is newer).
 */
export type CopyMode = 'overwrite' | 'missing';

/** A page of a value as read: its items as IMPORT takes them, and where the next page starts (undefined: this was the last). */
export interface Page {
  readonly items: Buffer[];
  readonly next: string | undefined;
}

export interface ValueCopier {
  /** Reads the page at `cursor` ('0': the first) in the source pipeline: one command, so a page is one consistent look at the key. */
  readPage(source: ChainableCommander, key: Buffer, cursor: string): void;
  /** The page a reply holds; undefined when it shows the key gone (Redis holds no empty collection). */
  parsePage(reply: unknown, cursor: string): Page | undefined;
  /** For a scanned type: the items of one entry (a hash's field and value) and which of them names it, to drop an entry a scan returns twice. */
  readonly entry?: { readonly items: number; readonly keyAt: number };
}

const stringCopier: ValueCopier = {
  readPage(source, key) {
    source.getBuffer(key);
  },
  parsePage(reply) {
    return Buffer.isBuffer(reply) ? { items: [reply], next: undefined } : undefined;
  },
};

/** LRANGE windows of collectionPageItems; a window shorter than that was the last. */
const listCopier: ValueCopier = {
  readPage(source, key, cursor) {
    const start = Number(cursor);
    source.lrangeBuffer(key, start, start + collectionPageItems - 1);
  },
  parsePage(reply, cursor) {
    if (!Array.isArray(reply) || !reply.every(Buffer.isBuffer)) return undefined;
    if (reply.length === 0 && cursor === '0') return undefined;
    return { items: reply, next: reply.length < collectionPageItems ? undefined : String(Number(cursor) + collectionPageItems) };
  },
};

/** A SCAN-family reply: [cursor, flat items]; cursor 0 ends the scan. */
function scanned(reply: unknown, cursor: string, arrange: (flat: Buffer[]) => Buffer[]): Page | undefined {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) return undefined;
  const next = String(reply[0]);
  const flat = reply[1] as unknown[];
  if (!flat.every(Buffer.isBuffer)) return undefined;
  if (flat.length === 0 && cursor === '0' && next === '0') return undefined;
  return { items: arrange(flat as Buffer[]), next: next === '0' ? undefined : next };
}

/** ZSCAN answers member, score; IMPORT takes score, member (as ZADD). Scores stay Redis's text, read back exactly. */
const zsetCopier: ValueCopier = {
  readPage(source, key, cursor) {
    source.zscanBuffer(key, cursor, 'COUNT', collectionPageItems);
  },
  parsePage(reply, cursor) {
    return scanned(reply, cursor, (flat) => {
      const out: Buffer[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push(flat[i + 1]!, flat[i]!);
      return out;
    });
  },
  entry: { items: 2, keyAt: 1 },
};

const setCopier: ValueCopier = {
  readPage(source, key, cursor) {
    source.sscanBuffer(key, cursor, 'COUNT', collectionPageItems);
  },
  parsePage: (reply, cursor) => scanned(reply, cursor, (flat) => flat),
  entry: { items: 1, keyAt: 0 },
};

const hashCopier: ValueCopier = {
  readPage(source, key, cursor) {
    source.hscanBuffer(key, cursor, 'COUNT', collectionPageItems);
  },
  parsePage: (reply, cursor) => scanned(reply, cursor, (flat) => flat),
  entry: { items: 2, keyAt: 0 },
};

/** By the source's TYPE reply: the types ringkv holds. */
export const valueCopiers: Readonly<Record<string, ValueCopier>> = {
  string: stringCopier,
  list: listCopier,
  zset: zsetCopier,
  set: setCopier,
  hash: hashCopier,
};

/** Items a scanned value's pages gave, each entry once (a scan may return one twice; the last look wins). */
export function distinctEntries(copier: ValueCopier, items: readonly Buffer[]): Buffer[] {
  const entry = copier.entry;
  if (entry === undefined) return [...items];
  const seen = new Map<string, Buffer[]>();
  for (let i = 0; i + entry.items <= items.length; i += entry.items) {
    seen.set(items[i + entry.keyAt]!.toString('latin1'), items.slice(i, i + entry.items));
  }
  return [...seen.values()].flat();
}

export function itemBytes(items: readonly Buffer[]): number {
  let n = 0;
  for (const item of items) n += item.length;
  return n;
}

/**
 * The absolute expiry to write for a key read with `pttl` ms left at
 * `readAtMs` (PTTL -1: none). A key due in under a millisecond is written
 * with 1 ms left rather than forever.
 */
export function expiryOf(pttl: number, readAtMs: number): number | undefined {
  return pttl >= 0 ? readAtMs + Math.max(1, pttl) : undefined;
}

/** The write of a string or of a collection that fits one IMPORT page, for the batch's pipeline. */
export function wholeValueWrite(key: Buffer, type: string, items: Buffer[], expiresAt: number | undefined, mode: CopyMode): Write {
  const bytes = itemBytes(items);
  if (type === 'string') {
    const value = items[0]!;
    if (mode === 'missing') {
      const args: (Buffer | string)[] = expiresAt === undefined ? [key, value] : [key, value, 'PXAT', String(expiresAt)];
      return { send: (target) => void target.call('IMPORT', ...args), bytes };
    }
    const send = expiresAt === undefined
      ? (target: ChainableCommander) => void target.set(key, value)
      : (target: ChainableCommander) => void target.set(key, value, 'PXAT', expiresAt);
    return { send, bytes };
  }
  const args = importArgs(key, type, { mode, ...(expiresAt === undefined ? {} : { expiresAt }) }, items);
  // The reply is the page's token (bytes) or 0.
  return { send: (target) => void target.callBuffer('IMPORT', ...args), bytes };
}

/** What an IMPORT page says besides its items. */
export interface PageOptions {
  readonly mode: CopyMode;
  /** First page only. */
  readonly expiresAt?: number;
  /** A later page: the token the page before answered. */
  readonly append?: Buffer;
  /** A first page that replaces only this token's version: an interrupted copy of the key, started again (checkpoint.ts). */
  readonly over?: Buffer;
}

export function importArgs(key: Buffer, type: string, options: PageOptions, items: readonly Buffer[]): (Buffer | string)[] {
  const args: (Buffer | string)[] = [key, 'TYPE', type];
  if (options.expiresAt !== undefined) args.push('PXAT', String(options.expiresAt));
  if (options.mode === 'overwrite') args.push('REPLACE');
  if (options.append !== undefined) args.push('APPEND', options.append);
  if (options.over !== undefined) args.push('OVER', options.over);
  args.push('ITEMS', ...items);
  return args;
}

/** A collection's items cut into IMPORT pages: at most writePageItems items and writePageBytes bytes each (one big item alone), entries never split. */
export function writePages(items: readonly Buffer[], itemsPerEntry: number): Buffer[][] {
  const pages: Buffer[][] = [];
  let page: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; i < items.length; i += itemsPerEntry) {
    const entry = items.slice(i, i + itemsPerEntry);
    const size = itemBytes(entry);
    if (page.length > 0 && (page.length + entry.length > writePageItems || bytes + size > writePageBytes)) {
      pages.push(page);
      page = [];
      bytes = 0;
    }
    page.push(...entry);
    bytes += size;
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

/** Items per entry of a type's IMPORT: a sorted set's score and member, a hash's field and value. */
export function itemsPerEntry(type: string): number {
  return type === 'zset' || type === 'hash' ? 2 : 1;
}
