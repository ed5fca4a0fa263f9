// TLS on both ports, against real processes and certificates made by the
// test (helpers/tls-certs.ts): a client port beside the plain one, with
// Redis's tls-auth-clients (yes by default: a client shows a certificate the
// CA signed), reached by redis-cli --tls and by ioredis; and a peer port
// that speaks only TLS (--tls-cluster yes), where a 3-node cluster forms and
// replicates while a node whose certificate another CA signed, and a node
// speaking plain TCP, are refused.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { Redis } from 'ioredis';
import { makeCertificates, type CertificateSet } from '../helpers/tls-certs.js';
import { freePort } from '../helpers/ports.js';
import { eventually, infoNumber, runRingkv, sleep, startCluster, startNode, type Cluster, type RingkvNode } from '../helpers/cluster.js';

let certs: CertificateSet;

test.before(() => {
  certs = makeCertificates();
});

test.after.always(() => certs?.remove());

function redisCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('redis-cli', args, { timeout: 15_000 }, (err, out, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: out.toString(), err: stderr.toString() });
    });
  });
}

/** An ioredis client over TLS that does not retry, so a refused handshake is an error here. */
async function tlsClient(port: number, tls: Record<string, unknown>): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port, tls, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, protocol: 2 } as never);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

function tlsArgs(tlsPort: number, more: string[] = []): string[] {
  return ['--tls-port', String(tlsPort), '--tls-cert-file', certs.nodeCert, '--tls-key-file', certs.nodeKey, '--tls-ca-cert-file', certs.caCert, ...more];
}

test.serial('client port › a client with a CA-signed certificate is served over TLS (ioredis, redis-cli); one without is refused; the plain port still answers', async (t) => {
  const tlsPort = await freePort();
  const node = await startNode({ extraArgs: tlsArgs(tlsPort) });
  t.teardown(() => node.cleanup());
  const ca = readFileSync(certs.caCert);
  const good = await tlsClient(tlsPort, { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) });
  t.teardown(() => good.disconnect());
  t.is(await good.set('tls:k', 'over tls'), 'OK');
  t.is(await good.get('tls:k'), 'over tls');
  t.is(await node.client({ protocol: 2 }).get('tls:k'), 'over tls', 'the plain port serves the same keys');

  await t.throwsAsync(tlsClient(tlsPort, { ca }), undefined, 'no client certificate: refused (tls-auth-clients yes)');
  await t.throwsAsync(tlsClient(tlsPort, { ca, cert: readFileSync(certs.rogueCert), key: readFileSync(certs.rogueKey) }), undefined, 'a certificate another CA signed: refused');
  await t.throwsAsync(tlsClient(tlsPort, {}), undefined, 'the node\'s certificate is not trusted without the CA');

  const cli = await redisCli(['--tls', '--cacert', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey, '-p', String(tlsPort), 'GET', 'tls:k']);
  t.is(cli.out.trim(), 'over tls', cli.err);
  const refused = await redisCli(['--tls', '--cacert', certs.caCert, '-p', String(tlsPort), 'PING']);
  t.notRegex(refused.out, /PONG/, 'redis-cli without a certificate gets no PONG');
});

test.serial('client port › --tls-auth-clients no serves a client without a certificate; optional checks one only if shown', async (t) => {
  const tlsPort = await freePort();
  const node = await startNode({ extraArgs: tlsArgs(tlsPort, ['--tls-auth-clients', 'no']) });
  t.teardown(() => node.cleanup());
  const ca = readFileSync(certs.caCert);
  const anonymous = await tlsClient(tlsPort, { ca });
  t.teardown(() => anonymous.disconnect());
  t.is(await anonymous.ping(), 'PONG');
  const cli = await redisCli(['--tls', '--cacert', certs.caCert, '-p', String(tlsPort), 'PING']);
  t.is(cli.out.trim(), 'PONG', cli.err);

  const optionalPort = await freePort();
  const optional = await startNode({ extraArgs: tlsArgs(optionalPort, ['--tls-auth-clients', 'optional']) });
  t.teardown(() => optional.cleanup());
  const none = await tlsClient(optionalPort, { ca });
  t.teardown(() => none.disconnect());
  t.is(await none.ping(), 'PONG', 'optional: no certificate is fine');
  await t.throwsAsync(tlsClient(optionalPort, { ca, cert: readFileSync(certs.rogueCert), key: readFileSync(certs.rogueKey) }), undefined, 'optional: a certificate shown must be one the CA signed');
});

test('configuration › TLS without its files, or with a file that is not there, is refused with one line naming it', async (t) => {
  const noCert = await runRingkv(['start', '--port', '0', '--data', '/nonexistent-ringkv-test', '--tls-port', '0']);
  t.is(noCert.code, 2);
  t.regex(noCert.err, /--tls-port needs --tls-cert-file and --tls-key-file/);
  const noCa = await runRingkv(['start', '--port', '0', '--data', '/nonexistent-ringkv-test', '--tls-cluster', 'yes', '--tls-cert-file', certs.nodeCert, '--tls-key-file', certs.nodeKey]);
  t.is(noCa.code, 2);
  t.regex(noCa.err, /--tls-cluster yes needs --tls-ca-cert-file/);
  const missing = await runRingkv(['start', '--port', '0', '--data', '/nonexistent-ringkv-test', '--tls-port', '0', '--tls-auth-clients', 'no', '--tls-cert-file', '/nonexistent/node.crt', '--tls-key-file', certs.nodeKey]);
  t.is(missing.code, 2);
  t.regex(missing.err, /--tls-cert-file \/nonexistent\/node\.crt: ENOENT/);
  const mismatched = await runRingkv(['start', '--port', '0', '--data', '/nonexistent-ringkv-test', '--tls-port', '0', '--tls-auth-clients', 'no', '--tls-cert-file', certs.nodeCert, '--tls-key-file', certs.clientKey]);
  t.is(mismatched.code, 2);
  t.regex(mismatched.err, /TLS files refused/);
});

const peerTls = (cert: string, key: string, ca: string) => ['--tls-cluster', 'yes', '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', ca];

test.serial('peer port › a cluster whose peers speak only TLS forms and replicates; a node with another CA\'s certificate, or plain TCP, is refused', async (t) => {
  const cluster: Cluster = await startCluster({ nodes: 3, extraArgs: peerTls(certs.nodeCert, certs.nodeKey, certs.caCert) });
  t.teardown(() => cluster.cleanup());
  const [n1, n2, n3] = cluster.nodes as [RingkvNode, RingkvNode, RingkvNode];
  const c1 = n1.client({ protocol: 2 });
  for (let i = 0; i < 50; i++) t.is(await c1.set(`peer-tls:${i}`, `v${i}`), 'OK');
  // Every write reached all three replicas: read each key at R=3 through another node.
  const c3 = n3.client({ protocol: 2 });
  await c3.call('CONSISTENCY', '3', '2');
  for (let i = 0; i < 50; i++) t.is(await c3.get(`peer-tls:${i}`), `v${i}`);

  const seeds = [`127.0.0.1:${n1.peerPort}`, `127.0.0.1:${n2.peerPort}`];
  const rogue = await startNode({ id: 'rogue', seeds, extraArgs: peerTls(certs.rogueCert, certs.rogueKey, certs.rogueCaCert) });
  t.teardown(() => rogue.cleanup());
  const plain = await startNode({ id: 'plain', seeds });
  t.teardown(() => plain.cleanup());
  await sleep(3_000);
  for (const node of [n1, n2, n3]) {
    const members = (await node.client({ protocol: 2 }).call('RING', 'MEMBERS')) as unknown[];
    t.is(members.length, 3, `${node.id} lists only the three members`);
  }
  for (const outsider of [rogue, plain]) {
    t.is(infoNumber(await outsider.info('cluster'), 'cluster_members_up'), 1, `${outsider.id} never heard the cluster`);
  }
  t.true(await eventually(async () => n1.output.tail().includes('TLS handshake failed'), 5_000), 'the refusal is logged');
  const refusals = n1.output.tail().split('\n').filter((l) => l.includes('TLS handshake failed')).length;
  t.true(refusals <= 2, `logged once per address, not per attempt (${refusals} lines)`);
});
