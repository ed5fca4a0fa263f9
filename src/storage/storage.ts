// The storage seam: what a node keeps of the records it replicates. The
// coordinator and replica handlers see only this interface; LevelDB
// (level-storage.ts) and memory (memory-storage.ts) stand behind it.
//
// Every change to a record is a read-modify-write through `update`, so the
// one merge function (clock/siblings.ts reconcile) decides every outcome and
// concurrent writers to one key cannot interleave.

import type { Sibling } from '../clock/types.js';

export interface ScanEntry {
  readonly key: Buffer;
  readonly token: bigint;
  readonly siblings: Sibling[];
}

export interface ScanPage {
  readonly entries: ScanEntry[];
  /** True when keys with greater tokens remain. Pages end on a token boundary. */
  readonly more: boolean;
  /** Records in the page's range that could not be decoded and were left out (a corrupt disk, a bug). */
  readonly undecodable?: number;
}

export interface Storage {
  /**
   * The key's stored siblings, [] when absent. Sees writes not yet durable.
   * `token` is the key's tokenOf digest when the caller has it; otherwise the
   * store computes it if it needs it.
   */
  get(key: Buffer, token: Buffer | undefined): Sibling[];
  /**
   * Replaces the key's record with `change(current)` ([] deletes it) and
   * resolves with the new record once it is durable (survives kill -9).
   * `change` runs synchronously, before update returns (a `change` that
   * throws makes update throw and changes nothing), so changes to one key
   * apply in call order and the caller may act on the new record at once.
   */
  update(key: Buffer, token: Buffer | undefined, change: (current: Sibling[]) => Sibling[]): Promise<Sibling[]>;
  /** Records with token ≥ fromToken in ring order, at most about `limit` keys. */
  scan(fromToken: bigint, limit: number): Promise<ScanPage>;
  /** Records stored on this node (replicas and tombstones included): cheap, for INFO. */
  recordCount(): number;
  /** Removes every record. */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The record a store keeps: versions new in `next` may be views into a
 * larger buffer (a socket chunk, a peer frame) that would stay pinned, or be
 * reused, while the record lives; they get their own copy.
 */
export function ownedVersions(next: Sibling[], current: readonly Sibling[]): Sibling[] {
  let out = next;
  for (let i = 0; i < next.length; i++) {
    const s = next[i]!;
    if (s.value.length === 0 || current.includes(s)) continue;
    if (out === next) out = next.slice();
    out[i] = { ...s, value: Buffer.from(s.value) };
  }
  return out;
}

export class StorageError extends Error {
  constructor(readonly code: 'STORAGE_CLOSED' | 'STORAGE_IO', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}
