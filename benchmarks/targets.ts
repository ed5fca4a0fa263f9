// The systems under test, each started on free 127.0.0.1 ports with a temp
// data dir and stopped before the next one starts: on a 2-core box two
// targets running at once would steal each other's CPU and skew the ratios.
import { execFile } from 'node:child_process';
import { freePort } from '../test/helpers/ports.js';
import path from 'node:path';
import { ManagedProcess, makeTempDir, removeTempDir, repoRoot, startCluster, startNode, waitForPing } from '../test/helpers/cluster.js';
import { bareTarget } from './report.js';

/**
 * `aae` is not one target but the anti-entropy cost comparison (run.ts): 3-node clusters with and without trees, alternated;
 * `failover` is the time series of a 3-node cluster through a node's kill and restart (failover.ts).
 */
export type TargetName = 'redis' | 'bare' | 'single' | 'cluster' | 'hinted' | 'aae' | 'types' | 'failover';
export const targetNames: readonly TargetName[] = ['redis', 'bare', 'single', 'cluster', 'hinted', 'aae', 'types', 'failover'];

export interface Target {
  name: TargetName;
  label: string;
  /** RESP ports, one per node */
  ports: number[];
  /** The nodes' process ids, for CPU read from /proc (proc-cpu.ts); absent where the benchmark does not read them. */
  pids?(): (number | undefined)[];
  /**
   * A target measured twice, healthy then degraded: takes it from the first
   * state to the second (kills a node) and resolves once the cluster sees it.
   * The load keeps going to `ports[0]`, which stays up.
   */
  degrade?: Degrade;
  /** Lines for the report's notes, read after the last measurement (e.g. hints stored). */
  notes?(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface Degrade {
  /** Mode label of the rows measured before degrade(), e.g. "all 4 up". */
  readonly upMode: string;
  /** Mode label of the rows measured after. */
  readonly downMode: string;
  run(): Promise<void>;
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

/** The Node.js ceiling (bare-responder.ts): ringkv's RESP edge over a Map, nothing else. */
export async function startBareResponder(): Promise<Target> {
  const port = await freePort();
  const proc = new ManagedProcess('node-bare', process.execPath, [path.join(repoRoot, 'dist', 'benchmarks', 'bare-responder.js'), String(port)]);
  const stop = async (): Promise<void> => {
    await proc.stop();
  };
  try {
    await waitForPing(port, proc, redisReadyTimeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'bare', label: bareTarget, ports: [port], stop };
}

/** One ringkv node alone, with N=R=W=1 so a quorum never needs a peer. */
export async function startRingkvSingle(): Promise<Target> {
  const node = await startNode({ id: 'bench-1', n: 1, r: 1, w: 1, readyTimeoutMs: ringkvReadyTimeoutMs });
  const stop = async (): Promise<void> => {
    await node.stop();
    await node.cleanup();
  };
  return { name: 'single', label: 'ringkv ×1', ports: [node.port], pids: () => [node.pid], stop };
}

/**
 * Three ringkv nodes, N=3 R=2 W=2: every write crosses the peer protocol.
 * `antiEntropy: false` runs the same cluster without Merkle trees
 * (--anti-entropy off): the pair measures what keeping the trees costs.
 */
export async function startRingkvCluster(antiEntropy = true): Promise<Target> {
  const cluster = await startCluster({
    nodes: 3,
    n: 3,
    r: 2,
    w: 2,
    readyTimeoutMs: ringkvReadyTimeoutMs,
    convergeTimeoutMs: clusterConvergeTimeoutMs,
    ...(antiEntropy ? {} : { extraArgs: ['--anti-entropy', 'off'] }),
  });
  const stop = async (): Promise<void> => {
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await cluster.cleanup();
  };
  const pids = () => cluster.nodes.map((node) => node.pid);
  return antiEntropy
    ? { name: 'cluster', label: 'ringkv ×3', ports: cluster.nodes.map((node) => node.port), pids, stop }
    : { name: 'cluster', label: 'ringkv ×3 AAE off', ports: cluster.nodes.map((node) => node.port), pids, stop };
}

/**
 * Four nodes, N=3 R=2 W=2: one more node than N, so a key whose primary is
 * down has a fallback to take its write as a hint. Measured all up, then
 * with the last node killed (SIGKILL) and seen down by the other three:
 * about 3/4 of keys then have a down primary, and each of their writes is
 * acknowledged by the two primaries left and a fallback that stores a hint
 * (hints/level-hint-store.ts) — the "always writable" path under load.
 * The load goes to node 1, which stays up; --down-after-ms is short only so
 * the run does not wait 5 s for the failure detector.
 */
export async function startRingkvHinted(): Promise<Target> {
  const cluster = await startCluster({
    nodes: 4,
    n: 3,
    r: 2,
    w: 2,
    extraArgs: ['--down-after-ms', String(hintedDownAfterMs)],
    readyTimeoutMs: ringkvReadyTimeoutMs,
    convergeTimeoutMs: clusterConvergeTimeoutMs,
  });
  const victim = cluster.nodes[cluster.nodes.length - 1]!;
  const survivors = cluster.nodes.slice(0, -1);
  const degrade: Degrade = {
    upMode: `all ${cluster.nodes.length} up, node 1, c50`,
    downMode: `${victim.id} killed (hints), node 1, c50`,
    run: async () => {
      await victim.kill();
      const killedAt = Date.now();
      await cluster.waitConverged(survivors.length, clusterConvergeTimeoutMs);
      hintedProgress(`${victim.id} killed; the other ${survivors.length} saw it down after ${Date.now() - killedAt} ms`);
    },
  };
  const notes = async (): Promise<string[]> => {
    const infos = await Promise.all(survivors.map((node) => node.info('cluster')));
    const sum = (field: string) => infos.reduce((total, info) => total + infoField(info, field), 0);
    return [
      `${cluster.nodes.length} nodes N=3 R=2 W=2; ${victim.id} killed with SIGKILL between the two halves, load on n1 throughout. ` +
        `After the run, summed over the ${survivors.length} survivors: writes_with_fallbacks ${sum('writes_with_fallbacks')}, ` +
        `hints_stored ${sum('hints_stored')}, hints_pending ${sum('hints_pending')} (one per key and down node), hints_dropped ${sum('hints_dropped')}, ` +
        `quorum_failures ${sum('quorum_failures')} (redis-benchmark counts an error reply as a request: this must be 0).`,
    ];
  };
  const stop = async (): Promise<void> => {
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await cluster.cleanup();
  };
  return { name: 'hinted', label: `ringkv ×${cluster.nodes.length} N=3`, ports: cluster.nodes.map((node) => node.port), degrade, notes, stop };
}

/** The failure detector's verdict time for the hinted target (default 5000). */
const hintedDownAfterMs = 1_500;

function hintedProgress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** A numeric INFO field, 0 when absent. */
function infoField(info: string, name: string): number {
  const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

export function startTarget(name: TargetName): Promise<Target> {
  if (name === 'redis') return startRedisServer();
  if (name === 'bare') return startBareResponder();
  if (name === 'single') return startRingkvSingle();
  if (name === 'hinted') return startRingkvHinted();
  return startRingkvCluster();
}
