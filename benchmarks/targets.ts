// The systems under test, each started on free 127.0.0.1 ports with a temp
// data dir and stopped before the next one starts: on a 2-core box two
// targets running at once would steal each other's CPU and skew the ratios.
import { execFile } from 'node:child_process';
import { freePort } from '../test/helpers/ports.js';
import { ManagedProcess, makeTempDir, removeTempDir, startCluster, startNode, waitForPing } from '../test/helpers/cluster.js';

export type TargetName = 'redis' | 'single' | 'cluster';
export const targetNames: readonly TargetName[] = ['redis', 'single', 'cluster'];

export interface Target {
  name: TargetName;
  label: string;
  /** RESP ports, one per node */
  ports: number[];
  stop(): Promise<void>;
}

const redisReadyTimeoutMs = 10_000;
const ringkvReadyTimeoutMs = 30_000;
const clusterConvergeTimeoutMs = 60_000;
const versionProbeTimeoutMs = 5_000;

/** `tool --version` output, or undefined when the tool is not installed. */
export function toolVersion(tool: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(tool, ['--version'], { timeout: versionProbeTimeoutMs }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

/** redis-server with persistence off, as the baseline every ratio is taken against. */
export async function startRedisServer(): Promise<Target> {
  const port = await freePort();
  const dir = await makeTempDir('ringkv-bench-redis-');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  const proc = new ManagedProcess('redis-server', 'redis-server', args);
  const stop = async (): Promise<void> => {
    await proc.stop();
    await removeTempDir(dir);
  };
  try {
    await waitForPing(port, proc, redisReadyTimeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'redis', label: 'redis-server', ports: [port], stop };
}

/** One ringkv node alone, with N=R=W=1 so a quorum never needs a peer. */
export async function startRingkvSingle(): Promise<Target> {
  const node = await startNode({ id: 'bench-1', n: 1, r: 1, w: 1, readyTimeoutMs: ringkvReadyTimeoutMs });
  const stop = async (): Promise<void> => {
    await node.stop();
    await node.cleanup();
  };
  return { name: 'single', label: 'ringkv ×1', ports: [node.port], stop };
}

/** Three ringkv nodes, N=3 R=2 W=2: every write crosses the peer protocol. */
export async function startRingkvCluster(): Promise<Target> {
  const cluster = await startCluster({
    nodes: 3,
    n: 3,
    r: 2,
    w: 2,
    readyTimeoutMs: ringkvReadyTimeoutMs,
    convergeTimeoutMs: clusterConvergeTimeoutMs,
  });
  const stop = async (): Promise<void> => {
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await cluster.cleanup();
  };
  return { name: 'cluster', label: 'ringkv ×3', ports: cluster.nodes.map((node) => node.port), stop };
}

export function startTarget(name: TargetName): Promise<Target> {
  if (name === 'redis') return startRedisServer();
  if (name === 'single') return startRingkvSingle();
  return startRingkvCluster();
}
