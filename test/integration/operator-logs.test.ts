// What an operator reads in real nodes' logs: a refused handshake, a peer
// gone and back, and a run of quorum failures each make one line per change
// of state, not one per retry or request; a crash is one JSON line with its
// stack; --log-format pretty writes lines for a terminal.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Cluster, makeTempDir, ManagedProcess, removeTempDir, repoRoot, respRequest, sleep, startNode, type RingkvNode } from '../helpers/cluster.js';
import { freePortPair } from '../helpers/ports.js';

const quiet = ['--host-probe', 'off'];

/** The JSON log records in a node's output whose message matches. */
function records(node: { output: { tail(): string } }, msg: RegExp): Array<Record<string, unknown>> {
  return node.output.tail().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => msg.test(String(r.msg)));
}

test('a wrong cluster secret is logged once on each side, not at every retry; the fix is logged once too', async (t) => {
  const pairs = [await freePortPair(), await freePortPair()];
  const seeds = pairs.map((p) => `127.0.0.1:${p.peerPort}`);
  const right = await startNode({ ...pairs[0]!, id: 'n1', seeds, secret: 'right', extraArgs: quiet });
  const nodes: RingkvNode[] = [right];
  t.teardown(() => new Cluster(nodes).cleanup());
  const wrong = await startNode({ ...pairs[1]!, id: 'n2', seeds, secret: 'wrong', extraArgs: quiet });
  nodes.push(wrong);
  // Long enough for many dials each way: the backoff starts at 100 ms and caps at 5 s, and gossip redials every round.
  await sleep(6000);
  for (const node of [right, wrong]) {
    t.is(records(node, /^peer handshake refused/).length, 1, `${node.id}: as the dialer, once`);
    t.is(records(node, /^peer refused: wrong secret/).length, 1, `${node.id}: as the acceptor, once`);
  }
  t.like(records(right, /^peer refused/)[0], { claimedNodeId: 'n2', peer: '127.0.0.1' });

  // The operator fixes n2's secret: n1 says once that n2 is accepted, and once that its dials reach n2 again.
  await wrong.stop();
  const fixed = await startNode({ ...pairs[1]!, id: 'n2', seeds, secret: 'right', dataDir: wrong.dataDir, extraArgs: quiet });
  nodes.push(fixed);
  await new Cluster([right, fixed]).waitConverged(2);
  await sleep(1000);
  t.is(records(right, /^peer accepted again/).length, 1);
  t.like(records(right, /^peer accepted again/)[0], { claimedNodeId: 'n2', before: 'refused: secret' });
  t.is(records(right, /^peer reachable again/).length, 1);
  t.is(records(right, /^peer handshake refused/).length, 1, 'no new refusal line');
});

test('a run of quorum failures is one warn line, and its end one info line; a dead peer is one line, not one per redial', async (t) => {
  const pairs = await Promise.all([1, 2, 3].map(() => freePortPair()));
  const seeds = pairs.map((p) => `127.0.0.1:${p.peerPort}`);
  const nodes: RingkvNode[] = [];
  const cluster = new Cluster(nodes);
  t.teardown(() => cluster.cleanup());
  const fast = ['--gossip-interval-ms', '100', '--down-after-ms', '1000', '--phi-acceptable-pause-ms', '300'];
  for (const [i, p] of pairs.entries()) nodes.push(await startNode({ ...p, id: `n${i + 1}`, seeds, n: 3, r: 2, w: 2, extraArgs: [...quiet, ...fast] }));
  await cluster.waitConverged(3);
  await cluster.waitNormal();
  const killedAtMs = Date.now(); // n1 may also have found n3 unreachable before n3 started
  await nodes[2]!.kill();
  await cluster.waitConverged(2);
  // N=3 on three nodes has no fallback: W=3 fails while n3 is down, 50 times.
  const writes = Array.from({ length: 50 }, (_, i) => ['SET', `k${i}`, 'v']);
  const failed = await respRequest(nodes[0]!.port, [['CONSISTENCY', '2', '3'], ...writes], 20_000);
  t.is(failed.filter((r) => r.text.startsWith('NOQUORUM')).length, 50);
  await sleep(5200); // the quiet spell that ends an episode (coordinator/quorum-log.ts quorumQuietMs)
  const met = await respRequest(nodes[0]!.port, [['SET', 'after', 'v']]);
  t.true(met[0]!.ok);
  await sleep(200);
  const failing = records(nodes[0]!, /^write quorums failing/);
  t.is(failing.length, 1);
  t.regex(String(failing[0]!.reason), /^write quorum not met/);
  const again = records(nodes[0]!, /^write quorums met again/);
  t.is(again.length, 1);
  t.is(again[0]!.failures, 50);
  // Over those seconds n1 redialed n3's dead address many times, and logged it once.
  // (One line at most since the kill: under load a dial may already have failed before it, and then nothing changed.)
  const aboutN3 = (msg: RegExp) => records(nodes[0]!, msg).filter((r) => r.peer === seeds[2]);
  t.true(aboutN3(/^peer unreachable/).filter((r) => (r.time as number) >= killedAtMs).length <= 1);
  t.true(aboutN3(/^peer unreachable/).length >= 1);
  // Once per change: unreachable and reachable-again lines alternate, so the first never outnumber the second by more than one.
  t.true(aboutN3(/^peer unreachable/).length <= aboutN3(/^peer reachable again/).length + 1);
  t.is(records(nodes[0]!, /^member down/).length, 1);
});

test('a crash is one fatal JSON line with its stack, then exit code 1: an uncaught exception and an unhandled rejection', async (t) => {
  const dir = await makeTempDir('ringkv-crash-');
  t.teardown(() => removeTempDir(dir));
  for (const [name, crash, message] of [
    ['exception', 'throw new Error(\'boom from a timer\')', 'crash: uncaught exception'],
    ['rejection', 'void Promise.reject(new Error(\'nobody caught this\'))', 'crash: unhandled promise rejection'],
  ] as const) {
    const preload = path.join(dir, `${name}.mjs`);
    const { port, peerPort } = await freePortPair();
    // Runs inside the node process: once the node answers on its port, it crashes.
    writeFileSync(preload, [
      "import net from 'node:net';",
      'const poll = setInterval(() => {',
      `  const socket = net.connect(${port}, '127.0.0.1', () => { socket.destroy(); clearInterval(poll); setTimeout(() => { ${crash}; }, 100); });`,
      "  socket.on('error', () => socket.destroy());",
      '}, 100);',
      '',
    ].join('\n'));
    const proc = new ManagedProcess(`ringkv ${name}`, process.execPath,
      ['--import', preload, path.join(repoRoot, 'bin', 'ringkv.js'), 'start', '--port', String(port), '--peer-port', String(peerPort), '--data', path.join(dir, name), ...quiet]);
    await proc.exited;
    t.is(proc.exitCode, 1, name);
    const lines = proc.output.tail().split('\n').filter((l) => l !== '');
    const last = JSON.parse(lines[lines.length - 1]!) as { level: number; msg: string; err: { stack: string } };
    t.like(last, { level: 60, msg: message });
    t.regex(last.err.stack, new RegExp(`${name}\\.mjs`), 'the stack says where');
    t.true(lines.every((l) => l.startsWith('{')), 'every line is JSON, the crash included');
  }
});

test('--log-format pretty writes lines for a terminal; json is the default; another value is refused', async (t) => {
  const pretty = await startNode({ extraArgs: [...quiet, '--log-format', 'pretty'] });
  t.teardown(() => pretty.cleanup());
  t.regex(pretty.output.tail(), /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: ringkv node ready$/m);
  t.false(pretty.output.tail().split('\n').some((l) => l.startsWith('{')));
  const json = await startNode({ extraArgs: quiet });
  t.teardown(() => json.cleanup());
  t.is(records(json, /^ringkv node ready$/).length, 1);
  const refused = await startNode({ extraArgs: ['--log-format', 'xml'], readyTimeoutMs: 3000 }).then(
    (node) => node.cleanup().then(() => 'started'),
    (err: Error) => err.message,
  );
  t.regex(refused, /--log-format needs one of json, pretty, got 'xml'/);
});
