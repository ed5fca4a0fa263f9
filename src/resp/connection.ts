// One client connection: parse, dispatch, reply in order, write once per
// turn. A pipelined batch runs its `concurrent` commands side by side (a
// GET and a SET of different keys need not wait for each other's quorum);
// a command that reads then writes, or changes the connection (AUTH, HELLO,
// CONSISTENCY, QUIT), waits for those before it and holds back those after,
// so a pipeline behaves as if run one by one. Per-key order among concurrent
// commands holds because every layer below keeps call order per key.
//
// Bounded: at most `inFlightCommandsMax` commands run per connection, and when
// the client does not read its replies (the socket's write buffer passes
// `outputBytesHigh`) the connection stops reading, so it cannot make the
// server buffer without bound. Replies completed during one event-loop turn
// are encoded together and written with one socket.write.
//
// MULTI (commands/transactions.ts): while a transaction is open, a command
// that passes the checks is queued and answered +QUEUED instead of run; one
// refused there aborts the transaction. MULTI, EXEC and DISCARD change the
// connection, so they wait for the commands before them like any such
// command, and EXEC holds back what follows until its whole queue has run.
// The queue exists only between MULTI and EXEC/DISCARD.
//
// Pub/Sub (commands/pubsub.ts, pubsub/broker.ts): the connection is its own
// subscriber. A message delivered to it becomes a completed slot after those
// already queued, so it is written in order with the replies — never before
// the SUBSCRIBE confirmation that preceded it. A subscriber's unsent output
// (the socket's buffer plus the messages not yet encoded) is bounded by
// client-output-buffer-limit's pubsub class, checked at each delivery as
// Redis does: past it the connection is destroyed at once, so a publisher
// never waits for a reader that has stopped. A RESP2 subscriber may run only
// the subscribe family, PING, QUIT and RESET, with Redis's error otherwise.
//
// Closing follows Redis's close-after-reply (networking.c,
// CLIENT_CLOSE_AFTER_REPLY): after QUIT or a protocol error nothing more is
// parsed or even read, the replies owed so far (QUIT's +OK, or the error) go
// out in order, then the socket is destroyed — not just half-closed, so a
// client that keeps writing gets a reset instead of being read forever.

import type { Socket } from 'node:net';
import assert from 'node:assert/strict';
import { lookupCommand } from '../commands/table.js';
import { queuedArgumentOverheadBytes, runsInsideMulti, transactionTooLarge, type Transaction } from '../commands/transactions.js';
import { authRequired, subscribed, type CommandContext, type CommandSpec, type ServerServices, type Session } from '../commands/types.js';
import type { Subscriber } from '../pubsub/broker.js';
import { judgeOutput, outputLimitsOf } from '../pubsub/output-limit.js';
import { ReplyBuffer } from './encoder.js';
import { errorReplyFor } from './errors.js';
import { argumentOverheadBytes, type ProtocolLimits } from './limits.js';
import { ProtocolError, RequestParser, type QueryBufferLimitError } from './parser.js';
import { ErrorReply, PushReply, QUEUED, type Reply } from './reply.js';

// A queued command is charged what the parser charged it while it was read.
assert.equal(queuedArgumentOverheadBytes, argumentOverheadBytes);

/** Commands of one connection running at once; past it parsing pauses (~a 1k-deep pipeline). */
export const inFlightCommandsMax = 1024;
/** Unsent reply bytes past which we stop reading the client's requests. */
export const outputBytesHigh = 4 * 1024 * 1024;
/**
 * A closing connection whose client takes none of its last replies for this
 * long is destroyed with them unsent: nothing it sends can be read any more,
 * so nothing else would ever end the wait. Long enough for a slow reader of
 * a large last reply, which makes progress, to get all of it.
 */
export const closingStallMs = 10_000;
/**
 * What a delivered message is charged beyond its channel, pattern and
 * payload bytes while it waits to be written: its RESP framing (under 60
 * bytes) and the slot and reply objects that hold it (~100 bytes of heap),
 * so a flood of empty messages is bounded by the limit too.
 */
export const messageOverheadBytes = 128;

/** Commands a RESP2 subscriber may run (Redis's processCommand). */
const allowedWhileSubscribed = new Set(['subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'ping', 'quit', 'reset']);
const messageKind = Buffer.from('message');
const pmessageKind = Buffer.from('pmessage');

/**
 * A reply owed, in request order. Slots are pooled across connections
 * (takeSlot, releaseSlots): one per command, a SET's lives until its group
 * commit, long enough for V8 to start allocating them in the old
 * generation, where a fresh one per command cost ~5% of a pipelined GET's
 * profile. Its settle handlers are made once per slot, not per command.
 */
class Slot {
  /** The connection the slot is owed on, while it is taken. */
  connection: Connection | undefined = undefined;
  reply: Reply | undefined = undefined;
  /** The protocol the reply is encoded in: the session's when it completed (HELLO switches it). */
  protocol: 2 | 3 = 2;
  done = false;
  /** The command that runs for this slot, counted as a call when it completes; undefined for a refusal or +QUEUED. */
  spec: CommandSpec | undefined = undefined;
  /** When its handler started (performance.now()). */
  startedAtMs = 0;
  /** A delivered message: what it is charged against the output limit until it is encoded; 0 otherwise. */
  messageBytes = 0;
  /** The command's arguments while it runs, for SLOWLOG. */
  args: Buffer[] | undefined = undefined;
  /** An asynchronous handler's outcome: its promise settles once, before the slot can be released. */
  readonly replied = (reply: Reply): void => this.connection!.completed(this, reply);
  readonly failed = (err: unknown): void => this.connection!.completed(this, this.connection!.failure(err));
}

/** Spare slots kept for reuse: enough for every command in flight on a busy node, ~100 bytes each. */
const spareSlotsMax = 4096;
const spareSlots: Slot[] = [];

function takeSlot(connection: Connection, protocol: 2 | 3): Slot {
  const slot = spareSlots.pop() ?? new Slot();
  slot.connection = connection;
  slot.protocol = protocol;
  return slot;
}

/** Returns slots that have left a connection's queue (written, so settled) to the pool. */
function releaseSlots(slots: readonly Slot[], from: number, to: number): void {
  for (let i = from; i < to && spareSlots.length < spareSlotsMax; i++) {
    const slot = slots[i]!;
    slot.connection = undefined;
    slot.reply = undefined;
    slot.done = false;
    slot.spec = undefined;
    slot.startedAtMs = 0;
    slot.messageBytes = 0;
    slot.args = undefined;
    spareSlots.push(slot);
  }
}

interface Deferred {
  readonly spec: CommandSpec;
  readonly args: Buffer[];
  readonly slot: Slot;
}

/** One encoder for all connections: replies are encoded and taken in one synchronous step. */
const sharedReplyBuffer = new ReplyBuffer();
const dirtyConnections = new Set<Connection>();
let flushScheduled = false;

function flushDirty(): void {
  flushScheduled = false;
  for (const connection of dirtyConnections) connection.flush();
  dirtyConnections.clear();
}

export interface ConnectionHooks {
  closed(connection: Connection): void;
}

export class Connection implements CommandContext, Subscriber {
  readonly parser: RequestParser;
  private readonly slots: Slot[] = [];
  private slotsHead = 0;
  private inFlight = 0;
  private deferred: Deferred | undefined;
  private barrierRunning = false;
  private stopped = false;
  private closed = false;
  /** Set by QUIT or a protocol error: once every reply owed is written, close. */
  private closeWhenIdle = false;
  private closing = false;
  private pausedForOutput = false;
  private pausedForPipeline = false;
  private drainWaiters: (() => void)[] = [];
  /** Bytes of delivered messages not yet encoded (Slot.messageBytes summed). */
  private pendingMessageBytes = 0;
  /** The slot whose handler is running right now (synchronously): a PUBLISH to a channel this connection holds. */
  private running: Slot | undefined;
  /** When the unsent output went past the soft limit and has stayed there; undefined while under it. */
  private softLimitSinceMs: number | undefined;

  constructor(
    readonly socket: Socket,
    readonly session: Session,
    readonly server: ServerServices,
    private readonly limits: ProtocolLimits,
    private readonly hooks: ConnectionHooks,
  ) {
    this.parser = new RequestParser(limits);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.server.logger.debug({ err, client: session.id }, 'client socket error'));
    socket.on('close', () => this.onClose());
  }

  /**
   * Stops reading requests; resolves once every command in flight has
   * replied and every reply has been handed to the socket (or the client has
   * gone). A client that does not read its replies keeps this pending: the
   * caller bounds the wait.
   */
  quiesce(): Promise<void> {
    this.stopped = true;
    this.socket.pause();
    if (this.closed || this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Sends FIN after what is queued, and reads again (discarding, as the
   * connection is stopped) so the client's own FIN is seen and the socket
   * closes as soon as the client closes its side.
   */
  end(): void {
    if (this.closed) return;
    this.socket.end();
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** CommandContext.subscriber: the connection receives its own messages. */
  get subscriber(): Subscriber {
    return this;
  }

  /** Subscriber.deliver: queues the message after what is owed, then checks the output limit. */
  deliver(channel: Buffer, message: Buffer, pattern: Buffer | undefined): void {
    if (this.stopped || this.closed) return;
    const reply = pattern === undefined ? new PushReply([messageKind, channel, message]) : new PushReply([pmessageKind, pattern, channel, message]);
    const bytes = channel.length + message.length + (pattern?.length ?? 0) + messageOverheadBytes;
    const slot = takeSlot(this, this.session.protocol);
    slot.reply = reply;
    slot.done = true;
    slot.messageBytes = bytes;
    // Published by this very connection: the message goes before the PUBLISH's reply, as Redis writes it.
    const running = this.running;
    if (running === undefined) this.slots.push(slot);
    else this.slots.splice(this.slots.lastIndexOf(running), 0, slot);
    this.pendingMessageBytes += bytes;
    if (this.overOutputLimit()) return;
    this.markDirty();
  }

  /**
   * Redis's checkClientOutputBufferLimits for a subscriber, at delivery: the
   * socket's unsent bytes and the messages not yet encoded, against the
   * pubsub class. Past it the client is logged, counted and destroyed at
   * once, its subscriptions dropped so no more messages come its way.
   */
  private overOutputLimit(): boolean {
    const limit = outputLimitsOf(this.server.config.clientOutputBufferLimit).pubsub;
    const now = Date.now();
    let pendingBytes = this.socket.writableLength + this.pendingMessageBytes;
    let verdict = judgeOutput(limit, pendingBytes, this.softLimitSinceMs, now);
    // Messages of this turn not yet encoded may be ones a reading client takes at once: write them, then judge what is left.
    if (verdict.close !== undefined && this.pendingMessageBytes > 0) {
      this.writeReplies();
      pendingBytes = this.socket.writableLength + this.pendingMessageBytes;
      verdict = judgeOutput(limit, pendingBytes, this.softLimitSinceMs, now);
    }
    this.softLimitSinceMs = verdict.softSinceMs;
    if (verdict.close === undefined) return false;
    this.server.stats.outputBufferLimitDisconnections++;
    // Redis's words, so an operator searching for them finds Redis's documentation too.
    this.server.logger.warn(
      { client: this.session.id, addr: this.session.remoteAddress, pendingBytes, limit: verdict.close },
      'Client scheduled to be closed ASAP for overcoming of output buffer limits.',
    );
    this.stopped = true;
    this.server.pubsub.registry.drop(this);
    this.slots.length = 0;
    this.slotsHead = 0;
    this.pendingMessageBytes = 0;
    this.socket.destroy();
    return true;
  }

  private idle(): boolean {
    return this.inFlight === 0 && this.deferred === undefined && this.slotsHead === this.slots.length;
  }

  private onData(chunk: Buffer): void {
    this.server.stats.netInputBytes += chunk.length;
    this.server.stats.readsProcessed++;
    if (this.stopped) return;
    // Per read, not per command (a clock read was ~2% of a pipelined GET): CLIENT LIST's idle, which Redis too takes from the last read.
    this.session.lastCommandAtMs = Date.now();
    this.parser.append(chunk);
    this.pump();
    // Replies that are ready now go out now; the rest follow when they complete.
    if (this.slotsHead < this.slots.length && this.slots[this.slotsHead]!.done) this.writeReplies();
  }

  /** Parses and dispatches until the parser needs bytes or the connection must wait. */
  private pump(): void {
    while (!this.stopped) {
      // QUIT ran (now or as the deferred command): nothing after it may run.
      if (this.session.closeAfterReply) {
        this.stopReading();
        return;
      }
      if (this.deferred !== undefined || this.barrierRunning || this.pausedForOutput || this.inFlight >= inFlightCommandsMax) {
        this.pauseForPipeline();
        return;
      }
      // Replies waiting to be written are bounded too: write what is ready, then wait.
      if (this.slots.length - this.slotsHead >= inFlightCommandsMax) {
        this.writeReplies();
        if (this.pausedForOutput || this.slots.length - this.slotsHead >= inFlightCommandsMax) {
          this.pauseForPipeline();
          return;
        }
      }
      let args: Buffer[] | null;
      try {
        args = this.parser.next(!authRequired(this.session, this.server.config));
      } catch (err) {
        this.protocolError(err);
        return;
      }
      if (args === null) {
        this.resumeFromPipeline();
        return;
      }
      this.dispatch(args);
    }
  }

  private dispatch(args: Buffer[]): void {
    const server = this.server;
    const slot = takeSlot(this, this.session.protocol);
    this.slots.push(slot);
    const spec = lookupCommand(server.commands, args[0]!);
    const refusal = spec === undefined ? unknownCommand(args) : this.refusal(spec, args);
    const transaction = this.session.transaction;
    if (refusal !== undefined) {
      // Redis's flagTransaction: a command refused while queueing makes EXEC abort.
      transaction?.abort();
      server.stats.commands.rejected(spec, refusal);
      // Redis's rejectCommand: EXEC itself refused answers EXECABORT with the reason (execCommandAbort), in a transaction or not.
      if (spec?.name === 'exec') {
        this.session.transaction = undefined;
        this.complete(slot, new ErrorReply(`EXECABORT Transaction discarded because of: ${refusal.message.replace(/^ERR /, '')}`), false);
        return;
      }
      this.complete(slot, refusal, false);
      return;
    }
    const command = spec!;
    this.session.lastCommand = command.name;
    if (transaction !== undefined && !runsInsideMulti.has(command.name)) {
      this.complete(slot, this.queue(transaction, command, args), false);
      return;
    }
    let concurrent = command.concurrent === true || (typeof command.concurrent === 'function' && command.concurrent(args));
    // A forwarded write is applied by another node, out of this connection's
    // sight: what follows it in the pipeline waits for it.
    if (concurrent && command.flags.includes('write') && !this.writesLocally(command, args)) concurrent = false;
    if (!concurrent && this.inFlight > 0) {
      this.deferred = { spec: command, args, slot };
      return;
    }
    this.run(command, args, slot, !concurrent);
  }

  /** Queues a command of an open transaction; a queue past the query buffer limit aborts it instead of growing. */
  private queue(transaction: Transaction, spec: CommandSpec, args: Buffer[]): Reply {
    if (transaction.queue(spec, args, this.limits.queryBufferBytesMax)) return QUEUED;
    const refusal = new ErrorReply(transactionTooLarge(this.limits.queryBufferBytesMax).message);
    this.server.stats.commands.rejected(spec, refusal);
    return refusal;
  }

  /** CommandContext.execute: one command of EXEC's queue, run and counted as dispatch runs what it reads. */
  execute(spec: CommandSpec, args: Buffer[]): Promise<Reply> {
    const startedAtMs = performance.now();
    let result: Reply | Promise<Reply>;
    try {
      result = spec.handler(this, args);
    } catch (err) {
      return Promise.resolve(this.called(spec, args, this.failure(err), startedAtMs));
    }
    if (!(result instanceof Promise)) return Promise.resolve(this.called(spec, args, result, startedAtMs));
    return result.then(
      (reply) => this.called(spec, args, reply, startedAtMs),
      (err) => this.called(spec, args, this.failure(err), startedAtMs),
    );
  }

  /** Counts a call of `spec` that replied `reply` (commandstats, errorstats, latencystats, SLOWLOG); returns the reply. */
  private called(spec: CommandSpec, args: Buffer[], reply: Reply, startedAtMs: number): Reply {
    const ms = performance.now() - startedAtMs;
    this.server.stats.commands.called(spec, reply, ms);
    this.server.stats.slowlog.consider(spec, args, ms, this.session);
    return reply;
  }

  /** @internal The error reply for what a handler threw. */
  failure(err: unknown): ErrorReply {
    return errorReplyFor(err, this.server.logger);
  }

  private writesLocally(spec: CommandSpec, args: Buffer[]): boolean {
    const last = spec.lastKey < 0 ? args.length + spec.lastKey : spec.lastKey;
    for (let i = spec.firstKey; i > 0 && i <= last; i += spec.step) {
      if (!this.server.coordinator.coordinatesLocally(args[i]!)) return false;
    }
    return true;
  }

  /** Checks that need no handler: arity and authentication, as Redis does before calling. */
  private refusal(spec: CommandSpec, args: Buffer[]): ErrorReply | undefined {
    const arity = spec.arity;
    if ((arity > 0 && args.length !== arity) || args.length < -arity) {
      return new ErrorReply(`ERR wrong number of arguments for '${spec.name}' command`);
    }
    if (authRequired(this.session, this.server.config) && !spec.flags.includes('no_auth')) {
      return new ErrorReply('NOAUTH Authentication required.');
    }
    if (this.session.protocol === 2 && subscribed(this.session) && !allowedWhileSubscribed.has(spec.name)) {
      return new ErrorReply(`ERR Can't execute '${commandName(spec, args)}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
    }
    return undefined;
  }

  private run(spec: CommandSpec, args: Buffer[], slot: Slot, barrier: boolean): void {
    slot.spec = spec;
    slot.args = args;
    slot.startedAtMs = performance.now();
    let result: Reply | Promise<Reply>;
    this.running = slot;
    try {
      result = spec.handler(this, args);
    } catch (err) {
      this.fail(slot, err, false);
      return;
    } finally {
      this.running = undefined;
    }
    if (!(result instanceof Promise)) {
      this.complete(slot, result, false);
      return;
    }
    this.inFlight++;
    if (barrier) this.barrierRunning = true;
    result.then(slot.replied, slot.failed);
  }

  /** @internal An asynchronous handler settled (Slot.replied, Slot.failed). */
  completed(slot: Slot, reply: Reply): void {
    this.complete(slot, reply, true);
  }

  private fail(slot: Slot, err: unknown, async: boolean): void {
    this.complete(slot, this.failure(err), async);
  }

  private complete(slot: Slot, reply: Reply, async: boolean): void {
    if (slot.spec !== undefined) this.called(slot.spec, slot.args!, reply, slot.startedAtMs);
    slot.args = undefined;
    slot.reply = reply;
    slot.protocol = this.session.protocol;
    slot.done = true;
    if (!async) return;
    this.inFlight--;
    this.barrierRunning = false;
    if (this.closed) return;
    this.markDirty();
    if (this.deferred !== undefined && this.inFlight === 0) {
      const { spec, args, slot: deferredSlot } = this.deferred;
      this.deferred = undefined;
      this.run(spec, args, deferredSlot, true);
    }
    this.pump();
    this.notifyIfDrained();
  }

  private protocolError(err: unknown): void {
    if (!(err instanceof ProtocolError)) throw err;
    const client = { client: this.session.id, addr: this.session.remoteAddress };
    if (err.code === 'QUERY_BUFFER_LIMIT') {
      this.server.stats.queryBufferLimitDisconnections++;
      // Redis's words, so an operator searching for them finds Redis's documentation too.
      this.server.logger.warn({ ...client, limitBytes: (err as QueryBufferLimitError).limitBytes }, 'Closing client that reached max query buffer length');
    } else {
      this.server.stats.protocolErrors++;
      this.server.logger.info({ ...client, reason: err.message }, 'protocol error, closing client');
    }
    const reply = new ErrorReply(`ERR ${err.message}`);
    this.server.stats.commands.errorReplied(reply.message);
    const slot = takeSlot(this, this.session.protocol);
    slot.reply = reply;
    slot.done = true;
    this.slots.push(slot);
    this.stopReading();
    this.markDirty();
  }

  /** Parses and reads nothing more; the connection closes once the replies owed are written. */
  private stopReading(): void {
    this.stopped = true;
    this.closeWhenIdle = true;
    this.socket.pause();
  }

  /**
   * Sends FIN after the replies, then destroys the socket once they are
   * handed to the kernel: from then on what the client sends draws a reset
   * (EPIPE/ECONNRESET on its side), as after Redis's close().
   */
  private closeAfterReplies(): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.setTimeout(closingStallMs, () => this.socket.destroy());
    this.socket.once('finish', () => this.socket.destroy());
    this.socket.end();
  }

  private markDirty(): void {
    dirtyConnections.add(this);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushDirty);
    }
  }

  /** Writes the replies completed in order so far, then goes on parsing if that was waiting on them. */
  flush(): void {
    this.writeReplies();
    if (this.pausedForPipeline && !this.stopped) this.pump();
  }

  /**
   * Encodes the replies completed in order and writes them, a socket write
   * per outputBytesHigh of replies; stops when the client is not reading
   * (the socket holds more than outputBytesHigh) until 'drain'.
   */
  private writeReplies(): void {
    // While the client is not reading, nothing more is encoded: 'drain' resumes.
    if (this.closed || this.pausedForOutput) return;
    const out = sharedReplyBuffer;
    for (;;) {
      while (this.slotsHead < this.slots.length && out.length < outputBytesHigh) {
        const slot = this.slots[this.slotsHead]!;
        if (!slot.done) break;
        out.write(slot.reply!, slot.protocol);
        slot.reply = undefined;
        this.pendingMessageBytes -= slot.messageBytes;
        this.slotsHead++;
      }
      if (out.length > 0) {
        this.server.stats.netOutputBytes += out.length;
        this.server.stats.writesProcessed++;
        this.socket.write(out.take());
      }
      if (this.socket.writableLength > outputBytesHigh) {
        if (!this.pausedForOutput) {
          this.pausedForOutput = true;
          this.socket.pause();
        }
        break;
      }
      if (this.slotsHead >= this.slots.length || !this.slots[this.slotsHead]!.done) break;
    }
    if (this.slotsHead === this.slots.length) {
      releaseSlots(this.slots, 0, this.slotsHead);
      this.slots.length = 0;
      this.slotsHead = 0;
    } else if (this.slotsHead > 1024) {
      releaseSlots(this.slots, 0, this.slotsHead);
      this.slots.splice(0, this.slotsHead);
      this.slotsHead = 0;
    }
    if (this.closeWhenIdle && this.idle()) this.closeAfterReplies();
    this.notifyIfDrained();
  }

  private onDrain(): void {
    if (!this.pausedForOutput) return;
    this.pausedForOutput = false;
    this.writeReplies();
    if (this.pausedForOutput || this.stopped) return;
    if (this.pausedForPipeline) this.pump();
    else this.socket.resume();
  }

  private pauseForPipeline(): void {
    if (this.pausedForPipeline) return;
    this.pausedForPipeline = true;
    this.socket.pause();
  }

  private resumeFromPipeline(): void {
    if (!this.pausedForPipeline) return;
    this.pausedForPipeline = false;
    if (!this.pausedForOutput && !this.stopped) this.socket.resume();
  }

  /** Wakes quiesce() once a stopped connection has nothing left to reply. */
  private notifyIfDrained(): void {
    if (this.stopped && this.drainWaiters.length > 0 && this.idle()) this.notifyDrained();
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopped = true;
    dirtyConnections.delete(this);
    if (subscribed(this.session)) this.server.pubsub.registry.drop(this);
    this.notifyDrained();
    this.hooks.closed(this);
  }
}

/** The name Redis's errors give a command: a container's with its subcommand when it has one ("client|info"). */
function commandName(spec: CommandSpec, args: Buffer[]): string {
  const sub = args.length > 1 && containers.has(spec.name) ? `|${args[1]!.toString('utf8').toLowerCase()}` : '';
  return `${spec.name}${sub}`;
}

/** The commands ringkv serves that Redis 7 registers with subcommands. */
const containers = new Set(['client', 'config', 'command', 'object', 'pubsub', 'ring']);

/** Redis's reply for an unknown command: the name and the first arguments, each quoted and cut. */
function unknownCommand(args: Buffer[]): ErrorReply {
  const name = args[0]!.toString('utf8', 0, 128);
  let rest = '';
  for (let i = 1; i < args.length && rest.length < 128; i++) rest += `'${args[i]!.toString('utf8', 0, 128 - rest.length)}' `;
  return new ErrorReply(`ERR unknown command '${name}', with args beginning with: ${rest}`);
}
