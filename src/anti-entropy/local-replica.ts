// What an exchange needs of a node (exchange.ts LocalReplica), made from the
// node's trees, its storage and its one merge path: the same wiring for a
// real node, the simulation, the benchmarks and the tests.

import type { Sibling } from '../clock/types.js';
import type { Storage } from '../storage/storage.js';
import type { LocalReplica } from './exchange.js';
import type { TreeKeeper } from './tree-keeper.js';

/** `apply` folds a whole record into the local one (Coordinator.applyLocal in a node). */
export function localReplica(trees: TreeKeeper, storage: Storage, apply: (key: Buffer, siblings: readonly Sibling[]) => Promise<unknown>): LocalReplica {
  return {
    tree: (id) => trees.tree(id),
    leafEntries: (id, leaf) => trees.leafEntries(id, leaf),
    // Storage records only, never hints: what this replica itself holds.
    records: async (keys) => keys.map((key) => storage.get(key, undefined)),
    apply,
  };
}
