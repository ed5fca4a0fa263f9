// `ringkv cluster --nodes K` (what `npm start` runs): K nodes on consecutive
// ports that form one cluster, and Ctrl-C stops them all cleanly.

import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { eventually, makeTempDir, removeTempDir, repoRoot, respCommand } from '../helpers/cluster.js';
import { scrape, valueOf } from '../helpers/prometheus.js';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port with base..base+2 and base+10000..base+10002 free, all below
 * Linux's ephemeral range (32768 and up), where the other tests' port-0
 * listeners and outgoing connections take their ports: a port checked free
 * here is then not handed to one of them before the launcher binds it.
 */
async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + Math.floor(Math.random() * 12000);
    // base+3.. serve the metrics of the first test's nodes.
    const ports = [0, 1, 2].flatMap((i) => [base + i, base + 10000 + i, base + 3 + i]);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range');
}


test('ringkv cluster › three nodes form one cluster and stop together on SIGINT', async (t) => {
  const base = await freeBase();
  const data = await makeTempDir('ringkv-launcher-');
  const launcher = spawn(process.execPath, [path.join(repoRoot, 'bin/ringkv.js'), 'cluster', '--nodes', '3', '--base-port', String(base), '--data', data, '--log-level', 'warn',
    '--metrics-port', String(base + 3)], { stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    killGroup(launcher);
    await removeTempDir(data);
  });
  const converged = await eventually(async () => {
    const infos = await Promise.all([0, 1, 2].map((i) => respCommand(base + i, ['INFO', 'cluster'])));
    return infos.every((info) => /cluster_members_up:3/.test(info));
  }, 30_000);
  t.true(converged, 'all three nodes see three members up');
  t.is(await respCommand(base, ['SET', 'launched', 'yes']), 'OK');
  t.is(await respCommand(base + 2, ['GET', 'launched']), 'yes');
  // --metrics-port is a base, as --base-port: node i's metrics are on it + i - 1.
  for (const i of [0, 1, 2]) t.is(valueOf(await scrape(base + 3 + i), 'ringkv_info', { node: `node-${i + 1}` }), 1);
  launcher.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
  t.is(code, 0);
  t.true(await portFree(base), 'node 1 released its port');
});

test('ringkv cluster › --bind 0.0.0.0 with --advertise-host: every node listens on all interfaces and is known at the advertised address', async (t) => {
  const base = await freeBase();
  const data = await makeTempDir('ringkv-launcher-');
  const launcher = spawn(process.execPath, [path.join(repoRoot, 'bin/ringkv.js'), 'cluster', '--nodes', '3', '--base-port', String(base), '--data', data,
    '--bind', '0.0.0.0', '--advertise-host', '127.0.0.1', '--log-level', 'warn'], { stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    killGroup(launcher);
    await removeTempDir(data);
  });
  let info = '';
  const converged = await eventually(async () => {
    const infos = await Promise.all([0, 1, 2].map((i) => respCommand(base + i, ['INFO', 'cluster'])));
    info = infos[0]!;
    return infos.every((text) => /cluster_members_up:3/.test(text));
  }, 30_000);
  t.true(converged, 'all three nodes see three members up');
  // The seeds name the advertised address, so each node finds itself among them and there are exactly three members.
  const addresses = [...info.matchAll(/^member\d+:.*address=([^,]+)/gm)].map((m) => m[1]).sort();
  t.deepEqual(addresses, [0, 1, 2].map((i) => `127.0.0.1:${base + i}`));
  // 127.0.0.2 is another loopback address: only a node bound to 0.0.0.0 answers there.
  t.true(await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.2', port: base + 2 }, () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.destroy());
  }), 'node 3 answers on 127.0.0.2');
  launcher.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
  t.is(code, 0);
});

/**
 * Kills the launcher and every node it started: it leads a process group of
 * its own (detached), so a test that fails before its clean stop leaves no
 * node running on its ports.
 */
function killGroup(launcher: ReturnType<typeof spawn>): void {
  try {
    process.kill(-launcher.pid!, 'SIGKILL');
  } catch {
    // The group is gone already: the launcher stopped its nodes and exited.
  }
}
