// After a copy, compare source and target key by key: a sample of random
// keys (RANDOMKEY on the source: any key, not only the ones this run copied,
// so a resumed copy is checked across all its runs) or, with --verify all,
// every key by a second SCAN. A key is equal when the value and whether it
// has an expiry match; a key written to the source after its batch was copied
// shows as differing or missing, which is why a cut-over runs the copy last
// (README "Migrating from Redis").

import type { Redis } from 'ioredis';
import { valueCopiers } from './value-copiers.js';

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

/** Compares `keys` in three pipelined round trips per side: what each key is, then its value by type. */
async function compare(source: Redis, target: Redis, keys: readonly Buffer[], start: VerifyReport): Promise<VerifyReport> {
  const r = { ...start, examples: [...start.examples] };
  if (keys.length === 0) return r;
  const meta = source.pipeline();
  for (const key of keys) meta.type(key).pttl(key);
  const targetTtls = target.pipeline();
  for (const key of keys) targetTtls.pttl(key);
  const [metaReplies, ttlReplies] = await Promise.all([meta.exec(), targetTtls.exec()]);
  const compared: { key: Buffer; wantTtl: number; gotTtl: number }[] = [];
  const sourceReads = source.pipeline();
  const targetReads = target.pipeline();
  for (let i = 0; i < keys.length; i++) {
    r.checked++;
    const type = String(metaReplies?.[2 * i]?.[1]);
    const copier = valueCopiers[type];
    if (copier === undefined) {
      r.notCompared++;
      continue;
    }
    copier.read(sourceReads, keys[i]!);
    copier.read(targetReads, keys[i]!);
    compared.push({ key: keys[i]!, wantTtl: Number(metaReplies?.[2 * i + 1]?.[1]), gotTtl: Number(ttlReplies?.[i]?.[1]) });
  }
  if (compared.length === 0) return r;
  const [wants, gots] = await Promise.all([sourceReads.exec(), targetReads.exec()]);
  for (let i = 0; i < compared.length; i++) {
    const { key, wantTtl, gotTtl } = compared[i]!;
    const want = wants?.[i]?.[1];
    const got = gots?.[i]?.[1];
    if (!Buffer.isBuffer(want)) {
      r.notCompared++; // changed type or gone since its TYPE was read
      continue;
    }
    let problem: string | undefined;
    if (!Buffer.isBuffer(got)) {
      r.missing++;
      problem = 'missing on the target';
    } else if (!want.equals(got)) {
      r.differing++;
      problem = 'value differs';
    } else if ((wantTtl === -1) !== (gotTtl === -1)) {
      r.expiryDiffers++;
      problem = wantTtl === -1 ? 'has an expiry on the target only' : 'has an expiry on the source only';
    } else {
      r.equal++;
    }
    if (problem !== undefined && r.examples.length < examplesMax) r.examples.push(`${printable(key)}: ${problem}`);
  }
  return r;
}

function printable(key: Buffer): string {
  const text = key.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${key.toString('hex')}`;
}
