// `ringkv cluster --nodes K`: a local cluster of K node processes for
// development: RESP on base-port…, peers on base-port+10000…,
// every node given the same seed list. A node that dies is reported, not
// replaced — the cluster is meant to ride out node loss. Ctrl-C (or SIGTERM)
// stops every node cleanly and waits for them.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, options, parseFlags, resolveAdvertiseHost, resolveConfig } from './config.js';

/** The launcher's own flags; the node flags in `passThrough` go to every node. */
const clusterFlags = [{ flag: 'nodes' }, { flag: 'base-port' }];

/**
 * Options that name one node: the launcher sets them for each node, so they
 * are refused here, saying what it sets instead. --advertise-host is passed
 * through: every node of a local cluster runs on this machine, at one address.
 */
const perNode = new Map([
  ['node-id', '--node-id is set per node by the cluster launcher: node-1 … node-K'],
  ['port', '--port is set per node by the cluster launcher: node i listens on --base-port + i - 1'],
  ['peer-port', '--peer-port is set per node by the cluster launcher: node i\'s is --base-port + 10000 + i - 1'],
  ['seeds', '--seeds is set by the cluster launcher: every node gets all K peer addresses'],
  ['config', '--config is not read by the cluster launcher: pass node options as flags or RINGKV_<OPTION> environment variables'],
]);
/** Options passed through to every node: every node option but the per-node ones (`data` becomes one directory per node). */
const passThrough = new Set(options.map((o) => o.flag).filter((flag) => !perNode.has(flag)));

const nodesMax = 64;
/** Node i's peer port is its RESP port plus this, as `ringkv start` defaults it (so the highest, base-port + 10000 + K - 1, bounds base-port). */
const peerPortOffset = 10000;
const portMax = 65535;

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/ringkv.js');

/** A launcher flag's integer value, or a one-line ConfigError naming the flag, the range and what was given. */
function integerFlag(flags: Map<string, string>, flag: string, min: number, max: number, fallback?: number): number {
  const text = flags.get(flag);
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`--${flag} is required (an integer ${min}..${max})`);
  }
  if (!/^\d+$/.test(text)) throw new ConfigError(`--${flag} needs an integer, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(`--${flag} must be ${min}..${max}, got ${n}`);
  return n;
}

export async function runCluster(argv: string[]): Promise<void> {
  for (const arg of argv) {
    const refusal = arg.startsWith('--') ? perNode.get(arg.slice(2).split('=')[0]!) : undefined;
    if (refusal !== undefined) throw new ConfigError(refusal);
  }
  const known = [...clusterFlags, ...options.filter((o) => passThrough.has(o.flag))];
  const flags = new Map([...parseFlags(argv, known)].map(([spec, value]) => [spec.flag, value]));
  const count = integerFlag(flags, 'nodes', 1, nodesMax);
  const basePort = integerFlag(flags, 'base-port', 1, portMax - peerPortOffset - count + 1, 7001);
  const dataRoot = path.resolve(flags.get('data') ?? 'data');
  const shared: string[] = [];
  for (const [flag, value] of flags) if (passThrough.has(flag) && flag !== 'data' && flag !== 'metrics-port') shared.push(`--${flag}`, value);
  // Like --base-port, a base: node i serves its metrics at --metrics-port + i - 1 (one port cannot serve K processes).
  const metricsBase = flags.has('metrics-port') ? integerFlag(flags, 'metrics-port', 1, portMax - count + 1) : undefined;
  // The nodes inherit this environment, so RINGKV_BIND and RINGKV_ADVERTISE_HOST count here as they will there.
  const host = resolveAdvertiseHost(shared, process.env);
  const seeds = Array.from({ length: count }, (_, i) => `${host}:${basePort + peerPortOffset + i}`).join(',');
  const nodeArgs = (i: number) => ['--node-id', `node-${i + 1}`, '--port', String(basePort + i), '--peer-port', String(basePort + peerPortOffset + i),
    '--data', path.join(dataRoot, `node-${i + 1}`), '--seeds', seeds, ...(metricsBase === undefined ? [] : ['--metrics-port', String(metricsBase + i)]), ...shared];
  // Resolved once here as node 1 will resolve it: a bad option (or a wildcard
  // --bind without --advertise-host) is one line and exit code 2 before
  // anything starts, rather than K nodes each failing with the same message.
  resolveConfig(nodeArgs(0), process.env);

  const children = new Map<string, ChildProcess>();
  for (let i = 0; i < count; i++) {
    const id = `node-${i + 1}`;
    const child = spawn(process.execPath, [bin, 'start', ...nodeArgs(i)], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.set(id, child);
    child.on('exit', (code, signal) => {
      children.delete(id);
      if (!stopping) process.stderr.write(`ringkv cluster: ${id} exited (${signal ?? `code ${code}`})\n`);
      if (children.size === 0) process.exit(stopping ? 0 : 1);
    });
  }
  process.stderr.write(`ringkv cluster: ${count} nodes on ports ${basePort}-${basePort + count - 1} (peers ${basePort + peerPortOffset}-${basePort + peerPortOffset + count - 1}), data in ${dataRoot}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const child of children.values()) child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
