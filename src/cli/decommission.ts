// `ringkv plan join|leave|remove …` and `ringkv decommission`: what a
// membership change would move, printed before anything moves (Riak's
// `cluster plan`), and a node's departure with a progress bar (Cassandra's
// `nodetool decommission`). decommission prints the plan, sends RING LEAVE
// (refused with the reason when the node may not leave), then follows RING
// TRANSFER on the leaving node until it has left (exit 0) or the node stops
// answering (exit 1).

import { SingleBar } from 'cli-progress';
import { parseClientArgs } from './client-args.js';
import { ConfigError } from './config.js';
import { formatBytes } from './repair.js';
import { fieldsOf, request, type Reply } from './resp-client.js';

/** A decommission moves a node's whole share; past this the CLI stops waiting (the node goes on). */
const decommissionTimeoutMs = 6 * 60 * 60 * 1000;
const pollIntervalMs = 250;
const pollTimeoutMs = 2_000;
/** Polls in a row that may fail (a busy node) before the CLI gives up on it. */
const pollFailuresMax = 40;

interface Target {
  readonly host: string;
  readonly port: number;
  readonly password: string | undefined;
}

function parseTarget(argv: readonly string[], usage: string, positionalMax = 0): { target: Target; rest: string[] } {
  const { host, port, password, positional } = parseClientArgs(argv, { usage, positionalMax });
  return { target: { host, port, password }, rest: [...positional] };
}

async function ask(target: Target, command: string[], timeoutMs = pollTimeoutMs): Promise<Reply> {
  const commands = target.password === undefined ? [command] : [['AUTH', target.password], command];
  let replies: Reply[];
  try {
    replies = await request(target.host, target.port, commands, timeoutMs);
  } catch (err) {
    throw new ConfigError(`cannot reach ${target.host}:${target.port}: ${(err as Error).message}`);
  }
  if (replies[0] instanceof Error && target.password !== undefined) throw new ConfigError(`${target.host}:${target.port} refused AUTH: ${replies[0].message}`);
  return replies[replies.length - 1]!;
}

/** The plan as lines for people: what moves, from whom to whom, and each member's share before and after. */
export function planLines(reply: Reply): string[] {
  const fields = fieldsOf(reply);
  const raw = reply as Reply[];
  const valueOf = (name: string): Reply | undefined => {
    for (let i = 0; i + 1 < raw.length; i += 2) if (String(raw[i]) === name) return raw[i + 1];
    return undefined;
  };
  const pct = (x: string | undefined) => `${(Number(x ?? 0) * 100).toFixed(1)}%`;
  const lines = [
    `plan: ${fields.get('change') ?? '?'}: ${pct(fields.get('changed_share'))} of the token space changes replicas (~${fields.get('keys_estimate') ?? '?'} keys, ~${formatBytes(Number(fields.get('bytes_estimate') ?? 0))} to move)`,
  ];
  for (const flow of (valueOf('flows') as Reply[] | undefined) ?? []) {
    const [from, to, share] = (flow as Reply[]).map(String);
    lines.push(`  ${to} receives ${pct(share)} of the token space${from === '-' ? '' : ` from ${from}`}`);
  }
  lines.push('  member      share before  share after');
  for (const row of (valueOf('ownership') as Reply[] | undefined) ?? []) {
    const [id, before, after] = (row as Reply[]).map(String);
    lines.push(`  ${id!.padEnd(10)}  ${pct(before).padStart(12)}  ${pct(after).padStart(11)}`);
  }
  return lines;
}

/** `ringkv plan join [VNODES] | leave [ID] | remove ID [-h HOST] [-p PORT] [-a PASSWORD]`: asks one node; moves nothing. */
export async function runPlan(argv: string[]): Promise<number> {
  const usage = 'ringkv plan join [VNODES] | leave [ID] | remove ID [-h HOST] [-p PORT] [-a PASSWORD]';
  const { target, rest } = parseTarget(argv, usage, 2);
  const [kind, arg] = rest;
  if (kind === undefined || !['join', 'leave', 'remove'].includes(kind) || rest.length > 2 || (kind === 'remove' && arg === undefined)) {
    throw new ConfigError(`usage: ${usage}`);
  }
  const reply = await ask(target, ['RING', 'PLAN', kind.toUpperCase(), ...(arg === undefined ? [] : [arg])]);
  if (reply instanceof Error) {
    process.stderr.write(`plan refused: ${reply.message}\n`);
    return 1;
  }
  process.stdout.write(`${planLines(reply).join('\n')}\n`);
  return 0;
}

/** `ringkv decommission [-h HOST] [-p PORT] [-a PASSWORD]`: the node at HOST:PORT leaves the ring. */
export async function runDecommission(argv: string[]): Promise<number> {
  const usage = 'ringkv decommission [-h HOST] [-p PORT] [-a PASSWORD]';
  const { target, rest } = parseTarget(argv, usage);
  if (rest.length > 0) throw new ConfigError(`usage: ${usage}`);
  const plan = await ask(target, ['RING', 'PLAN', 'LEAVE']);
  if (plan instanceof Error) {
    process.stderr.write(`decommission refused: ${plan.message}\n`);
    return 1;
  }
  process.stdout.write(`${planLines(plan).join('\n')}\n`);
  const left = await ask(target, ['RING', 'LEAVE']);
  if (left instanceof Error) {
    process.stderr.write(`decommission refused: ${left.message}\n`);
    return 1;
  }
  const bar = new SingleBar({
    format: 'decommission {phase} [{bar}] {value}/{total} spans | {records} records | {bytes}',
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(1, 0, { phase: 'announcing', records: 0, bytes: formatBytes(0) });
  const deadline = Date.now() + decommissionTimeoutMs;
  let failures = 0;
  let last = new Map<string, string>();
  try {
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      let reply: Reply;
      try {
        reply = await ask(target, ['RING', 'TRANSFER']);
      } catch (err) {
        if (++failures >= pollFailuresMax) throw err;
        continue;
      }
      failures = 0;
      if (reply instanceof Error) throw new ConfigError(`${target.host}:${target.port} answered: ${reply.message}`);
      last = fieldsOf(reply);
      const total = Math.max(1, Number(last.get('spans_total') ?? 0));
      bar.setTotal(total);
      bar.update(Math.min(total, Number(last.get('spans_done') ?? 0)), {
        phase: last.get('phase') ?? '?',
        records: last.get('records') ?? '0',
        bytes: formatBytes(Number(last.get('bytes') ?? 0)),
      });
      if (last.get('operation') === 'leave' && last.get('phase') === 'done') break;
    }
  } finally {
    bar.stop();
  }
  if (last.get('phase') !== 'done') {
    process.stderr.write(`decommission did not finish within ${decommissionTimeoutMs} ms; it goes on at the node (ringkv status shows it)\n`);
    return 1;
  }
  process.stdout.write(`decommission: left the ring; ${last.get('records') ?? 0} records (${formatBytes(Number(last.get('bytes') ?? 0))}) handed over in ` +
    `${(Number(last.get('elapsed_ms') ?? 0) / 1000).toFixed(1)} s. The node serves no one now and may be stopped.\n`);
  return 0;
}
