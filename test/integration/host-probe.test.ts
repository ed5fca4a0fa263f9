// Host reachability between real processes: each node pings its members'
// hosts (all 127.0.0.1 here) and reports them beside the detector's verdict in
// INFO's member lines and `ringkv status`'s Host column. With a node killed,
// the others see its host still reachable and its process down — the
// diagnosis the column is for. Raw sockets need root or CAP_NET_RAW: the test
// opens one itself first, and where it cannot (the nodes cannot either) it
// checks the other path instead — one log line, host_probe:off, "unknown (probe
// off)". As root, one more node is started without CAP_NET_RAW (setpriv), so
// both paths run in CI.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { openIcmpPinger } from '../../src/membership/icmp-pinger.js';
import { hostProbeIntervalMs, hostProbeTimeoutMs } from '../../src/membership/host-probe.js';
import { eventually, makeTempDir, ManagedProcess, removeTempDir, repoRoot, respCommand, startCluster, startNode, waitForPing, type Cluster, type RingkvNode, ringkvStatus } from '../helpers/cluster.js';
import { freePortPair } from '../helpers/ports.js';

/** The first round runs at start; a member learnt later is pinged by the next one: two rounds and a timeout, with room for a busy machine. */
const probedWithinMs = 2 * hostProbeIntervalMs + hostProbeTimeoutMs + 5_000;
/** The detector at its defaults convicts a killed node in ~2–3 s (failure-detection.test.ts allows 6 s). */
const downWithinMs = 15_000;
const offLine = 'host probe off: raw sockets need root or CAP_NET_RAW';

/** Whether this process may open a raw ICMP socket; the nodes it starts run with the same privileges. */
function rawSocketsAllowed(): boolean {
  const opening = openIcmpPinger({ timeoutMs: hostProbeTimeoutMs, logger: pino({ level: 'silent' }) });
  if ('off' in opening) return false;
  opening.pinger.close();
  return true;
}

const rawSockets = rawSocketsAllowed();

/** setpriv can start a process without CAP_NET_RAW (only meaningful when we have it). */
function setprivAvailable(): boolean {
  try {
    execFileSync('setpriv', ['--bounding-set', '-net_raw', 'true'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

let cluster: Cluster;

test.before(async () => {
  cluster = await startCluster({ nodes: 3 });
});

test.after.always(async () => {
  await cluster?.cleanup();
});

/** `member<i>:` fields for each member id, as `observer` reports them in INFO cluster. */
async function memberFields(observer: RingkvNode): Promise<{ probe: string | undefined; members: Map<string, Map<string, string>> }> {
  const info = await respCommand(observer.port, ['INFO', 'cluster']);
  const members = new Map<string, Map<string, string>>();
  for (const match of info.matchAll(/^member\d+:(.*?)\r?$/gm)) {
    const fields = new Map(match[1]!.split(',').map((pair): [string, string] => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    members.set(fields.get('id')!, fields);
  }
  return { probe: /^host_probe:(\w+)/m.exec(info)?.[1], members };
}

/** The Host column of `ringkv status`, by node id. */
function hostColumn(status: string): Map<string, string> {
  const lines = status.split('\n');
  const header = lines.find((line) => line.startsWith('--'))!.split(/\s{2,}/);
  const node = header.indexOf('Node');
  const host = header.indexOf('Host');
  const rows = lines.slice(lines.findIndex((line) => line.startsWith('--')) + 1).filter((line) => line.trim() !== '');
  return new Map(rows.map((line) => {
    const cells = line.split(/\s{2,}/);
    return [cells[node]!, cells[host]!];
  }));
}

test.serial('host probe › every member\'s host (127.0.0.1) is reported reachable, with its round trip', async (t) => {
  t.log(rawSockets ? 'raw sockets allowed: the probe is on' : 'no raw sockets here: checking that the probe is off, and says so once');
  const expected = rawSockets ? 'reachable' : 'off';
  const ids = cluster.nodes.map((n) => n.id);
  const allReported = await eventually(async () => {
    for (const observer of cluster.nodes) {
      const { members } = await memberFields(observer);
      if (!ids.every((id) => members.get(id)?.get('host') === expected)) return false;
    }
    return true;
  }, probedWithinMs);
  t.true(allReported, `every node reports host=${expected} for every member within ${probedWithinMs} ms`);
  for (const observer of cluster.nodes) {
    const { probe, members } = await memberFields(observer);
    t.is(probe, rawSockets ? 'on' : 'off');
    for (const id of ids) {
      const fields = members.get(id)!;
      t.is(fields.get('liveness'), 'up');
      t.is(fields.get('host'), expected, `${observer.id} on ${id}`);
      if (rawSockets) {
        const rtt = Number(fields.get('host_rtt_ms'));
        t.true(/^\d+\.\d\d$/.test(fields.get('host_rtt_ms') ?? '') && rtt >= 0 && rtt < hostProbeTimeoutMs, `rtt ${fields.get('host_rtt_ms')}`);
      } else {
        t.false(fields.has('host_rtt_ms'));
      }
    }
    const offLines = observer.output.tail().split('\n').filter((line) => line.includes(offLine));
    t.is(offLines.length, rawSockets ? 0 : 1, `${observer.id} logs the probe being off ${rawSockets ? 'never' : 'once'}`);
  }
  const hosts = hostColumn(await ringkvStatus(cluster.nodes[0]!.port));
  t.deepEqual([...hosts.values()], ids.map(() => (rawSockets ? 'up' : 'unknown (probe off)')));
});

test.serial('host probe › kill -9: the others see the host reachable and the process down', async (t) => {
  const [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  await n3.kill();
  const down = await eventually(async () => {
    for (const observer of [n1, n2]) {
      const fields = (await memberFields(observer)).members.get(n3.id);
      if (fields?.get('liveness') !== 'down') return false;
    }
    return true;
  }, downWithinMs);
  t.true(down, 'n1 and n2 see n3 down');
  for (const observer of [n1, n2]) {
    const fields = (await memberFields(observer)).members.get(n3.id)!;
    t.is(fields.get('liveness'), 'down');
    t.is(fields.get('host'), rawSockets ? 'reachable' : 'off', `${observer.id} on n3's host`);
  }
  const hosts = hostColumn(await ringkvStatus(n1.port));
  t.is(hosts.get(n3.id), rawSockets ? 'host reachable, process down' : 'unknown (probe off)');
  t.is(hosts.get(n1.id), rawSockets ? 'up' : 'unknown (probe off)');
});

test.serial('host probe › --host-probe off: off, and no log line', async (t) => {
  const node = await startNode({ extraArgs: ['--host-probe', 'off'] });
  t.teardown(() => node.cleanup());
  const { probe, members } = await memberFields(node);
  t.is(probe, 'off');
  t.is(members.get(node.id)?.get('host'), 'off');
  t.false(node.output.tail().includes('host probe off'), 'an operator\'s choice is not logged as a missing privilege');
  t.is(hostColumn(await ringkvStatus(node.port)).get(node.id), 'unknown (probe off)');
});

const withoutRawSockets = rawSockets && setprivAvailable() ? test.serial : test.serial.skip;

withoutRawSockets('host probe › a node without CAP_NET_RAW: one log line, then off', async (t) => {
  const dataDir = await makeTempDir('ringkv-noraw-');
  const { port, peerPort } = await freePortPair();
  const args = ['--bounding-set', '-net_raw', process.execPath, path.join(repoRoot, 'bin', 'ringkv.js'), 'start',
    '--node-id', 'noraw', '--port', String(port), '--peer-port', String(peerPort), '--data', dataDir];
  const proc = new ManagedProcess('ringkv node without CAP_NET_RAW', 'setpriv', args);
  t.teardown(async () => {
    await proc.kill();
    await removeTempDir(dataDir);
  });
  await waitForPing(port, proc, 20_000);
  const info = await respCommand(port, ['INFO', 'cluster']);
  t.regex(info, /^host_probe:off\r?$/m);
  t.regex(info, /^member0:id=noraw,.*,host=off\r?$/m);
  t.is(proc.output.tail().split('\n').filter((line) => line.includes(offLine)).length, 1, proc.output.tail());
  t.is(hostColumn(await ringkvStatus(port)).get('noraw'), 'unknown (probe off)');
  t.is(await proc.stop(), 0, 'stops cleanly with the probe off');
});
