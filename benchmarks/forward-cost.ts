// What forwarding costs: a 5-node cluster (N=3, R=2, W=2), one client on
// node 1, sequential SETs to keys node 1 replicates (it coordinates) and to
// keys it does not (it forwards to a replica). Prints mean and p99 latency of
// each. `node dist/benchmarks/forward-cost.js` (after npm run build).

import { startCluster } from '../test/helpers/cluster.js';

const keysPerKind = 300;
const rounds = 3;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

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
  const measure = async (keys: string[]): Promise<number[]> => {
    const samples: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const key of keys) {
        const started = process.hrtime.bigint();
        await client.set(key, 'v');
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    return samples.sort((a, b) => a - b);
  };
  for (const [name, keys] of [['coordinated (node 1 is a replica)', local], ['forwarded (node 1 is not)', remote]] as const) {
    const samples = await measure([...keys]);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    console.log(`${name}: mean ${mean.toFixed(3)} ms, p50 ${percentile(samples, 0.5).toFixed(3)} ms, p99 ${percentile(samples, 0.99).toFixed(3)} ms (${samples.length} SETs)`);
  }
} finally {
  await cluster.cleanup();
}
