// Hashes with real processes (issue 12): the hash commands through ioredis
// (RESP2 and RESP3) and redis-cli on one node, and on a 3-node cluster
// increments through every coordinator at once that all count, and HSETs,
// HDELs and increments made through different coordinators while the others
// are hung (SIGSTOP, W=1) that converge once everyone is back: different
// fields all stay, increments all count, a field set on both sides shows
// one value everywhere and both in HSIBLINGS until an HSET resolves it.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { rawResp3 } from '../helpers/raw-resp.js';
import { eventually, type RingkvNode } from '../helpers/cluster.js';
import { nodeAndCluster } from '../helpers/fixtures.js';

const fixture = nodeAndCluster(test);

test.serial('hashes › one node: the hash commands answer as Redis, through ioredis (RESP2 and RESP3) and redis-cli', async (t) => {
  const c = fixture.node.client({ protocol: 2 });
  t.is(await c.hset('h', 'a', '1', 'b', '2'), 2);
  t.is(await c.hset('h', 'b', '3', 'c', '4'), 1);
  t.is(await c.hmset('h', 'd', '5'), 'OK');
  t.is(await c.hsetnx('h', 'a', 'x'), 0);
  t.is(await c.hsetnx('h', 'e', 'x'), 1);
  t.is(await c.hget('h', 'b'), '3');
  t.deepEqual(await c.hmget('h', 'a', 'zz'), ['1', null]);
  t.deepEqual(await c.hgetall('h'), { a: '1', b: '3', c: '4', d: '5', e: 'x' });
  t.is(await c.hdel('h', 'e', 'zz'), 1);
  t.is(await c.hlen('h'), 4);
  t.is(await c.hexists('h', 'a'), 1);
  t.deepEqual(await c.hkeys('h'), ['a', 'b', 'c', 'd']);
  t.deepEqual(await c.hvals('h'), ['1', '3', '4', '5']);
  t.is(await c.hstrlen('h', 'a'), 1);
  t.is(await c.hincrby('h', 'a', 41), 42);
  t.is(await c.hincrbyfloat('h', 'a', '0.5'), '42.5');
  await t.throwsAsync(c.hincrby('h', 'a', 1), { message: 'ERR hash value is not an integer' });
  await c.hset('h', 'word', 'abc');
  await t.throwsAsync(c.hincrbyfloat('h', 'word', '1'), { message: 'ERR hash value is not a float' });
  t.is(await c.type('h'), 'hash');
  t.is(await c.object('ENCODING', 'h'), 'listpack');
  t.deepEqual(await c.hscan('h', 0, 'MATCH', '[ab]'), ['0', ['a', '42.5', 'b', '3']]);
  t.deepEqual(await c.call('HSIBLINGS', 'h', 'b'), ['3']);
  await c.set('str', 'v');
  await t.throwsAsync(c.hset('str', 'a', '1'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  await t.throwsAsync(c.get('h'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  t.is(await c.hdel('h', 'a', 'b', 'c', 'd', 'word'), 5);
  t.is(await c.exists('h'), 0);
  const r3 = fixture.node.client({ protocol: 3 });
  await r3.hset('h3', 'f', 'v');
  t.deepEqual(await r3.hgetall('h3'), { f: 'v' });
  const raw = await rawResp3(fixture.node.port, [['HGETALL', 'h3'], ['HRANDFIELD', 'h3', '1', 'WITHVALUES']]);
  t.true(raw.endsWith('%1\r\n$1\r\nf\r\n$1\r\nv\r\n*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n'), JSON.stringify(raw));
  const cli = spawnSync('redis-cli', ['-p', String(fixture.node.port), 'HGETALL', 'h3'], { encoding: 'utf8' });
  if (cli.status === 0) t.deepEqual(cli.stdout.trim().split('\n'), ['f', 'v']);
});

test.serial('hashes › a 3-node cluster: HINCRBY through every node at once all count', async (t) => {
  const clients = fixture.cluster.nodes.map((n) => n.client({ protocol: 2 }));
  const perClient = 40;
  await Promise.all(clients.map(async (c, i) => {
    for (let j = 0; j < perClient; j++) {
      await c.hincrby('stats', 'hits', 1);
      await c.hset('stats', `from-${i}`, String(j));
    }
  }));
  for (const c of clients) {
    t.is(await c.hget('stats', 'hits'), String(3 * perClient));
    t.is(await c.hlen('stats'), 4);
  }
});

test.serial('hashes › writes through different coordinators while the others are hung (W=1): fields and increments all stay; a field conflict shows and resolves', async (t) => {
  const [n1, n2, n3] = fixture.cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  const [c1, c3] = [n1.client({ protocol: 2 }), n3.client({ protocol: 2 })];
  await c1.hset('split', 'n', '100', 'f', 'start', 'gone', 'x');
  await eventually(async () => (await c3.hlen('split')) === 3, 10_000);
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
  hang([n3]);
  for (let i = 0; i < 5; i++) await c1.hincrby('split', 'n', 2);
  await c1.hset('split', 'f', 'one', 'left', 'L');
  await c1.hdel('split', 'gone');
  resumeAll();
  hang([n1, n2]);
  for (let i = 0; i < 3; i++) await c3.hincrby('split', 'n', 10);
  await c3.hset('split', 'f', 'three', 'right', 'R');
  resumeAll();
  await fixture.cluster.waitConverged(3, 30_000);
  for (const c of [c1, c3]) await c.call('CONSISTENCY', '3', '3');
  const settled = async () => {
    const [a, b] = [await c1.hgetall('split'), await c3.hgetall('split')];
    return JSON.stringify(a) === JSON.stringify(b) && a.n === '140' && a.left === 'L' && a.right === 'R' && a.gone === undefined;
  };
  t.true(await eventually(settled, 20_000), `HGETALL shows ${JSON.stringify(await c1.hgetall('split'))}`);
  // Whether n3 saw side one's HSET of f decides if there is a conflict: if there is, HSIBLINGS shows both and HGET the last.
  const values = (await c1.call('HSIBLINGS', 'split', 'f')) as string[];
  t.true(values.length === 1 ? values[0] === 'three' : JSON.stringify([...values].sort()) === JSON.stringify(['one', 'three']), JSON.stringify(values));
  t.is(await c1.hget('split', 'f'), values[values.length - 1]);
  await c1.hset('split', 'f', 'resolved');
  t.deepEqual(await c3.call('HSIBLINGS', 'split', 'f'), ['resolved']);
});
