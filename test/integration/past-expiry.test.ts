// Redis semantics of an absolute expiry already in the past, through real
// nodes: `SET k v PXAT 1` and `SET k v EXAT <a second ago>` answer OK and
// leave no k (Redis deletes it), `GETEX k EXAT 1000` returns the value and
// then k is gone — and an older value of k is gone with it, on every replica:
// the write is stored as a delete, which a stale replica cannot undo.
// One node (ioredis RESP3, RESP2 and redis-cli), then a three-node cluster.

import test, { type ExecutionContext } from 'ava';
import type { Redis } from 'ioredis';
import { eventually, type RingkvNode } from '../helpers/cluster.js';
import { nodeAndCluster } from '../helpers/fixtures.js';

const fixture = nodeAndCluster(test);

const aSecondAgo = () => String(Math.floor(Date.now() / 1000) - 1);

/** k holds nothing a client can see. */
async function gone(t: ExecutionContext, c: Redis, key: string, via: string): Promise<void> {
  t.is(await c.get(key), null, `GET ${key} via ${via}`);
  t.is(await c.exists(key), 0, `EXISTS ${key} via ${via}`);
  t.is(await c.ttl(key), -2, `TTL ${key} via ${via}`);
  t.deepEqual(await c.call('SIBLINGS', key), [], `SIBLINGS ${key} via ${via}`);
}

/** What `n` itself stores for the key, as [value, deleted] pairs. */
async function local(n: RingkvNode, key: string): Promise<Array<[string, boolean]>> {
  const c = n.client({ protocol: 2 });
  try {
    const reply = (await c.call('RING', 'LOCAL', key)) as unknown[][];
    return reply.map((entry) => {
      const f = new Map<string, unknown>();
      for (let i = 0; i + 1 < entry.length; i += 2) f.set(String(entry[i]), entry[i + 1]);
      return [String(f.get('value')), Number(f.get('deleted')) === 1];
    });
  } finally {
    c.disconnect();
  }
}

for (const protocol of [3, 2] as const) {
  const k = (name: string) => `past:resp${protocol}:${name}`;

  test(`one node › resp${protocol} › SET k v PXAT 1 answers OK and removes k, its older value included`, async (t) => {
    const c = fixture.node.client({ protocol });
    t.is(await c.set(k('pxat'), 'old'), 'OK');
    t.is(await c.call('SET', k('pxat'), 'new', 'PXAT', '1'), 'OK');
    await gone(t, c, k('pxat'), fixture.node.id);
    t.deepEqual(await c.keys(k('pxat')), []);
    t.deepEqual(await local(fixture.node, k('pxat')), [['', true]], 'stored as a delete');
  });

  test(`one node › resp${protocol} › SET k v EXAT <a second ago> answers OK and removes k`, async (t) => {
    const c = fixture.node.client({ protocol });
    t.is(await c.set(k('exat'), 'old'), 'OK');
    t.is(await c.call('SET', k('exat'), 'new', 'EXAT', aSecondAgo()), 'OK');
    await gone(t, c, k('exat'), fixture.node.id);
  });

  test(`one node › resp${protocol} › GETEX k EXAT 1000 returns the value, then k is gone`, async (t) => {
    const c = fixture.node.client({ protocol });
    t.is(await c.set(k('getex'), 'v'), 'OK');
    t.is(await c.call('GETEX', k('getex'), 'EXAT', '1000'), 'v');
    await gone(t, c, k('getex'), fixture.node.id);
    t.is(await c.call('GETEX', k('getex'), 'EXAT', '1000'), null, 'a missing key stays missing');
  });

  test(`one node › resp${protocol} › SET k v PXAT 1 GET returns the older value and removes k; on a missing key, nothing`, async (t) => {
    const c = fixture.node.client({ protocol });
    t.is(await c.set(k('get'), 'old'), 'OK');
    t.is(await c.call('SET', k('get'), 'new', 'PXAT', '1', 'GET'), 'old');
    await gone(t, c, k('get'), fixture.node.id);
    t.is(await c.call('SET', k('never'), 'new', 'PXAT', '1'), 'OK');
    await gone(t, c, k('never'), fixture.node.id);
  });
}

test('one node › redis-cli › SET k v PXAT 1 prints OK, then GET prints nothing', async (t) => {
  t.is(await fixture.node.cli('SET', 'past:cli', 'old'), 'OK\n');
  t.is(await fixture.node.cli('SET', 'past:cli', 'new', 'PXAT', '1'), 'OK\n');
  t.is(await fixture.node.cli('GET', 'past:cli'), '\n');
  t.is(await fixture.node.cli('EXISTS', 'past:cli'), '0\n');
});

test('one node › an expiry of 0 or below is still refused, as Redis does', async (t) => {
  const c = fixture.node.client();
  await t.throwsAsync(c.call('SET', 'past:zero', 'v', 'PXAT', '0'), { message: "ERR invalid expire time in 'set' command" });
  // GETEX judges the amount only for a key that exists: of a missing key, Redis answers nil first.
  t.is(await c.call('GETEX', 'past:zero', 'EXAT', '-5'), null);
  await c.set('past:zero', 'v');
  await t.throwsAsync(c.call('GETEX', 'past:zero', 'EXAT', '-5'), { message: "ERR invalid expire time in 'getex' command" });
  t.is(await c.get('past:zero'), 'v', 'the refused GETEX changed nothing');
});

// The cluster: each write goes through another node than the older value did,
// and every node answers nil afterwards, at the default R=2 and from its own copy.

async function clusterGone(t: ExecutionContext, key: string): Promise<void> {
  // Each replica's own copy first: a read would repair a replica the write missed.
  const everywhere = await eventually(async () => {
    const copies = await Promise.all(fixture.cluster.nodes.map((n) => local(n, key)));
    return copies.every((versions) => versions.length > 0 && versions.every(([, deleted]) => deleted));
  }, 5_000);
  t.true(everywhere, `every replica holds the delete of ${key}, nothing live: ${JSON.stringify(await Promise.all(fixture.cluster.nodes.map((n) => local(n, key))))}`);
  for (const n of fixture.cluster.nodes) await gone(t, n.client(), key, n.id);
}

async function writeEverywhere(key: string, value: string): Promise<void> {
  const c = fixture.cluster.nodes[0]!.client({ protocol: 2 });
  await c.call('CONSISTENCY', '3', '3');
  if (!(await eventually(async () => (await c.set(key, value)) === 'OK', 10_000))) throw new Error(`could not write ${key} to every replica`);
  c.disconnect();
}

test('cluster › SET k v PXAT 1 through another node: every node answers nil, no replica keeps the older value', async (t) => {
  await writeEverywhere('past:cluster:pxat', 'old');
  t.is(await fixture.cluster.nodes[1]!.client().call('SET', 'past:cluster:pxat', 'new', 'PXAT', '1'), 'OK');
  await clusterGone(t, 'past:cluster:pxat');
});

test('cluster › SET k v EXAT <a second ago> through another node: every node answers nil', async (t) => {
  await writeEverywhere('past:cluster:exat', 'old');
  t.is(await fixture.cluster.nodes[2]!.client().call('SET', 'past:cluster:exat', 'new', 'EXAT', aSecondAgo()), 'OK');
  await clusterGone(t, 'past:cluster:exat');
});

test('cluster › GETEX k EXAT 1000 through another node returns the value, then every node answers nil', async (t) => {
  await writeEverywhere('past:cluster:getex', 'v');
  t.is(await fixture.cluster.nodes[1]!.client().call('GETEX', 'past:cluster:getex', 'EXAT', '1000'), 'v');
  await clusterGone(t, 'past:cluster:getex');
});
