// Sets with real processes (issue 12): the set commands through ioredis
// (RESP2 and RESP3) and redis-cli on one node, and on a 3-node cluster adds
// through every coordinator at once, and adds and removes made through
// different coordinators while the others are hung (SIGSTOP, W=1) that
// converge once everyone is back: every acknowledged add stays unless a
// remove saw it; an add concurrent with a remove of the same member wins.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { rawResp3 } from '../helpers/raw-resp.js';
import { eventually, infoNumber, type RingkvNode } from '../helpers/cluster.js';
import { nodeAndCluster } from '../helpers/fixtures.js';

const fixture = nodeAndCluster(test);

test.serial('sets › one node: the set commands answer as Redis, through ioredis (RESP2 and RESP3) and redis-cli', async (t) => {
  const c = fixture.node.client({ protocol: 2 });
  t.is(await c.sadd('s', 'a', 'b', 'c', 'a'), 3);
  t.is(await c.sadd('s', 'c', 'd'), 1);
  t.deepEqual(await c.smembers('s'), ['a', 'b', 'c', 'd']);
  t.is(await c.srem('s', 'd', 'z'), 1);
  t.is(await c.scard('s'), 3);
  t.is(await c.sismember('s', 'a'), 1);
  t.deepEqual(await c.smismember('s', 'a', 'z'), [1, 0]);
  t.is(await c.type('s'), 'set');
  t.is(await c.object('ENCODING', 's'), 'hashtable');
  await c.sadd('ints', '1', '2', '3');
  t.is(await c.object('ENCODING', 'ints'), 'intset');
  t.deepEqual(await c.sinter('s', 'ints'), []);
  t.deepEqual((await c.sunion('s', 'ints')).sort(), ['1', '2', '3', 'a', 'b', 'c']);
  t.is(await c.sunionstore('u', 's', 'ints'), 6);
  t.is(await c.sintercard(2, 'u', 's'), 3);
  t.is(await c.call('SINTERCARD', '2', 'u', 's', 'LIMIT', '2'), 2);
  t.is(await c.smove('u', 'moved', 'a'), 1);
  t.is(await c.smove('u', 'moved', 'a'), 0);
  t.deepEqual(await c.smembers('moved'), ['a']);
  t.deepEqual(await c.sscan('u', 0, 'COUNT', 2), ['2', ['1', '2']]);
  t.deepEqual(await c.sscan('u', 2, 'MATCH', '[bc]', 'COUNT', 10), ['0', ['b', 'c']]);
  // Emptied: no key, as Redis has no empty sets.
  t.is((await c.spop('moved', 5)).length, 1);
  t.is(await c.exists('moved'), 0);
  t.is(await c.type('moved'), 'none');
  await c.set('str', 'v');
  await t.throwsAsync(c.sadd('str', 'a'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  await t.throwsAsync(c.get('s'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  t.deepEqual(((await c.call('SCAN', '0', 'TYPE', 'set', 'COUNT', '100')) as [string, string[]])[1].sort(), ['ints', 's', 'u']);
  // RENAME and COPY carry the set.
  t.is(await c.copy('s', 's2'), 1);
  await c.rename('s2', 's3');
  t.deepEqual(await c.smembers('s3'), ['a', 'b', 'c']);
  const r3 = fixture.node.client({ protocol: 3 });
  t.deepEqual(await r3.smembers('s3'), ['a', 'b', 'c']);
  const cli = spawnSync('redis-cli', ['-p', String(fixture.node.port), 'SMEMBERS', 's3'], { encoding: 'utf8' });
  if (cli.status === 0) t.deepEqual(cli.stdout.trim().split('\n'), ['a', 'b', 'c']);
  // RESP3's set type on the wire, as Redis's SMEMBERS and SPOP with a count send it; SRANDMEMBER's is an array.
  const raw = await rawResp3(fixture.node.port, [['SMEMBERS', 's3'], ['SRANDMEMBER', 's3', '5'], ['SPOP', 'nokey', '1'], ['SPOP', 'nokey']]);
  t.true(raw.endsWith('~3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n~0\r\n_\r\n'), JSON.stringify(raw));
});


test.serial('sets › one node: SSCAN, SRANDMEMBER, HSCAN and HRANDFIELD between writes to a large set and hash page through what the writes left', async (t) => {
  // Past 4 KiB a collection's reads are lent the state its last write left (crdt/state-cache.ts): a scan that
  // follows each write must still see every member the writes made, in byte order, pages never overlapping.
  const c = fixture.node.client({ protocol: 2 });
  const members = Array.from({ length: 2_000 }, (_, i) => `member:${String(i).padStart(5, '0')}`);
  await c.sadd('lent-set', ...members.slice(0, 1_000));
  await c.hset('lent-hash', ...members.slice(0, 1_000).flatMap((m) => [m, `v${m}`]));
  const seenSet: string[] = [];
  const seenHash: string[] = [];
  let setCursor = '0';
  let hashCursor = '0';
  let round = 0;
  do {
    // Members after the ones scanned so far (greater keys), so every page reaches them.
    await c.sadd('lent-set', members[1_000 + round]!);
    await c.hset('lent-hash', members[1_000 + round]!, 'later');
    const drawn = await c.srandmember('lent-set');
    t.true(members.includes(drawn!), `SRANDMEMBER draws a member: ${drawn}`);
    t.true(members.includes((await c.hrandfield('lent-hash')) as string));
    const [nextSet, page] = await c.sscan('lent-set', setCursor, 'COUNT', 50);
    seenSet.push(...page);
    setCursor = nextSet;
    const [nextHash, flat] = await c.hscan('lent-hash', hashCursor, 'COUNT', 50);
    for (let k = 0; k < flat.length; k += 2) seenHash.push(flat[k]!);
    hashCursor = nextHash;
    round++;
  } while ((setCursor !== '0' || hashCursor !== '0') && round < 500);
  const written = members.slice(0, 1_000 + round);
  t.deepEqual(seenSet, written, 'one pass in byte order: each member once');
  t.deepEqual(seenHash, written);
  t.is(await c.scard('lent-set'), written.length);
});
test.serial('sets › a 3-node cluster: adds through every node at once all stay', async (t) => {
  const clients = fixture.cluster.nodes.map((n) => n.client({ protocol: 2 }));
  const perClient = 40;
  await Promise.all(clients.map(async (c, i) => {
    for (let j = 0; j < perClient; j++) await c.sadd('members', `${i}-${j}`);
  }));
  for (const c of clients) t.is(await c.scard('members'), 3 * perClient);
  t.is(await clients[1]!.type('members'), 'set');
});

test.serial('sets › a 3-node cluster: writes to a large set travel as deltas, and every node stores the same bytes', async (t) => {
  const clients = fixture.cluster.nodes.map((n) => n.client({ protocol: 2 }));
  const deltaCounts = async () => {
    const infos = await Promise.all(clients.map((c) => c.info('stats')));
    const sum = (name: string) => infos.reduce((s, info) => s + infoNumber(info, name), 0);
    return { sent: sum('deltas_sent'), applied: sum('deltas_applied'), mismatches: sum('delta_mismatches') };
  };
  const before = await deltaCounts();
  // ~45 KB of set: past deltaRecordBytesMin (coordinator/delta.ts).
  t.is(await clients[0]!.sadd('big', ...Array.from({ length: 3_000 }, (_, i) => `member-${i}`)), 3_000);
  for (let i = 0; i < 12; i++) t.is(await clients[i % 3]!.sadd('big', `more-${i}`), 1);
  t.is(await clients[1]!.srem('big', 'member-7', 'more-0'), 2);
  for (const c of clients) t.is(await c.scard('big'), 3_010);
  const after = await deltaCounts();
  t.true(after.sent - before.sent >= 13, `deltas sent: ${after.sent - before.sent}`);
  t.true(after.applied - before.applied >= 13, `deltas applied: ${after.applied - before.applied}`);
  t.is(after.mismatches, before.mismatches);
  // The third replica may trail the W=2 acknowledgement by a moment; then each node's own record is the same bytes.
  const local = () => Promise.all(clients.map((c) => c.callBuffer('RING', 'LOCAL', 'big') as Promise<unknown>));
  t.true(await eventually(async () => {
    const records = (await local()).map((r) => JSON.stringify(r));
    return records.every((r) => r === records[0]);
  }, 10_000), 'every node stores the same record');
});

test.serial('sets › adds and removes through different coordinators while the others are hung (W=1): add wins, nothing acknowledged is lost', async (t) => {
  const [n1, n2, n3] = fixture.cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  const [c1, c3] = [n1.client({ protocol: 2 }), n3.client({ protocol: 2 })];
  await c1.sadd('split', 'kept', 'contested', 'removed');
  await eventually(async () => (await c3.scard('split')) === 3, 10_000);
  for (const c of [c1, c3]) await c.call('CONSISTENCY', '1', '1');
  const hung: RingkvNode[] = [];
  const hang = (nodes: RingkvNode[]) => {
    for (const node of nodes) {
      process.kill(node.pid!, 'SIGSTOP');
      hung.push(node);
    }
  };
  const resumeAll = () => {
    for (const node of hung.splice(0)) if (node.alive) process.kill(node.pid!, 'SIGCONT');
  };
  t.teardown(resumeAll);
  // Side one (n3 hung): n1 removes "contested" and "removed", adds "one".
  hang([n3]);
  t.is(await c1.srem('split', 'contested', 'removed'), 2);
  t.is(await c1.sadd('split', 'one'), 1);
  resumeAll();
  // Side two (n1, n2 hung): n3, which may have missed side one, adds "contested" again and "three".
  hang([n1, n2]);
  await c3.sadd('split', 'contested', 'three');
  resumeAll();
  await fixture.cluster.waitConverged(3, 30_000);
  for (const c of [c1, c3]) await c.call('CONSISTENCY', '3', '3');
  const expected = JSON.stringify(['contested', 'kept', 'one', 'three']);
  t.true(await eventually(async () => JSON.stringify(await c1.smembers('split')) === expected && JSON.stringify(await c3.smembers('split')) === expected, 20_000),
    `SMEMBERS shows ${JSON.stringify(await c1.smembers('split'))}, expected ${expected}`);
  // The next write merges the sides' versions into one.
  await c1.sadd('split', 'kept');
  t.is((await c3.call('SIBLINGS', 'split') as string[]).length, 1);
});
