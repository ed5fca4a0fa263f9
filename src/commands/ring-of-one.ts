// The cluster as a server without membership sees it (benchmarks and tests
// that run the RESP edge over one in-process coordinator): no members to
// list, nobody to remove, no ring to leave or change.

import type { ClusterInfo } from './types.js';

export const ringOfOneCluster: ClusterInfo = {
  members: () => [],
  owners: () => [],
  hostProbe: () => 'off',
  remove: () => {
    throw new Error('a ring of one removes no one');
  },
  leave: () => Promise.reject(new Error('a ring of one cannot leave')),
  transfer: () => ({ operation: undefined, phase: undefined, spansTotal: 0, spansDone: 0, records: 0, bytes: 0, startedAtMs: 0, finishedAtMs: undefined, note: undefined, rateBytesPerSec: 0 }),
  plan: () => Promise.reject(new Error('a ring of one has no plan')),
};
