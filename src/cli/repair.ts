// `ringkv repair`: anti-entropy now, like `nodetool repair`. It asks one node
// for RING REPAIR (every range that node holds, exchanged with its other
// replicas) on one connection and draws a progress bar from RING REPAIR
// STATUS polled on another, then prints one summary line. Exit 0 once every
// range agrees; 1, with the node's reason, when a replica could not be reached.

import { SingleBar } from 'cli-progress';
import { parseClientArgs } from './client-args.js';
import { ConfigError } from './config.js';
import { fieldsOf, request, type Reply } from './resp-client.js';

/** A repair of a large node takes minutes; past this the CLI gives up waiting (the node's repair goes on). */
const repairTimeoutMs = 6 * 60 * 60 * 1000;
/** Progress polls: often enough for a smooth bar, rare enough to cost the node nothing. */
const pollIntervalMs = 250;
const pollTimeoutMs = 2_000;

/** `--all`: every range the node holds — the default, and for now the only scope. */
const repairCommand = { usage: 'ringkv repair [-h HOST] [-p PORT] [-a PASSWORD] [--all]', switches: ['--all'] };

function withAuth(password: string | undefined, command: string[]): string[][] {
  return password === undefined ? [command] : [['AUTH', password], command];
}

function numberOf(fields: Map<string, string>, name: string): number {
  return Number(fields.get(name) ?? 0);
}

/** Bytes in KiB/MiB for people. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The closing line; tests and scripts read it. */
export function summaryLine(fields: Map<string, string>): string {
  const moved = numberOf(fields, 'records_sent') + numberOf(fields, 'records_received');
  return `repair: ${numberOf(fields, 'ranges')} ranges, ${numberOf(fields, 'keys_compared')} keys compared, ${moved} records moved, ` +
    `${numberOf(fields, 'bytes')} bytes, ${(numberOf(fields, 'elapsed_ms') / 1000).toFixed(1)} s`;
}

export async function runRepair(argv: string[]): Promise<number> {
  const { host, port, password } = parseClientArgs(argv, repairCommand);
  const bar = new SingleBar({
    format: 'repair [{bar}] {value}/{total} ranges | {keys} keys compared | {records} records moved | {bytes}',
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = false;
  let polling = true;
  const poll = async () => {
    while (polling) {
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      if (!polling) return;
      let replies: Reply[];
      try {
        replies = await request(host, port, withAuth(password, ['RING', 'REPAIR', 'STATUS']), pollTimeoutMs);
      } catch {
        continue; // the bar stalls; the repair's own reply decides the outcome
      }
      const fields = fieldsOf(replies[replies.length - 1]!);
      if (fields.size === 0 || !polling) continue;
      const payload = {
        keys: numberOf(fields, 'keys_compared'),
        records: numberOf(fields, 'records_sent') + numberOf(fields, 'records_received'),
        bytes: formatBytes(numberOf(fields, 'bytes')),
      };
      if (!started) {
        bar.start(Math.max(1, numberOf(fields, 'ranges')), numberOf(fields, 'ranges_done'), payload);
        started = true;
      } else {
        bar.setTotal(Math.max(1, numberOf(fields, 'ranges')));
        bar.update(numberOf(fields, 'ranges_done'), payload);
      }
    }
  };
  const polled = poll();
  let replies: Reply[];
  try {
    replies = await request(host, port, withAuth(password, ['RING', 'REPAIR']), repairTimeoutMs);
  } catch (err) {
    throw new ConfigError(`cannot reach ${host}:${port}: ${(err as Error).message}`);
  } finally {
    polling = false;
    await polled;
    if (started) bar.stop();
  }
  const auth = password === undefined ? undefined : replies[0];
  if (auth instanceof Error) throw new ConfigError(`${host}:${port} refused AUTH: ${auth.message}`);
  const outcome = replies[replies.length - 1]!;
  if (outcome instanceof Error) {
    // The counts of what it did manage, then why it is not done.
    const status = await request(host, port, withAuth(password, ['RING', 'REPAIR', 'STATUS']), pollTimeoutMs).catch(() => undefined);
    if (status !== undefined) process.stdout.write(`${summaryLine(fieldsOf(status[status.length - 1]!))}\n`);
    process.stderr.write(`repair failed: ${outcome.message}\n`);
    return 1;
  }
  process.stdout.write(`${summaryLine(fieldsOf(outcome))}\n`);
  return 0;
}
