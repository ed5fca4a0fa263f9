// Commands that move or set values across keys: RENAME, RENAMENX, COPY and
// MSETNX. The keys live on different replica sets, so each command is a
// sequence of quorum operations, not one atomic step (README "Redis
// compatibility"): every step is a read at R or a write at W, and a step that
// fails its quorum fails the command with what the steps before it did left
// in place, as the README states per command:
//  - RENAME/RENAMENX: read both keys; write the destination (the value and
//    its expiry, superseding what the read saw there); then delete the
//    source (superseding exactly what the read saw). A failure between the
//    two writes leaves the value under both names; running it again finishes.
//  - COPY: read both, write the destination.
//  A counter lands as the string it shows (its next INCR makes a counter of
//  it again): its runs are bound to the key that made them (crdt/counter.ts).
//  - MSETNX: read every key; if none exists, write each. Another client may
//    set one of them between the reads and the writes.
// Each write carries the context of its key's read, so a concurrent write
// the read did not see stays beside it as a sibling, never silently lost.

import { forEachKey } from './multi-key.js';
import type { Reply } from '../resp/reply.js';
import { OK } from '../resp/reply.js';
import { integerArg, notInteger, syntaxError, upper } from './args.js';
import { copyMutation, deleteMutation, readKey, valueMutation, writeKey, type KeyState } from './data.js';
import { CommandError, type CommandContext } from './types.js';

function renameWith(nx: boolean) {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    const source = args[1]!;
    const destination = args[2]!;
    const same = source.equals(destination);
    const [from, to] = await Promise.all([readKey(ctx, source), same ? undefined : readKey(ctx, destination)]);
    const value = from.current;
    if (value === undefined) throw new CommandError('ERR no such key');
    // Renaming a key to itself changes nothing, as in Redis.
    if (to === undefined) return nx ? 0 : OK;
    if (nx && to.current !== undefined) return 0;
    await writeKey(ctx, destination, copyMutation(value, value.expiresAt), to.context);
    await writeKey(ctx, source, deleteMutation, from.context);
    return nx ? 1 : OK;
  };
}

/** COPY's options (db.c copyCommand): REPLACE, and DB with only index 0 (ringkv has one database). */
function copyOptions(args: Buffer[]): { replace: boolean } {
  let replace = false;
  for (let j = 3; j < args.length; j++) {
    const option = upper(args[j]!);
    if (option === 'REPLACE') replace = true;
    else if (option === 'DB' && j + 1 < args.length) {
      // Redis reads the index as a C int: beyond it, not an integer; any other database, out of range.
      const db = integerArg(args[++j]!);
      if (db < -2147483648 || db > 2147483647) throw new CommandError(notInteger);
      if (db !== 0) throw new CommandError('ERR DB index is out of range');
    } else throw new CommandError(syntaxError);
  }
  return { replace };
}

async function copy(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const source = args[1]!;
  const destination = args[2]!;
  const { replace } = copyOptions(args);
  if (source.equals(destination)) throw new CommandError('ERR source and destination objects are the same');
  const [from, to] = await Promise.all([readKey(ctx, source), readKey(ctx, destination)]);
  const value = from.current;
  if (value === undefined) return 0;
  if (to.current !== undefined && !replace) return 0;
  await writeKey(ctx, destination, copyMutation(value, value.expiresAt), to.context);
  return 1;
}

async function msetnx(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (args.length % 2 === 0) throw new CommandError("ERR wrong number of arguments for 'msetnx' command");
  // A key named twice takes its last value, as in Redis; it is read and written once.
  const values = new Map<string, { key: Buffer; value: Buffer }>();
  for (let i = 1; i < args.length; i += 2) values.set(args[i]!.toString('latin1'), { key: args[i]!, value: args[i + 1]! });
  const pairs = [...values.values()];
  const states: KeyState[] = await forEachKey(pairs.length, (i) => readKey(ctx, pairs[i]!.key));
  if (states.some((s) => s.current !== undefined)) return 0;
  await forEachKey(pairs.length, (i) => writeKey(ctx, pairs[i]!.key, valueMutation(pairs[i]!.value, undefined), states[i]!.context));
  return 1;
}

export const acrossKeyCommands = {
  rename: renameWith(false),
  renamenx: renameWith(true),
  copy,
  msetnx,
};
