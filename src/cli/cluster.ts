// `ringkv cluster --nodes K`: a local cluster of K node processes for
// development (DESIGN.md): RESP on base-port…, peers on base-port+10000…,
// every node given the same seed list. A node that dies is reported, not
// replaced — the cluster is meant to ride out node loss. Ctrl-C (or SIGTERM)
// stops every node cleanly and waits for them.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, options, parseFlags } from './config.js';

/** The launcher's own flags; the node flags in `passThrough` go to every node. */
const clusterFlags = [{ flag: 'nodes' }, { flag: 'base-port' }];

/** Options that name one node (the launcher sets them per node), so they are not passed through. */
const perNode = new Set(['node-id', 'port', 'peer-port', 'seeds', 'advertise-host', 'config']);
/** Options passed through to every node: every node option but the per-node ones (`data` becomes one directory per node). */
const passThrough = new Set(options.map((o) => o.flag).filter((flag) => !perNode.has(flag)));

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/ringkv.js');

export async function runCluster(argv: string[]): Promise<void> {
  const known = [...clusterFlags, ...options.filter((o) => passThrough.has(o.flag))];
  const flags = new Map([...parseFlags(argv, known)].map(([spec, value]) => [spec.flag, value]));
  const count = Number(flags.get('nodes'));
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new ConfigError('--nodes K (1..64) is required');
  const basePort = Number(flags.get('base-port') ?? 7001);
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + count > 55535) throw new ConfigError('--base-port must leave room for K ports and K peer ports');
  const dataRoot = path.resolve(flags.get('data') ?? 'data');
  const host = flags.get('bind') ?? '127.0.0.1';
  const seeds = Array.from({ length: count }, (_, i) => `${host}:${basePort + 10000 + i}`).join(',');
  const shared: string[] = [];
  for (const [flag, value] of flags) if (passThrough.has(flag) && flag !== 'data') shared.push(`--${flag}`, value);

  const children = new Map<string, ChildProcess>();
  for (let i = 0; i < count; i++) {
    const id = `node-${i + 1}`;
    const args = [bin, 'start', '--node-id', id, '--port', String(basePort + i), '--peer-port', String(basePort + 10000 + i),
      '--data', path.join(dataRoot, id), '--seeds', seeds, ...shared];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    children.set(id, child);
    child.on('exit', (code, signal) => {
      children.delete(id);
      if (!stopping) process.stderr.write(`ringkv cluster: ${id} exited (${signal ?? `code ${code}`})\n`);
      if (children.size === 0) process.exit(stopping ? 0 : 1);
    });
  }
  process.stderr.write(`ringkv cluster: ${count} nodes on ports ${basePort}-${basePort + count - 1} (peers ${basePort + 10000}-${basePort + 10000 + count - 1}), data in ${dataRoot}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const child of children.values()) child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
