// What the differential tests share (test/integration/*differential*): a
// redis-server and a ringkv node started for the file, and one way to send a
// command to either and compare the replies (binary-safe text, errors as
// values).

import type test from 'ava';
import type { Redis } from 'ioredis';
import { ManagedProcess, startNode, waitForPing, type RingkvNode } from './cluster.js';
import { freePort } from './ports.js';

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
