// The metrics endpoint of real nodes (--metrics-port): what a scrape shows
// after known commands (exact counts where the commands decide them), that
// CONFIG RESETSTAT zeroes what INFO zeroes, that members' states reach the
// gauges across a cluster when a node dies and that a refused write counts
// as a quorum failure, and that every metric the Grafana dashboard queries
// is one a node exports.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Cluster, eventually, repoRoot, respCommand, respRequest, startNode, type RingkvNode } from '../helpers/cluster.js';
import { freePort, freePortPair } from '../helpers/ports.js';
import { exportedNames, httpGet, scrape, valueOf } from '../helpers/prometheus.js';

async function nodeWithMetrics(extraArgs: string[] = []): Promise<{ node: RingkvNode; metricsPort: number }> {
  const metricsPort = await freePort();
  const node = await startNode({ extraArgs: ['--metrics-port', String(metricsPort), '--host-probe', 'off', '--log-level', 'warn', ...extraArgs] });
  return { node, metricsPort };
}

test('a scrape counts the commands run, their errors and refusals, their latencies, and the keys stored', async (t) => {
  const { node, metricsPort } = await nodeWithMetrics();
  t.teardown(() => node.cleanup());
  const replies = await respRequest(node.port, [
    ['SET', 'k1', 'v'], ['SET', 'k2', 'v'], ['SET', 'k3', 'v', 'EX', '100'], ['SET', 'k4', 'v', 'EX', '-1'],
    ['GET', 'k1'], ['GET', 'missing'], ['GET'], ['NOSUCHCOMMAND'],
  ]);
  t.deepEqual(replies.map((r) => r.ok), [true, true, true, false, true, true, false, false]);
  const m = await scrape(metricsPort);
  t.is(m.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  t.is(valueOf(m, 'ringkv_commands_total', { command: 'set' }), 4);
  t.is(valueOf(m, 'ringkv_commands_total', { command: 'get' }), 2);
  t.is(valueOf(m, 'ringkv_command_errors_total', { command: 'set' }), 1, 'SET … EX -1 ran and replied an error');
  t.is(valueOf(m, 'ringkv_commands_rejected_total', { command: 'get' }), 1, 'GET without a key never ran');
  t.is(valueOf(m, 'ringkv_error_replies_total', { prefix: 'ERR' }), 3);
  t.is(valueOf(m, 'ringkv_command_duration_seconds_count', { command: 'set' }), 4);
  t.is(valueOf(m, 'ringkv_command_duration_seconds_bucket', { command: 'get', le: '+Inf' }), 2);
  t.true(valueOf(m, 'ringkv_command_duration_seconds_sum', { command: 'get' })! > 0);
  // Cumulative buckets never decrease.
  const buckets = m.samples.filter((s) => s.name === 'ringkv_command_duration_seconds_bucket' && s.labels.command === 'set').map((s) => s.value);
  t.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
  t.is(valueOf(m, 'ringkv_keyspace_keys'), 3);
  t.is(valueOf(m, 'ringkv_keyspace_expires'), 1);
  t.is(valueOf(m, 'ringkv_storage_records'), 3);
  t.true(valueOf(m, 'ringkv_storage_disk_bytes', { store: 'records' })! > 0);
  t.is(valueOf(m, 'ringkv_members', { status: 'normal', liveness: 'up' }), 1);
  t.is(valueOf(m, 'ringkv_members', { status: 'normal', liveness: 'down' }), 0);
  t.is(valueOf(m, 'ringkv_member_up', { member: node.id }), 1);
  t.is(valueOf(m, 'ringkv_quorum_failures_total', { operation: 'write' }), 0);
  t.is(valueOf(m, 'ringkv_info', { node: node.id, cluster: 'ringkv' }), 1);
  t.true(valueOf(m, 'ringkv_connections_received_total')! >= 1);
  t.true(valueOf(m, 'ringkv_net_input_bytes_total')! > 0);
  // Node's process metrics, under their usual names.
  t.true(valueOf(m, 'process_cpu_seconds_total')! > 0);
  t.true(valueOf(m, 'nodejs_heap_size_used_bytes')! > 0);
  // INFO and the scrape read the same counters.
  t.regex(await node.info('commandstats'), /cmdstat_set:calls=4,.*rejected_calls=0,failed_calls=1/);

  await respCommand(node.port, ['CONFIG', 'RESETSTAT']);
  const after = await scrape(metricsPort);
  t.is(valueOf(after, 'ringkv_commands_total', { command: 'set' }), undefined, 'RESETSTAT zeroes commandstats, and the scrape with it');
  t.is(valueOf(after, 'ringkv_command_duration_seconds_count', { command: 'set' }), undefined);
  t.is(valueOf(after, 'ringkv_commands_total', { command: 'config' }), 1, 'the RESETSTAT itself counts after the reset, as in INFO');
  t.is(valueOf(after, 'ringkv_keyspace_keys'), 3, 'gauges are not statistics');
});

test('only GET /metrics is served; the endpoint listens on --bind and is gone once the node stops', async (t) => {
  const { node, metricsPort } = await nodeWithMetrics();
  t.teardown(() => node.cleanup());
  t.is((await httpGet(metricsPort, '/')).status, 404);
  t.is((await httpGet(metricsPort, '/metrics?x=1')).status, 200);
  t.is(await node.stop(), 0, 'the node stops cleanly with the endpoint open');
  await t.throwsAsync(httpGet(metricsPort, '/metrics'), { code: 'ECONNREFUSED' });
});

test('--metrics-port refuses a port the node already uses, and a port in use, with exit code 2', async (t) => {
  const { port, peerPort } = await freePortPair();
  const clash = await startNode({ port, peerPort, extraArgs: ['--metrics-port', String(port)], readyTimeoutMs: 20_000 }).then(
    (node) => node.cleanup().then(() => 'started'),
    (err: Error) => err.message,
  );
  t.regex(clash, /--metrics-port \d+ is also the --port/);
  const { node, metricsPort } = await nodeWithMetrics();
  t.teardown(() => node.cleanup());
  const taken = await startNode({ extraArgs: ['--metrics-port', String(metricsPort)], readyTimeoutMs: 20_000 }).then(
    (other) => other.cleanup().then(() => 'started'),
    (err: Error) => err.message,
  );
  t.regex(taken, /exit(ed)? .*2|code 2/);
  t.regex(taken, /EADDRINUSE/);
});

test('the Grafana dashboard parses, and every metric its queries use is one a node exports', async (t) => {
  const dashboard = JSON.parse(readFileSync(path.join(repoRoot, 'deploy/grafana/ringkv-dashboard.json'), 'utf8')) as {
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
    templating: { list: { definition?: string }[] };
  };
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ where: p.title, expr: target.expr }))),
    ...dashboard.templating.list.filter((v) => v.definition !== undefined).map((v) => ({ where: 'template variable', expr: v.definition! })),
  ];
  t.true(exprs.length >= 15);
  const { node, metricsPort } = await nodeWithMetrics();
  t.teardown(() => node.cleanup());
  await respRequest(node.port, [['SET', 'k', 'v'], ['GET', 'k']]);
  const exported = exportedNames(await scrape(metricsPort));
  for (const { where, expr } of exprs) {
    const used = [...expr.matchAll(/\b(?:ringkv|process|nodejs)_[a-z0-9_]+\b/g)].map((match) => match[0]);
    t.true(used.length > 0, `${where}: ${expr} names no metric`);
    for (const name of used) t.true(exported.has(name), `${where}: ${name} is not exported`);
  }
  const charted = new Set(exprs.flatMap(({ expr }) => [...expr.matchAll(/\bringkv_[a-z0-9_]+\b/g)].map((match) => match[0])));
  for (const wanted of ['ringkv_commands_total', 'ringkv_command_errors_total', 'ringkv_command_duration_seconds_bucket', 'ringkv_quorum_failures_total',
    'ringkv_hints_pending', 'ringkv_anti_entropy_bytes_total', 'ringkv_members', 'ringkv_member_up']) {
    t.true(charted.has(wanted), `the dashboard charts ${wanted}`);
  }
});

test('across a cluster: member gauges follow a node\'s death, and a write that misses its quorum is counted', async (t) => {
  const pairs = await Promise.all([1, 2, 3].map(() => freePortPair()));
  const metricsPorts = await Promise.all([1, 2, 3].map(() => freePort()));
  const seeds = pairs.map((p) => `127.0.0.1:${p.peerPort}`);
  const nodes: RingkvNode[] = [];
  const cluster = new Cluster(nodes);
  t.teardown(() => cluster.cleanup());
  for (const [i, p] of pairs.entries()) {
    nodes.push(await startNode({
      ...p, id: `n${i + 1}`, seeds, n: 3, r: 2, w: 2,
      extraArgs: ['--metrics-port', String(metricsPorts[i]), '--host-probe', 'off', '--log-level', 'warn', '--gossip-interval-ms', '100', '--down-after-ms', '1000', '--phi-acceptable-pause-ms', '300'],
    }));
  }
  await cluster.waitConverged(3);
  await cluster.waitNormal();
  for (const metricsPort of metricsPorts) {
    const m = await scrape(metricsPort);
    t.is(valueOf(m, 'ringkv_members', { status: 'normal', liveness: 'up' }), 3);
    for (const id of ['n1', 'n2', 'n3']) t.is(valueOf(m, 'ringkv_member_up', { member: id }), 1);
  }
  await nodes[2]!.kill();
  const seesDeath = (metricsPort: number) => eventually(async () => {
    const m = await scrape(metricsPort);
    return valueOf(m, 'ringkv_members', { status: 'normal', liveness: 'down' }) === 1 && valueOf(m, 'ringkv_member_up', { member: 'n3' }) === 0;
  }, 15_000);
  t.true(await seesDeath(metricsPorts[0]!));
  t.true(await seesDeath(metricsPorts[1]!));
  const m = await scrape(metricsPorts[0]!);
  t.is(valueOf(m, 'ringkv_members', { status: 'normal', liveness: 'up' }), 2);
  t.is(valueOf(m, 'ringkv_member_up', { member: 'n1' }), 1);
  // N=3 on three nodes: no fallback exists, so W=3 with one node down cannot be met.
  const [consistency, write] = await respRequest(nodes[0]!.port, [['CONSISTENCY', '2', '3'], ['SET', 'k', 'v']]);
  t.true(consistency!.ok);
  t.regex(write!.text, /^NOQUORUM/);
  const after = await scrape(metricsPorts[0]!);
  t.is(valueOf(after, 'ringkv_quorum_failures_total', { operation: 'write' }), 1);
  t.is(valueOf(after, 'ringkv_error_replies_total', { prefix: 'NOQUORUM' }), 1);
});
