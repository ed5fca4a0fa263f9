// Counters with real processes (issue 12): the INCR family through ioredis
// and redis-cli on one node and on a 3-node cluster, and increments made
// through different coordinators while others are hung (SIGSTOP, W=1) that
// all count once everyone is back. (A hung node still reads what was queued
// on its sockets when it resumes, so the sides here may meet early; the
// simulation and test/unit/typed-records.test.ts hold true partitions.)
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { eventually, type RingkvNode } from '../helpers/cluster.js';
import { nodeAndCluster } from '../helpers/fixtures.js';

const fixture = nodeAndCluster(test);

test.serial('counters › one node: the INCR family answers as Redis, through ioredis and redis-cli', async (t) => {
  const c = fixture.node.client({ protocol: 2 });
  t.is(await c.incr('n'), 1);
  t.is(await c.incrby('n', 41), 42);
  t.is(await c.decr('n'), 41);
  t.is(await c.decrby('n', 50), -9);
  t.is(await c.incrbyfloat('n', '0.5'), '-8.5');
  await t.throwsAsync(c.incr('n'), { message: 'ERR value is not an integer or out of range' });
  await c.set('s', '10');
  t.is(await c.incr('s'), 11);
  t.is(await c.type('s'), 'string');
  t.is(await c.object('ENCODING', 's'), 'int');
  t.is(await c.append('s', 'x'), 3);
  await t.throwsAsync(c.incr('s'), { message: 'ERR value is not an integer or out of range' });
  await c.set('t', '5', 'EX', '1000');
  t.is(await c.incr('t'), 6);
  t.true((await c.ttl('t')) > 990, 'INCR keeps the TTL');
  t.deepEqual(((await c.call('SCAN', '0', 'TYPE', 'string', 'COUNT', '100')) as [string, string[]])[1].sort(), ['n', 's', 't']);
  t.deepEqual(((await c.call('SCAN', '0', 'TYPE', 'set', 'COUNT', '100')) as [string, string[]])[1], []);
  const cli = spawnSync('redis-cli', ['-p', String(fixture.node.port), 'INCRBYFLOAT', 'f', '10.5'], { encoding: 'utf8' });
  if (cli.status === 0) t.is(cli.stdout.trim(), '10.5');
  t.is(await c.incrbyfloat('f', '0.1'), '10.6');
});

test.serial('counters › a 3-node cluster: increments through every node, concurrently, all count', async (t) => {
  const clients = fixture.cluster.nodes.map((n) => n.client({ protocol: 2 }));
  const perClient = 50;
  await Promise.all(clients.map(async (c) => {
    for (let i = 0; i < perClient; i++) await c.incr('hits');
  }));
  for (const c of clients) t.is(await c.get('hits'), String(3 * perClient));
  t.is(await clients[0]!.type('hits'), 'string');
});

test.serial('counters › increments through different coordinators while the others are hung (W=1) all count once they are back', async (t) => {
  const [n1, n2, n3] = fixture.cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  const [c1, c3] = [n1.client({ protocol: 2 }), n3.client({ protocol: 2 })];
  await c1.set('split', '100');
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
  // Side one: n3 is hung; n1 takes 10 increments of 3.
  hang([n3]);
  for (let i = 0; i < 10; i++) await c1.incrby('split', 3);
  resumeAll();
  // Side two: n1 and n2 are hung; n3, which missed side one, takes 7 increments of 5 from its own view.
  hang([n1, n2]);
  let sideTwo = '';
  for (let i = 0; i < 7; i++) sideTwo = String(await c3.incrby('split', 5));
  resumeAll();
  t.log(`n3's last reply while n1 and n2 were hung: ${sideTwo}`);
  await fixture.cluster.waitConverged(3, 30_000);
  for (const c of [c1, c3]) await c.call('CONSISTENCY', '3', '3');
  const expected = String(100 + 10 * 3 + 7 * 5);
  t.true(await eventually(async () => (await c1.get('split')) === expected && (await c3.get('split')) === expected, 20_000), `GET shows ${await c1.get('split')}, expected ${expected}`);
  // The next INCR merges the sides' versions into one.
  t.is(await c1.incr('split'), Number(expected) + 1);
  t.is((await c3.call('SIBLINGS', 'split') as string[]).length, 1);
});
