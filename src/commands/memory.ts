// MEMORY USAGE, so that `redis-cli --memkeys` and tools that size keys work
// against ringkv. Redis answers the bytes a key and its value take in its
// memory; ringkv keeps keys on disk, so it answers the bytes the key's record
// takes as one replica stores it (the key, every version's value, clock and
// expiry, as clock/record-codec.ts lays them out), read at R — LevelDB's own
// overhead and compression left out. Only USAGE and HELP are served: the
// other subcommands report on Redis's allocator, which ringkv does not have.

import { encodedSize } from '../clock/record-codec.js';
import type { Reply } from '../resp/reply.js';
import { longLongArg, syntaxError, upper } from './args.js';
import { readKey } from './data.js';
import { helpReply } from './object.js';
import { CommandError, type CommandContext } from './types.js';

const memoryHelp = [
  'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
  'HELP',
  '    Prints this help.',
];

async function memory(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const sub = upper(args[1]!);
  if (sub === 'HELP') {
    if (args.length !== 2) throw new CommandError("ERR wrong number of arguments for 'memory|help' command");
    return helpReply(memoryHelp);
  }
  if (sub !== 'USAGE') throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try MEMORY HELP.`);
  if (args.length < 3) throw new CommandError("ERR wrong number of arguments for 'memory|usage' command");
  // SAMPLES is checked as Redis checks it; a record is read whole, so it changes nothing.
  for (let j = 3; j < args.length; j++) {
    if (upper(args[j]!) !== 'SAMPLES' || j + 1 >= args.length) throw new CommandError(syntaxError);
    if (longLongArg(args[j + 1]!) < 0n) throw new CommandError(syntaxError);
    j++;
  }
  const key = args[2]!;
  const { versions, current } = await readKey(ctx, key);
  return current === undefined ? null : key.length + encodedSize(versions);
}

export const memoryCommands = { memory };
