// The copy of one collection too big for one page (value-copiers.ts
// collectionPageItems): read whole in pages under WATCH, then written to
// ringkv as a chain of IMPORT pages.
//
// Why WATCH: pages are separate commands, and a collection changed between
// two of them (an LPUSH shifts every LRANGE window; a member moved during a
// ZSCAN may be seen twice or not at all) would be copied as a value it never
// held. WATCH before the first page and an empty MULTI/EXEC after the last
// tells whether anything touched the key meanwhile (a write, an expiry, a
// delete): then the pages are thrown away and the key read again, at most
// `pagedReadAttemptsMax` times, after which it is skipped with the reason.
// Only a value read whole without a change is written, so the copy never
// reports a collection it did not copy faithfully.
//
// The value is held in memory between the read and the write, at most
// collectionBytesMax bytes (one key at a time). The write is a chain of
// pages (crdt/import-operation.ts): a page goes only onto the version the
// page before made, so a client writing the key in ringkv during the copy
// (`missing` mode, after the cut-over) breaks the chain and the key is
// reported as not copied. A reader of ringkv may see the first pages of the
// collection for as long as the rest takes (milliseconds a page).

import type { Redis } from 'ioredis';
import {
  collectionBytesMax, distinctEntries, expiryOf, importArgs, itemBytes, itemsPerEntry, skipReasons, valueCopiers, writePages, type CopyMode, type Page,
} from './value-copiers.js';

/** Reads of a collection that changed while it was paged, before it is skipped: a key written that often is better copied when writes stop. */
export const pagedReadAttemptsMax = 3;

export const pagedSkipReasons = {
  changing: `changed during each of ${pagedReadAttemptsMax} paged reads`,
  tooLarge: `larger than ringkv holds in one key (over ${collectionBytesMax / (1024 * 1024)} MiB of items)`,
  chainBroken: 'written in ringkv while its pages were copied (left as ringkv has it)',
} as const;

export type PagedOutcome =
  | { readonly copied: true; readonly bytes: number }
  | { readonly copied: false; readonly reason: string };

export interface PagedCopyHooks {
  /** Writes `writes` (IMPORT argument lists) to the target, retrying a refusal; answers the replies. */
  write(args: readonly (Buffer | string)[]): Promise<unknown>;
  /** Called with each page's token, so an interrupted copy of the key restarts over its pages (checkpoint.ts). */
  onToken(token: Buffer | undefined): void;
  /** Called for each page read from the source, so the copy's rate limit counts it (copier.ts pageReadCostKeys). */
  onPageRead?(): void;
  /** The token of an interrupted copy of this key, if the checkpoint has one. */
  readonly resumeToken?: Buffer;
  readonly now: () => number;
}

/** What `present` means: the key was present in ringkv for a first page in `missing` mode. */
export const presentInRingkv = Symbol('present');

export async function copyPaged(source: Redis, key: Buffer, type: string, mode: CopyMode, hooks: PagedCopyHooks): Promise<PagedOutcome | typeof presentInRingkv> {
  for (let attempt = 0; attempt < pagedReadAttemptsMax; attempt++) {
    const read = await readWatched(source, key, type, hooks);
    if (read === 'changed') continue;
    if (typeof read === 'string') return { copied: false, reason: read };
    return writeChain(key, type, mode, read, hooks);
  }
  return { copied: false, reason: pagedSkipReasons.changing };
}

interface WholeValue {
  readonly items: Buffer[];
  readonly expiresAt: number | undefined;
}

/** The whole value, read in pages under WATCH; 'changed' when the key was touched meanwhile, or a reason to skip it. */
async function readWatched(source: Redis, key: Buffer, type: string, hooks: PagedCopyHooks): Promise<WholeValue | 'changed' | string> {
  const copier = valueCopiers[type]!;
  await source.watch(key);
  let watching = true;
  try {
    const readAtMs = hooks.now();
    const meta = await source.pipeline().type(key).pttl(key).exec();
    const [typeNow, pttl] = [String(meta?.[0]?.[1]), Number(meta?.[1]?.[1])];
    if (typeNow !== type || pttl === -2) return skipReasons.changed;
    const items: Buffer[] = [];
    let bytes = 0;
    for (let cursor: string | undefined = '0'; cursor !== undefined;) {
      const pipe = source.pipeline();
      copier.readPage(pipe, key, cursor);
      const [[err, reply]] = (await pipe.exec()) as [Error | null, unknown][];
      hooks.onPageRead?.();
      const page: Page | undefined = err === null ? copier.parsePage(reply, cursor) : undefined;
      if (page === undefined) return 'changed';
      items.push(...page.items);
      bytes += itemBytes(page.items);
      if (bytes > collectionBytesMax) return pagedSkipReasons.tooLarge;
      cursor = page.next;
    }
    watching = false;
    // EXEC answers null when a watched key was touched since WATCH: the pages are not one look at the key.
    const done = await source.multi().exec();
    if (done === null) return 'changed';
    return { items: distinctEntries(copier, items), expiresAt: expiryOf(pttl, readAtMs) };
  } finally {
    if (watching) await source.unwatch();
  }
}

async function writeChain(key: Buffer, type: string, mode: CopyMode, value: WholeValue, hooks: PagedCopyHooks): Promise<PagedOutcome | typeof presentInRingkv> {
  const pages = writePages(value.items, itemsPerEntry(type));
  let token: Buffer | undefined;
  for (let i = 0; i < pages.length; i++) {
    const options = i > 0
      ? { mode, append: token! }
      : { mode, ...(value.expiresAt === undefined ? {} : { expiresAt: value.expiresAt }), ...(hooks.resumeToken === undefined ? {} : { over: hooks.resumeToken }) };
    const reply = await hooks.write(importArgs(key, type, options, pages[i]!));
    if (!Buffer.isBuffer(reply)) {
      hooks.onToken(undefined);
      // 0 on the first page: a version was there (missing mode), or the interrupted copy's pages were written over since.
      if (i === 0) return hooks.resumeToken === undefined ? presentInRingkv : { copied: false, reason: pagedSkipReasons.chainBroken };
      return { copied: false, reason: pagedSkipReasons.chainBroken };
    }
    token = reply;
    hooks.onToken(i + 1 < pages.length ? token : undefined);
  }
  return { copied: true, bytes: itemBytes(value.items) };
}
