// The keyspace and bitmap commands of issue 11 through real nodes, as Redis
// users drive them: ioredis (RESP3 and RESP2) and redis-cli against one node,
// then a 3-node cluster (N=3, R=2, W=2) for the commands that span keys,
// writing through one node and reading through the others. Replies and
// errors are Redis 7's (the differential test compares them with
// redis-server itself); here each command's effect is checked too, and that
// bad input changes nothing.

import test from 'ava';
import type { Redis } from 'ioredis';
import { startCluster, startNode, type Cluster, type RingkvNode } from '../helpers/cluster.js';

let node: RingkvNode;
let cluster: Cluster;

test.before(async () => {
  [node, cluster] = await Promise.all([startNode(), startCluster({ nodes: 3, n: 3, r: 2, w: 2 })]);
});

test.after.always(async () => {
  await Promise.all([node?.cleanup(), cluster?.cleanup()]);
});

for (const protocol of [3, 2] as const) {
  const k = (name: string) => `ks${protocol}:${name}`;
  const client = (): Redis => node.client({ protocol });

  test(`one node › resp${protocol} › RENAME and RENAMENX move the value and its expiry; errors change nothing`, async (t) => {
    const c = client();
    await c.set(k('a'), 'v1', 'EX', 100);
    t.is(await c.rename(k('a'), k('b')), 'OK');
    t.is(await c.get(k('a')), null);
    t.is(await c.get(k('b')), 'v1');
    t.true((await c.ttl(k('b'))) > 90);
    await t.throwsAsync(c.rename(k('a'), k('c')), { message: 'ERR no such key' });
    t.is(await c.exists(k('c')), 0);
    await c.set(k('d'), 'other');
    t.is(await c.renamenx(k('b'), k('d')), 0);
    t.is(await c.get(k('b')), 'v1');
    t.is(await c.get(k('d')), 'other');
    t.is(await c.renamenx(k('b'), k('e')), 1);
    t.is(await c.get(k('e')), 'v1');
    t.is(await c.rename(k('e'), k('e')), 'OK');
    t.is(await c.renamenx(k('e'), k('e')), 0);
    t.is(await c.get(k('e')), 'v1');
    // RENAME over an existing key replaces its value and drops its expiry for the source's (none).
    await c.set(k('f'), 'plain');
    await c.set(k('g'), 'old', 'EX', 100);
    t.is(await c.rename(k('f'), k('g')), 'OK');
    t.is(await c.get(k('g')), 'plain');
    t.is(await c.ttl(k('g')), -1);
  });

  test(`one node › resp${protocol} › COPY with and without REPLACE, DB 0 only`, async (t) => {
    const c = client();
    await c.set(k('src'), 'x', 'PX', 100_000);
    t.is(await c.copy(k('src'), k('dst')), 1);
    t.is(await c.get(k('dst')), 'x');
    t.true((await c.pttl(k('dst'))) > 90_000);
    await c.set(k('src'), 'y');
    t.is(await c.copy(k('src'), k('dst')), 0);
    t.is(await c.get(k('dst')), 'x');
    t.is(await c.call('COPY', k('src'), k('dst'), 'REPLACE'), 1);
    t.is(await c.get(k('dst')), 'y');
    t.is(await c.ttl(k('dst')), -1);
    t.is(await c.call('COPY', k('src'), k('dst2'), 'DB', '0'), 1);
    await t.throwsAsync(c.call('COPY', k('src'), k('dst3'), 'DB', '1'), { message: 'ERR DB index is out of range' });
    await t.throwsAsync(c.call('COPY', k('src'), k('src')), { message: 'ERR source and destination objects are the same' });
    await t.throwsAsync(c.call('COPY', k('src'), k('dst3'), 'NOPE'), { message: 'ERR syntax error' });
    t.is(await c.exists(k('dst3')), 0);
    t.is(await c.copy(k('missing'), k('dst3')), 0);
  });

  test(`one node › resp${protocol} › MSETNX sets all or none; a repeated key takes its last value`, async (t) => {
    const c = client();
    t.is(await c.msetnx(k('m1'), 'a', k('m2'), 'b'), 1);
    t.deepEqual(await c.mget(k('m1'), k('m2')), ['a', 'b']);
    t.is(await c.msetnx(k('m2'), 'x', k('m3'), 'y'), 0);
    t.deepEqual(await c.mget(k('m2'), k('m3')), ['b', null]);
    t.is(await c.msetnx(k('m4'), '1', k('m4'), '2'), 1);
    t.is(await c.get(k('m4')), '2');
    await t.throwsAsync(c.call('MSETNX', k('m5'), 'a', k('m6')), { message: "ERR wrong number of arguments for 'msetnx' command" });
    t.is(await c.exists(k('m5')), 0);
  });

  test(`one node › resp${protocol} › TOUCH, EXPIRETIME, PEXPIRETIME, WAIT`, async (t) => {
    const c = client();
    await c.set(k('t1'), 'v');
    await c.call('SET', k('t2'), 'v', 'PXAT', '4102444800123');
    t.is(await c.touch(k('t1'), k('t2'), k('none')), 2);
    t.is(await c.call('EXPIRETIME', k('t1')), -1);
    t.is(await c.call('EXPIRETIME', k('none')), -2);
    t.is(await c.call('PEXPIRETIME', k('t2')), 4102444800123);
    t.is(await c.call('EXPIRETIME', k('t2')), 4102444800);
    t.is(await c.call('WAIT', '0', '0'), 0);
    t.is(await c.call('WAIT', '3', '100'), 0, 'W=1: no other copies, and no blocking');
    await t.throwsAsync(c.call('WAIT', '1', '-1'), { message: 'ERR timeout is negative' });
  });

  test(`one node › resp${protocol} › SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP`, async (t) => {
    const c = client();
    t.is(await c.setbit(k('bits'), 7, 1), 0);
    t.is(await c.setbit(k('bits'), 7, 1), 1);
    t.is(await c.getbit(k('bits'), 7), 1);
    t.is(await c.getbit(k('bits'), 1000), 0);
    t.is(await c.get(k('bits')), '\x01');
    await t.throwsAsync(c.setbit(k('bits'), 0, 2), { message: 'ERR bit is not an integer or out of range' });
    await t.throwsAsync(c.setbit(k('bits'), -1, 1), { message: 'ERR bit offset is not an integer or out of range' });
    t.is(await c.get(k('bits')), '\x01', 'bad input changed nothing');
    await c.set(k('s'), 'foobar');
    t.is(await c.bitcount(k('s')), 26);
    t.is(await c.bitcount(k('s'), 1, 1), 6);
    t.is(await c.call('BITCOUNT', k('s'), '5', '30', 'BIT'), 17);
    t.is(await c.bitpos(k('s'), 1), 1);
    t.is(await c.call('BITPOS', k('s'), '0', '7', '15', 'BIT'), 7);
    t.is(await c.bitpos(k('none'), 0), 0);
    t.is(await c.bitpos(k('none'), 1), -1);
    await c.set(k('b1'), 'abc');
    t.is(await c.bitop('AND', k('and'), k('s'), k('b1')), 6);
    t.deepEqual(await c.getBuffer(k('and')), Buffer.from([0x66 & 0x61, 0x6f & 0x62, 0x6f & 0x63, 0, 0, 0]));
    t.is(await c.bitop('NOT', k('not'), k('b1')), 3);
    t.deepEqual(await c.getBuffer(k('not')), Buffer.from([0x9e, 0x9d, 0x9c]));
    await c.set(k('dest'), 'x');
    t.is(await c.bitop('OR', k('dest'), k('none'), k('none2')), 0);
    t.is(await c.exists(k('dest')), 0, 'an empty result deletes the destination');
    await t.throwsAsync(c.call('BITOP', 'NOT', k('x'), k('s'), k('b1')), { message: 'ERR BITOP NOT must be called with a single source key.' });
  });

  test(`one node › resp${protocol} › BITFIELD and BITFIELD_RO`, async (t) => {
    const c = client();
    t.deepEqual(await c.call('BITFIELD', k('bf'), 'SET', 'i8', '0', '100', 'INCRBY', 'i8', '0', '100', 'GET', 'u8', '0'), [0, -56, 200]);
    t.deepEqual(await c.call('BITFIELD', k('bf'), 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', '0', '100', 'OVERFLOW', 'SAT', 'INCRBY', 'u8', '0', '100'), [null, 255]);
    t.deepEqual(await c.call('BITFIELD', k('bf'), 'SET', 'i64', '#1', '-9223372036854775808', 'GET', 'i64', '#1'), [0, -9223372036854775808]);
    t.deepEqual(await c.call('BITFIELD_RO', k('bf'), 'GET', 'u8', '0'), [255]);
    await t.throwsAsync(c.call('BITFIELD_RO', k('bf'), 'SET', 'u8', '0', '1'), { message: 'ERR BITFIELD_RO only supports the GET subcommand' });
    await t.throwsAsync(c.call('BITFIELD', k('bf'), 'SET', 'u64', '0', '1'), { message: /^ERR Invalid bitfield type/ });
    t.deepEqual(await c.call('BITFIELD_RO', k('bf'), 'GET', 'u8', '0'), [255], 'bad input changed nothing');
  });

  test(`one node › resp${protocol} › LCS with LEN, IDX, MINMATCHLEN, WITHMATCHLEN`, async (t) => {
    const c = client();
    await c.mset(k('l1'), 'ohmytext', k('l2'), 'mynewtext');
    t.is(await c.call('LCS', k('l1'), k('l2')), 'mytext');
    t.is(await c.call('LCS', k('l1'), k('l2'), 'LEN'), 6);
    const idx = (await c.call('LCS', k('l1'), k('l2'), 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN')) as unknown;
    const expectedMatches = [[[4, 7], [5, 8], 4]];
    if (Array.isArray(idx)) t.deepEqual(idx, ['matches', expectedMatches, 'len', 6]);
    else t.deepEqual(idx, { matches: expectedMatches, len: 6 });
    await t.throwsAsync(c.call('LCS', k('l1'), k('l2'), 'LEN', 'IDX'), { message: 'ERR If you want both the length and indexes, please just use IDX.' });
  });

  test(`one node › resp${protocol} › OBJECT, DUMP, RESTORE`, async (t) => {
    const c = client();
    await c.set(k('o1'), '123');
    await c.set(k('o2'), 'hello');
    await c.set(k('o3'), 'x'.repeat(45));
    t.is(await c.call('OBJECT', 'ENCODING', k('o1')), 'int');
    t.is(await c.call('OBJECT', 'REFCOUNT', k('o1')), 2147483647);
    t.is(await c.call('OBJECT', 'ENCODING', k('o2')), 'embstr');
    t.is(await c.call('OBJECT', 'ENCODING', k('o3')), 'raw');
    t.is(await c.call('OBJECT', 'IDLETIME', k('o2')), 0);
    t.is(await c.call('OBJECT', 'ENCODING', k('none')), null);
    await t.throwsAsync(c.call('OBJECT', 'FREQ', k('o2')), { message: /^ERR An LFU maxmemory policy is not selected/ });
    const help = (await c.call('OBJECT', 'HELP')) as string[];
    t.is(help[0], 'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    const payload = await c.dumpBuffer(k('o2'));
    t.is(payload.subarray(0, 6).toString(), 'RINGKV');
    t.is(await c.restore(k('r1'), 0, payload), 'OK');
    t.is(await c.get(k('r1')), 'hello');
    await t.throwsAsync(c.restore(k('r1'), 0, payload), { message: 'BUSYKEY Target key name already exists.' });
    t.is(await c.restore(k('r1'), 50_000, payload, 'REPLACE'), 'OK');
    t.true((await c.pttl(k('r1'))) > 40_000);
    const redisPayload = Buffer.from([0x00, 0xc0, 0x01, 0x0a, 0x00, 0x26, 0x78, 0xe7, 0xb6, 0xd1, 0x01, 0x11, 0xfc]);
    await t.throwsAsync(c.restore(k('r2'), 0, redisPayload), { message: /^ERR DUMP payload is in Redis's RDB format/ });
    const corrupt = Buffer.from(payload);
    corrupt[9] ^= 1;
    await t.throwsAsync(c.restore(k('r2'), 0, corrupt), { message: 'ERR DUMP payload version or checksum are wrong' });
    t.is(await c.exists(k('r2')), 0);
    t.is(await c.call('RESTORE', k('r1'), '1', payload, 'REPLACE', 'ABSTTL'), 'OK');
    t.is(await c.exists(k('r1')), 0, 'a TTL already past with REPLACE removes the old value');
  });
}

test('one node › RANDOMKEY: nil on an empty keyspace, else a live key, every key in time', async (t) => {
  // A node of its own: the other tests change the shared node's keyspace meanwhile.
  const own = await startNode();
  try {
    const c = own.client();
    t.is(await c.randomkey(), null);
    const keys = ['rk:a', 'rk:b', 'rk:c', 'rk:d'];
    for (const key of keys) await c.set(key, 'v');
    await c.set('rk:gone', 'v', 'PX', 1);
    await c.del('rk:d');
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 3; i++) seen.add((await c.randomkey())!);
    t.deepEqual([...seen].sort(), ['rk:a', 'rk:b', 'rk:c'], 'deleted and expired keys are never returned');
  } finally {
    await own.cleanup();
  }
});

test('one node › redis-cli › CLIENT HELP, COMMAND HELP, OBJECT HELP and the new commands as redis-cli shows them', async (t) => {
  const clientHelp = await node.cli('CLIENT', 'HELP');
  t.true(clientHelp.startsWith('CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n'));
  t.true(clientHelp.includes('SETNAME <name>\n    Assign the name <name> to the current connection.\n'));
  t.true((await node.cli('COMMAND', 'HELP')).includes('DOCS [<command-name> ...]\n'));
  t.true((await node.cli('OBJECT', 'HELP')).includes('REFCOUNT <key>\n'));
  t.is((await node.cli('CLIENT', 'HELP', 'x')).trim(), "ERR wrong number of arguments for 'client|help' command");
  t.is((await node.cli('SET', 'cli:bits', 'foobar')).trim(), 'OK');
  t.is((await node.cli('BITCOUNT', 'cli:bits', '1', '1')).trim(), '6');
  t.is((await node.cli('RENAME', 'cli:bits', 'cli:bits2')).trim(), 'OK');
  t.is((await node.cli('--no-raw', 'LCS', 'cli:bits2', 'cli:none', 'IDX')).trim(), '1) "matches"\n2) (empty array)\n3) "len"\n4) (integer) 0');
  t.is((await node.cli('--no-raw', 'BITFIELD', 'cli:bits2', 'GET', 'i64', '0')).trim(), '1) (integer) 7381240782615871488');
});

// --- a 3-node cluster: written through one node, read through the others ----

test('cluster › RENAME, RENAMENX, COPY and MSETNX written through one node read the same through every node', async (t) => {
  const [c1, c2, c3] = cluster.nodes.map((n) => n.client());
  await c1!.set('cl:src', 'v', 'EX', 100);
  t.is(await c1!.rename('cl:src', 'cl:dst'), 'OK');
  for (const c of [c2!, c3!]) {
    t.is(await c.get('cl:src'), null);
    t.is(await c.get('cl:dst'), 'v');
    t.true((await c.ttl('cl:dst')) > 90);
  }
  t.is(await c2!.renamenx('cl:dst', 'cl:dst2'), 1);
  t.is(await c3!.copy('cl:dst2', 'cl:copy'), 1);
  t.deepEqual(await c1!.mget('cl:dst', 'cl:dst2', 'cl:copy'), [null, 'v', 'v']);
  t.is(await c1!.msetnx('cl:m1', '1', 'cl:m2', '2'), 1);
  t.is(await c2!.msetnx('cl:m2', 'x', 'cl:m3', 'y'), 0);
  t.deepEqual(await c3!.mget('cl:m1', 'cl:m2', 'cl:m3'), ['1', '2', null]);
  // RANDOMKEY walks the cluster-wide keyspace: any node returns a live key.
  for (const c of [c1!, c2!, c3!]) {
    const key = await c.randomkey();
    t.true(key !== null && (await c.exists(key)) === 1, `RANDOMKEY gave ${key}`);
  }
});

test('cluster › BITOP and LCS read their sources on any node; SETBIT and BITFIELD keep the expiry; WAIT answers W-1', async (t) => {
  const [c1, c2, c3] = cluster.nodes.map((n) => n.client());
  await c1!.mset('cl:a', 'foobar', 'cl:b', 'abcdef');
  t.is(await c2!.bitop('XOR', 'cl:x', 'cl:a', 'cl:b'), 6);
  const expected = Buffer.from('foobar').map((byte, i) => byte ^ 'abcdef'.charCodeAt(i));
  t.deepEqual(await c3!.getBuffer('cl:x'), Buffer.from(expected));
  t.is(await c3!.call('LCS', 'cl:a', 'cl:b'), 'a', 'as redis-server answers');
  await c1!.set('cl:bits', 'x', 'EX', 100);
  t.is(await c2!.setbit('cl:bits', 0, 1), 0);
  t.deepEqual(await c3!.call('BITFIELD', 'cl:bits', 'INCRBY', 'u8', '0', '1'), [0xf9]);
  t.true((await c1!.ttl('cl:bits')) > 90);
  t.is(await c1!.call('WAIT', '2', '0'), 1, 'W=2: one copy besides the coordinator\'s');
  const payload = await c1!.dumpBuffer('cl:a');
  t.is(await c2!.restore('cl:restored', 0, payload), 'OK');
  t.is(await c3!.get('cl:restored'), 'foobar');
});
