// IMPORT key value [PXAT unix-time-ms]: ringkv's write of a value copied from
// a Redis being migrated (`ringkv migrate --mode missing`). Unlike SET it is
// kept only where the key's coordinator holds no version of it — a key
// written or deleted through ringkv already holds something newer than the
// old Redis's copy — and it is stamped older than any ringkv write, so one
// made concurrently wins GET's choice. Replies 1 when written, 0 when the key
// had a version.

import type { Reply } from '../resp/reply.js';
import { KeyPresentError } from '../coordinator/errors.js';
import type { Mutation } from '../coordinator/versioning.js';
import { longLongArg, syntaxError, upper } from './args.js';
import { writeKey } from './data.js';
import { CommandError, type CommandContext } from './types.js';

async function importCommand(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  let expiresAt: number | undefined;
  if (args.length === 5) {
    if (upper(args[3]!) !== 'PXAT') throw new CommandError(syntaxError);
    const at = longLongArg(args[4]!);
    if (at <= 0n || at > BigInt(Number.MAX_SAFE_INTEGER)) throw new CommandError("ERR invalid expire time in 'import' command");
    expiresAt = Number(at);
  } else if (args.length !== 3) {
    throw new CommandError(syntaxError);
  }
  const mutation: Mutation = expiresAt === undefined
    ? { kind: 'value', value: args[2]!, imported: true }
    : { kind: 'value', value: args[2]!, expiresAt, imported: true };
  try {
    await writeKey(ctx, args[1]!, mutation);
    return 1;
  } catch (err) {
    if (err instanceof KeyPresentError) return 0;
    throw err;
  }
}

export const importCommands = { import: importCommand };
