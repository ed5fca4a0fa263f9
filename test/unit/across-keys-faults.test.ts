// What RENAME, COPY, MSETNX and BITOP guarantee when a quorum is lost
// between their steps (README "Redis compatibility": commands across keys).
// The handlers run on a coordinator of the in-process cluster (5 nodes, N=3,
// W=2, STRICT so no fallback stands in), and a hook on the coordinator takes
// a key's replicas down just before the step under test: the command fails
// with NOQUORUM and leaves exactly what its earlier steps did.

import test, { type ExecutionContext } from 'ava';
import { acrossKeyCommands } from '../../src/commands/across-keys.js';
import { bitCommands } from '../../src/commands/bits.js';
import type { CommandContext, ServerServices, Session } from '../../src/commands/types.js';
import type { Coordinator } from '../../src/coordinator/coordinator.js';
import type { Mutation } from '../../src/coordinator/versioning.js';
import { OK } from '../../src/resp/reply.js';
import { SimCluster } from '../helpers/sim.js';

type PutHook = (key: string, mutation: Mutation) => void;

/** A command context on `coordinator` whose puts first call `hook`. */
function contextOn(coordinator: Coordinator, hook: PutHook): CommandContext {
  const hooked = new Proxy(coordinator, {
    get(target, property) {
      if (property === 'put') {
        return (key: Buffer, mutation: Mutation, options: unknown) => {
          hook(key.toString(), mutation);
          return target.put(key, mutation, options as Parameters<Coordinator['put']>[2]);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const session = { r: 2, w: 2, strict: true } as Session;
  const server = { coordinator: hooked, config: { r: 2, w: 2, protoMaxBulkLen: 512 * 1024 * 1024 } } as unknown as ServerServices;
  const execute = () => Promise.reject(new Error('EXEC is not run by these tests'));
  return { session, server, execute, subscriber: { deliver: () => undefined } };
}

async function cluster(t: ExecutionContext): Promise<SimCluster> {
  const sim = await SimCluster.start({ nodes: 5, n: 3, seed: 5, requestTimeoutMs: 200 });
  t.teardown(() => sim.stop());
  return sim;
}

const args = (...words: string[]) => words.map((w) => Buffer.from(w));

/** The value a quorum read at R=2 through `via` returns, after every node is back. */
async function valueOf(sim: SimCluster, via: string, key: string): Promise<string | null> {
  const live = await sim.liveValues(via, key, 2);
  return live.length === 0 ? null : live.join('|');
}

test('across keys › RENAME: the source\'s replicas lost after the destination was written: NOQUORUM, the value under both names, and running it again finishes', async (t) => {
  const sim = await cluster(t);
  // The coordinator is not a replica of the source, so the delete is forwarded and fails outright.
  const src = sim.findKey('src', (r) => !r.includes('a'));
  const dst = sim.findKey('dst', (r) => r.includes('a'));
  await sim.put('a', src, 'value', 2);
  let armed = true;
  const ctx = contextOn(sim.node('a').coordinator, (key, mutation) => {
    if (armed && key === src && mutation.kind === 'delete') for (const id of sim.replicasOf(src)) sim.down(id);
  });
  const failure = await t.throwsAsync(Promise.resolve(acrossKeyCommands.rename(ctx, args('RENAME', src, dst))));
  t.is((failure as { code?: string }).code, 'NOQUORUM');
  for (const id of sim.replicasOf(src)) sim.up(id);
  armed = false;
  t.is(await valueOf(sim, 'b', dst), 'value', 'the destination was written');
  t.is(await valueOf(sim, 'b', src), 'value', 'the source is still there');
  t.is(await acrossKeyCommands.rename(ctx, args('RENAME', src, dst)), OK);
  t.is(await valueOf(sim, 'c', dst), 'value');
  t.is(await valueOf(sim, 'c', src), null);
});

test('across keys › RENAME: the destination\'s replicas lost before its write: NOQUORUM and the source untouched', async (t) => {
  const sim = await cluster(t);
  const src = sim.findKey('src', (r) => r.includes('a'));
  const dst = sim.findKey('dst', (r) => !r.includes('a'));
  await sim.put('a', src, 'value', 2);
  const ctx = contextOn(sim.node('a').coordinator, (key) => {
    if (key === dst) for (const id of sim.replicasOf(dst)) sim.down(id);
  });
  const failure = await t.throwsAsync(Promise.resolve(acrossKeyCommands.rename(ctx, args('RENAME', src, dst))));
  t.is((failure as { code?: string }).code, 'NOQUORUM');
  for (const id of sim.replicasOf(dst)) sim.up(id);
  t.is(await valueOf(sim, 'b', src), 'value');
  t.is(await valueOf(sim, 'b', dst), null);
});

test('across keys › COPY: the destination\'s replicas lost: NOQUORUM, the source untouched, no copy', async (t) => {
  const sim = await cluster(t);
  const src = sim.findKey('src', (r) => r.includes('a'));
  const dst = sim.findKey('dst', (r) => !r.includes('a'));
  await sim.put('a', src, 'value', 2);
  const ctx = contextOn(sim.node('a').coordinator, (key) => {
    if (key === dst) for (const id of sim.replicasOf(dst)) sim.down(id);
  });
  const failure = await t.throwsAsync(Promise.resolve(acrossKeyCommands.copy(ctx, args('COPY', src, dst))));
  t.is((failure as { code?: string }).code, 'NOQUORUM');
  for (const id of sim.replicasOf(dst)) sim.up(id);
  t.is(await valueOf(sim, 'b', src), 'value');
  t.is(await valueOf(sim, 'b', dst), null);
});

test('across keys › MSETNX: one key\'s replicas lost: NOQUORUM, the other key written (not atomic)', async (t) => {
  const sim = await cluster(t);
  const k1 = sim.findKey('k1', (r) => r.includes('a'));
  const k2 = sim.findKey('k2', (r) => !r.includes('a'));
  const ctx = contextOn(sim.node('a').coordinator, (key) => {
    if (key === k2) for (const id of sim.replicasOf(k2)) sim.down(id);
  });
  const failure = await t.throwsAsync(Promise.resolve(acrossKeyCommands.msetnx(ctx, args('MSETNX', k1, 'one', k2, 'two'))));
  t.is((failure as { code?: string }).code, 'NOQUORUM');
  for (const id of sim.replicasOf(k2)) sim.up(id);
  t.is(await valueOf(sim, 'b', k1), 'one');
  t.is(await valueOf(sim, 'b', k2), null);
});

test('across keys › MSETNX: a key set by another client between the check and the writes: both writes kept as siblings, none lost', async (t) => {
  const sim = await cluster(t);
  const k1 = sim.findKey('k1', (r) => r.includes('a'));
  const k2 = sim.findKey('k2', (r) => r.includes('b'));
  let raced = false;
  const ctx = contextOn(sim.node('a').coordinator, () => {
    if (raced) return;
    raced = true;
    // Another client's SET of k2 through node b lands after MSETNX's reads found k2 missing.
    void sim.put('b', k2, 'theirs', 2);
  });
  t.is(await acrossKeyCommands.msetnx(ctx, args('MSETNX', k1, 'one', k2, 'mine')), 1);
  t.is(await valueOf(sim, 'c', k1), 'one');
  t.is(await valueOf(sim, 'c', k2), 'mine|theirs', 'concurrent writes: siblings, as any two racing SETs');
});

test('across keys › BITOP: the destination\'s replicas lost: NOQUORUM and the destination unchanged', async (t) => {
  const sim = await cluster(t);
  const s1 = sim.findKey('s1', (r) => r.includes('a'));
  const dst = sim.findKey('dst', (r) => !r.includes('a'));
  await sim.put('a', s1, 'abc', 2);
  await sim.put('a', dst, 'before', 2);
  const ctx = contextOn(sim.node('a').coordinator, (key) => {
    if (key === dst) for (const id of sim.replicasOf(dst)) sim.down(id);
  });
  const failure = await t.throwsAsync(Promise.resolve(bitCommands.bitop(ctx, args('BITOP', 'NOT', dst, s1))));
  t.is((failure as { code?: string }).code, 'NOQUORUM');
  for (const id of sim.replicasOf(dst)) sim.up(id);
  t.is(await valueOf(sim, 'b', dst), 'before');
});
