// Conflicts on a real three-node cluster (N=3): siblings made by the two
// sides of a split, their resolution with a causal context, a plain SET over
// them, read repair of a replica that missed a write, a delete that a stale
// replica does not undo, bad contexts, and (on one node) the sibling cap.
// The cluster tests share one cluster and run in order: (b) and (c) resolve
// the siblings that (a) made.

import test from 'ava';
import type { Redis } from 'ioredis';
import { startCluster, startNode, type Cluster, type RingkvNode, eventually, sleep } from '../helpers/cluster.js';
import { fastGossip } from '../helpers/fixtures.js';

const repairWaitMs = 5000;

let cluster: Cluster;
let n1: RingkvNode;
let n2: RingkvNode;
let n3: RingkvNode;

// (a) makes siblings on both; (b) resolves kA with a context, (c) kC with a plain SET.
const kA = 'split:a';
const kC = 'split:c';


interface Version {
  value: string;
  clock: string;
  deleted: boolean;
}

/** RING LOCAL over RESP2: a list of flat [field, value, ...] maps. */
async function local(node: RingkvNode, key: string): Promise<Version[]> {
  const c = node.client({ protocol: 2 });
  try {
    const reply = (await c.call('RING', 'LOCAL', key)) as unknown[][];
    return reply.map((entry) => {
      const f = new Map<string, unknown>();
      for (let i = 0; i + 1 < entry.length; i += 2) f.set(String(entry[i]), entry[i + 1]);
      return { value: String(f.get('value')), clock: String(f.get('clock')), deleted: Number(f.get('deleted')) === 1 };
    });
  } finally {
    c.disconnect();
  }
}

const liveValues = (versions: Version[]) => versions.filter((v) => !v.deleted).map((v) => v.value).sort();

/** A RESP2 client with this connection's quorums set. */
async function clientWith(node: RingkvNode, r: number, w: number): Promise<Redis> {
  const c = node.client({ protocol: 2 });
  await c.call('CONSISTENCY', String(r), String(w));
  return c;
}

function readRepairs(info: string): number {
  const match = /^read_repairs:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO has no read_repairs');
  return Number(match[1]);
}

const siblingsOf = async (c: Redis, key: string) => ((await c.call('SIBLINGS', key)) as string[]).map(String).sort();

/**
 * After restarts: all members up, and every node's links to every peer work
 * (a W=3 write through each node succeeds). The second part waits out the
 * peer link backoff bug (see cluster.test.ts) so these tests are about conflicts.
 */
async function settle(): Promise<void> {
  await cluster.waitConverged(3);
  for (const node of cluster.nodes) {
    const c = await clientWith(node, 3, 3);
    const ok = await eventually(async () => (await c.set(`probe:${node.id}`, 'x')) === 'OK', 10_000);
    c.disconnect();
    if (!ok) throw new Error(`${node.id} cannot reach every replica`);
  }
}

test.before(async () => {
  cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: [...fastGossip] });
  [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
});

test.after.always(async () => {
  await cluster?.cleanup();
});

test.serial('(a) siblings from the two sides of a split', async (t) => {
  // Side one: only n1 is up.
  await Promise.all([n2.kill(), n3.kill()]);
  const only1 = await clientWith(n1, 1, 1);
  t.is(await only1.set(kA, 'A'), 'OK');
  t.is(await only1.set(kC, 'A'), 'OK');
  await Promise.all([n2.restart(), n3.restart()]);
  await settle();
  // Nothing has carried A to n2/n3 (no hinted handoff, no read yet).
  t.deepEqual(await local(n2, kA), []);

  // Side two: n1 is gone, n2 writes without having seen A.
  await n1.kill();
  const via2 = await clientWith(n2, 1, 1);
  t.is(await via2.set(kA, 'B'), 'OK');
  t.is(await via2.set(kC, 'B'), 'OK');
  await n1.restart();
  await settle();
  t.deepEqual(liveValues(await local(n1, kA)), ['A']);
  t.deepEqual(liveValues(await local(n2, kA)), ['B']);

  const all3 = await clientWith(n3, 3, 3);
  t.deepEqual(await siblingsOf(all3, kA), ['A', 'B']);
  t.deepEqual(await siblingsOf(all3, kC), ['A', 'B']);
  const context = await all3.call('VCLOCK', kA);
  t.is(typeof context, 'string');
  t.true((context as string).length > 0);

  // GET picks one of them, and the same one through every node.
  const answers: string[] = [];
  for (const node of cluster.nodes) {
    const c = await clientWith(node, 3, 3);
    answers.push(String(await c.get(kA)));
    t.deepEqual(await siblingsOf(c, kA), ['A', 'B'], `SIBLINGS via ${node.id}`);
  }
  // B was written last: the newest timestamp wins.
  t.is(answers[0], 'B');
  t.deepEqual(answers, [answers[0], answers[0], answers[0]]);
  // …and with the default R=2 too.
  for (const node of cluster.nodes) t.is(await node.client().get(kA), answers[0], `GET via ${node.id} at R=2`);
});

test.serial('(b) resolution with SET … VCLOCK ctx', async (t) => {
  const c = await clientWith(n1, 3, 3);
  const [context, shown] = (await c.call('SIBLINGS', kA, 'WITHVCLOCK')) as [string, string[]];
  t.deepEqual([...shown].sort(), ['A', 'B']);
  t.is(context, (await c.call('VCLOCK', kA)) as string, 'the same context VCLOCK reports when nothing changed between');
  t.is(await c.call('SET', kA, 'merged', 'VCLOCK', context), 'OK');
  t.deepEqual(await siblingsOf(c, kA), ['merged']);
  for (const node of cluster.nodes) {
    t.deepEqual(await siblingsOf(node.client({ protocol: 2 }), kA), ['merged'], `SIBLINGS via ${node.id}`);
    t.is(await node.client().get(kA), 'merged');
  }
  const settled = await eventually(async () => {
    for (const node of cluster.nodes) if (JSON.stringify(liveValues(await local(node, kA))) !== '["merged"]') return false;
    return true;
  }, repairWaitMs);
  t.true(settled, 'every replica stores only the merged value');
  for (const node of cluster.nodes) t.is((await local(node, kA)).length, 1, `${node.id} keeps one version`);
});

test.serial('(c) a plain SET after siblings leaves one value', async (t) => {
  // First every replica must hold both siblings: a full read repairs them.
  const reader = await clientWith(n2, 3, 3);
  t.deepEqual(await siblingsOf(reader, kC), ['A', 'B']);
  const spread = await eventually(async () => {
    for (const node of cluster.nodes) if (JSON.stringify(liveValues(await local(node, kC))) !== '["A","B"]') return false;
    return true;
  }, repairWaitMs);
  t.true(spread, 'read repair gave every replica both siblings');

  t.is(await n3.client().set(kC, 'plain'), 'OK');
  for (const node of cluster.nodes) {
    const c = await clientWith(node, 3, 3);
    t.deepEqual(await siblingsOf(c, kC), ['plain'], `SIBLINGS via ${node.id}`);
    t.is(await c.get(kC), 'plain');
  }
});

test.serial('(d) read repair of a replica that missed a write', async (t) => {
  const key = 'repair:d';
  await n3.kill();
  t.is(await n1.client().set(key, 'fresh'), 'OK');
  await n3.restart();
  await settle();
  t.deepEqual(await local(n3, key), [], 'n3 missed the write');
  const before = readRepairs(await n1.info('stats'));
  const c = await clientWith(n1, 3, 3);
  t.is(await c.get(key), 'fresh');
  const repaired = await eventually(async () => JSON.stringify(liveValues(await local(n3, key))) === '["fresh"]', repairWaitMs);
  t.true(repaired, 'n3 got the value by read repair');
  t.true(readRepairs(await n1.info('stats')) > before, 'INFO stats read_repairs grew');
  t.true(readRepairs(await n1.info('cluster')) > before, 'INFO cluster read_repairs grew');
});

test.serial('(e) a delete that a returning stale replica does not undo', async (t) => {
  const key = 'delete:e';
  const all = await clientWith(n1, 3, 3);
  t.is(await all.set(key, 'v'), 'OK');
  for (const node of cluster.nodes) t.deepEqual(liveValues(await local(node, key)), ['v'], `${node.id} has v`);
  await n3.kill();
  t.is(await n1.client().del(key), 1);
  await n3.restart();
  await settle();
  const stale = await local(n3, key);
  t.deepEqual(stale.map((v) => [v.value, v.deleted]), [['v', false]], 'n3 still holds v');

  const via3 = await clientWith(n3, 2, 2);
  t.is(await via3.get(key), null, 'R=2 through the stale replica');
  t.is(await via3.exists(key), 0);
  await via3.call('CONSISTENCY', '3', '3');
  t.is(await via3.get(key), null, 'R=3 through the stale replica');
  t.deepEqual(await siblingsOf(via3, key), []);
  t.is(await via3.call('VCLOCK', key), null);
  t.deepEqual(await via3.call('SIBLINGS', key, 'WITHVCLOCK'), [null, []], 'a deleted key: no context, no values');
  t.false((await via3.keys('delete:*')).includes(key), 'KEYS does not list it');

  const tombstoned = await eventually(async () => {
    const versions = await local(n3, key);
    return versions.length === 1 && versions[0]!.deleted;
  }, repairWaitMs);
  t.true(tombstoned, `n3 stores the tombstone: ${JSON.stringify(await local(n3, key))}`);
  for (const node of cluster.nodes) t.is(await node.client().get(key), null, `GET via ${node.id}`);
});

// DEL reads the key at R and writes its tombstone with that context, so a
// delete coordinated by a replica that missed the write still covers it.
test.serial('(e2) DEL through a replica that missed the write deletes the key', async (t) => {
  const key = 'delete:e2';
  await n3.kill();
  t.is(await n1.client().set(key, 'v'), 'OK');
  await n3.restart();
  await settle();
  t.deepEqual(await local(n3, key), [], 'n3 missed the write');
  t.is(await n3.client().del(key), 1, 'DEL counts the key it removed');
  const all = await clientWith(n1, 3, 3);
  t.is(await all.get(key), null, 'the key is gone');
  t.deepEqual(await siblingsOf(all, key), []);
});

test.serial('(f) a bad context is refused with ERR and writes nothing', async (t) => {
  const c = await clientWith(n2, 3, 3);
  t.is(await c.set('ctx:other', 'x'), 'OK');
  const foreign = (await c.call('VCLOCK', 'ctx:other')) as string;
  t.is(await c.set('ctx:existing', 'original'), 'OK');
  const own = (await c.call('VCLOCK', 'ctx:existing')) as string;

  const bad = ['garbage', '!!!not base64!!!', '', 'AAAA', own.slice(0, Math.max(1, own.length - 6)), foreign];
  for (const context of bad) {
    for (const key of ['ctx:new', 'ctx:existing']) {
      const err = await t.throwsAsync(c.call('SET', key, 'should-not-exist', 'VCLOCK', context), undefined, `context ${JSON.stringify(context)} on ${key}`);
      t.regex(err?.message ?? '', /^ERR /, `context ${JSON.stringify(context)}`);
    }
  }
  t.is(await c.get('ctx:new'), null);
  t.is(await c.exists('ctx:new'), 0);
  t.deepEqual(await siblingsOf(c, 'ctx:existing'), ['original']);
  for (const node of cluster.nodes) {
    t.deepEqual(await local(node, 'ctx:new'), [], `${node.id} stores nothing for ctx:new`);
    t.deepEqual(liveValues(await local(node, 'ctx:existing')), ['original']);
  }
  // The good context still works.
  t.is(await c.call('SET', 'ctx:existing', 'updated', 'VCLOCK', own), 'OK');
  t.deepEqual(await siblingsOf(c, 'ctx:existing'), ['updated']);
});

test.serial('(g) the sibling cap', async (t) => {
  const node = await startNode({ extraArgs: ['--siblings-max', '3', '--siblings-warn', '2'] });
  t.teardown(() => node.cleanup());
  const c = node.client({ protocol: 2 });
  t.is(await c.set('cap', 'v1'), 'OK');
  const ctx1 = (await c.call('VCLOCK', 'cap')) as string;
  t.is(await c.set('cap', 'v2'), 'OK');
  t.is(await c.call('SET', 'cap', 'v3', 'VCLOCK', ctx1), 'OK');
  t.is(await c.call('SET', 'cap', 'v4', 'VCLOCK', ctx1), 'OK');
  t.deepEqual(await siblingsOf(c, 'cap'), ['v2', 'v3', 'v4']);
  const err = await t.throwsAsync(c.call('SET', 'cap', 'v5', 'VCLOCK', ctx1));
  t.regex(err?.message ?? '', /^SIBLINGS /);
  t.deepEqual(await siblingsOf(c, 'cap'), ['v2', 'v3', 'v4'], 'the refused write stored nothing');
  t.regex(node.output.tail(), /many siblings/, 'passing siblings-warn is logged');
  t.regex(await node.info('stats'), /^sibling_limit_refusals:1/m);
  t.is(await c.set('cap', 'final'), 'OK');
  t.deepEqual(await siblingsOf(c, 'cap'), ['final']);
  t.is(await c.get('cap'), 'final');
  t.is((await local(node, 'cap')).length, 1);
});
