// Sorted-set commands (crdt/zset.ts, crdt/zset-operation.ts). Writes (ZADD,
// ZINCRBY, ZREM, ZPOPMIN/ZPOPMAX, ZRANGESTORE's destination) are operations
// applied by the key's coordinator to the record it holds, in one step, as
// INCR is (counters.ts); their replies are the outcome the operation gave
// there. Reads are the merge of every live sorted-set version of the key, so
// members added on both sides of a partition all show. Arguments are judged
// in Redis's order (t_zset.c): options, then scores and ranges, then the key.

import { DoubleReply, type Reply } from '../resp/reply.js';
import { formatDouble } from '../resp/encoder.js';
import { integerArg, parseInteger, syntaxError, upper } from './args.js';
import { withCollection, writeKey } from './data.js';
import { globMatch } from './glob.js';
import { firstAtMember, firstAtScore, memberBytes, ordered, rank, score, zsetType, type ZEntry, type ZsetState } from '../crdt/zset.js';
import { decodeZsetOutcome, encodeZsetOperation, type ZaddFlags, type ZsetOperation, type ZsetOutcome } from '../crdt/zset-operation.js';
import { CommandError, type CommandContext } from './types.js';

const notFloat = 'ERR value is not a valid float';
const rangeNotFloat = 'ERR min or max is not a float';
const rangeNotLex = 'ERR min or max not valid string range item';

/** Below this a nonzero double is subnormal: strtod reports ERANGE for it. */
const doubleNormalMin = 2.2250738585072014e-308;

/**
 * What C's strtod reads from the whole of `text` (decimal, hexadecimal,
 * inf/infinity/nan, with a sign), or undefined when it stops early;
 * `range` is true when strtod would set ERANGE (overflow or underflow).
 */
function strtod(text: string): { value: number; range: boolean } | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  if (/^(inf|infinity)$/i.test(body)) return { value: sign * Infinity, range: false };
  if (/^nan$/i.test(body)) return { value: NaN, range: false };
  let value: number;
  let nonzero: boolean;
  const hex = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/.exec(body);
  if (hex !== null) {
    const [, whole = '', fraction = '', exponent = '0'] = hex;
    if (whole === '' && fraction === '') return undefined;
    const digits = whole + fraction;
    value = (digits === '' ? 0 : parseInt(digits, 16)) * 2 ** (Number(exponent) - 4 * fraction.length);
    nonzero = /[1-9a-fA-F]/.test(digits);
  } else {
    if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) return undefined;
    value = Number(body);
    nonzero = /[1-9]/.test(body.replace(/[eE].*$/, ''));
  }
  const range = !Number.isFinite(value) || (nonzero && value < doubleNormalMin);
  return { value: sign * value, range };
}

/**
 * A double as Redis's getDoubleFromObject takes it (ZADD's scores, ZINCRBY):
 * all of the argument read by strtod, no leading space, no NaN, no ERANGE.
 */
export function parseScore(arg: Buffer): number | undefined {
  const text = arg.toString('latin1');
  if (text.length === 0 || /^\s/.test(text)) return undefined;
  const read = strtod(text);
  if (read === undefined || read.range || Number.isNaN(read.value)) return undefined;
  return read.value;
}

/** A range bound's number as zslParseRange reads it: strtod after leading spaces, overflow and underflow allowed, NaN refused. */
function parseBoundScore(arg: Buffer): number | undefined {
  const text = arg.toString('latin1').replace(/^[ \t\n\v\f\r]+/, '');
  if (text === '') return 0;
  const read = strtod(text);
  if (read === undefined || Number.isNaN(read.value)) return undefined;
  return read.value;
}

/** The largest magnitude Redis's double2ll prints as an integer (LLONG_MAX/2, as a double). */
const integerScoreMax = 4611686018427387904;

/** A score as Redis's d2string writes it (ZSCAN): integral values within ±LLONG_MAX/2 as integers, others as %.17g. */
export function scoreText(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) <= integerScoreMax && !Object.is(value, -0)) return BigInt(value).toString();
  return formatDouble(value);
}

function scoreArg(arg: Buffer, message = notFloat): number {
  const value = parseScore(arg);
  if (value === undefined) throw new CommandError(message);
  return value;
}

function operate(ctx: CommandContext, key: Buffer, op: ZsetOperation): Promise<ZsetOutcome> {
  return writeKey(ctx, key, { kind: 'operate', type: 'zset', operation: encodeZsetOperation(op) }).then((result) => {
    if (result.outcome === undefined) throw new Error('a zset operation answered no outcome');
    return decodeZsetOutcome(result.outcome);
  });
}

/** `look` on the key's sorted set (undefined for no key), lent the state its last write left (data.ts withCollection). */
function readNow<T>(ctx: CommandContext, key: Buffer, look: (state: ZsetState | undefined) => T): Promise<T> {
  return withCollection(ctx, key, zsetType, look);
}

function withScores(ctx: CommandContext, entries: readonly ZEntry[]): Reply[] {
  const out: Reply[] = [];
  if (ctx.session.protocol === 3) {
    for (const e of entries) out.push([memberBytes(e.key), new DoubleReply(e.score)]);
  } else {
    for (const e of entries) out.push(memberBytes(e.key), new DoubleReply(e.score));
  }
  return out;
}

// ZADD, ZINCRBY, ZREM, ZPOPMIN, ZPOPMAX --------------------------------------------

async function zadd(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const flags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };
  let at = 2;
  for (; at < args.length; at++) {
    const word = upper(args[at]!).toLowerCase();
    if (word === 'nx' || word === 'xx' || word === 'gt' || word === 'lt' || word === 'ch' || word === 'incr') flags[word] = true;
    else break;
  }
  const elements = args.length - at;
  if (elements === 0 || elements % 2 !== 0) throw new CommandError(syntaxError);
  if (flags.nx && flags.xx) throw new CommandError('ERR XX and NX options at the same time are not compatible');
  if ((flags.gt && flags.nx) || (flags.lt && flags.nx) || (flags.gt && flags.lt)) {
    throw new CommandError('ERR GT, LT, and/or NX options at the same time are not compatible');
  }
  if (flags.incr && elements > 2) throw new CommandError('ERR INCR option supports a single increment-element pair');
  const pairs: [number, Buffer][] = [];
  for (let i = at; i < args.length; i += 2) pairs.push([scoreArg(args[i]!), args[i + 1]!]);
  const outcome = await operate(ctx, args[1]!, { kind: 'add', flags: flags as ZaddFlags, pairs });
  return outcomeReply(outcome);
}

async function zincrby(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const by = scoreArg(args[2]!);
  const flags: ZaddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: true };
  return outcomeReply(await operate(ctx, args[1]!, { kind: 'add', flags, pairs: [[by, args[3]!]] }));
}

function outcomeReply(outcome: ZsetOutcome): Reply {
  if (outcome.kind === 'count') return outcome.count;
  if (outcome.kind === 'nil') return null;
  if (outcome.kind === 'score') return new DoubleReply(outcome.score);
  throw new Error('a pairs outcome where a count or score was due');
}

async function zrem(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const outcome = await operate(ctx, args[1]!, { kind: 'remove', members: args.slice(2) });
  return outcome.kind === 'count' ? outcome.count : 0;
}

function popper(end: 'min' | 'max') {
  return async (ctx: CommandContext, args: Buffer[]): Promise<Reply> => {
    if (args.length > 3) throw new CommandError(syntaxError);
    let count = 1;
    if (args.length === 3) {
      // getPositiveLongFromObjectOrReply: one message for malformed and negative.
      const parsed = parseInteger(args[2]!);
      if (parsed === null || parsed < 0) throw new CommandError('ERR value is out of range, must be positive');
      count = parsed;
    }
    // Nothing to pop: no write (Redis answers an empty array for a missing key, count or not).
    if (!(await readNow(ctx, args[1]!, (state) => state !== undefined)) || count === 0) return [];
    const outcome = await operate(ctx, args[1]!, { kind: 'pop', end, count });
    if (outcome.kind !== 'pairs') return [];
    const entries = outcome.pairs.map(([m, s]) => ({ key: m.toString('latin1'), score: s }));
    // RESP3: one pair flat without a count, pairs nested with one (as Redis 7).
    if (args.length === 2) return entries.length === 0 ? [] : [memberBytes(entries[0]!.key), new DoubleReply(entries[0]!.score)];
    return withScores(ctx, entries);
  };
}

// Reads -----------------------------------------------------------------------------

function zscore(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return readNow(ctx, args[1]!, (state) => {
    const s = state === undefined ? undefined : score(state, args[2]!);
    return s === undefined ? null : new DoubleReply(s);
  });
}

function zmscore(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return readNow(ctx, args[1]!, (state) => args.slice(2).map((m) => {
    const s = state === undefined ? undefined : score(state, m);
    return s === undefined ? null : new DoubleReply(s);
  }));
}

function zcard(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return readNow(ctx, args[1]!, (state) => (state === undefined ? 0 : state.members.size));
}

function ranker(reverse: boolean) {
  return (ctx: CommandContext, args: Buffer[]): Promise<Reply> => readNow(ctx, args[1]!, (state) => {
    const r = state === undefined ? undefined : rank(state, args[2]!);
    if (r === undefined) return null;
    return reverse ? state!.members.size - 1 - r : r;
  });
}

interface ScoreBound { readonly value: number; readonly exclusive: boolean }
interface LexBound { readonly kind: 'min' | 'max' | 'inclusive' | 'exclusive'; readonly member?: Buffer }

/** zslParseRange's one bound: "(x" exclusive, else inclusive; a float strtod accepts, NaN refused. */
function scoreBound(arg: Buffer): ScoreBound {
  const exclusive = arg[0] === 0x28; /* ( */
  const value = parseBoundScore(exclusive ? arg.subarray(1) : arg);
  if (value === undefined) throw new CommandError(rangeNotFloat);
  return { value, exclusive };
}

/** zslParseLexRangeItem: "-", "+", "[x" or "(x". */
function lexBound(arg: Buffer): LexBound {
  if (arg.length === 1 && arg[0] === 0x2d) return { kind: 'min' };
  if (arg.length === 1 && arg[0] === 0x2b) return { kind: 'max' };
  if (arg[0] === 0x5b) return { kind: 'inclusive', member: arg.subarray(1) };
  if (arg[0] === 0x28) return { kind: 'exclusive', member: arg.subarray(1) };
  throw new CommandError(rangeNotLex);
}

function inScore(s: number, min: ScoreBound, max: ScoreBound): boolean {
  return (min.exclusive ? s > min.value : s >= min.value) && (max.exclusive ? s < max.value : s <= max.value);
}

function lexAbove(key: string, min: LexBound): boolean {
  if (min.kind === 'min') return true;
  if (min.kind === 'max') return false;
  const m = min.member!.toString('latin1');
  return min.kind === 'inclusive' ? key >= m : key > m;
}

function lexBelow(key: string, max: LexBound): boolean {
  if (max.kind === 'max') return true;
  if (max.kind === 'min') return false;
  const m = max.member!.toString('latin1');
  return max.kind === 'inclusive' ? key <= m : key < m;
}

async function zcount(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const min = scoreBound(args[2]!);
  const max = scoreBound(args[3]!);
  return readNow(ctx, args[1]!, (state) => {
    if (state === undefined) return 0;
    const order = ordered(state);
    let n = 0;
    for (let i = firstAtScore(state, min.value, min.exclusive); i < order.length && inScore(order[i]!.score, min, max); i++) n++;
    return n;
  });
}

async function zlexcount(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const min = lexBound(args[2]!);
  const max = lexBound(args[3]!);
  return readNow(ctx, args[1]!, (state) => (state === undefined ? 0 : lexRange(state, min, max, false, 0, -1).length));
}

type RangeBy = 'rank' | 'score' | 'lex';

interface RangeRequest {
  readonly by: RangeBy;
  readonly reverse: boolean;
  readonly start: Buffer;
  readonly stop: Buffer;
  readonly withScores: boolean;
  readonly limit?: { readonly offset: number; readonly count: number };
}

/** The members a range request selects, in reply order, judging its bounds before the key as Redis does. */
function rangeSelector(request: RangeRequest): (state: ZsetState | undefined) => ZEntry[] {
  const { by, reverse, limit } = request;
  const offset = limit?.offset ?? 0;
  const count = limit?.count ?? -1;
  if (by === 'rank') {
    const start = integerArg(request.start);
    const stop = integerArg(request.stop);
    return (state) => (state === undefined ? [] : rankRange(state, start, stop, reverse));
  }
  // REV takes the bounds as max, min.
  const [lo, hi] = reverse ? [request.stop, request.start] : [request.start, request.stop];
  if (by === 'score') {
    const min = scoreBound(lo);
    const max = scoreBound(hi);
    return (state) => (state === undefined ? [] : scoreRange(state, min, max, reverse, offset, count));
  }
  const min = lexBound(lo);
  const max = lexBound(hi);
  return (state) => (state === undefined ? [] : lexRange(state, min, max, reverse, offset, count));
}

function rankRange(state: ZsetState, start: number, stop: number, reverse: boolean): ZEntry[] {
  const order = ordered(state);
  const n = order.length;
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return [];
  if (stop >= n) stop = n - 1;
  if (!reverse) return order.slice(start, stop + 1);
  const out: ZEntry[] = [];
  for (let i = n - 1 - start; i >= n - 1 - stop; i--) out.push(order[i]!);
  return out;
}

/** genericZrangebyscoreCommand's walk: a negative offset selects nothing, a negative count everything. */
function scoreRange(state: ZsetState, min: ScoreBound, max: ScoreBound, reverse: boolean, offset: number, count: number): ZEntry[] {
  const order = ordered(state);
  const out: ZEntry[] = [];
  if (offset < 0 || (offset > 0 && offset >= order.length)) return out;
  if (!reverse) {
    for (let i = firstAtScore(state, min.value, min.exclusive) + offset; i < order.length && count !== 0; i++, count--) {
      if (!inScore(order[i]!.score, min, max)) break;
      out.push(order[i]!);
    }
  } else {
    // The last member at or below max, walking down.
    for (let i = firstAtScore(state, max.value, !max.exclusive) - 1 - offset; i >= 0 && count !== 0; i--, count--) {
      if (!inScore(order[i]!.score, min, max)) break;
      out.push(order[i]!);
    }
  }
  return out;
}

/** Lex ranges walk the order as Redis's skiplist does: meaningful when every score is equal. */
function lexRange(state: ZsetState, min: LexBound, max: LexBound, reverse: boolean, offset: number, count: number): ZEntry[] {
  const order = ordered(state);
  const out: ZEntry[] = [];
  if (offset < 0 || (offset > 0 && offset >= order.length)) return out;
  if (!reverse) {
    let i = min.kind === 'min' ? 0 : min.kind === 'max' ? order.length : firstAtMember(state, min.member!, min.kind === 'exclusive');
    for (i += offset; i < order.length && count !== 0; i++, count--) {
      if (!lexBelow(order[i]!.key, max)) break;
      out.push(order[i]!);
    }
  } else {
    let i = max.kind === 'max' ? order.length - 1 : max.kind === 'min' ? -1 : firstAtMember(state, max.member!, max.kind === 'inclusive') - 1;
    for (i -= offset; i >= 0 && count !== 0; i--, count--) {
      if (!lexAbove(order[i]!.key, min)) break;
      out.push(order[i]!);
    }
  }
  return out;
}

/**
 * The options after start and stop, as zrangeGenericCommand reads them for
 * every form: BYSCORE/BYLEX and REV only where the form leaves them open,
 * each once; LIMIT's count of -1 is "no limit", so "LIMIT 0 -1" passes a
 * rank range.
 */
function rangeOptions(args: Buffer[], from: number, start: Buffer, stop: Buffer, form: { by?: RangeBy; reverse?: boolean; store?: boolean } = {}): RangeRequest {
  let by = form.by;
  let reverse = form.reverse;
  let withScores = false;
  let offset = 0;
  let count = -1;
  for (let i = from; i < args.length; i++) {
    const word = upper(args[i]!);
    const left = args.length - i - 1;
    if (form.store !== true && word === 'WITHSCORES') withScores = true;
    else if (word === 'LIMIT' && left >= 2) {
      offset = integerArg(args[i + 1]!);
      count = integerArg(args[i + 2]!);
      i += 2;
    } else if (reverse === undefined && word === 'REV') reverse = true;
    else if (by === undefined && word === 'BYLEX') by = 'lex';
    else if (by === undefined && word === 'BYSCORE') by = 'score';
    else throw new CommandError(syntaxError);
  }
  by ??= 'rank';
  if (count !== -1 && by === 'rank') throw new CommandError('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withScores && by === 'lex') throw new CommandError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  return { by, reverse: reverse ?? false, start, stop, withScores, limit: { offset, count } };
}

function answerRange(ctx: CommandContext, key: Buffer, request: RangeRequest): Promise<Reply> {
  const select = rangeSelector(request);
  return readNow(ctx, key, (state) => {
    const entries = select(state);
    return request.withScores ? withScores(ctx, entries) : entries.map((e) => memberBytes(e.key));
  });
}

function zrange(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  return answerRange(ctx, args[1]!, rangeOptions(args, 4, args[2]!, args[3]!));
}

/** ZRANGEBYSCORE/ZREVRANGEBYSCORE/ZRANGEBYLEX/ZREVRANGEBYLEX/ZREVRANGE: ZRANGE with the type and direction fixed. */
function fixedRange(by: RangeBy, reverse: boolean) {
  return (ctx: CommandContext, args: Buffer[]): Promise<Reply> => answerRange(ctx, args[1]!, rangeOptions(args, 4, args[2]!, args[3]!, { by, reverse }));
}

/** ZRANGESTORE: the range read at R, then written to dst as one operation replacing whatever dst held (deleted when empty, as Redis). */
async function zrangestore(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const request = rangeOptions(args, 5, args[3]!, args[4]!, { store: true });
  const select = rangeSelector(request);
  // The pairs are taken out of the source's state in the step it is read in: it may be lent (data.ts withCollection).
  const pairs = await readNow(ctx, args[2]!, (state) => select(state).map((e) => [e.score, memberBytes(e.key)] as [number, Buffer]));
  const outcome = await operate(ctx, args[1]!, { kind: 'replace', pairs });
  return outcome.kind === 'count' ? outcome.count : 0;
}

/** A cursor as Redis 7.0's parseScanCursorOrReply takes it: all of it read by strtoul (a sign allowed, "-1" wraps), within 64 bits. */
function validCursor(arg: Buffer): boolean {
  const text = arg.toString('latin1');
  return /^[+-]?[0-9]+$/.test(text) && BigInt(text.replace(/^[+-]/, '')) < 1n << 64n;
}

/**
 * ZSCAN: the whole sorted set in one page with cursor 0, whatever cursor
 * was given, as Redis answers for a listpack-encoded one; a sorted set of any
 * size answers so here, which SCAN's guarantees allow (every member present
 * throughout is returned).
 */
function zscan(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  if (!validCursor(args[2]!)) throw new CommandError('ERR invalid cursor');
  return readNow(ctx, args[1]!, (state) => (state === undefined ? ['0', []] : zscanReply(state, args)));
}

function zscanReply(state: ZsetState, args: Buffer[]): Reply {
  let pattern: Buffer | undefined;
  for (let i = 3; i < args.length; i += 2) {
    const option = upper(args[i]!);
    const value = args[i + 1];
    if (value === undefined) throw new CommandError(syntaxError);
    if (option === 'COUNT') {
      const count = integerArg(value);
      if (count < 1) throw new CommandError(syntaxError);
    } else if (option === 'MATCH') pattern = value;
    else throw new CommandError(syntaxError);
  }
  const out: Reply[] = [];
  for (const e of ordered(state)) {
    const member = memberBytes(e.key);
    if (pattern !== undefined && !globMatch(pattern, member)) continue;
    // Scores as strings in both protocols, as Redis's ZSCAN.
    out.push(member, Buffer.from(scoreText(e.score), 'latin1'));
  }
  return ['0', out];
}

/** Blocking forms refused: a coordinator cannot hold a client until another node's write arrives. */
function refuseBlocking(name: string) {
  return (): Reply => {
    throw new CommandError(`ERR ${name} is not supported by ringkv: blocking until another client writes would need a wait across the cluster's coordinators; poll with the non-blocking form instead`);
  };
}

export const zsetCommands = {
  zadd, zincrby, zrem, zpopmin: popper('min'), zpopmax: popper('max'),
  zscore, zmscore, zcard, zrank: ranker(false), zrevrank: ranker(true), zcount, zlexcount,
  zrange, zrangebyscore: fixedRange('score', false), zrevrangebyscore: fixedRange('score', true),
  zrangebylex: fixedRange('lex', false), zrevrangebylex: fixedRange('lex', true), zrevrange: fixedRange('rank', true), zrangestore, zscan,
  bzpopmin: refuseBlocking('BZPOPMIN'), bzpopmax: refuseBlocking('BZPOPMAX'), bzmpop: refuseBlocking('BZMPOP'),
};
