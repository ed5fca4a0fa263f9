// One quorum read (Dynamo §4.5): ask every replica of the key, answer once R
// have replied with their versions reconciled, and, once every replica has
// answered or failed, send the merged record to the ones that were behind —
// also those whose answers came after the client had its reply. With a
// sloppy quorum a primary that is down or fails is replaced by the next
// fallback, which answers with the hints it keeps for the key; a fallback is
// never read-repaired (it is no replica: its hints go home by handoff).

import { reconcile, sameVersions } from '../clock/siblings.js';
import type { Sibling } from '../clock/types.js';
import { callQuorum } from './quorum-call.js';

/** What a read needs from its node: local and remote records, and a way to repair. */
export interface ReadReplicas {
  readonly selfId: string;
  /** This node's record of the key with any hints it keeps for it. */
  readLocal(key: Buffer, token: Buffer | undefined): Sibling[];
  readRemote(id: string, key: Buffer): Promise<Sibling[]>;
  repair(key: Buffer, token: Buffer | undefined, merged: readonly Sibling[], behind: readonly string[]): void;
  isUp(id: string): boolean;
}

/** The nodes that may stand in for down primaries in this read, in order; absent for a STRICT read. */
export interface StandIns {
  available(): boolean;
  next(): string | undefined;
}

/** The key's record reconciled from R replicas; rejects with QuorumError below R. */
export async function quorumRead(
  node: ReadReplicas, key: Buffer, token: Buffer | undefined, replicas: readonly string[], r: number, standIns?: StandIns,
): Promise<{ record: Sibling[]; usedFallback: boolean }> {
  const replies: (Sibling[] | undefined)[] = new Array(replicas.length);
  const byFallback: boolean[] = new Array(replicas.length).fill(false);
  let merged: Sibling[] = [];
  const viaFallback = (index: number, err: unknown): Promise<Sibling[]> => {
    const fallback = standIns?.next();
    if (fallback === undefined) return Promise.reject(err);
    byFallback[index] = true;
    // This node may itself be a fallback for a key it does not replicate: no request to itself.
    return fallback === node.selfId ? Promise.resolve(node.readLocal(key, token)) : node.readRemote(fallback, key);
  };
  await callQuorum<Sibling[]>({
    operation: 'read',
    replicas,
    needed: r,
    selfIndex: replicas.indexOf(node.selfId),
    ask: (id, index) => {
      if (id === node.selfId) return node.readLocal(key, token);
      // Liveness first: looking up the key's fallbacks walks the ring, and a read of up replicas needs none.
      if (!node.isUp(id) && standIns?.available()) return viaFallback(index, undefined);
      return node.readRemote(id, key).catch((err: unknown) => (standIns?.available() ? viaFallback(index, err) : Promise.reject(err)));
    },
    answered: (index, record) => {
      replies[index] = record;
      // Replicas usually agree: merge only when this answer brings something new.
      if (merged.length === 0) merged = record;
      else if (!sameVersions(merged, record)) merged = reconcile([...merged, ...record]);
    },
    settled: () => {
      const behind = replicas.filter((_, i) => replies[i] !== undefined && !byFallback[i] && !sameVersions(replies[i]!, merged));
      if (merged.length > 0 && behind.length > 0) node.repair(key, token, merged, behind);
    },
  });
  return { record: merged, usedFallback: byFallback.includes(true) };
}
