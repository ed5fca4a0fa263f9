// MULTI, EXEC, DISCARD, WATCH, UNWATCH with Redis 7's replies (multi.c) and
// honest semantics for a Dynamo store. After MULTI the connection checks each
// command as it would run it (unknown command, arity, AUTH) and queues it
// (+QUEUED) instead of running it (resp/connection.ts); a command refused
// there marks the transaction so EXEC answers EXECABORT and runs nothing, as
// Redis's flagTransaction does. EXEC runs the queue in order, each command
// its own quorum operation started once the one before it has replied, and
// answers the array of their replies, errors included as elements.
//
// What EXEC cannot promise on N replicas: isolation. Another client's write
// may land between two queued commands, and a node may fail between them, so
// some of the transaction's writes may happen and others fail (each failure
// is its own error element). WATCH would need a cross-key check-and-set the
// replicas cannot give, so it is refused with the reason and the way a
// Dynamo store does check-and-set on one key: a write carrying the causal
// context it read (SET … VCLOCK).

import { OK, type Reply } from '../resp/reply.js';
import { CommandError, type CommandContext, type CommandSpec } from './types.js';

interface Queued {
  readonly spec: CommandSpec;
  readonly args: Buffer[];
}

/**
 * What a queued argument costs beyond its bytes: the same charge the parser
 * makes per argument (resp/limits.ts argumentOverheadBytes), repeated here so
 * commands/ does not import resp/ internals; the connection asserts they agree.
 */
export const queuedArgumentOverheadBytes = 128;

/** A connection's open transaction: allocated by MULTI, dropped by EXEC, DISCARD or the close. */
export class Transaction {
  private readonly commands: Queued[] = [];
  /** What the queue holds: its arguments' bytes plus queuedArgumentOverheadBytes each. */
  private bytesHeld = 0;
  /** Set when a command was refused while queueing: EXEC must abort (Redis's CLIENT_DIRTY_EXEC). */
  private aborted = false;

  get dirty(): boolean {
    return this.aborted;
  }

  get length(): number {
    return this.commands.length;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /**
   * Queues a command unless that would make the queue hold more than
   * `bytesMax`; returns false then, having marked the transaction aborted.
   * An aborted transaction keeps nothing: EXEC will run none of it, so a
   * client that goes on queueing costs no memory.
   */
  queue(spec: CommandSpec, args: Buffer[], bytesMax: number): boolean {
    if (this.aborted) return true;
    let bytes = 0;
    for (const arg of args) bytes += arg.length + queuedArgumentOverheadBytes;
    if (this.bytesHeld + bytes > bytesMax) {
      this.abort();
      return false;
    }
    this.commands.push({ spec, args });
    this.bytesHeld += bytes;
    return true;
  }

  /** A command was refused while queueing: EXEC will answer EXECABORT. */
  abort(): void {
    this.aborted = true;
    this.commands.length = 0;
    this.bytesHeld = 0;
  }

  queued(): readonly Queued[] {
    return this.commands;
  }
}

/** The refusal of a command that would take the queue past its limit; the transaction is aborted with it. */
export function transactionTooLarge(bytesMax: number): CommandError {
  return new CommandError(`ERR Transaction discarded: its queued commands would hold more than ${bytesMax} bytes (client-query-buffer-limit); EXEC will answer EXECABORT`);
}

/** Redis's shared.execaborterr. */
export const execAbortError = 'EXECABORT Transaction discarded because of previous errors.';

function multi(ctx: CommandContext): Reply {
  if (ctx.session.transaction !== undefined) throw new CommandError('ERR MULTI calls can not be nested');
  ctx.session.transaction = new Transaction();
  return OK;
}

function discard(ctx: CommandContext): Reply {
  if (ctx.session.transaction === undefined) throw new CommandError('ERR DISCARD without MULTI');
  ctx.session.transaction = undefined;
  return OK;
}

function exec(ctx: CommandContext): Reply | Promise<Reply> {
  const transaction = ctx.session.transaction;
  if (transaction === undefined) throw new CommandError('ERR EXEC without MULTI');
  const queued = transaction.queued();
  if (transaction.dirty || queued.length === 0) {
    ctx.session.transaction = undefined;
    if (transaction.dirty) throw new CommandError(execAbortError);
    return [];
  }
  return runQueued(ctx, queued);
}

/**
 * One command after another: each starts once the one before has replied,
 * so a queued GET sees the queued SET before it, and a CONSISTENCY queued
 * first applies to the commands after it. Every command runs whatever the
 * ones before it answered, as in Redis (no rollback). The transaction stays
 * open until the last has run, as in Redis, so CLIENT LIST inside it shows
 * the connection in MULTI (nothing else can reach the session meanwhile:
 * EXEC holds back the connection's next commands).
 */
async function runQueued(ctx: CommandContext, queued: readonly Queued[]): Promise<Reply> {
  const replies: Reply[] = new Array<Reply>(queued.length);
  try {
    for (let i = 0; i < queued.length; i++) replies[i] = await ctx.execute(queued[i]!.spec, queued[i]!.args);
  } finally {
    ctx.session.transaction = undefined;
  }
  return replies;
}

/**
 * Why WATCH cannot be kept: to fail EXEC when a watched key changed, every
 * write to the key, on any node, would have to be checked against the watch
 * and the transaction's writes applied with no write in between — isolation
 * across keys and replicas that a Dynamo store does not have.
 */
function watchRefusal(command: string): CommandError {
  return new CommandError(
    `ERR ${command} is not supported: ringkv keeps each key on N replicas with no isolation across keys, so it cannot ` +
    'tell EXEC that a watched key changed. To update a key from what you read, read it with SIBLINGS key WITHVCLOCK ' +
    'and write SET key value VCLOCK context: the write supersedes only what you read, and a concurrent write stays as a sibling instead of being lost',
  );
}

function watch(ctx: CommandContext): Reply {
  // Redis's own answer inside MULTI, which does not abort the transaction.
  if (ctx.session.transaction !== undefined) throw new CommandError('ERR WATCH inside MULTI is not allowed');
  throw watchRefusal('WATCH');
}

function unwatch(): Reply {
  throw watchRefusal('UNWATCH');
}

export const transactionCommands = { multi, exec, discard, watch, unwatch };

/**
 * The commands a connection in MULTI runs at once instead of queueing, as
 * Redis's processCommand (server.c) lists them: the transaction's own verbs,
 * WATCH (to refuse it) and QUIT.
 */
export const runsInsideMulti: ReadonlySet<string> = new Set(['exec', 'discard', 'multi', 'watch', 'quit']);

