// `ringkv removenode ID`: takes a dead member out of the ring for good, as
// Cassandra's `nodetool removenode` does. It prints what changes, asks one
// node for RING REMOVE (which gossips a `left` state for the member), waits
// until every live member has heard it, then runs `ringkv repair` on each of
// them so the ranges the member held are re-replicated by the surviving
// replicas to their new owners (anti-entropy does the streaming). Exit 0 once
// every live member has repaired; 1 with the reason otherwise.

import { parseClientArgs } from './client-args.js';
import { ConfigError } from './config.js';
import { runRepair } from './repair.js';
import { fieldsOf, request, type Reply } from './resp-client.js';

const requestTimeoutMs = 5_000;
/** Gossip spreads a state to every member in a few rounds (500 ms each by default); past this something is wrong. */
const propagationTimeoutMs = 30_000;
const pollIntervalMs = 250;

interface Member {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly state: string;
  readonly liveness: string;
  readonly ownership: number;
}

function parseArgs(argv: readonly string[]): { id: string; host: string; port: number; password: string | undefined } {
  const usage = 'ringkv removenode ID [-h HOST] [-p PORT] [-a PASSWORD]';
  const { host, port, password, positional } = parseClientArgs(argv, { usage, positionalMax: 2 });
  if (positional.length > 1) throw new ConfigError(`one member at a time (got ${positional.join(' and ')})`);
  const id = positional[0];
  if (id === undefined) throw new ConfigError('ringkv removenode needs the id of the member to remove (see ringkv status)');
  return { id, host, port, password };
}

function withAuth(password: string | undefined, command: string[]): string[][] {
  return password === undefined ? [command] : [['AUTH', password], command];
}

async function last(host: string, port: number, password: string | undefined, command: string[]): Promise<Reply> {
  const replies = await request(host, port, withAuth(password, command), requestTimeoutMs);
  return replies[replies.length - 1]!;
}

async function membersAt(host: string, port: number, password: string | undefined): Promise<Member[]> {
  const reply = await last(host, port, password, ['RING', 'MEMBERS']);
  if (reply instanceof Error) throw new ConfigError(`${host}:${port} answered RING MEMBERS with ${reply.message}`);
  return (reply as Reply[]).map((entry) => {
    const f = fieldsOf(entry);
    const address = f.get('address') ?? '';
    const at = address.lastIndexOf(':');
    return {
      id: f.get('id') ?? '?', host: address.slice(0, at), port: Number(address.slice(at + 1)),
      state: f.get('state') ?? '?', liveness: f.get('liveness') ?? '?', ownership: Number(f.get('ownership') ?? 0),
    };
  });
}

export async function runRemoveNode(argv: string[]): Promise<number> {
  const { id, host, port, password } = parseArgs(argv);
  let members: Member[];
  try {
    members = await membersAt(host, port, password);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot reach ${host}:${port}: ${(err as Error).message}`);
  }
  const target = members.find((m) => m.id === id);
  if (target === undefined) throw new ConfigError(`${host}:${port} knows no member ${id} (members: ${members.map((m) => m.id).join(', ')})`);
  const survivors = members.filter((m) => m.id !== id && m.state !== 'left' && m.liveness === 'up');
  process.stdout.write(
    `plan: remove ${id} (${target.state}, ${target.liveness}), which replicates ${(target.ownership * 100).toFixed(1)}% of the keys; ` +
      `its ranges fall to the next members clockwise, and ${survivors.map((m) => m.id).join(', ')} re-replicate them by anti-entropy\n`,
  );
  const removed = await last(host, port, password, ['RING', 'REMOVE', id]);
  if (removed instanceof Error) {
    process.stderr.write(`removenode failed: ${removed.message}\n`);
    return 1;
  }
  const deadline = Date.now() + propagationTimeoutMs;
  for (const m of survivors) {
    for (;;) {
      const view = await membersAt(m.host, m.port, password).catch(() => undefined);
      if (view?.find((x) => x.id === id)?.state === 'left' || view?.every((x) => x.id !== id)) break;
      if (Date.now() > deadline) {
        process.stderr.write(`removenode failed: ${m.id} has not heard of the removal within ${propagationTimeoutMs} ms\n`);
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
  }
  process.stdout.write(`${id} removed: every live member has it as left; repairing the ranges it held\n`);
  let failed = 0;
  for (const m of survivors) {
    process.stdout.write(`${m.id}: `);
    const code = await runRepair(['-h', m.host, '-p', String(m.port), ...(password === undefined ? [] : ['-a', password])]);
    if (code !== 0) failed++;
  }
  if (failed > 0) {
    process.stderr.write(`removenode: ${id} is removed, but ${failed} of ${survivors.length} repairs did not finish; run ringkv repair on them again\n`);
    return 1;
  }
  return 0;
}
