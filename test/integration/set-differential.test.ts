// Differential test of the set commands (issue 12): seeded sequences of
// SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SRANDMEMBER, SPOP,
// SMOVE, SINTER/SUNION/SDIFF and their STORE forms, SINTERCARD and SSCAN,
// mixed with the keyspace commands that meet a set (DEL, EXISTS, EXPIRE,
// TTL, PERSIST, TYPE, RENAME, COPY, OBJECT ENCODING, SCAN … TYPE) and a
// string key for WRONGTYPE both ways, run against redis-server and a single
// ringkv node; every reply is compared, errors included.
//
// Compared as sets, not lists, and why (everything else must be identical):
//  - SMEMBERS, SINTER, SUNION, SDIFF, SSCAN's members, SCAN's keys: Redis's
//    order is its hash table's, unspecified; ringkv lists members in byte order.
//  - SRANDMEMBER and SPOP choose at random: their replies are checked for
//    size and for being members of the set before (distinct where Redis's
//    are), and after an SPOP the ringkv set is brought to Redis's (SADD back
//    what ringkv popped, SREM what Redis popped) so the sequences go on alike.
//  - SSCAN runs with COUNT 1000: every set here fits one page on both sides.
//  - TTL within 2 s: the servers run it at slightly different moments.
//  - OBJECT ENCODING: Redis never converts a set back from hashtable to
//    intset once a non-integer member was added and removed; ringkv answers
//    by the members now. Only that pair (Redis hashtable, ringkv intset) is
//    let pass, as README "Redis compatibility" says.
// Needs redis-server (.ci/run installs it): without it the test fails rather than skip.

import test from 'ava';
import { Redis } from 'ioredis';
import { compareSequences, redisBesideRingkv, type Rng, pick, int, ttlToleranceS } from '../helpers/differential.js';

// DIFF_SEQUENCES=N runs more or fewer.
const sequences = Number(process.env.DIFF_SEQUENCES ?? 300);
const commandsPerSequence = 30;

const keys = ['s0', 's1', 's2', 'str'];
const members = ['a', 'b', 'c', '1', '2', '-3', '10', '', 'x y', '007'];
const counts = ['0', '1', '2', '3', '-1', '-3', '-5', '10', 'x', '-9223372036854775808', '9223372036854775807'];

function randomMembers(rng: Rng, min = 1): string[] {
  return Array.from({ length: int(rng, min, 4) }, () => pick(rng, members));
}

function randomCommand(rng: Rng): string[] {
  const k = () => pick(rng, keys);
  const some = () => Array.from({ length: int(rng, 1, 3) }, k);
  switch (int(rng, 0, 35)) {
    case 0: case 1: case 2: case 3: return ['SADD', k(), ...randomMembers(rng)];
    case 4: case 5: return ['SREM', k(), ...randomMembers(rng)];
    case 6: return ['SMEMBERS', k()];
    case 7: return ['SISMEMBER', k(), pick(rng, members)];
    case 8: return ['SMISMEMBER', k(), ...randomMembers(rng)];
    case 9: return ['SCARD', k()];
    case 10: return ['SRANDMEMBER', k(), ...pick(rng, [[], [pick(rng, counts)]])];
    case 11: return ['SPOP', k(), ...pick(rng, [[], [pick(rng, counts)]])];
    case 12: return ['SMOVE', k(), k(), pick(rng, members)];
    case 13: return ['SINTER', ...some()];
    case 14: return ['SUNION', ...some()];
    case 15: return ['SDIFF', ...some()];
    case 16: return ['SINTERSTORE', k(), ...some()];
    case 17: return ['SUNIONSTORE', k(), ...some()];
    case 18: return ['SDIFFSTORE', k(), ...some()];
    case 19: {
      const ks = some();
      const numkeys = pick(rng, [String(ks.length), String(ks.length), '0', String(ks.length + 1), 'x']);
      return ['SINTERCARD', numkeys, ...ks, ...pick(rng, [[], ['LIMIT', pick(rng, ['0', '1', '2', '-1'])], ['FOO', '1']])];
    }
    case 20: return ['SSCAN', k(), pick(rng, ['0', '0', 'x']), ...pick(rng, [['COUNT', '1000'], ['MATCH', pick(rng, ['*', '1*', '[a-b]', '?'])]]), 'COUNT', '1000'];
    case 21: return ['SET', 'str', pick(rng, ['v', '1'])];
    case 22: return ['GET', k()];
    case 23: return ['TYPE', k()];
    case 24: return ['EXISTS', k(), k()];
    case 25: return ['DEL', k()];
    case 26: return ['EXPIRE', k(), pick(rng, ['1000', '100000'])];
    case 27: return ['TTL', k()];
    case 28: return ['PERSIST', k()];
    case 29: return ['RENAME', k(), k()];
    case 30: return ['COPY', k(), k(), ...pick(rng, [[], ['REPLACE']])];
    case 31: return ['OBJECT', 'ENCODING', k()];
    case 32: return ['SCAN', '0', 'TYPE', pick(rng, ['set', 'string']), 'COUNT', '100'];
    case 33: return ['INCR', k()];
    default: return ['SADD', k(), ...Array.from({ length: int(rng, 1, 3) }, () => String(int(rng, -20, 20)))];
  }
}

const sorted = (items: unknown): string => JSON.stringify([...(items as string[])].sort());
const unordered = new Set(['SMEMBERS', 'SINTER', 'SUNION', 'SDIFF']);

function sameOutcome(command: string[], redis: unknown, ringkv: unknown, before: readonly string[] | undefined): boolean {
  const name = command[0]!;
  const bothArrays = Array.isArray(redis) && Array.isArray(ringkv);
  if (name === 'TTL' && typeof redis === 'number' && typeof ringkv === 'number' && redis >= 0 && ringkv >= 0) return Math.abs(redis - ringkv) <= ttlToleranceS;
  if (unordered.has(name) && bothArrays) return sorted(redis) === sorted(ringkv);
  if ((name === 'SCAN' || name === 'SSCAN') && bothArrays) {
    return (redis as unknown[])[0] === (ringkv as unknown[])[0] && sorted((redis as unknown[])[1]) === sorted((ringkv as unknown[])[1]);
  }
  if (name === 'OBJECT' && redis === 'hashtable' && ringkv === 'intset') return true;
  if ((name === 'SRANDMEMBER' || name === 'SPOP') && before !== undefined) {
    const pool = new Set(before);
    if (typeof redis === 'string' && typeof ringkv === 'string') return pool.has(ringkv);
    if (bothArrays) {
      const got = ringkv as string[];
      const distinct = !(name === 'SRANDMEMBER' && command[2]!.startsWith('-'));
      return got.length === (redis as string[]).length && got.every((m) => pool.has(m)) && (!distinct || new Set(got).size === got.length);
    }
  }
  return JSON.stringify(redis) === JSON.stringify(ringkv);
}

const servers = redisBesideRingkv(test);

test(`set differential › ${sequences} seeded sequences of ${commandsPerSequence} set and keyspace commands answer as redis-server does`, async (t) => {
  const { redisPort, node } = servers();
  const redis = new Redis({ port: redisPort, host: '127.0.0.1', protocol: 2 });
  const ringkv = node.client({ protocol: 2 });
  t.teardown(() => redis.disconnect());
  const counted = await compareSequences(t, redis, ringkv, {
    sequences, commandsPerSequence, seedBase: 0x5e7, randomCommand, same: sameOutcome,
    before: (command) => (command[0] === 'SRANDMEMBER' || command[0] === 'SPOP' ? ['SMEMBERS', command[1]!] : undefined),
    async reconcile(command, fromRedis, fromRingkv) {
      if (command[0] !== 'SPOP') return;
      // Bring ringkv's set to Redis's: what ringkv popped goes back, what Redis popped goes.
      const asList = (r: unknown): string[] => (Array.isArray(r) ? (r as string[]) : typeof r === 'string' ? [r] : []);
      const [mine, theirs] = [asList(fromRingkv), asList(fromRedis)];
      if (mine.length > 0) await ringkv.sadd(command[1]!, ...mine);
      if (theirs.length > 0) await ringkv.srem(command[1]!, ...theirs);
    },
  });
  if (counted === undefined) return;
  t.true((counted.get('SADD') ?? 0) > sequences && (counted.get('SPOP') ?? 0) > sequences / 4);
});
