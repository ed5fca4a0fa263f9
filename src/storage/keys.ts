// How records are laid out in the key-value engine. Data keys are
// `0x01 ‖ token (8 bytes, big-endian xxhash64 of the key) ‖ key`, so LevelDB
// keeps records in ring order, as Cassandra's partitioner does: a token range
// is one contiguous scan, which is what cluster-wide SCAN, Merkle trees over
// ranges and handoff of ranges all need. Other prefixes are kept for other
// namespaces so they never interleave with data: metadata derived from the
// records (the anti-entropy trees' leaves) lives under `0x02`, after every
// data key, so a data range read or count never meets it.

import assert from 'node:assert';
import { tokenOf } from '../ring/tokens.js';

export { tokenOf };

export const dataPrefix = 0x01;
/** Metadata (StorageObserver.persist): written in the same batches as the records it derives from. */
export const metaPrefix = 0x02;
/**
 * Links of chained records (crdt/value-chain.ts, level-storage.ts):
 * `0x03 ‖ token ‖ key ‖ u32 n`, the record's n-th link since its stored
 * base. Apart from the data keys so a data range read never meets them.
 */
export const linkPrefix = 0x03;
export const tokenBytes = 8;
const dataHeaderBytes = 1 + tokenBytes;

export function dataKey(token: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(dataHeaderBytes + key.length);
  out[0] = dataPrefix;
  token.copy(out, 1, 0, tokenBytes);
  key.copy(out, dataHeaderBytes);
  return out;
}

export function userKeyOf(storageKey: Buffer): Buffer {
  return storageKey.subarray(dataHeaderBytes);
}

export function tokenOfDataKey(storageKey: Buffer): bigint {
  return storageKey.readBigUInt64BE(1);
}

/** The first data key at or after `token`. */
export function dataKeyAtToken(token: bigint): Buffer {
  const out = Buffer.allocUnsafe(dataHeaderBytes);
  out[0] = dataPrefix;
  out.writeBigUInt64BE(token, 1);
  return out;
}

/** The key of the `n`-th link (from 1) of the record at `storageKey`. */
export function linkKey(storageKey: Buffer, n: number): Buffer {
  const out = Buffer.allocUnsafe(storageKey.length + 4);
  storageKey.copy(out);
  out[0] = linkPrefix;
  out.writeUInt32BE(n, storageKey.length);
  return out;
}

/** The record key and link number of a link key. */
export function linkOf(key: Buffer): { readonly storageKey: Buffer; readonly n: number } {
  const storageKey = Buffer.from(key.subarray(0, key.length - 4));
  storageKey[0] = dataPrefix;
  return { storageKey, n: key.readUInt32BE(key.length - 4) };
}

/** The link namespace, [linkStart, linkEnd). */
export const linkStart = Buffer.from([linkPrefix]);
export const linkEnd = Buffer.from([linkPrefix + 1]);

/** Just past every data key: the exclusive end of the data namespace. */
export const dataEnd = Buffer.from([dataPrefix + 1]);

/** The largest token: a span ending here runs to the end of the ring. */
export const tokenMax = (1n << 64n) - 1n;

/** The data key just past every record with a token ≤ `last`: a span's exclusive end. */
export function dataKeyAfterToken(last: bigint): Buffer {
  return last >= tokenMax ? dataEnd : dataKeyAtToken(last + 1n);
}

/** Just past every key that starts with `prefix`, for a range's exclusive end; `prefix` must not be all 0xff. */
export function prefixEnd(prefix: Buffer): Buffer {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  assert(end > 0, 'a key prefix of 0xff bytes only has no end');
  const out = Buffer.from(prefix.subarray(0, end));
  out[end - 1]! += 1;
  return out;
}
