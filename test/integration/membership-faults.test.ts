// Membership changes meeting faults, with real processes: a node joins while
// a replica it displaces is down (the join waits for it, as Cassandra's
// consistent range movement does, while the cluster serves), and a node
// leaves while it keeps hints for a down replica (it hands them to the keys'
// other replicas before it goes). Afterwards every key reads back and sits
// on exactly its owners.
import path from 'node:path';
import test from 'ava';
import { eventually, infoNumber, runRingkv, startCluster, startNode, waitAllNormal, type RingkvNode } from '../helpers/cluster.js';
import { holders, misplaced } from '../helpers/placement.js';

const fastGossip = ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', '1000', '--anti-entropy-interval-ms', '300'];


test.serial('join while a node is down: the plan; the join waits for the replica it displaces (and says so) while the cluster serves; once that node is back it streams, and every key is on exactly its owners', async (t) => {
  const cluster = await startCluster({ nodes: 4, n: 3, r: 2, w: 2, extraArgs: fastGossip });
  let joiner: RingkvNode | undefined;
  t.teardown(async () => {
    await cluster.cleanup();
    await joiner?.cleanup();
  });
  const [n1, n2, n3, n4] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode, RingkvNode];
  const client = n1.client({ protocol: 2 });
  const keys = Array.from({ length: 3_000 }, (_, i) => `jd:${i}`);
  const p = client.pipeline();
  for (const key of keys) p.set(key, `v:${key}`);
  t.true((await p.exec())!.every(([err]) => err === null));

  const plan = await runRingkv(['plan', 'join', '-p', String(n1.port)]);
  t.is(plan.code, 0, plan.err);
  t.regex(plan.out, /^plan: join planned-\S+: [\d.]+% of the token space changes replicas/m);
  t.regex(plan.out, /receives [\d.]+% of the token space from n[1-4]/);

  await n3.kill();
  await cluster.waitConverged(3, 20_000);
  joiner = await startNode({ id: 'n5', seeds: [`127.0.0.1:${n1.peerPort}`], n: 3, r: 2, w: 2, extraArgs: fastGossip });
  // n3 holds spans n5 takes over: streaming them from the others could miss a write only n3 took, so n5 waits.
  const c5 = joiner.client({ protocol: 2 });
  t.true(await eventually(async () => /waiting for n3/.test(String(await c5.call('RING', 'TRANSFER'))), 20_000, 200), 'the join says it waits for n3');
  t.deepEqual((await n1.memberStates()).sort(), ['joining', 'normal', 'normal', 'normal', 'normal']);
  // Meanwhile the cluster serves: writes (to n5 as a pending replica too, where it is one) and reads.
  const during = Array.from({ length: 300 }, (_, i) => `jd:during:${i}`);
  const q = client.pipeline();
  for (const key of during) q.set(key, `v:${key}`);
  t.true((await q.exec())!.every(([err]) => err === null), 'writes go on while n5 waits');
  t.is((await client.mget(...keys)).filter((v, i) => v !== `v:${keys[i]}`).length, 0);

  await n3.restart();
  t.true(await waitAllNormal([n1, n2, n3, n4, joiner], 5), 'n5 joins once n3 is back');
  t.log((await joiner.info('cluster')).match(/^ring_transfer:.*$/m)?.[0] ?? '');
  const all = [...keys, ...during];
  const values = await c5.mget(...all);
  t.is(values.filter((v, i) => v !== `v:${all[i]}`).length, 0, 'every key reads back through n5');
  let wrong: string[] = [];
  const placed = await eventually(async () => {
    wrong = await misplaced(client, [n1, n2, n3, n4, joiner!], all);
    return wrong.length === 0;
  }, 60_000, 1_000);
  t.true(placed, `every key on exactly its owners; still wrong: ${wrong.length} (${wrong.slice(0, 3).join('; ')})`);
});

test.serial('leave while hints are pending: the leaving node hands its hints to the keys\' other replicas; every write survives it and is on its owners once the down node returns', async (t) => {
  const cluster = await startCluster({ nodes: 5, n: 3, r: 2, w: 2, extraArgs: fastGossip });
  t.teardown(() => cluster.cleanup());
  const nodes = cluster.nodes as RingkvNode[];
  const [n1, n2] = nodes as [RingkvNode, RingkvNode];
  const client = n1.client({ protocol: 2 });
  await n2.kill();
  await cluster.waitConverged(4, 20_000);
  const keys = Array.from({ length: 2_000 }, (_, i) => `lh:${i}`);
  const p = client.pipeline();
  for (const key of keys) p.set(key, `v:${key}`);
  t.true((await p.exec())!.every(([err]) => err === null), 'every write acknowledged with n2 down');

  // The node (other than n1, whose client we keep) holding the most hints for n2 leaves.
  const others = nodes.filter((n) => n !== n1 && n !== n2);
  const pending = await Promise.all(others.map(async (n) => infoNumber(await n.info('cluster'), 'hints_pending')));
  const leaver = others[pending.indexOf(Math.max(...pending))]!;
  t.true(Math.max(...pending) > 0, `hints pending on ${leaver.id}: ${Math.max(...pending)}`);
  const out = await runRingkv(['decommission', '-p', String(leaver.port)]);
  t.is(out.code, 0, `${out.out}\n${out.err}`);
  t.regex(out.out, new RegExp(`^plan: leave ${leaver.id}: `, 'm'));
  t.is(infoNumber(await leaver.info('cluster'), 'hints_pending'), 0, 'the leaver keeps no hint');
  await leaver.stop();

  const stay = nodes.filter((n) => n !== leaver);
  t.is((await client.mget(...keys)).filter((v, i) => v !== `v:${keys[i]}`).length, 0, 'every write reads back with the leaver gone');
  await n2.restart();
  await cluster.waitConverged(4, 20_000);
  let wrong: string[] = [];
  const placed = await eventually(async () => {
    wrong = await misplaced(client, stay, keys);
    return wrong.length === 0;
  }, 60_000, 1_000);
  t.true(placed, `every key on exactly its owners once n2 returned; still wrong: ${wrong.length} (${wrong.slice(0, 3).join('; ')})`);
});

test.serial('replace a dead node: ringkv start --replace takes its tokens, holds every range it owned before it serves, and the dead one is removed', async (t) => {
  const cluster = await startCluster({ nodes: 4, n: 3, r: 2, w: 2, extraArgs: fastGossip });
  let replacement: RingkvNode | undefined;
  t.teardown(async () => {
    await cluster.cleanup();
    await replacement?.cleanup();
  });
  const [n1, n2, n3, n4] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode, RingkvNode];
  const client = n1.client({ protocol: 2 });
  const keys = Array.from({ length: 2_000 }, (_, i) => `rp:${i}`);
  const p = client.pipeline();
  for (const key of keys) p.set(key, `v:${key}`);
  t.true((await p.exec())!.every(([err]) => err === null));
  const ownersBefore = (await Promise.all(keys.map((k) => client.call('RING', 'OWNERS', k)))) as string[][][];

  // An up member cannot be replaced.
  const refused = await runRingkv(['start', '--port', '0', '--data', path.join(n1.dataDir, '..', `replace-refused-${process.pid}`), '--seeds', `127.0.0.1:${n1.peerPort}`, '--replace', n4.id]);
  t.is(refused.code, 2);
  t.regex(refused.err, /n4 is up; only a dead member is replaced/);

  await n4.kill();
  await cluster.waitConverged(3, 20_000);
  replacement = await startNode({ id: 'n5', seeds: [`127.0.0.1:${n1.peerPort}`], n: 3, r: 2, w: 2, extraArgs: [...fastGossip, '--replace', n4.id] });
  const r = replacement;
  const rid = r.id;
  t.true(await eventually(async () => {
    const states = await n1.memberStates();
    return states.filter((s) => s === 'normal').length === 4 && states.includes('left');
  }, 60_000, 200), 'the replacement is normal and the dead member left');
  // At once, before any cleanup or repair: the replacement holds every key of every range n4 held.
  const held = await holders([r], keys);
  const owed = keys.filter((_, i) => ownersBefore[i]!.some(([id]) => id === n4.id));
  t.true(owed.length > 0);
  t.deepEqual(owed.filter((k) => !(held.get(k) ?? []).includes(rid)).slice(0, 3), [], `${rid} holds all ${owed.length} keys n4 replicated`);
  const ownersAfter = (await Promise.all(owed.map((k) => client.call('RING', 'OWNERS', k)))) as string[][][];
  t.true(ownersAfter.every((o) => o.some(([id]) => id === rid) && !o.some(([id]) => id === n4.id)), 'the ranges n4 held are the replacement\'s');
  t.is((await client.mget(...keys)).filter((v, i) => v !== `v:${keys[i]}`).length, 0);
  t.deepEqual(await misplaced(client, [n1, n2, n3, r], keys).then((w) => w.slice(0, 3)), []);
});
