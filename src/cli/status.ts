// `ringkv status`: the members of the cluster as one node sees them, like
// `nodetool status` — liveness and state, addresses, the failure detector's
// phi for each member, effective ownership, and the records each reachable
// member stores.

import { diagnose, type HostReach } from '../membership/host-probe.js';
import { parseClientArgs } from './client-args.js';
import { ConfigError } from './config.js';
import { formatBytes } from './repair.js';
import { fieldsOf, request as requestWithin, type Reply } from './resp-client.js';

/** How long status waits for any one node before reporting it unreachable. */
const statusTimeoutMs = 2000;

function request(host: string, port: number, commands: string[][]): Promise<Reply[]> {
  return requestWithin(host, port, commands, statusTimeoutMs);
}

function infoField(info: Reply, name: string): string | undefined {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(String(info));
  return match?.[1]?.trim();
}

const hostReaches: ReadonlySet<string> = new Set<HostReach>(['reachable', 'unreachable', 'unknown', 'off']);

/** Each member's `host=` field from the asked node's INFO member lines (`member0:id=…,host=reachable,…`), by id. */
export function hostReachById(info: string): Map<string, HostReach> {
  const byId = new Map<string, HostReach>();
  for (const match of info.matchAll(/^member\d+:(.*)$/gm)) {
    const fields = new Map(match[1]!.trim().split(',').map((pair): [string, string] => {
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }));
    const id = fields.get('id');
    const host = fields.get('host');
    if (id !== undefined && host !== undefined && hostReaches.has(host)) byId.set(id, host as HostReach);
  }
  return byId;
}

interface MemberReport {
  readonly records: string;
  /** Hints this member holds as a fallback. */
  readonly held: string;
  /** Hints it holds, per the member they wait for. */
  readonly pendingFor: ReadonlyMap<string, number>;
  /** Its ring transfer (INFO ring_transfer: join/leave/cleanup, phase, spans, bytes), or undefined. */
  readonly transfer: string | undefined;
}

/** What a member says of itself in INFO # Cluster; '?' where it does not answer. */
async function memberReport(address: string, password: string | undefined): Promise<MemberReport> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  try {
    const commands = password === undefined ? [['INFO', 'cluster']] : [['AUTH', password], ['INFO', 'cluster']];
    const replies = await request(host, port, commands);
    const info = replies[replies.length - 1]!;
    const pendingFor = new Map<string, number>();
    for (const pair of (infoField(info, 'hints_pending_for') ?? '').split(',')) {
      const at = pair.lastIndexOf('=');
      if (at > 0) pendingFor.set(pair.slice(0, at), Number(pair.slice(at + 1)));
    }
    return {
      records: infoField(info, 'local_records') ?? '?', held: infoField(info, 'hints_pending') ?? '?', pendingFor, transfer: infoField(info, 'ring_transfer'),
    };
  } catch {
    return { records: '?', held: '?', pendingFor: new Map(), transfer: undefined };
  }
}

export async function runStatus(argv: string[]): Promise<void> {
  const { host, port, password } = parseClientArgs(argv, { usage: 'ringkv status [-h HOST] [-p PORT] [-a PASSWORD]' });
  const commands = password === undefined ? [['RING', 'MEMBERS'], ['INFO', 'cluster']] : [['AUTH', password], ['RING', 'MEMBERS'], ['INFO', 'cluster']];
  let replies: Reply[];
  try {
    replies = await request(host, port, commands);
  } catch (err) {
    throw new ConfigError(`cannot reach ${host}:${port}: ${(err as Error).message}`);
  }
  const members = replies[replies.length - 2]!;
  const info = replies[replies.length - 1]!;
  if (members instanceof Error) throw new ConfigError(`${host}:${port} answered: ${members.message}`);
  const all = (members as Reply[]).map((entry) => fieldsOf(entry));
  // Members that left the ring (decommissioned, or removed by RING REMOVE) are listed apart: they own nothing, and are forgotten after 3 days.
  const left = all.filter((f) => f.get('state') === 'left').map((f) => f.get('id') ?? '?');
  const entries = (members as Reply[]).filter((_, i) => all[i]!.get('state') !== 'left').map((entry) => {
    const f = fieldsOf(entry);
    const state = f.get('state') ?? '?';
    // A node from before the liveness field folded it into state (up/down for normal members).
    const down = (f.get('liveness') ?? (state === 'down' ? 'down' : 'up')) === 'down';
    return { f, state, down };
  });
  const hostReach = hostReachById(String(info));
  const reports = await Promise.all(entries.map(({ f, down }) => (down ? undefined : memberReport(f.get('address') ?? '', password))));
  // Hints waiting for a member, summed over every member that answered.
  const waitingFor = new Map<string, number>();
  for (const report of reports) for (const [target, count] of report?.pendingFor ?? []) waitingFor.set(target, (waitingFor.get(target) ?? 0) + count);
  const rows = entries.map(({ f, state, down }, i) => {
    const mode = state === 'joining' ? 'J' : state === 'leaving' ? 'L' : 'N';
    const report = reports[i];
    const id = f.get('id') ?? '?';
    return [`${down ? 'D' : 'U'}${mode}`, id, f.get('address') ?? '?', f.get('peer_address') ?? '?',
      f.get('phi') ?? '?', `${(Number(f.get('ownership') ?? 0) * 100).toFixed(1)}%`, report?.records ?? '-',
      String(waitingFor.get(id) ?? 0), report?.held ?? '-', f.get('vnodes') ?? '?', hostColumn(down, hostReach.get(id)),
      state === 'joining' || state === 'leaving' ? transferColumn(report?.transfer) : ''];
  });
  const header = ['--', 'Node', 'Address', 'Peer address', 'Phi', 'Owns (effective)', 'Records', 'Hints for', 'Hints held', 'Vnodes', 'Host', 'Transfer'];
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const lines = table.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
  process.stdout.write([
    `Cluster: ${infoField(info, 'cluster_name') ?? '?'}  (N=${infoField(info, 'replication_factor')}, R=${infoField(info, 'read_quorum')}, W=${infoField(info, 'write_quorum')})`,
    `Status=Up/Down  State=Normal/Leaving/Joining  Phi=failure detector suspicion as ${host}:${port} sees it (down from its threshold, default 8)`,
    'Hints for=writes waiting on fallbacks for this member (handed off when it is up)  Hints held=hints this member keeps as a fallback',
    `Host=a ping of the member's host from ${host}:${port}, read with its Status: a diagnosis, never used to decide up or down`,
    'Transfer=a joining or leaving member\'s streaming: phase, spans moved of its spans, bytes',
    ...lines,
    ...(left.length === 0 ? [] : [`Left (decommissioned or removed; forgotten 3 days later): ${left.join(', ')}`]),
    '',
  ].join('\n'));
}

/** The Transfer column from INFO's `ring_transfer:join,phase=streaming,spans=120/3000,records=…,bytes=…`. */
export function transferColumn(field: string | undefined): string {
  if (field === undefined || field === 'none') return '?';
  const [operation, ...pairs] = field.split(',');
  const fields = new Map(pairs.map((pair): [string, string] => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const [done, total] = (fields.get('spans') ?? '0/0').split('/').map(Number);
  const pct = total === undefined || total === 0 ? '' : ` ${Math.floor((100 * (done ?? 0)) / total)}%`;
  return `${operation} ${fields.get('phase') ?? '?'}${pct} ${formatBytes(Number(fields.get('bytes') ?? 0))}`;
}

/** The Host column: the diagnosis from this member's liveness and its host's answer; '?' from a node that does not report hosts. */
function hostColumn(down: boolean, reach: HostReach | undefined): string {
  return reach === undefined ? '?' : diagnose(down ? 'down' : 'up', reach);
}
