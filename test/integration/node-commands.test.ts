// A single real node driven the way users drive Redis: ioredis with its
// default RESP3, ioredis with RESP2, and redis-cli. Each test uses its own keys.

import test from 'ava';
import type { Redis } from 'ioredis';
import { startNode, type RingkvNode } from '../helpers/cluster.js';

let node: RingkvNode;
let resp3: Redis;
let resp2: Redis;

test.before(async () => {
  node = await startNode();
  resp3 = node.client();
  resp2 = node.client({ protocol: 2 });
});

test.after.always(async () => {
  await node?.cleanup();
});

for (const protocol of [3, 2] as const) {
  const client = () => (protocol === 3 ? resp3 : resp2);
  const k = (name: string) => `p${protocol}:${name}`;

  test(`resp${protocol} › SET/GET/DEL/EXISTS round-trip`, async (t) => {
    const c = client();
    t.is(await c.set(k('a'), 'hello'), 'OK');
    t.is(await c.get(k('a')), 'hello');
    t.is(await c.exists(k('a'), k('missing'), k('a')), 2);
    t.is(await c.del(k('a'), k('missing')), 1);
    t.is(await c.get(k('a')), null);
    t.is(await c.exists(k('a')), 0);
  });

  test(`resp${protocol} › binary-safe keys and values`, async (t) => {
    const c = client();
    const key = Buffer.from([0, 13, 10, 255, 1]);
    const value = Buffer.from([255, 0, 13, 10, 0, 7]);
    t.is(await c.set(key, value), 'OK');
    t.deepEqual(await c.getBuffer(key), value);
  });

  test(`resp${protocol} › SET options NX XX GET KEEPTTL EX PX`, async (t) => {
    const c = client();
    t.is(await c.set(k('nx'), '1', 'NX'), 'OK');
    t.is(await c.set(k('nx'), '2', 'NX'), null);
    t.is(await c.set(k('xx-missing'), '1', 'XX'), null);
    t.is(await c.set(k('nx'), '3', 'XX'), 'OK');
    t.is(await c.get(k('nx')), '3');
    t.is(await c.set(k('nx'), '4', 'GET'), '3');
    t.is(await c.set(k('ttl'), 'v', 'EX', 100), 'OK');
    const ttl = await c.ttl(k('ttl'));
    t.true(ttl > 95 && ttl <= 100, `ttl ${ttl}`);
    t.is(await c.set(k('ttl'), 'w', 'KEEPTTL'), 'OK');
    t.true((await c.pttl(k('ttl'))) > 90_000);
    t.is(await c.set(k('ttl'), 'x'), 'OK');
    t.is(await c.ttl(k('ttl')), -1);
    t.is(await c.ttl(k('never')), -2);
    await t.throwsAsync(c.set(k('bad'), 'v', 'EX', 0), { message: "ERR invalid expire time in 'set' command" });
    await t.throwsAsync(c.call('SET', k('bad'), 'v', 'NX', 'XX'), { message: 'ERR syntax error' });
    await t.throwsAsync(c.set(k('bad'), 'v', 'EX', 'abc'), { message: 'ERR value is not an integer or out of range' });
    t.is(await c.exists(k('bad')), 0);
  });

  test(`resp${protocol} › expiry reads as missing`, async (t) => {
    const c = client();
    await c.set(k('short'), 'v', 'PX', 50);
    await new Promise((r) => setTimeout(r, 120));
    t.is(await c.get(k('short')), null);
    t.is(await c.exists(k('short')), 0);
    t.is(await c.ttl(k('short')), -2);
  });

  test(`resp${protocol} › EXPIRE family, PERSIST, TTL`, async (t) => {
    const c = client();
    await c.set(k('e'), 'v');
    t.is(await c.expire(k('e'), 100), 1);
    t.is(await c.expire(k('e'), 200, 'NX'), 0);
    t.is(await c.expire(k('e'), 200, 'GT'), 1);
    t.true((await c.ttl(k('e'))) > 150);
    t.is(await c.persist(k('e')), 1);
    t.is(await c.persist(k('e')), 0);
    t.is(await c.ttl(k('e')), -1);
    t.is(await c.pexpireat(k('e'), Date.now() + 60_000), 1);
    t.true((await c.pttl(k('e'))) > 50_000);
    t.is(await c.expireat(k('e'), Math.floor(Date.now() / 1000) + 100), 1);
    t.is(await c.expire(k('missing'), 10), 0);
    t.is(await c.expire(k('e'), -1), 1);
    t.is(await c.get(k('e')), null);
  });

  test(`resp${protocol} › string family`, async (t) => {
    const c = client();
    t.is(await c.append(k('s'), 'Hello'), 5);
    t.is(await c.append(k('s'), ' World'), 11);
    t.is(await c.strlen(k('s')), 11);
    t.is(await c.getrange(k('s'), 0, 4), 'Hello');
    t.is(await c.getrange(k('s'), -5, -1), 'World');
    t.is(await c.setrange(k('s'), 6, 'Redis'), 11);
    t.is(await c.get(k('s')), 'Hello Redis');
    t.is(await c.setrange(k('pad'), 3, 'x'), 4);
    t.deepEqual(await c.getBuffer(k('pad')), Buffer.from([0, 0, 0, 0x78]));
    t.is(await c.getset(k('s'), 'new'), 'Hello Redis');
    t.is(await c.getdel(k('s')), 'new');
    t.is(await c.get(k('s')), null);
    t.is(await c.setnx(k('snx'), 'a'), 1);
    t.is(await c.setnx(k('snx'), 'b'), 0);
    t.is(await c.setex(k('sx'), 100, 'v'), 'OK');
    t.true((await c.ttl(k('sx'))) > 90);
    t.is(await c.psetex(k('psx'), 100_000, 'v'), 'OK');
    t.true((await c.pttl(k('psx'))) > 90_000);
    t.is(await c.getex(k('psx'), 'PERSIST'), 'v');
    t.is(await c.ttl(k('psx')), -1);
    t.is(await c.getex(k('psx'), 'EX', 50), 'v');
    t.true((await c.ttl(k('psx'))) > 40);
    t.is(await c.type(k('psx')), 'string');
    t.is(await c.type(k('nothing')), 'none');
    await t.throwsAsync(c.setrange(k('s'), -1, 'x'), { message: 'ERR offset is out of range' });
  });

  test(`resp${protocol} › MSET/MGET/UNLINK`, async (t) => {
    const c = client();
    t.is(await c.mset(k('m1'), 'a', k('m2'), 'b'), 'OK');
    t.deepEqual(await c.mget(k('m1'), k('m2'), k('m3')), ['a', 'b', null]);
    t.is(await c.unlink(k('m1'), k('m2')), 2);
    await t.throwsAsync(c.call('MSET', k('m1'), 'a', k('m2')), { message: "ERR wrong number of arguments for 'mset' command" });
  });

  test(`resp${protocol} › pipelines keep order and see their own writes`, async (t) => {
    const c = client();
    const p = c.pipeline();
    for (let i = 0; i < 200; i++) {
      p.set(k('pipe'), String(i));
      p.get(k('pipe'));
      p.append(k('pipe-append'), 'x');
    }
    const results = (await p.exec())!;
    for (let i = 0; i < 200; i++) {
      t.deepEqual(results[i * 3], [null, 'OK']);
      t.deepEqual(results[i * 3 + 1], [null, String(i)]);
      t.deepEqual(results[i * 3 + 2], [null, i + 1]);
    }
  });
}

test('CONSISTENCY shows, sets, validates and resets', async (t) => {
  const c = node.client();
  t.deepEqual(await c.call('CONSISTENCY'), ['n', 1, 'r', 1, 'w', 1, 'strict', 0]);
  t.deepEqual(await node.client({ protocol: 2 }).call('CONSISTENCY'), ['n', 1, 'r', 1, 'w', 1, 'strict', 0]);
  await t.throwsAsync(c.call('CONSISTENCY', '2', '1'), { message: 'ERR R and W must be integers between 1 and N (1)' });
  await t.throwsAsync(c.call('CONSISTENCY', '0', '1'), { message: 'ERR R and W must be integers between 1 and N (1)' });
  t.is(await c.call('CONSISTENCY', '1', '1'), 'OK');
  t.is(await c.call('CONSISTENCY', 'DEFAULT'), 'OK');
});

test('server commands: HELLO, CLIENT, SELECT, INFO, CONFIG, COMMAND, TIME, ECHO', async (t) => {
  const c = node.client({ protocol: 2 });
  const hello = (await c.call('HELLO', '3')) as unknown[];
  t.true(Array.isArray(hello) || typeof hello === 'object');
  await t.throwsAsync(c.call('HELLO', '4'), { message: 'NOPROTO unsupported protocol version' });
  t.is(await c.call('CLIENT', 'SETNAME', 'tester'), 'OK');
  t.is(await c.call('CLIENT', 'GETNAME'), 'tester');
  t.is(typeof (await c.call('CLIENT', 'ID')), 'number');
  t.regex(String(await c.call('CLIENT', 'LIST')), /name=tester/);
  await t.throwsAsync(c.call('CLIENT', 'SETNAME', 'has space'), { message: 'ERR Client names cannot contain spaces, newlines or special characters.' });
  t.is(await c.call('SELECT', '0'), 'OK');
  await t.throwsAsync(c.call('SELECT', '1'), { message: 'ERR DB index is out of range' });
  const info = String(await c.call('INFO'));
  t.regex(info, /^# Server\r\n/);
  t.regex(info, /\r\nredis_version:\d+\.\d+\.\d+\r\n/);
  t.regex(info, /\r\nloading:0\r\n/);
  t.regex(info, /\r\nrole:master\r\n/);
  t.regex(info, /# Cluster\r\n/);
  t.regex(String(await c.call('INFO', 'cluster')), /^# Cluster\r\ncluster_enabled:0/);
  t.deepEqual(await c.call('CONFIG', 'GET', 'databases'), ['databases', '1']);
  t.deepEqual(await c.call('CONFIG', 'GET', 'no-such-thing'), []);
  t.true((await c.call('COMMAND', 'COUNT')) as number > 40);
  const [getInfo] = (await c.call('COMMAND', 'INFO', 'get')) as unknown[][];
  t.deepEqual(getInfo!.slice(0, 2), ['get', 2]);
  const time = (await c.call('TIME')) as string[];
  t.true(Math.abs(Number(time[0]) - Date.now() / 1000) < 5);
  t.is(await c.call('ECHO', 'hi'), 'hi');
});

test('Redis error strings for unknown commands and arity', async (t) => {
  const c = node.client();
  await t.throwsAsync(c.call('FOO', 'a', 'b'), { message: "ERR unknown command 'FOO', with args beginning with: 'a' 'b' " });
  await t.throwsAsync(c.call('GET'), { message: "ERR wrong number of arguments for 'get' command" });
  await t.throwsAsync(c.call('GET', 'a', 'b'), { message: "ERR wrong number of arguments for 'get' command" });
  await t.throwsAsync(c.call('CLIENT', 'NOPE'), { message: "ERR unknown subcommand 'NOPE'. Try CLIENT HELP." });
  await t.throwsAsync(c.call('GETRANGE', 'k', 'x', '1'), { message: 'ERR value is not an integer or out of range' });
  await t.throwsAsync(c.call('SCAN', 'abc'), { message: 'ERR invalid cursor' });
});

test('KEYS, SCAN and DBSIZE see the keyspace once', async (t) => {
  const c = node.client();
  const keys = Array.from({ length: 50 }, (_, i) => `scan:${i}`);
  await c.mset(...keys.flatMap((k) => [k, 'v']));
  const listed = (await c.keys('scan:*')).sort();
  t.deepEqual(listed, [...keys].sort());
  const seen = new Set<string>();
  let cursor = '0';
  let pages = 0;
  do {
    const [next, batch] = await c.scan(cursor, 'MATCH', 'scan:*', 'COUNT', 7);
    batch.forEach((k) => seen.add(k));
    cursor = next;
    pages++;
  } while (cursor !== '0' && pages < 1000);
  t.deepEqual([...seen].sort(), [...keys].sort());
  t.true(pages > 1);
  t.true((await c.dbsize()) >= 50);
  t.deepEqual((await c.keys('scan:1?')).sort(), keys.filter((k) => /^scan:1\d$/.test(k)).sort());
});

test('redis-cli speaks to the node', async (t) => {
  t.is((await node.cli('SET', 'cli:key', 'a b')).trim(), 'OK');
  t.is((await node.cli('GET', 'cli:key')).trim(), 'a b');
  t.is((await node.cli('--no-raw', 'GET', 'cli:missing')).trim(), '(nil)');
  t.regex(await node.cli('INFO', 'server'), /redis_version:/);
  t.regex(await node.cli('NOSUCH'), /ERR unknown command 'NOSUCH'/);
  t.is((await node.cli('PING')).trim(), 'PONG');
});
