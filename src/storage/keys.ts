// How records are laid out in the key-value engine. Data keys are
// `0x01 ‖ token (8 bytes, big-endian xxhash64 of the key) ‖ key`, so LevelDB
// keeps records in ring order, as Cassandra's partitioner does: a token range
// is one contiguous scan, which is what cluster-wide SCAN, Merkle trees over
// ranges and handoff of ranges all need. Other prefixes are kept for other
// namespaces (hints, metadata) so they never interleave with data.

import { tokenOf } from '../ring/tokens.js';

export { tokenOf };

export const dataPrefix = 0x01;
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

/** Just past every data key: the exclusive end of the data namespace. */
export const dataEnd = Buffer.from([dataPrefix + 1]);
