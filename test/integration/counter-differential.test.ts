// Differential test of the counter commands (issue 12): thousands of short
// seeded sequences of INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT mixed with
// the string and keyspace commands that meet a counter (SET, GET, APPEND,
// STRLEN, GETRANGE, SETRANGE, GETSET, GETDEL, MGET, TYPE, OBJECT ENCODING,
// EXPIRE/TTL, PERSIST, RENAME, COPY, DEL, EXISTS, SCAN … TYPE) run against
// redis-server and a single ringkv node; every reply is compared, errors
// included, with the values and increments Redis's parsers disagree about
// most (exponents, hex, "inf", leading zeros, spaces, long long's edges).
//
// Normalised or left out, and why (everything else must be identical):
//  - TTL compares within 2 s: the servers run it at slightly different moments.
//  - OBJECT ENCODING is not compared for a key last written by INCRBYFLOAT,
//    APPEND or SETRANGE: Redis answers "embstr"/"raw" by how the value was
//    made ("13" from INCRBYFLOAT is an embstr), ringkv by the value alone
//    ("int" for any long), as README "Redis compatibility" says.
// Needs redis-server (.ci/run installs it): without it the test fails rather than skip.

import test from 'ava';
import { Redis } from 'ioredis';
import { redisBesideRingkv, replyTo, type Rng, pick, int, ttlToleranceS } from '../helpers/differential.js';
import { seededRandom } from '../helpers/sim.js';

// DIFF_SEQUENCES=N runs more or fewer.
const sequences = Number(process.env.DIFF_SEQUENCES ?? 2000);
const commandsPerSequence = 25;

const keys = ['c0', 'c1', 'c2'];
const values = ['0', '10', '-5', '10.5', '5.0e3', 'abc', '', '9223372036854775807', '-9223372036854775808', '9223372036854775806', '1e400', '007', ' 1', '3.0', '-0', '0x1p4', 'inf', '1.7976931348623157e308', '99', '0.1'];
const integers = ['1', '-1', '0', '5', '-17', '100', '1000000', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '1.5', 'abc', '007', '-0', '', ' 1'];
const floats = ['0.1', '-0.1', '0.2', '1.5', '3', '-2.5', '5.0e3', '2.0e2', '1e20', '0.0000001', '1e-20', '123.456', '-1000.001', 'abc', 'inf', '-inf', 'nan', ' 1', '1 ', '0x10', '1e400', '', '.5', '1.', '+1', '-0', '1e5000', '1e-5000', '3.3333333333333333333'];

function randomCommand(rng: Rng): string[] {
  const k = () => pick(rng, keys);
  switch (int(rng, 0, 29)) {
    case 0: case 1: return ['INCR', k()];
    case 2: return ['DECR', k()];
    case 3: case 4: return ['INCRBY', k(), pick(rng, integers)];
    case 5: return ['DECRBY', k(), pick(rng, integers)];
    case 6: case 7: case 8: return ['INCRBYFLOAT', k(), pick(rng, floats)];
    case 9: case 10: return ['GET', k()];
    case 11: return ['SET', k(), pick(rng, values)];
    case 12: return ['APPEND', k(), pick(rng, ['1', 'x', '.5', ''])];
    case 13: return ['STRLEN', k()];
    case 14: return ['GETRANGE', k(), pick(rng, ['0', '1', '-1']), pick(rng, ['-1', '2', '0'])];
    case 15: return ['SETRANGE', k(), pick(rng, ['0', '1', '5']), pick(rng, ['9', 'a', '00'])];
    case 16: return ['GETSET', k(), pick(rng, values)];
    case 17: return ['GETDEL', k()];
    case 18: return ['MGET', k(), k(), k()];
    case 19: return ['TYPE', k()];
    case 20: return ['OBJECT', 'ENCODING', k()];
    case 21: return ['EXPIRE', k(), pick(rng, ['1000', '100000'])];
    case 22: return ['TTL', k()];
    case 23: return ['PERSIST', k()];
    case 24: return ['RENAME', k(), k()];
    case 25: return ['COPY', k(), k(), ...pick(rng, [[], ['REPLACE']])];
    case 26: return ['DEL', k()];
    case 27: return ['EXISTS', k(), k()];
    case 28: return ['SCAN', '0', 'TYPE', pick(rng, ['string', 'STRING', 'set', 'hash']), 'COUNT', '100'];
    default: return ['SET', k(), pick(rng, values), 'EX', '1000'];
  }
}

function sameOutcome(command: string[], redis: unknown, ringkv: unknown): boolean {
  const name = command[0]!;
  if (name === 'TTL' && typeof redis === 'number' && typeof ringkv === 'number' && redis >= 0 && ringkv >= 0) return Math.abs(redis - ringkv) <= ttlToleranceS;
  if (name === 'SCAN' && Array.isArray(redis) && Array.isArray(ringkv)) {
    return redis[0] === ringkv[0] && JSON.stringify([...(redis[1] as string[])].sort()) === JSON.stringify([...(ringkv[1] as string[])].sort());
  }
  return JSON.stringify(redis) === JSON.stringify(ringkv);
}

/** Keys whose OBJECT ENCODING in Redis depends on how the value was made (see the header). */
function trackMade(madeBy: Map<string, string>, command: string[], reply: unknown): void {
  if (typeof reply === 'object' && reply !== null && 'error' in reply) return;
  const name = command[0]!;
  const key = command[1]!;
  if (['INCRBYFLOAT', 'APPEND', 'SETRANGE'].includes(name)) madeBy.set(key, name);
  else if (['INCR', 'DECR', 'INCRBY', 'DECRBY', 'SET', 'GETSET', 'DEL', 'GETDEL'].includes(name)) madeBy.delete(key);
  else if (name === 'RENAME' || (name === 'COPY' && reply === 1)) {
    // A copy or a renamed value keeps how it was made in Redis; a COPY of a shared integer is its own object.
    if (madeBy.has(key) || name === 'COPY') madeBy.set(command[2]!, madeBy.get(key) ?? 'COPY');
    else madeBy.delete(command[2]!);
  }
}

const servers = redisBesideRingkv(test);

test(`counter differential › ${sequences} seeded sequences of ${commandsPerSequence} counter, string and keyspace commands answer as redis-server does`, async (t) => {
  const redis = new Redis({ port: servers().redisPort, host: '127.0.0.1', protocol: 2 });
  const ringkv = servers().node.client({ protocol: 2 });
  t.teardown(() => redis.disconnect());
  let compared = 0;
  const counted = new Map<string, number>();
  for (let seed = 1; seed <= sequences; seed++) {
    await Promise.all([redis.flushall(), ringkv.flushall()]);
    const rng = seededRandom(0xc0 + seed);
    const madeBy = new Map<string, string>();
    const history: string[] = [];
    for (let i = 0; i < commandsPerSequence; i++) {
      const command = randomCommand(rng);
      const fromRedis = await replyTo(redis, command);
      const fromRingkv = await replyTo(ringkv, command);
      history.push(`${command.map((a) => JSON.stringify(a)).join(' ')} → ${JSON.stringify(fromRedis)}`);
      const judged = !(command[0] === 'OBJECT' && madeBy.has(command[2]!));
      if (judged && !sameOutcome(command, fromRedis, fromRingkv)) {
        t.fail(`seed ${seed}, command ${i}: ${command.join(' ')}\n  redis-server: ${JSON.stringify(fromRedis)}\n  ringkv:       ${JSON.stringify(fromRingkv)}\n` +
          `commands so far (redis-server's replies):\n  ${history.join('\n  ')}`);
        return;
      }
      compared++;
      counted.set(command[0]!, (counted.get(command[0]!) ?? 0) + 1);
      trackMade(madeBy, command, fromRedis);
    }
  }
  t.log(`${compared} replies compared over ${sequences} sequences: ${[...counted].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  t.true((counted.get('INCRBYFLOAT') ?? 0) > 1000 && (counted.get('INCRBY') ?? 0) > 1000);
});
