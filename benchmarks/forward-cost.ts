// What forwarding costs: a 5-node cluster (N=3, R=2, W=2), one client on
// node 1, sequential SETs to keys node 1 replicates (it coordinates) and to
// keys it does not (it forwards to a replica). Prints the mean and p50, p99
// and p99.9 latency of each, from an HdrHistogram (latency.ts).
// `node dist/benchmarks/forward-cost.js` (after npm run build).

import { startCluster } from '../test/helpers/cluster.js';
import { formatLatency, LatencyRecorder, roundMs } from './latency.js';

const keysPerKind = 300;
const rounds = 3;

const cluster = await startCluster({ nodes: 5, n: 3, r: 2, w: 2 });
try {
  const entry = cluster.nodes[0]!;
  const client = entry.client();
  const local: string[] = [];
  const remote: string[] = [];
  for (let i = 0; local.length < keysPerKind || remote.length < keysPerKind; i++) {
    const key = `fwd:${i}`;
    const owners = (await client.call('RING', 'OWNERS', key)) as [string, string][];
    const coordinates = owners.some(([id]) => id === entry.id);
    if (coordinates && local.length < keysPerKind) local.push(key);
    if (!coordinates && remote.length < keysPerKind) remote.push(key);
  }
  const measure = async (keys: string[]): Promise<LatencyRecorder> => {
    const latency = new LatencyRecorder();
    for (let round = 0; round < rounds; round++) {
      for (const key of keys) {
        const started = process.hrtime.bigint();
        await client.set(key, 'v');
        latency.recordSince(started);
      }
    }
    return latency;
  };
  for (const [name, keys] of [['coordinated (node 1 is a replica)', local], ['forwarded (node 1 is not)', remote]] as const) {
    const summary = (await measure([...keys])).summary();
    console.log(`${name}: mean ${roundMs(summary.meanMs)} ms, ${formatLatency(summary)}`);
  }
} finally {
  await cluster.cleanup();
}
