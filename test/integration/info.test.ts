// INFO as Redis 7 lays it out, on a real node: the section sets of INFO,
// INFO default, all and everything (checked against redis-server 7.0.15),
// Redis's fields where ringkv has or counts the thing (replication's role and
// offsets, run_id, instantaneous rates), and commandstats, errorstats and
// latencystats after a known sequence of commands, counted as redis-server
// counted the same sequence. ringkv's own sections keep their names.

import test from 'ava';
import { infoNumber, startNode, type RingkvNode } from '../helpers/cluster.js';
import { exchange, multibulk } from '../helpers/resp-server.js';

let node: RingkvNode;

test.before(async () => {
  node = await startNode();
});

test.after.always(async () => {
  await node?.cleanup();
});

function headers(info: string): string[] {
  return info.split('\r\n').filter((line) => line.startsWith('# ')).map((line) => line.slice(2));
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info.replace(/\r/g, ''))?.[1];
}

const defaultSet = ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'Modules', 'Errorstats', 'Cluster', 'AntiEntropy', 'Keyspace'];
const allSet = ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'Modules', 'Commandstats', 'Errorstats', 'Latencystats', 'Cluster', 'AntiEntropy', 'Keyspace'];

test('sections › INFO and INFO default leave out commandstats and latencystats; all and everything show every section, in Redis\'s order', async (t) => {
  const c = node.client({ protocol: 2 });
  t.deepEqual(headers(await c.info()), defaultSet);
  t.deepEqual(headers(await c.info('default')), defaultSet);
  t.deepEqual(headers(await c.info('all')), allSet);
  t.deepEqual(headers(await c.info('everything')), allSet);
  t.deepEqual(headers((await c.call('INFO', 'keyspace', 'Server', 'nosuchsection', 'cluster')) as string), ['Server', 'Cluster', 'Keyspace']);
  t.deepEqual(headers((await c.call('INFO', 'errorstats', 'default')) as string), defaultSet);
  t.deepEqual(headers(await c.info('modules')), ['Modules']);
  t.is(await c.info('nosuchsection'), '');
});

test('fields › replication as a Redis master with no replicas; server\'s run_id, os and uptime; memory in Redis\'s human units', async (t) => {
  const c = node.client({ protocol: 2 });
  const replication = await c.info('replication');
  t.is(field(replication, 'role'), 'master');
  t.is(field(replication, 'connected_slaves'), '0');
  t.is(field(replication, 'master_repl_offset'), '0');
  t.is(field(replication, 'second_repl_offset'), '-1');
  t.regex(field(replication, 'master_replid') ?? '', /^[0-9a-f]{40}$/);
  t.is(field(replication, 'master_replid2'), '0'.repeat(40));
  const server = await c.info('server');
  const runId = field(server, 'run_id') ?? '';
  t.regex(runId, /^[0-9a-f]{40}$/);
  t.not(runId, field(replication, 'master_replid'));
  t.is(field(await c.info('server'), 'run_id'), runId, 'the same for the life of the process');
  t.regex(field(server, 'os') ?? '', /^\S+ \S+ \S+$/);
  t.is(field(server, 'redis_mode'), 'standalone');
  t.is(field(server, 'tcp_port'), String(node.port));
  t.regex(field(server, 'server_time_usec') ?? '', /^\d{16}$/);
  const memory = await c.info('memory');
  t.regex(field(memory, 'used_memory_human') ?? '', /^\d+\.\d{2}[KMG]$/);
  t.is(field(memory, 'maxmemory_human'), '0B');
  t.is(field(await c.info('cluster'), 'cluster_enabled'), '0');
  t.regex(await c.info('cluster'), /^cluster_members_up:1$/m, 'ringkv\'s own cluster fields keep their names');
});

test.serial('stats › commandstats, errorstats and totals count a sequence as redis-server 7.0.15 counted it', async (t) => {
  const c = node.client({ protocol: 2 });
  t.is(await c.config('RESETSTAT'), 'OK');
  // The same bytes sent to redis-server 7.0.15 gave these counts, but for its 'config|resetstat' name.
  const sequence = [
    multibulk('NOSUCHCOMMAND'), multibulk('GET'), multibulk('SET', 'st:a'), multibulk('GET', 'st:a'),
    multibulk('MULTI'), multibulk('SET', 'st:b', '1'), multibulk('SET', 'st:b', '1', 'EX', '0'), multibulk('EXEC'),
    multibulk('MULTI'), multibulk('NOSUCHCOMMAND'), multibulk('EXEC'),
    multibulk('MULTI'), multibulk('SET', 'st:b'), multibulk('EXEC'), multibulk('QUIT'),
  ].join('');
  await exchange(node.port, sequence);
  const info = (await c.info('all')).replace(/usec=\d+,usec_per_call=[\d.]+/g, 'usec=U');
  // Counted before this INFO: CONFIG RESETSTAT and the QUIT.
  t.is(infoNumber(info, 'total_commands_processed'), 11);
  t.is(infoNumber(info, 'total_error_replies'), 8);
  const cmdstats = info.split('\r\n').filter((l) => l.startsWith('cmdstat_')).sort();
  t.deepEqual(cmdstats, [
    'cmdstat_config:calls=1,usec=U,rejected_calls=0,failed_calls=0',
    'cmdstat_exec:calls=3,usec=U,rejected_calls=0,failed_calls=2',
    'cmdstat_get:calls=1,usec=U,rejected_calls=1,failed_calls=0',
    'cmdstat_multi:calls=3,usec=U,rejected_calls=0,failed_calls=0',
    'cmdstat_quit:calls=1,usec=U,rejected_calls=0,failed_calls=0',
    'cmdstat_set:calls=2,usec=U,rejected_calls=2,failed_calls=1',
  ]);
  t.deepEqual(info.split('\r\n').filter((l) => l.startsWith('errorstat_')).sort(), ['errorstat_ERR:count=6', 'errorstat_EXECABORT:count=2']);
  const latency = info.split('\r\n').filter((l) => l.startsWith('latency_percentiles_usec_get:'));
  t.is(latency.length, 1);
  t.regex(latency[0]!, /^latency_percentiles_usec_get:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$/);
  // redis-cli reads the same lines.
  t.regex(await node.cli('INFO', 'commandstats'), /^cmdstat_get:calls=1,usec=\d+,usec_per_call=\d+\.\d{2},rejected_calls=1,failed_calls=0$/m);
});

test.serial('stats › a protocol error counts as an ERR reply, as in Redis', async (t) => {
  const c = node.client({ protocol: 2 });
  await c.config('RESETSTAT');
  await exchange(node.port, '*1\r\n$-10\r\n');
  const info = await c.info('all');
  t.is(infoNumber(info, 'total_error_replies'), 1);
  t.regex(info, /^errorstat_ERR:count=1\r?$/m);
});

test.serial('latencystats › CONFIG SET latency-tracking-info-percentiles and latency-tracking', async (t) => {
  const c = node.client({ protocol: 2 });
  t.teardown(() => node.cli('CONFIG', 'SET', 'latency-tracking', 'yes', 'latency-tracking-info-percentiles', '50 99 99.9').then(() => undefined));
  await c.set('lt:k', 'v');
  t.is(await c.config('SET', 'latency-tracking-info-percentiles', '99.99 0.5 100'), 'OK');
  t.deepEqual(await c.config('GET', 'latency-tracking*'), ['latency-tracking', 'yes', 'latency-tracking-info-percentiles', '99.99 0.5 100']);
  t.regex(await c.info('latencystats'), /^latency_percentiles_usec_set:p99\.99=[\d.]+,p0\.5=[\d.]+,p100=[\d.]+\r?$/m);
  await t.throwsAsync(c.config('SET', 'latency-tracking-info-percentiles', '50 101'), {
    message: "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
  });
  await t.throwsAsync(c.config('SET', 'latency-tracking', 'maybe'), {
    message: "ERR CONFIG SET failed (possibly related to argument 'latency-tracking') - argument must be 'yes' or 'no'",
  });
  t.is(await c.config('SET', 'latency-tracking', 'no'), 'OK');
  t.is(await c.info('latencystats'), '# Latencystats\r\n');
});

test.serial('stats › instantaneous_ops_per_sec and the kbps rates follow the traffic, as Redis samples them', async (t) => {
  const c = node.client({ protocol: 2 });
  const deadline = Date.now() + 800;
  while (Date.now() < deadline) {
    const p = c.pipeline();
    for (let i = 0; i < 200; i++) p.ping();
    await p.exec();
  }
  const stats = await c.info('stats');
  t.true(infoNumber(stats, 'instantaneous_ops_per_sec') > 100, stats);
  t.true(Number(field(stats, 'instantaneous_input_kbps')) > 0);
  t.true(infoNumber(stats, 'total_reads_processed') > 0);
  t.true(infoNumber(stats, 'total_writes_processed') > 0);
});

test.serial('keyspace › keys, expires and avg_ttl as Redis counts them: a delete is no key, an expiry counts until removed', async (t) => {
  const c = node.client({ protocol: 2 });
  await c.flushall();
  await c.set('ks:plain', 'v');
  await c.set('ks:ttl1', 'v', 'EX', 1000);
  await c.set('ks:ttl2', 'v', 'PX', 3_000_000);
  await c.set('ks:gone', 'v');
  await c.del('ks:gone');
  const db0 = () => c.info('keyspace').then((info) => field(info, 'db0'));
  const [keys, expires, avgTtl] = /^keys=(\d+),expires=(\d+),avg_ttl=(\d+)$/.exec((await db0()) ?? '')!.slice(1).map(Number);
  t.is(keys, 3);
  t.is(expires, 2);
  t.true(avgTtl! > 1_990_000 && avgTtl! <= 2_000_000, `avg_ttl ${avgTtl}`);
  await c.persist('ks:ttl1');
  t.regex((await db0()) ?? '', /^keys=3,expires=1,avg_ttl=\d+$/);
  await c.flushall();
  t.is(await db0(), undefined);
});

test.serial('persistence › the group commit counts its batches and writes, and times each batch\'s LevelDB write', async (t) => {
  const c = node.client();
  const field = async (name: string) => infoNumber(await c.info('persistence'), name);
  const before = await field('commit_writes');
  const batchesBefore = await field('commit_batches');
  await Promise.all(Array.from({ length: 200 }, (_, i) => c.set(`commit:${i}`, 'v')));
  const writes = (await field('commit_writes')) - before;
  const batches = (await field('commit_batches')) - batchesBefore;
  t.true(writes >= 200, `200 SETs are at least 200 writes (${writes})`);
  t.true(batches >= 1 && batches < writes, `writes sent together share batches (${batches} for ${writes})`);
  const p50 = await field('commit_p50_us');
  const p99 = await field('commit_p99_us');
  t.true(p50 > 0 && p99 >= p50 && (await field('commit_max_us')) >= p99);
  c.disconnect();
});
