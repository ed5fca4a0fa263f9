// Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT.
// They read and change the connection's session, not the data.

import { timingSafeEqual } from 'node:crypto';
import { ErrorReply, MapReply, OK, PONG, SimpleReply, VerbatimReply, type Reply } from '../resp/reply.js';
import { integerArg, syntaxError, upper } from './args.js';
import { helpReply } from './object.js';
import { unsubscribeAll } from './pubsub.js';
import { authRequired, CommandError, subscribed, type CommandContext, type Session } from './types.js';

export const redisVersionCompatible = '7.2.0';

const pong = Buffer.from('pong');
const emptyBulk = Buffer.alloc(0);
const RESET = new SimpleReply('RESET');

/** As Redis: a RESP2 subscriber gets ["pong", message or ""], since its replies must all be arrays. */
function ping(ctx: CommandContext, args: Buffer[]): Reply {
  if (args.length > 2) throw new CommandError("ERR wrong number of arguments for 'ping' command");
  if (ctx.session.protocol === 2 && subscribed(ctx.session)) return [pong, args[1] ?? emptyBulk];
  return args.length === 2 ? args[1]! : PONG;
}

/**
 * Redis's RESET (clearClientConnectionState): the transaction and every
 * subscription dropped (without confirmations), RESP2, no name, and
 * authenticated only if no password is set; ringkv's CONSISTENCY goes back
 * to the node's default too.
 */
function reset(ctx: CommandContext): Reply {
  const session = ctx.session;
  session.transaction = undefined;
  unsubscribeAll(ctx);
  session.protocol = 2;
  session.name = '';
  session.authenticated = ctx.server.config.requirepass === undefined;
  session.r = undefined;
  session.w = undefined;
  session.strict = false;
  return RESET;
}

function echo(_ctx: CommandContext, args: Buffer[]): Reply {
  return args[1]!;
}

function quit(ctx: CommandContext): Reply {
  ctx.session.closeAfterReply = true;
  return OK;
}

function passwordMatches(ctx: CommandContext, given: Buffer): boolean {
  const expected = Buffer.from(ctx.server.config.requirepass ?? '', 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const wrongPass = 'WRONGPASS invalid username-password pair or user is disabled.';

/** Checks AUTH's arguments; returns the error reply, or undefined when authenticated. */
function authenticate(ctx: CommandContext, user: Buffer | undefined, password: Buffer): ErrorReply | undefined {
  if (ctx.server.config.requirepass === undefined) {
    if (user === undefined) {
      return new ErrorReply('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    }
    if (user.toString('utf8') === 'default') return undefined;
    return new ErrorReply(wrongPass);
  }
  if ((user === undefined || user.toString('utf8') === 'default') && passwordMatches(ctx, password)) {
    ctx.session.authenticated = true;
    return undefined;
  }
  return new ErrorReply(wrongPass);
}

function auth(ctx: CommandContext, args: Buffer[]): Reply {
  if (args.length > 3) throw new CommandError(syntaxError);
  const failure = args.length === 3 ? authenticate(ctx, args[1], args[2]!) : authenticate(ctx, undefined, args[1]!);
  return failure ?? OK;
}

function hello(ctx: CommandContext, args: Buffer[]): Reply {
  const session = ctx.session;
  let protocol = session.protocol;
  let i = 1;
  if (args.length > 1) {
    const version = Number.parseInt(args[1]!.toString('latin1'), 10);
    if (!/^-?\d+$/.test(args[1]!.toString('latin1'))) {
      throw new CommandError('ERR Protocol version is not an integer or out of range');
    }
    if (version !== 2 && version !== 3) throw new CommandError('NOPROTO unsupported protocol version');
    protocol = version;
    i = 2;
  }
  let name: string | undefined;
  for (; i < args.length; i++) {
    const option = upper(args[i]!);
    if (option === 'AUTH' && i + 2 < args.length) {
      const failure = authenticate(ctx, args[i + 1], args[i + 2]!);
      if (failure !== undefined) return failure;
      i += 2;
    } else if (option === 'SETNAME' && i + 1 < args.length) {
      name = validClientName(args[++i]!);
    } else {
      throw new CommandError(`ERR Syntax error in HELLO option '${args[i]!.toString('utf8')}'`);
    }
  }
  if (authRequired(session, ctx.server.config)) {
    return new ErrorReply('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
  }
  if (name !== undefined) session.name = name;
  session.protocol = protocol as 2 | 3;
  return new MapReply([
    ['server', 'redis'],
    ['version', redisVersionCompatible],
    ['proto', protocol],
    ['id', session.id],
    ['mode', 'standalone'],
    ['role', 'master'],
    ['modules', []],
  ]);
}

function select(_ctx: CommandContext, args: Buffer[]): Reply {
  const index = integerArg(args[1]!);
  // One keyspace per cluster, like Redis with `databases 1`.
  if (index !== 0) throw new CommandError('ERR DB index is out of range');
  return OK;
}

function validClientName(arg: Buffer): string {
  for (const b of arg) {
    if (b < 0x21 || b > 0x7e) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  return arg.toString('latin1');
}

function describeSession(session: Session, now: number): string {
  const age = Math.floor((now - session.createdAtMs) / 1000);
  const idle = Math.floor((now - session.lastCommandAtMs) / 1000);
  // As Redis: flags P while subscribed, x and the queue's length and bytes while a MULTI is open (multi=-1 otherwise), N for neither.
  const transaction = session.transaction;
  const flags = `${subscribed(session) ? 'P' : ''}${transaction === undefined ? '' : 'x'}` || 'N';
  return (
    `id=${session.id} addr=${session.remoteAddress} laddr=${session.localAddress} fd=-1 name=${session.name} ` +
    `age=${age} idle=${idle} flags=${flags} db=0 sub=${session.subscribedChannels} psub=${session.subscribedPatterns} ssub=0 ` +
    `multi=${transaction?.length ?? -1} qbuf=0 qbuf-free=0 argv-mem=0 ` +
    `multi-mem=${transaction?.bytes ?? 0} rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${session.lastCommand} user=default ` +
    `redir=-1 resp=${session.protocol} lib-name=${session.libName} lib-ver=${session.libVersion}\n`
  );
}

/** CLIENT HELP in Redis's words, listing only the subcommands ringkv serves. */
const clientHelp = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'LIST',
  '    Return information about client connections.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'HELP',
  '    Prints this help.',
];

function client(ctx: CommandContext, args: Buffer[]): Reply {
  const sub = upper(args[1]!);
  const session = ctx.session;
  const arity = (n: number) => {
    if (args.length !== n) throw new CommandError(`ERR wrong number of arguments for 'client|${sub.toLowerCase()}' command`);
  };
  switch (sub) {
    case 'SETNAME':
      arity(3);
      session.name = validClientName(args[2]!);
      return OK;
    case 'GETNAME':
      arity(2);
      return session.name === '' ? null : session.name;
    case 'ID':
      arity(2);
      return session.id;
    case 'INFO':
      arity(2);
      return new VerbatimReply(describeSession(session, Date.now()));
    case 'LIST': {
      const now = Date.now();
      let text = '';
      for (const s of ctx.server.clients.sessions()) text += describeSession(s, now);
      return new VerbatimReply(text);
    }
    case 'SETINFO': {
      arity(4);
      const attribute = upper(args[2]!);
      const value = validClientName(args[3]!);
      if (attribute === 'LIB-NAME') session.libName = value;
      else if (attribute === 'LIB-VER') session.libVersion = value;
      else throw new CommandError(`ERR Unrecognized option '${args[2]!.toString('utf8')}'`);
      return OK;
    }
    case 'HELP':
      arity(2);
      return helpReply(clientHelp);
    default:
      throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try CLIENT HELP.`);
  }
}

export const connectionCommands = { ping, echo, quit, reset, auth, hello, select, client };
