// Differential test: the same seeded random sequences of string, bitmap and
// keyspace commands (expiry included) run against redis-server and a single
// ringkv node, and every reply is compared — values, integers, nils, arrays
// and error strings. redis-server runs with `--databases 1`, as ringkv has
// one database, so `COPY … DB 1` fails alike.
//
// Normalised or left out, and why (everything else must be identical):
//  - TTL/PTTL/EXPIRETIME/PEXPIRETIME compare within 2 s (2000 ms): the two
//    servers run each command at slightly different moments. Past 2^53 ms
//    ringkv keeps times as doubles (README), so the tolerance grows by 2^-50
//    of the value there.
//  - GT/LT are not combined with expiries past 2^53 ms: two such times a
//    few ms apart can be one double in ringkv (README), so GT could differ.
//  - Relative expiries are at least 100 s, or absolute times in the past:
//    never one that could fall between the two servers' runs of a command.
//  - OBJECT ENCODING/REFCOUNT are compared only for a value last written
//    whole (SET, MSET, GETSET, SETEX, RENAME of such a value…): Redis
//    answers "raw" after APPEND, SETRANGE, SETBIT, BITFIELD or BITOP, and
//    refcount 1 for a COPY of a shared integer, which ringkv, keeping no such
//    history, does not (README).
//  - Not generated: RANDOMKEY (random by nature), OBJECT IDLETIME (Redis
//    counts reads too), OBJECT FREQ (an error on both), DUMP/RESTORE (each
//    server's own payload format), WAIT with a count above 0 (Redis blocks),
//    DBSIZE (Redis counts a key whose expiry passed until it reclaims it;
//    KEYS, which Redis filters, stands in for it).
// Needs redis-server (.ci/run installs it): without it the test fails rather than skip.

import test from 'ava';
import { Redis } from 'ioredis';
import { redisBesideRingkv, replyTo, type Rng, pick, int } from '../helpers/differential.js';
import { seededRandom } from '../helpers/sim.js';

// DIFF_SEQUENCES=N runs more (e.g. 1000 while changing a command); CI runs the default.
const sequences = Number(process.env.DIFF_SEQUENCES ?? 100);
const commandsPerSequence = 150;
const ttlToleranceMs = 2000;

const chance = (rng: Rng, p: number): boolean => rng() < p;

const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
const values = ['', 'v', 'hello', 'foobar', '0', '42', '9999', '10000', '-7', '007', '-0', '3.5', '9223372036854775807', '9223372036854775808', 'x'.repeat(44), 'y'.repeat(60), 'ab\r\nc', '\u00ff\u0000\u0080'];
const integers = ['0', '1', '-1', '2', '5', '-5', '17', '100', '-100', '9223372036854775807', '-9223372036854775808', '9223372036854775808', 'abc', '1.5', '-0', '007', ''];

/** A relative expiry amount: long enough never to fall between the two servers' runs, or invalid. */
function relativeAmount(rng: Rng, unitMs: number): string {
  const r = rng();
  if (r < 0.6) return String(int(rng, 100, 100_000) * (unitMs === 1 ? 1000 : 1));
  if (r < 0.75) return pick(rng, ['0', '-1', 'abc', '99999999999999', '9999999999999', '9223372036854775', '9223372036854775807', '9223372036854775808']);
  return String(-int(rng, 1, 1000));
}

/** An absolute expiry: in the past (the key goes at once), far in the future, or invalid. */
function absoluteAmount(rng: Rng, unitMs: number): string {
  const nowUnits = Math.floor(Date.now() / unitMs);
  const r = rng();
  if (r < 0.35) return String(nowUnits - int(rng, 1, 1000) * (unitMs === 1 ? 1000 : 1));
  if (r < 0.8) return String(nowUnits + int(rng, 100, 10_000_000) * (unitMs === 1 ? 1000 : 1));
  return pick(rng, ['0', '1', '-1', 'abc', '9223372036854775', '9223372036854775807']);
}

function setOptions(rng: Rng): string[] {
  const options: string[] = [];
  for (let i = int(rng, 0, 3); i > 0; i--) {
    const o = pick(rng, ['NX', 'XX', 'GET', 'KEEPTTL', 'EX', 'PX', 'EXAT', 'PXAT', 'ex', 'BOGUS']);
    if (o === 'EX' || o === 'ex') options.push(o, relativeAmount(rng, 1000));
    else if (o === 'PX') options.push(o, relativeAmount(rng, 1));
    else if (o === 'EXAT') options.push(o, absoluteAmount(rng, 1000));
    else if (o === 'PXAT') options.push(o, absoluteAmount(rng, 1));
    else options.push(o);
  }
  return options;
}

function getexOptions(rng: Rng): string[] {
  const r = rng();
  if (r < 0.3) return [];
  if (r < 0.45) return ['PERSIST'];
  if (r < 0.6) return ['EX', relativeAmount(rng, 1000)];
  if (r < 0.7) return ['PXAT', absoluteAmount(rng, 1)];
  if (r < 0.8) return ['EXAT', absoluteAmount(rng, 1000)];
  return pick(rng, [['EX', '10', 'PERSIST'], ['PX', relativeAmount(rng, 1)], ['NX'], ['EX']]);
}

function expireFlags(rng: Rng): string[] {
  return chance(rng, 0.5) ? [] : Array.from({ length: int(rng, 1, 2) }, () => pick(rng, ['NX', 'XX', 'GT', 'LT', 'nx', 'FOO']));
}

function bitfieldOps(rng: Rng): string[] {
  const ops: string[] = [];
  for (let i = int(rng, 0, 4); i > 0; i--) {
    const type = pick(rng, ['u8', 'i8', 'u1', 'i5', 'u16', 'i32', 'i64', 'u63', 'u64', 'x8', 'I8']);
    const offset = pick(rng, ['0', '3', '8', '13', '#1', '#2', '-1', 'abc', '100']);
    const r = rng();
    if (r < 0.35) ops.push('GET', type, offset);
    else if (r < 0.6) ops.push('SET', type, offset, pick(rng, integers));
    else if (r < 0.85) ops.push('INCRBY', type, offset, pick(rng, integers));
    else ops.push('OVERFLOW', pick(rng, ['WRAP', 'SAT', 'FAIL', 'sat', 'BAD']));
  }
  return ops;
}

function range(rng: Rng): string[] {
  const r = rng();
  if (r < 0.3) return [];
  const both = [pick(rng, integers.slice(0, 9)), pick(rng, integers.slice(0, 9))];
  if (r < 0.6) return both;
  if (r < 0.9) return [...both, pick(rng, ['BYTE', 'BIT', 'bit', 'WORD'])];
  return [pick(rng, integers)];
}

/** One random command, as argument strings. */
function randomCommand(rng: Rng): string[] {
  const k = () => pick(rng, keys);
  const v = () => pick(rng, values);
  switch (int(rng, 0, 41)) {
    case 0: case 1: return ['SET', k(), v(), ...setOptions(rng)];
    case 2: return ['GET', k()];
    case 3: return ['SETNX', k(), v()];
    case 4: return [pick(rng, ['SETEX', 'PSETEX']), k(), relativeAmount(rng, 1000), v()];
    case 5: return ['GETSET', k(), v()];
    case 6: return ['GETDEL', k()];
    case 7: return ['GETEX', k(), ...getexOptions(rng)];
    case 8: return ['MGET', k(), k(), k()];
    case 9: return ['MSET', k(), v(), k(), v(), ...(chance(rng, 0.1) ? [k()] : [])];
    case 10: return ['MSETNX', k(), v(), k(), v(), ...(chance(rng, 0.1) ? [k()] : [])];
    case 11: return [pick(rng, ['DEL', 'UNLINK']), k(), k()];
    case 12: return [pick(rng, ['EXISTS', 'TOUCH']), k(), k(), k()];
    case 13: {
      const amount = relativeAmount(rng, rng() < 0.5 ? 1000 : 1);
      return [pick(rng, ['EXPIRE', 'PEXPIRE']), k(), amount, ...(amount.length >= 13 ? [] : expireFlags(rng))];
    }
    case 14: return [pick(rng, ['EXPIREAT', 'PEXPIREAT']), k(), absoluteAmount(rng, rng() < 0.5 ? 1000 : 1), ...expireFlags(rng)];
    case 15: case 16: return [pick(rng, ['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME']), k()];
    case 17: return ['PERSIST', k()];
    case 18: return [pick(rng, ['TYPE', 'STRLEN']), k()];
    case 19: return ['APPEND', k(), v()];
    case 20: return ['GETRANGE', k(), pick(rng, integers.slice(0, 9)), pick(rng, integers.slice(0, 9))];
    case 21: return ['SETRANGE', k(), pick(rng, ['0', '1', '3', '10', '-1', 'x']), v()];
    case 22: return [pick(rng, ['RENAME', 'RENAMENX']), k(), k()];
    case 23: return ['COPY', k(), k(), ...pick(rng, [[], ['REPLACE'], ['DB', '0'], ['DB', '1'], ['DB', 'x'], ['BOGUS']])];
    case 24: return ['SETBIT', k(), pick(rng, ['0', '1', '7', '9', '100', '-1', 'abc', '4294967296']), pick(rng, ['0', '1', '2', 'x'])];
    case 25: return ['GETBIT', k(), pick(rng, ['0', '1', '7', '100', '-1'])];
    case 26: return ['BITCOUNT', k(), ...range(rng)];
    case 27: return ['BITPOS', k(), pick(rng, ['0', '1', '1', '2']), ...range(rng)];
    case 28: return ['BITOP', pick(rng, ['AND', 'OR', 'XOR', 'NOT', 'not', 'NAND']), k(), k(), ...(chance(rng, 0.5) ? [k()] : [])];
    case 29: case 30: return [pick(rng, ['BITFIELD', 'BITFIELD', 'BITFIELD_RO']), k(), ...bitfieldOps(rng)];
    case 31: return ['LCS', k(), k(), ...pick(rng, [[], ['LEN'], ['IDX'], ['IDX', 'WITHMATCHLEN'], ['IDX', 'MINMATCHLEN', pick(rng, ['0', '2', '-1', 'x'])], ['LEN', 'IDX'], ['BOGUS']])];
    case 32: return ['OBJECT', pick(rng, ['ENCODING', 'REFCOUNT', 'encoding']), k()];
    case 33: return ['OBJECT', pick(rng, ['HELP', 'BOGUS', 'ENCODING'])];
    case 34: return ['EXISTS', k()];
    case 35: return ['WAIT', '0', pick(rng, ['0', '-1', 'abc'])];
    case 36: return [pick(rng, ['GET', 'SET', 'GETBIT', 'RENAME', 'EXPIRETIME', 'COPY', 'LCS'])]; // too few arguments
    case 37: return ['SET', k(), v(), pick(rng, ['EX', 'PX']), pick(rng, ['9223372036854775', '99999999999999', '0'])];
    case 38: return ['GETEX', k(), 'EX', pick(rng, ['9223372036854775807', 'abc', '0', '100'])];
    case 39: return ['EXPIRE', k(), pick(rng, ['99999999999999', '9223372036854775', '-9223372036854775', '-9223372036854776'])];
    case 40: return ['PEXPIREAT', k(), pick(rng, ['9223372036854775807', '9223372036854775808', '8640000000000001'])];
    default: return ['KEYS', '*'];
  }
}

type Outcome = unknown;

const timeCommands = new Set(['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME']);

/** Equal, or within the timing tolerance for the expiry-reading commands (see the header). */
function sameOutcome(command: string[], redis: Outcome, ringkv: Outcome): boolean {
  const name = command[0]!.toUpperCase();
  if (timeCommands.has(name) && typeof redis === 'number' && typeof ringkv === 'number' && redis >= 0 && ringkv >= 0) {
    const unitMs = name === 'TTL' || name === 'EXPIRETIME' ? 1000 : 1;
    const tolerance = (ttlToleranceMs + Math.abs(redis) * unitMs * 2 ** -50) / unitMs;
    return Math.abs(redis - ringkv) <= Math.max(tolerance, 1);
  }
  if (name === 'KEYS' && Array.isArray(redis) && Array.isArray(ringkv)) return JSON.stringify([...redis].sort()) === JSON.stringify([...ringkv].sort());
  return JSON.stringify(redis) === JSON.stringify(ringkv);
}

/** Whether a command that may set a key whole did set it, from redis-server's reply. */
function wroteWhole(command: string[], reply: Outcome): boolean {
  const name = command[0]!.toUpperCase();
  if (name === 'SETNX' || name === 'MSETNX' || name === 'RENAMENX' || name === 'COPY') return reply === 1;
  if (name !== 'SET') return true;
  const options = command.slice(3).map((o) => o.toUpperCase());
  const condition = options.includes('NX') ? 'NX' : options.includes('XX') ? 'XX' : undefined;
  if (condition === undefined) return true;
  if (options.includes('GET')) return condition === 'NX' ? reply === null : reply !== null;
  return reply === 'OK';
}

/** Keys whose OBJECT answers depend on history in Redis: last changed in place, made by BITOP, or a COPY. */
function trackInPlace(inPlace: Set<string>, command: string[], redisOutcome: Outcome): void {
  const name = command[0]!.toUpperCase();
  const failed = typeof redisOutcome === 'object' && redisOutcome !== null && 'error' in redisOutcome;
  if (failed || !wroteWhole(command, redisOutcome)) return;
  const key = command[1]!;
  if (['APPEND', 'SETRANGE', 'SETBIT', 'BITFIELD'].includes(name)) inPlace.add(key);
  else if (name === 'BITOP') inPlace.add(command[2]!);
  else if (['SET', 'SETNX', 'SETEX', 'PSETEX', 'GETSET'].includes(name)) inPlace.delete(key);
  else if (name === 'MSET' || name === 'MSETNX') for (let i = 1; i < command.length; i += 2) inPlace.delete(command[i]!);
  // COPY duplicates the object: a shared integer's copy has refcount 1 in Redis.
  else if (name === 'COPY') inPlace.add(command[2]!);
  else if (name === 'RENAME' || name === 'RENAMENX') {
    if (inPlace.has(key)) inPlace.add(command[2]!);
    else inPlace.delete(command[2]!);
  }
}

const servers = redisBesideRingkv(test);

test(`differential › ${sequences} seeded sequences of ${commandsPerSequence} string and keyspace commands answer as redis-server does`, async (t) => {
  const redis = new Redis({ port: servers().redisPort, host: '127.0.0.1', protocol: 2 });
  const ringkv = servers().node.client({ protocol: 2 });
  t.teardown(() => redis.disconnect());
  let compared = 0;
  for (let seed = 1; seed <= sequences; seed++) {
    await Promise.all([redis.flushall(), ringkv.flushall()]);
    const rng = seededRandom(seed);
    const inPlace = new Set<string>();
    const history: string[] = [];
    for (let i = 0; i < commandsPerSequence; i++) {
      const command = randomCommand(rng);
      const name = command[0]!.toUpperCase();
      const fromRedis = await replyTo(redis, command);
      const fromRingkv = await replyTo(ringkv, command);
      history.push(`${command.map((a) => JSON.stringify(a)).join(' ')} → ${JSON.stringify(fromRedis)}`);
      const judged = !(name === 'OBJECT' && command.length === 3 && inPlace.has(command[2]!));
      if (judged && !sameOutcome(command, fromRedis, fromRingkv)) {
        t.fail(`seed ${seed}, command ${i}: ${command.join(' ')}\n  redis-server: ${JSON.stringify(fromRedis)}\n  ringkv:       ${JSON.stringify(fromRingkv)}\n` +
          `last commands (redis-server's replies):\n  ${history.filter((h) => process.env.DIFF_GREP === undefined || h.includes(process.env.DIFF_GREP)).slice(-Number(process.env.DIFF_LAST ?? 40)).join('\n  ')}`);
        return;
      }
      compared++;
      trackInPlace(inPlace, command, fromRedis);
    }
  }
  t.log(`${compared} replies compared over ${sequences} sequences`);
  t.pass();
});
