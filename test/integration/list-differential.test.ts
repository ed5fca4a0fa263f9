// Differential test of the list commands (issue 12): seeded sequences of
// LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP (with counts), LRANGE, LLEN,
// LINDEX, LSET, LREM, LTRIM, LINSERT, LPOS (RANK, COUNT, MAXLEN), LMOVE and
// RPOPLPUSH (one key and two) and the keyspace commands that meet a list
// (SET, DEL, EXISTS, TYPE, OBJECT ENCODING, EXPIRE/TTL, RENAME, COPY, GET)
// run against redis-server and a single ringkv node; every reply compared,
// errors included, in RESP2 and RESP3.
//
// Normalised or left out, and why (everything else must be identical):
//  - TTL compares within 2 s: the servers run it at slightly different moments.
// Needs redis-server (.ci/run installs it): without it the test fails rather than skip.

import test from 'ava';
import { Redis } from 'ioredis';
import { redisBesideRingkv, replyTo, type Rng, pick, int, ttlToleranceS } from '../helpers/differential.js';
import { seededRandom } from '../helpers/sim.js';

// DIFF_SEQUENCES=N runs more or fewer.
const sequences = Number(process.env.DIFF_SEQUENCES ?? 300);
const commandsPerSequence = 30;

const keys = ['l0', 'l1', 's'];
const elements = ['a', 'b', 'c', 'a', '', 'é', 'long-element-xxxxxxxxxxxxxxxx'];
const indexes = ['0', '1', '-1', '2', '-2', '5', '-10', '100', 'x', '-0', '007'];
const counts = ['0', '1', '2', '5', '-1', 'x'];

function randomCommand(rng: Rng): string[] {
  const k = () => pick(rng, keys);
  const e = () => pick(rng, elements);
  const es = () => Array.from({ length: int(rng, 1, 4) }, e);
  const side = () => pick(rng, ['LEFT', 'RIGHT', 'left', 'UP']);
  switch (int(rng, 0, 35)) {
    case 0: case 1: case 2: return ['LPUSH', k(), ...es()];
    case 3: case 4: case 5: return ['RPUSH', k(), ...es()];
    case 6: return [pick(rng, ['LPUSHX', 'RPUSHX']), k(), ...es()];
    case 7: case 8: return ['LPOP', k(), ...(rng() < 0.5 ? [pick(rng, counts)] : [])];
    case 9: case 10: return ['RPOP', k(), ...(rng() < 0.5 ? [pick(rng, counts)] : [])];
    case 11: case 12: return ['LRANGE', k(), pick(rng, indexes), pick(rng, indexes)];
    case 13: return ['LLEN', k()];
    case 14: return ['LINDEX', k(), pick(rng, indexes)];
    case 15: case 16: return ['LSET', k(), pick(rng, indexes), e()];
    case 17: return ['LREM', k(), pick(rng, ['0', '1', '-1', '2', '-2', 'x']), e()];
    case 18: return ['LTRIM', k(), pick(rng, indexes), pick(rng, indexes)];
    case 19: return ['LINSERT', k(), pick(rng, ['BEFORE', 'AFTER', 'after', 'MIDDLE']), e(), e()];
    case 20: case 21: {
      const options: string[] = [];
      if (rng() < 0.4) options.push('RANK', pick(rng, ['1', '2', '-1', '-2', '0', 'x']));
      if (rng() < 0.4) options.push('COUNT', pick(rng, ['0', '1', '2', '-1']));
      if (rng() < 0.3) options.push('MAXLEN', pick(rng, ['0', '1', '3', '-1']));
      if (rng() < 0.05) options.push('RANK');
      return ['LPOS', k(), e(), ...options];
    }
    case 22: case 23: return ['LMOVE', k(), k(), side(), side()];
    case 24: return ['RPOPLPUSH', k(), k()];
    case 25: return ['SET', k(), 'v'];
    case 26: return ['DEL', k()];
    case 27: return ['EXISTS', k(), k()];
    case 28: return ['TYPE', k()];
    case 29: return ['OBJECT', 'ENCODING', k()];
    case 30: return ['EXPIRE', k(), '1000'];
    case 31: return ['TTL', k()];
    case 32: return ['RENAME', k(), k()];
    case 33: return ['COPY', k(), k(), ...(rng() < 0.5 ? ['REPLACE'] : [])];
    case 34: return ['GET', k()];
    default: return ['LRANGE', k(), '0', '-1'];
  }
}

function sameOutcome(command: string[], redis: unknown, ringkv: unknown): boolean {
  if (command[0] === 'TTL' && typeof redis === 'number' && typeof ringkv === 'number' && redis >= 0 && ringkv >= 0) return Math.abs(redis - ringkv) <= ttlToleranceS;
  return JSON.stringify(redis) === JSON.stringify(ringkv);
}

const servers = redisBesideRingkv(test);

for (const protocol of [2, 3] as const) {
  test.serial(`list differential › RESP${protocol}: ${sequences} seeded sequences of ${commandsPerSequence} list and keyspace commands answer as redis-server does`, async (t) => {
    const redis = new Redis({ port: servers().redisPort, host: '127.0.0.1', protocol });
    const ringkv = servers().node.client({ protocol });
    t.teardown(() => redis.disconnect());
    let compared = 0;
    const counted = new Map<string, number>();
    for (let seed = 1; seed <= sequences; seed++) {
      await Promise.all([redis.flushall(), ringkv.flushall()]);
      const rng = seededRandom(0x11f7 + seed + protocol * 100_000);
      const history: string[] = [];
      for (let i = 0; i < commandsPerSequence; i++) {
        const command = randomCommand(rng);
        const fromRedis = await replyTo(redis, command);
        const fromRingkv = await replyTo(ringkv, command);
        history.push(`${command.map((a) => JSON.stringify(a)).join(' ')} → ${JSON.stringify(fromRedis)}`);
        if (!sameOutcome(command, fromRedis, fromRingkv)) {
          t.fail(`seed ${seed}, command ${i}: ${command.join(' ')}\n  redis-server: ${JSON.stringify(fromRedis)}\n  ringkv:       ${JSON.stringify(fromRingkv)}\n` +
            `commands so far (redis-server's replies):\n  ${history.join('\n  ')}`);
          return;
        }
        compared++;
        counted.set(command[0]!, (counted.get(command[0]!) ?? 0) + 1);
      }
    }
    t.log(`${compared} replies compared over ${sequences} sequences: ${[...counted].map(([name, n]) => `${name} ${n}`).join(', ')}`);
    t.true((counted.get('LPUSH') ?? 0) + (counted.get('RPUSH') ?? 0) > sequences * 2);
  });
}
