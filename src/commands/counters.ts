// INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT: operations on a counter
// (crdt/counter.ts), applied by the key's coordinator to the record it holds
// in one synchronous step (coordinator/versioning.ts), so two INCRs meeting
// at one coordinator never both start from the same value, and increments
// made on both sides of a partition all count once the sides meet. No read
// at R first: like a plain SET, the coordinator builds on every version it
// holds — a counter never needs the other replicas' versions to count right,
// since whatever it does not hold stays beside the new version as a sibling
// and is merged in on every read. The reply is the value the coordinator's
// new version holds.

import type { Reply } from '../resp/reply.js';
import { int64Min, integerReply, longLongArg } from './args.js';
import { writeKey } from './data.js';
import { counterType, counterValue, encodeCounterOperation, type CounterOperation } from '../crdt/counter.js';
import { formatDecimal } from '../crdt/decimal.js';
import type { PutResult } from '../coordinator/coordinator.js';
import { CommandError, type CommandContext } from './types.js';

function operate(ctx: CommandContext, key: Buffer, operation: CounterOperation): Promise<PutResult> {
  // During a cut-over (--read-through) writeKey imports a counter still only in the old Redis first, so INCR counts from its value.
  // The operation as built goes along (`decoded`): the coordinator, when it is this node, applies it without parsing its bytes back.
  return writeKey(ctx, key, { kind: 'operate', type: 'counter', operation: encodeCounterOperation(operation), decoded: operation });
}

/** The new value as text: the operation's outcome, or (from a coordinator that sends none) the version's, decoded. */
function resultText(result: PutResult): Buffer {
  return result.outcome ?? Buffer.from(formatDecimal(counterValue(counterType.decode(result.version.value))), 'latin1');
}

function integerResult(result: PutResult): Reply {
  // An integer operation succeeded only on an integer value (counter.ts refuses the rest), so the text is digits;
  // a bigint only past 2^53, where a number would round.
  const text = resultText(result).toString('latin1');
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : integerReply(BigInt(text));
}

function floatResult(result: PutResult): Reply {
  return resultText(result);
}

function by(ctx: CommandContext, key: Buffer, increment: bigint): Promise<Reply> {
  return operate(ctx, key, { kind: 'by', increment }).then(integerResult);
}

function incr(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return by(ctx, args[1]!, 1n);
}

function decr(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return by(ctx, args[1]!, -1n);
}

function incrby(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  // As Redis: the increment is judged before the key.
  return by(ctx, args[1]!, longLongArg(args[2]!));
}

function decrby(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const decrement = longLongArg(args[2]!);
  if (decrement === int64Min) throw new CommandError('ERR decrement would overflow');
  return by(ctx, args[1]!, -decrement);
}

/** The increment goes as the client gave it: Redis judges it only after the key's type and value (t_string.c incrbyfloatCommand). */
function incrbyfloat(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return operate(ctx, args[1]!, { kind: 'float', increment: args[2]! }).then(floatResult);
}

export const counterCommands = { incr, decr, incrby, decrby, incrbyfloat };
