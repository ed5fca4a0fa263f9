// What the differential tests share (test/integration/*differential*): a
// redis-server and a ringkv node started for the file, and one way to send a
// command to either and compare the replies (binary-safe text, errors as
// values).

import type test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Redis } from 'ioredis';
import { ManagedProcess, startNode, waitForPing, type RingkvNode } from './cluster.js';
import { freePort } from './ports.js';
import { seededRandom } from './sim.js';

/** A seeded random source in [0, 1) (helpers/sim.ts seededRandom). */
export type Rng = () => number;

/** One of `items`, drawn by `rng`. */
export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

/** An integer in [min, max], drawn by `rng`. */
export const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));

/** Seconds a TTL may differ by between the two servers: they answer the same sequence a moment apart. */
export const ttlToleranceS = 2;

export interface RedisBeside {
  readonly redisPort: number;
  readonly node: RingkvNode;
}

/**
 * Registers the file's hooks: a redis-server (one database, as ringkv has,
 * no persistence) beside a ringkv node, started before the tests and stopped
 * after them. Call the returned function inside a test.
 */
export function redisBesideRingkv(t: typeof test): () => RedisBeside {
  let redisProcess: ManagedProcess | undefined;
  let node: RingkvNode | undefined;
  let redisPort = 0;
  t.before(async () => {
    redisPort = await freePort();
    redisProcess = new ManagedProcess('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--databases', '1']);
    await Promise.all([waitForPing(redisPort, redisProcess, 10_000), startNode().then((n) => (node = n))]);
  });
  t.after.always(async () => {
    await Promise.all([redisProcess?.stop(), node?.cleanup()]);
  });
  return () => ({ redisPort, node: node! });
}

/** The reply to `command`, bulk strings as latin1 text (byte for byte), an error as `{ error: message }`. */
export async function replyTo(client: Redis, command: readonly string[]): Promise<unknown> {
  try {
    return replyText(await client.callBuffer(command[0]!, ...command.slice(1)));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function replyText(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (Array.isArray(reply)) return reply.map(replyText);
  return reply;
}

/** One seeded run of random commands sent to both servers, compared reply by reply. */
export interface Sequences {
  readonly sequences: number;
  readonly commandsPerSequence: number;
  /** Added to the sequence number for its PRNG seed: each file draws its own sequences. */
  readonly seedBase: number;
  randomCommand(rng: () => number): string[];
  /** A read sent to redis-server before a command whose reply is random (SRANDMEMBER's pool), given to `same`. */
  before?(command: readonly string[]): string[] | undefined;
  /** True when the replies agree, as Redis's command allows (random picks from `before`'s reply). */
  same(command: readonly string[], redis: unknown, ringkv: unknown, before: string[] | undefined): boolean;
  /** After an agreeing command: bring ringkv's state to redis-server's where a random pick made them differ (SPOP). */
  reconcile?(command: readonly string[], redis: unknown, ringkv: unknown): Promise<void>;
}

/**
 * Runs `spec`'s sequences against both servers (each sequence from empty
 * databases). On the first disagreement fails `t` with the command, both
 * replies and the sequence so far, and answers undefined; else the count
 * of replies compared per command name.
 */
export async function compareSequences(t: ExecutionContext, redis: Redis, ringkv: Redis, spec: Sequences): Promise<Map<string, number> | undefined> {
  const counted = new Map<string, number>();
  for (let seed = 1; seed <= spec.sequences; seed++) {
    await Promise.all([redis.flushall(), ringkv.flushall()]);
    const rng = seededRandom(spec.seedBase + seed);
    const history: string[] = [];
    for (let i = 0; i < spec.commandsPerSequence; i++) {
      const command = spec.randomCommand(rng);
      const read = spec.before?.(command);
      const before = read === undefined ? undefined : await replyTo(redis, read);
      const fromRedis = await replyTo(redis, command);
      const fromRingkv = await replyTo(ringkv, command);
      history.push(`${command.map((a) => JSON.stringify(a)).join(' ')} → ${JSON.stringify(fromRedis)}`);
      if (!spec.same(command, fromRedis, fromRingkv, Array.isArray(before) ? (before as string[]) : undefined)) {
        t.fail(`seed ${seed}, command ${i}: ${command.join(' ')}\n  redis-server: ${JSON.stringify(fromRedis)}\n  ringkv:       ${JSON.stringify(fromRingkv)}\n` +
          `commands so far (redis-server's replies):\n  ${history.join('\n  ')}`);
        return undefined;
      }
      await spec.reconcile?.(command, fromRedis, fromRingkv);
      counted.set(command[0]!, (counted.get(command[0]!) ?? 0) + 1);
    }
  }
  const compared = [...counted.values()].reduce((a, b) => a + b, 0);
  t.log(`${compared} replies compared over ${spec.sequences} sequences: ${[...counted].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  return counted;
}
