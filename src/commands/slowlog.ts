// SLOWLOG as Redis 7 keeps it (slowlog.c): every command that ran at least
// `slowlog-log-slower-than` microseconds (0: every command, negative: none)
// is remembered with its arguments, the client's address and name, newest
// first, at most `slowlog-max-len` entries. What Redis does, ringkv does:
// refusals (wrong arity, unknown command) never ran and are not logged; EXEC
// is not logged (skip_slowlog) but the commands it ran are, one by one; a
// command that replied an error ran and is logged; passwords are shown as
// "(redacted)" (AUTH, HELLO … AUTH, CONFIG SET requirepass); arguments are
// cut as Redis cuts them, so an entry stays small whatever the command was.
//
// One difference: a command's time here runs until its reply, so a quorum
// operation counts its wait for the replicas (INFO commandstats says the
// same), where a Redis command never waits.

import { CommandError, type CommandContext, type CommandSpec, type Session } from './types.js';
import { OK, SimpleReply, type Reply } from '../resp/reply.js';
import { parseInteger } from './args.js';

/** Redis's SLOWLOG_ENTRY_MAX_ARGC: past it the last argument kept says how many more there were. */
export const slowlogArgsMax = 32;
/** Redis's SLOWLOG_ENTRY_MAX_STRING: an argument is cut at this many bytes. */
export const slowlogArgBytesMax = 128;
/** Redis's default: 10 ms. */
export const slowlogLogSlowerThanDefault = 10_000;
/** Redis's default entries. */
export const slowlogMaxLenDefault = 128;
/**
 * ringkv's bound on slowlog-max-len (Redis takes up to 2^63-1): an entry
 * holds at most 32 arguments of ~150 bytes, ~5 KB, so 100,000 entries stay
 * under ~500 MB even if every logged command is that large — and 100,000 is
 * more than a day of one slow command a second.
 */
export const slowlogMaxLenMax = 100_000;

/** The two options, read at each command (CONFIG SET changes them in place on the node's configuration). */
export interface SlowlogSettings {
  readonly slowlogLogSlowerThan: number;
  readonly slowlogMaxLen: number;
}

export interface SlowlogEntry {
  readonly id: number;
  /** Unix time, seconds, when the command finished. */
  readonly timestampS: number;
  readonly durationUs: number;
  readonly args: readonly Buffer[];
  readonly clientAddress: string;
  readonly clientName: string;
}

const redacted = Buffer.from('(redacted)');

/**
 * The positions of arguments Redis replaces by "(redacted)": every argument
 * of AUTH, HELLO's AUTH username and password, CONFIG SET's value of a
 * secret option.
 */
function redactedPositions(name: string, args: readonly Buffer[]): Set<number> | undefined {
  if (name === 'auth') return new Set(args.map((_, i) => i).filter((i) => i > 0));
  if (name === 'hello') {
    for (let i = 2; i + 2 < args.length; i++) {
      if (args[i]!.toString('latin1').toLowerCase() === 'auth') return new Set([i + 1, i + 2]);
    }
    return undefined;
  }
  if (name === 'config' && args.length >= 4 && args[1]!.toString('latin1').toLowerCase() === 'set') {
    const positions = new Set<number>();
    for (let i = 2; i + 1 < args.length; i += 2) {
      const option = args[i]!.toString('latin1').toLowerCase();
      if (option === 'requirepass' || option === 'cluster-secret') positions.add(i + 1);
    }
    return positions.size === 0 ? undefined : positions;
  }
  return undefined;
}

/** The arguments as Redis's slowlogCreateEntry keeps them: 32 at most, each 128 bytes at most, copied (the originals' buffers may be large). */
export function slowlogArgs(name: string, args: readonly Buffer[]): Buffer[] {
  const kept = Math.min(args.length, slowlogArgsMax);
  const hidden = redactedPositions(name, args);
  const out: Buffer[] = [];
  for (let i = 0; i < kept; i++) {
    if (kept !== args.length && i === kept - 1) {
      out.push(Buffer.from(`... (${args.length - kept + 1} more arguments)`));
    } else if (hidden?.has(i) === true) {
      out.push(redacted);
    } else {
      const arg = args[i]!;
      out.push(arg.length > slowlogArgBytesMax
        ? Buffer.concat([arg.subarray(0, slowlogArgBytesMax), Buffer.from(`... (${arg.length - slowlogArgBytesMax} more bytes)`)])
        : Buffer.from(arg));
    }
  }
  return out;
}

export class Slowlog {
  /** Oldest first from `head`; entries before `head` are dropped ones awaiting compaction. */
  private entries: SlowlogEntry[] = [];
  private head = 0;
  /** Never reset, as Redis's slowlog_entry_id: an entry's id stays unique across SLOWLOG RESET. */
  private nextId = 0;

  constructor(private readonly settings: SlowlogSettings) {}

  /**
   * A command ran for `ms` milliseconds: logged when slow enough. On every
   * command, so the common case is two comparisons.
   */
  consider(spec: CommandSpec, args: readonly Buffer[], ms: number, session: Session): void {
    const threshold = this.settings.slowlogLogSlowerThan;
    if (threshold < 0) return;
    const durationUs = Math.round(ms * 1000);
    if (durationUs >= threshold && !spec.flags.includes('skip_slowlog')) {
      this.entries.push({
        id: this.nextId++,
        timestampS: Math.floor(Date.now() / 1000),
        durationUs,
        args: slowlogArgs(spec.name, args),
        clientAddress: session.remoteAddress,
        clientName: session.name,
      });
    }
    // As Redis: trimmed to the length in force whenever the log is on, so a lower slowlog-max-len shows at the next command.
    if (this.length > this.settings.slowlogMaxLen) this.trim();
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** The newest `count` entries, newest first. */
  newest(count: number): SlowlogEntry[] {
    const out: SlowlogEntry[] = [];
    for (let i = this.entries.length - 1; i >= this.head && out.length < count; i--) out.push(this.entries[i]!);
    return out;
  }

  reset(): void {
    this.entries = [];
    this.head = 0;
  }

  /** The id the next entry gets: how many entries were ever logged. */
  get entriesLogged(): number {
    return this.nextId;
  }

  private trim(): void {
    this.head = this.entries.length - this.settings.slowlogMaxLen;
    // Compact once the dropped part outweighs the kept one: amortized O(1) per entry.
    if (this.head > this.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

const slowlogHelp = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

/** SLOWLOG GET's default count. */
const getCountDefault = 10;

function entryReply(entry: SlowlogEntry): Reply {
  return [entry.id, entry.timestampS, entry.durationUs, [...entry.args], entry.clientAddress, entry.clientName];
}

/** SLOWLOG GET [count] | LEN | RESET | HELP, with Redis 7's arities and errors. */
function slowlog(ctx: CommandContext, args: Buffer[]): Reply {
  const log = ctx.server.stats.slowlog;
  const sub = args[1]!.toString('latin1').toLowerCase();
  const arity = (ok: boolean) => {
    if (!ok) throw new CommandError(`ERR wrong number of arguments for 'slowlog|${sub}' command`);
  };
  switch (sub) {
    case 'get': {
      // slowlog|get has arity -2; more than one count reaches the handler, which Redis answers with its subcommand syntax error.
      if (args.length > 3) throw new CommandError(`ERR unknown subcommand or wrong number of arguments for '${args[1]!.toString('utf8')}'. Try SLOWLOG HELP.`);
      let count = getCountDefault;
      if (args.length === 3) {
        const n = parseInteger(args[2]!);
        if (n === null || n < -1) throw new CommandError('ERR count should be greater than or equal to -1');
        count = n === -1 ? log.length : n;
      }
      return log.newest(count).map(entryReply);
    }
    case 'len':
      arity(args.length === 2);
      return log.length;
    case 'reset':
      arity(args.length === 2);
      log.reset();
      return OK;
    case 'help':
      arity(args.length === 2);
      return slowlogHelp.map((line) => new SimpleReply(line));
    default:
      throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try SLOWLOG HELP.`);
  }
}

export const slowlogCommands = { slowlog };
