// A node leaving the ring must not take hints with it: each hint it keeps
// for a replica that is down goes to the key's other replicas (which keep it
// as their own; the down one gets it from them later by anti-entropy or read
// repair), and is deleted only then. One pass over every target's hints, in
// key order; a hint that changed meanwhile is kept for the next pass.

import type { Sibling } from '../clock/types.js';
import type { HintStore } from './hint-store.js';

/** Hints read per page: a bounded batch in memory while they are handed over. */
export const handOverPageHints = 256;

/** Resolves with how many hints were handed over and deleted; rejects when one could not be (the caller tries again). */
export async function handOverHints(hints: HintStore, handOver: (key: Buffer, siblings: readonly Sibling[]) => Promise<void>): Promise<number> {
  let handed = 0;
  for (const target of [...hints.pending().keys()]) {
    let after: Buffer | undefined;
    for (;;) {
      const page = await hints.page(target, after, handOverPageHints);
      if (page.length === 0) break;
      for (const hint of page) {
        await handOver(hint.key, hint.siblings);
        if (await hints.remove(target, hint.key, hint.siblings)) handed++;
      }
      after = page[page.length - 1]!.key;
    }
  }
  return handed;
}
