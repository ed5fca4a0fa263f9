// After a copy, compare source and target key by key: a sample of random
// keys (RANDOMKEY on the source: any key, not only the ones this run copied,
// so a resumed copy is checked across all its runs) or, with --verify all,
// every key by a second SCAN. A key is equal when its type, its value (by
// type: sameValue) and whether it has an expiry match. Values are read in
// the copy's pages (value-copiers.ts), on both sides, without WATCH: a key
// written to the source after its batch was copied, or while it is
// compared, shows as differing or missing, which is why a cut-over runs the
// copy last (README "Migrating from Redis").

import type { Redis } from 'ioredis';
import { distinctEntries, itemsPerEntry, valueCopiers, type Page } from './value-copiers.js';

export interface VerifyReport {
  readonly checked: number;
  readonly equal: number;
  readonly differing: number;
  readonly missing: number;
  readonly expiryDiffers: number;
  /** Keys of a type ringkv does not hold, or gone from the source while checked: not compared. */
  readonly notCompared: number;
  /** A few keys that did not match, for the report (printable form). */
  readonly examples: readonly string[];
}

const examplesMax = 5;
const scanBatchKeys = 500;

export async function verifySample(source: Redis, target: Redis, sampleKeys: number): Promise<VerifyReport> {
  let report = emptyReport();
  for (let from = 0; from < sampleKeys; from += scanBatchKeys) {
    const draws = source.pipeline();
    for (let i = from; i < Math.min(sampleKeys, from + scanBatchKeys); i++) draws.randomkeyBuffer();
    const keys = ((await draws.exec()) ?? []).map(([, key]) => key).filter((key): key is Buffer => Buffer.isBuffer(key));
    if (keys.length === 0) break;
    report = await compare(source, target, keys, report);
  }
  return report;
}

export async function verifyAll(source: Redis, target: Redis): Promise<VerifyReport> {
  let report = emptyReport();
  let cursor = '0';
  do {
    const [next, keys] = await source.scanBuffer(cursor, 'COUNT', scanBatchKeys);
    report = await compare(source, target, keys, report);
    cursor = next.toString();
  } while (cursor !== '0');
  return report;
}

function emptyReport(): VerifyReport {
  return { checked: 0, equal: 0, differing: 0, missing: 0, expiryDiffers: 0, notCompared: 0, examples: [] };
}

/** A key's type, expiry and value (its items as value-copiers.ts reads them), or undefined when it has none. */
interface Seen {
  readonly type: string;
  readonly pttl: number;
  readonly items: Buffer[] | undefined;
}

/** Every key's type, PTTL and whole value on one side: first pages pipelined, the rest of a big collection page by page. */
async function readSide(side: Redis, keys: readonly Buffer[]): Promise<Seen[]> {
  const metaPipe = side.pipeline();
  for (const key of keys) metaPipe.type(key).pttl(key);
  const metaReplies = (await metaPipe.exec()) ?? [];
  const seen: Seen[] = keys.map((_, i) => ({ type: String(metaReplies[2 * i]?.[1]), pttl: Number(metaReplies[2 * i + 1]?.[1]), items: undefined }));
  const reads = side.pipeline();
  const read: number[] = [];
  seen.forEach((s, i) => {
    const copier = valueCopiers[s.type];
    if (copier === undefined) return;
    copier.readPage(reads, keys[i]!, '0');
    read.push(i);
  });
  if (read.length === 0) return seen;
  const pages = (await reads.exec()) ?? [];
  for (let r = 0; r < read.length; r++) {
    const i = read[r]!;
    const copier = valueCopiers[seen[i]!.type]!;
    const [err, reply] = pages[r] ?? [new Error('no reply'), null];
    let page: Page | undefined = err === null ? copier.parsePage(reply, '0') : undefined;
    const items: Buffer[] = [];
    while (page !== undefined) {
      items.push(...page.items);
      if (page.next === undefined) break;
      const cursor: string = page.next;
      const more = side.pipeline();
      copier.readPage(more, keys[i]!, cursor);
      const [[moreErr, moreReply]] = (await more.exec()) as [Error | null, unknown][];
      page = moreErr === null ? copier.parsePage(moreReply, cursor) : undefined;
    }
    seen[i] = { ...seen[i]!, items: page === undefined ? undefined : distinctEntries(copier, items) };
  }
  return seen;
}

/** Compares `keys`: what each is on both sides, then its value by type. */
async function compare(source: Redis, target: Redis, keys: readonly Buffer[], start: VerifyReport): Promise<VerifyReport> {
  const r = { ...start, examples: [...start.examples] };
  if (keys.length === 0) return r;
  const [wants, gots] = await Promise.all([readSide(source, keys), readSide(target, keys)]);
  for (let i = 0; i < keys.length; i++) {
    r.checked++;
    const want = wants[i]!;
    const got = gots[i]!;
    if (valueCopiers[want.type] === undefined || want.items === undefined) {
      r.notCompared++; // a type ringkv does not hold, or changed or gone since its TYPE was read
      continue;
    }
    let problem: string | undefined;
    if (got.type === 'none') {
      r.missing++;
      problem = 'missing on the target';
    } else if (got.type !== want.type) {
      r.differing++;
      problem = `a ${got.type} on the target, a ${want.type} on the source`;
    } else if (got.items === undefined || !sameValue(want.type, want.items, got.items)) {
      r.differing++;
      problem = 'value differs';
    } else if ((want.pttl === -1) !== (got.pttl === -1)) {
      r.expiryDiffers++;
      problem = want.pttl === -1 ? 'has an expiry on the target only' : 'has an expiry on the source only';
    } else {
      r.equal++;
    }
    if (problem !== undefined && r.examples.length < examplesMax) r.examples.push(`${printable(keys[i]!)}: ${problem}`);
  }
  return r;
}

/**
 * Whether two reads of a value of `type` (items as value-copiers.ts gives
 * them, each entry once) hold the same value: a string's bytes, a list's
 * elements in order, a sorted set's members with equal scores (so in the same
 * order), a set's members and a hash's fields and values in any order.
 */
export function sameValue(type: string, want: readonly Buffer[], got: readonly Buffer[]): boolean {
  if (want.length !== got.length) return false;
  if (type === 'string' || type === 'list') return want.every((item, i) => item.equals(got[i]!));
  const per = itemsPerEntry(type);
  const keyAt = type === 'zset' ? 1 : 0;
  const entries = (items: readonly Buffer[]) => {
    const out: Buffer[][] = [];
    for (let i = 0; i + per <= items.length; i += per) out.push(items.slice(i, i + per));
    return out.sort((a, b) => Buffer.compare(a[keyAt]!, b[keyAt]!));
  };
  const a = entries(want);
  const b = entries(got);
  return a.every((entry, i) => {
    const other = b[i]!;
    if (!entry[keyAt]!.equals(other[keyAt]!)) return false;
    if (type === 'zset') return scoreOf(entry[0]!) === scoreOf(other[0]!);
    return entry.every((item, j) => item.equals(other[j]!));
  });
}

/** A score as Redis writes it ("inf", "-inf", or a double's shortest text that reads back exactly). */
function scoreOf(text: Buffer): number {
  const s = text.toString('latin1').toLowerCase();
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

function printable(key: Buffer): string {
  const text = key.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${key.toString('hex')}`;
}
