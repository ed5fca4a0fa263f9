// Differential test of the hash commands (issue 12): seeded sequences of
// HSET, HMSET, HSETNX, HGET, HMGET, HGETALL, HDEL, HLEN, HEXISTS, HKEYS,
// HVALS, HSTRLEN, HINCRBY, HINCRBYFLOAT, HRANDFIELD and HSCAN, mixed with the
// keyspace commands that meet a hash (DEL, EXISTS, EXPIRE, TTL, PERSIST,
// TYPE, RENAME, COPY, OBJECT ENCODING, SCAN … TYPE) and a string key for
// WRONGTYPE both ways, run against redis-server and a single ringkv node;
// every reply is compared, errors included, with the values and increments
// Redis's parsers disagree about most.
//
// Compared as sets, not lists, and why (everything else must be identical):
//  - HGETALL and HSCAN as sets of field-value pairs, HKEYS and HVALS as
//    multisets, SCAN's keys as a set: Redis's order is its hash table's,
//    unspecified; ringkv lists fields in byte order.
//  - HRANDFIELD chooses at random: checked for size, for being fields of the
//    hash (with their values, WITHVALUES), distinct unless the count is negative.
//  - HSCAN runs with COUNT 1000: every hash here fits one page on both sides.
//  - TTL within 2 s: the servers run it at slightly different moments.
//  - OBJECT ENCODING: Redis never converts a hash back from hashtable to
//    listpack once a long value was in it; ringkv answers by the fields now.
//    Only that pair (Redis hashtable, ringkv listpack) is let pass.
// Needs redis-server (.ci/run installs it): without it the test fails rather than skip.

import test from 'ava';
import { Redis } from 'ioredis';
import { compareSequences, redisBesideRingkv, type Rng, pick, int, ttlToleranceS } from '../helpers/differential.js';

// DIFF_SEQUENCES=N runs more or fewer.
const sequences = Number(process.env.DIFF_SEQUENCES ?? 300);
const commandsPerSequence = 30;

const keys = ['h0', 'h1', 'h2', 'str'];
const fields = ['a', 'b', 'c', 'n', 'f', '', 'x y'];
const values = ['1', '0', '-5', '10.5', 'abc', '', '9223372036854775807', '-9223372036854775808', '007', ' 1', '1e400', '0x10', 'inf', '3.0', 'v', 'x'.repeat(70)];
const integers = ['1', '-1', '0', '5', '100', '9223372036854775807', '-9223372036854775808', '1.5', 'abc', '007', ''];
const floats = ['0.1', '-0.1', '1.5', '3', '5.0e3', '1e20', 'abc', 'inf', '-inf', 'nan', ' 1', '0x10', '1e400', '', '.5', '+1'];
const counts = ['0', '1', '2', '3', '-1', '-3', '-5', '10', 'x', '-9223372036854775808', '4611686018427387904'];

function randomPairs(rng: Rng): string[] {
  return Array.from({ length: int(rng, 1, 3) }, () => [pick(rng, fields), pick(rng, values)]).flat();
}

function randomCommand(rng: Rng): string[] {
  const k = () => pick(rng, keys);
  const f = () => pick(rng, fields);
  switch (int(rng, 0, 33)) {
    case 0: case 1: case 2: return ['HSET', k(), ...randomPairs(rng)];
    case 3: return ['HSET', k(), f()];
    case 4: return ['HMSET', k(), ...randomPairs(rng), ...pick(rng, [[], [f()]])];
    case 5: return ['HSETNX', k(), f(), pick(rng, values)];
    case 6: case 7: return ['HGET', k(), f()];
    case 8: return ['HMGET', k(), f(), f()];
    case 9: return ['HGETALL', k()];
    case 10: return ['HDEL', k(), f(), ...pick(rng, [[], [f()]])];
    case 11: return ['HLEN', k()];
    case 12: return ['HEXISTS', k(), f()];
    case 13: return ['HKEYS', k()];
    case 14: return ['HVALS', k()];
    case 15: return ['HSTRLEN', k(), f()];
    case 16: case 17: return ['HINCRBY', k(), f(), pick(rng, integers)];
    case 18: case 19: return ['HINCRBYFLOAT', k(), f(), pick(rng, floats)];
    case 20: return ['HRANDFIELD', k(), ...pick(rng, [[], [pick(rng, counts)], [pick(rng, counts), 'WITHVALUES'], ['1', 'FOO']])];
    case 21: return ['HSCAN', k(), pick(rng, ['0', '0', 'x']), ...pick(rng, [[], ['MATCH', pick(rng, ['*', 'a*', '[a-c]', '?'])]]), 'COUNT', '1000'];
    case 22: return ['SET', 'str', pick(rng, ['v', '1'])];
    case 23: return ['TYPE', k()];
    case 24: return ['EXISTS', k(), k()];
    case 25: return ['DEL', k()];
    case 26: return ['EXPIRE', k(), pick(rng, ['1000', '100000'])];
    case 27: return ['TTL', k()];
    case 28: return ['PERSIST', k()];
    case 29: return ['RENAME', k(), k()];
    case 30: return ['COPY', k(), k(), ...pick(rng, [[], ['REPLACE']])];
    case 31: return ['OBJECT', 'ENCODING', k()];
    case 32: return ['SCAN', '0', 'TYPE', pick(rng, ['hash', 'string']), 'COUNT', '100'];
    default: return ['GET', k()];
  }
}

const sorted = (items: unknown): string => JSON.stringify([...(items as string[])].sort());
/** A flat field, value, field, value list as a sorted list of pairs. */
const pairs = (items: unknown): string => {
  const flat = items as string[];
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push(JSON.stringify([flat[i], flat[i + 1]]));
  return JSON.stringify(out.sort());
};

function sameOutcome(command: string[], redis: unknown, ringkv: unknown, before: readonly string[] | undefined): boolean {
  const name = command[0]!;
  const bothArrays = Array.isArray(redis) && Array.isArray(ringkv);
  if (name === 'TTL' && typeof redis === 'number' && typeof ringkv === 'number' && redis >= 0 && ringkv >= 0) return Math.abs(redis - ringkv) <= ttlToleranceS;
  if ((name === 'HKEYS' || name === 'HVALS') && bothArrays) return sorted(redis) === sorted(ringkv);
  if (name === 'HGETALL' && bothArrays) return pairs(redis) === pairs(ringkv);
  if (name === 'SCAN' && bothArrays) return (redis as unknown[])[0] === (ringkv as unknown[])[0] && sorted((redis as unknown[])[1]) === sorted((ringkv as unknown[])[1]);
  if (name === 'HSCAN' && bothArrays) return (redis as unknown[])[0] === (ringkv as unknown[])[0] && pairs((redis as unknown[])[1]) === pairs((ringkv as unknown[])[1]);
  if (name === 'OBJECT' && redis === 'hashtable' && ringkv === 'listpack') return true;
  if (name === 'HRANDFIELD' && before !== undefined) {
    const all = new Map<string, string>();
    for (let i = 0; i < before.length; i += 2) all.set(before[i]!, before[i + 1]!);
    if (typeof redis === 'string' && typeof ringkv === 'string') return all.has(ringkv);
    if (bothArrays) {
      const got = ringkv as string[];
      const withValues = command[3] !== undefined;
      const picked = withValues ? got.filter((_, i) => i % 2 === 0) : got;
      const valuesRight = !withValues || picked.every((f, i) => all.get(f) === got[2 * i + 1]);
      const distinct = !command[2]!.startsWith('-');
      return got.length === (redis as string[]).length && picked.every((f) => all.has(f)) && valuesRight && (!distinct || new Set(picked).size === picked.length);
    }
  }
  return JSON.stringify(redis) === JSON.stringify(ringkv);
}

const servers = redisBesideRingkv(test);

test(`hash differential › ${sequences} seeded sequences of ${commandsPerSequence} hash and keyspace commands answer as redis-server does`, async (t) => {
  const { redisPort, node } = servers();
  const redis = new Redis({ port: redisPort, host: '127.0.0.1', protocol: 2 });
  const ringkv = node.client({ protocol: 2 });
  t.teardown(() => redis.disconnect());
  const counted = await compareSequences(t, redis, ringkv, {
    sequences, commandsPerSequence, seedBase: 0x4a5, randomCommand, same: sameOutcome,
    before: (command) => (command[0] === 'HRANDFIELD' ? ['HGETALL', command[1]!] : undefined),
  });
  if (counted === undefined) return;
  t.true((counted.get('HSET') ?? 0) > sequences && (counted.get('HINCRBYFLOAT') ?? 0) > sequences / 4);
});
