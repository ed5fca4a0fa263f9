// Multi-key commands (MGET, MSET, DEL, EXISTS) act key by key (DESIGN.md):
// each key is its own quorum operation. They run side by side, but at most
// `keysInFlightMax` at a time, so one MGET of 100,000 keys cannot put 200,000
// replica requests in flight at once — more than a peer link queues
// (peer/tcp-transport.ts pendingRequestsMax), which would fail keys that a
// smaller batch would have served.

/** Keys of one command in flight at once: 4 replica requests each at most, well inside a link's queue of 4,096. */
export const keysInFlightMax = 512;

/** `work` for every index in [0, count), at most keysInFlightMax at once; results in index order. Rejects with the first failure. */
export async function forEachKey<T>(count: number, work: (index: number) => T | Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(keysInFlightMax, count) }, lane));
  return results;
}
