// One quorum read (Dynamo §4.5): ask every replica of the key, answer once R
// have replied with their versions reconciled, and, once every replica has
// answered or failed, send the merged record to the ones that were behind —
// also those whose answers came after the client had its reply.

import { reconcile, sameVersions } from '../clock/siblings.js';
import type { Sibling } from '../clock/types.js';
import { callQuorum } from './quorum-call.js';

/** What a read needs from its node: local and remote records, and a way to repair. */
export interface ReadReplicas {
  readonly selfId: string;
  readLocal(key: Buffer, token: Buffer | undefined): Sibling[];
  readRemote(id: string, key: Buffer): Promise<Sibling[]>;
  repair(key: Buffer, token: Buffer | undefined, merged: readonly Sibling[], behind: readonly string[]): void;
}

/** The key's record reconciled from R replicas; rejects with QuorumError below R. */
export async function quorumRead(node: ReadReplicas, key: Buffer, token: Buffer | undefined, replicas: readonly string[], r: number): Promise<Sibling[]> {
  const replies: (Sibling[] | undefined)[] = new Array(replicas.length);
  let merged: Sibling[] = [];
  await callQuorum<Sibling[]>({
    operation: 'read',
    replicas,
    needed: r,
    selfIndex: replicas.indexOf(node.selfId),
    ask: (id) => (id === node.selfId ? node.readLocal(key, token) : node.readRemote(id, key)),
    answered: (index, record) => {
      replies[index] = record;
      // Replicas usually agree: merge only when this answer brings something new.
      if (merged.length === 0) merged = record;
      else if (!sameVersions(merged, record)) merged = reconcile([...merged, ...record]);
    },
    settled: () => {
      const behind = replicas.filter((_, i) => replies[i] !== undefined && !sameVersions(replies[i]!, merged));
      if (merged.length > 0 && behind.length > 0) node.repair(key, token, merged, behind);
    },
  });
  return merged;
}
