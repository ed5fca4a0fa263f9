// The deployment files under deploy/, tested as far as a machine without a
// container engine can: every YAML and JSON file parses; every RINGKV_
// variable they set is an option `ringkv help` knows (the node would refuse
// nothing, and ignore nothing); the names that must agree across files do
// (seed lists and advertised hosts, the headless service, the secret's keys,
// the health check's path in the image and in the probes, the metrics port);
// the Dockerfile is multi-stage, non-root, with a health check and a /data
// volume; and the health check script itself answers for a real node. The
// entrypoint's own test is docker-entrypoint.test.ts. Not run here: docker
// build, docker compose up, kubectl apply.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import yaml from 'js-yaml';
import { options } from '../../src/cli/config.js';
import { repoRoot, runRingkv, startNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

/** js-yaml 4's loadAll is its safe loader (no custom types). */
const loadAll = (text: string): unknown[] => yaml.loadAll(text);

const deploy = path.join(repoRoot, 'deploy');
const read = (file: string) => readFileSync(path.join(deploy, file), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]);
}

// Loose shapes of the manifests: only what the checks read.
type Doc = Record<string, any>;

const optionEnvNames = new Set(options.map((o) => `RINGKV_${o.flag.toUpperCase().replace(/-/g, '_')}`));

test('every YAML and JSON file under deploy/ parses', (t) => {
  const files = filesUnder(deploy).filter((f) => /\.(ya?ml|json)$/.test(f));
  t.true(files.length >= 8);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const docs = file.endsWith('.json') ? [JSON.parse(text)] : loadAll(text);
    t.true(docs.length > 0 && docs.every((d) => d !== null && typeof d === 'object'), path.relative(repoRoot, file));
  }
});

test('every RINGKV_ variable the deploy files use is a ringkv option, and the entrypoint\'s flags are in ringkv help', async (t) => {
  const used = new Set<string>();
  for (const file of filesUnder(deploy)) for (const match of readFileSync(file, 'utf8').matchAll(/\bRINGKV_[A-Z0-9_]+\b/g)) used.add(match[0]);
  t.true(used.size >= 10);
  for (const name of used) t.true(optionEnvNames.has(name), `${name} is no option of ringkv help`);
  const help = (await runRingkv(['help'])).out;
  const exec = /^exec node .* start (.*)"\$@"$/m.exec(read('docker/entrypoint.sh'));
  t.truthy(exec, 'the entrypoint execs ringkv start');
  const flags = [...exec![1]!.matchAll(/--[a-z-]+/g)].map((m) => m[0]);
  t.deepEqual(flags, ['--bind', '--data']);
  for (const flag of flags) t.regex(help, new RegExp(`^  ${flag} `, 'm'));
});

test('the Dockerfile: two stages, a non-root user, a health check by redis-cli PING, a /data volume, and sources that exist', (t) => {
  const lines = read('Dockerfile').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const froms = lines.filter((l) => l.startsWith('FROM '));
  t.is(froms.length, 2);
  t.regex(froms[0]!, / AS build$/);
  const runStage = lines.slice(lines.indexOf(froms[1]!));
  t.true(runStage.includes('USER node'), 'the run stage drops root');
  t.true(runStage.some((l) => l.includes('redis-tools')), 'redis-cli is installed for the health check');
  t.true(runStage.includes('VOLUME /data'));
  const copyScripts = runStage.find((l) => l.includes('healthcheck.sh') && l.startsWith('COPY '))!;
  const workdir = runStage.find((l) => l.startsWith('WORKDIR '))!.split(' ')[1]!;
  const scriptsDir = path.posix.join(workdir, copyScripts.split(' ').pop()!).replace(/\/$/, '');
  t.regex(runStage.find((l) => l.startsWith('HEALTHCHECK '))!, new RegExp(`${scriptsDir}/healthcheck\\.sh`));
  t.regex(runStage.find((l) => l.startsWith('ENTRYPOINT '))!, new RegExp(`${scriptsDir}/entrypoint\\.sh`));
  for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
    for (const source of line.split(' ').slice(1, -1)) t.true(existsSync(path.join(repoRoot, source)), `${line}: ${source} exists`);
  }
  t.true(readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').includes('node_modules'), 'the build context leaves the host\'s node_modules out');
});

test('docker-compose: three nodes, each advertising its service name, seeded with the three, on one secret; Prometheus scrapes their metrics port', (t) => {
  const compose = loadAll(read('docker-compose.yml'))[0] as Doc;
  const nodes = Object.entries(compose.services as Record<string, Doc>).filter(([, s]) => s.image === 'ringkv:local');
  t.deepEqual(nodes.map(([name]) => name), ['ringkv1', 'ringkv2', 'ringkv3']);
  for (const [name, service] of nodes) {
    const env = service.environment as Record<string, string>;
    t.is(env.RINGKV_ADVERTISE_HOST, name);
    t.deepEqual(env.RINGKV_SEEDS!.split(','), nodes.map(([n]) => `${n}:16379`));
    t.regex(env.RINGKV_CLUSTER_SECRET!, /^\$\{RINGKV_CLUSTER_SECRET:\?/, 'the secret must be given, never defaulted');
    t.is(service.build.dockerfile, 'deploy/Dockerfile');
    t.true(existsSync(path.join(deploy, service.build.context as string, service.build.dockerfile as string)));
  }
  const prometheus = loadAll(read('prometheus/prometheus.yml'))[0] as Doc;
  const metricsPort = (nodes[0]![1].environment as Record<string, string>).RINGKV_METRICS_PORT;
  t.deepEqual(prometheus.scrape_configs[0].static_configs[0].targets, nodes.map(([n]) => `${n}:${metricsPort}`));
});

test('kubernetes: the StatefulSet, its headless Service, the Secret, the PodDisruptionBudget and the probes agree with each other and the image', (t) => {
  const kustomization = loadAll(read('kubernetes/kustomization.yaml'))[0] as Doc;
  const docs = (kustomization.resources as string[]).flatMap((file) => loadAll(read(`kubernetes/${file}`)) as Doc[]);
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const [set] = byKind('StatefulSet');
  const headless = byKind('Service').find((s) => s.spec.clusterIP === 'None')!;
  t.is(set!.spec.serviceName, headless.metadata.name);
  t.true(headless.spec.publishNotReadyAddresses, 'starting nodes can resolve each other');
  const labels = set!.spec.template.metadata.labels as Record<string, string>;
  for (const selector of [...byKind('Service').map((s) => s.spec.selector), byKind('PodDisruptionBudget')[0]!.spec.selector.matchLabels, set!.spec.selector.matchLabels]) {
    t.deepEqual(selector, labels);
  }
  const container = set!.spec.template.spec.containers[0];
  const env = new Map<string, Doc>((container.env as Doc[]).map((e) => [e.name as string, e]));
  const replicas = set!.spec.replicas as number;
  const service = headless.metadata.name as string;
  t.deepEqual(env.get('RINGKV_SEEDS')!.value.split(','), Array.from({ length: replicas }, (_, i) => `${set!.metadata.name}-${i}.${service}:16379`));
  t.is(env.get('RINGKV_ADVERTISE_HOST')!.value, `$(POD_NAME).${service}`, 'each pod advertises the name the seed list gives it');
  const secret = byKind('Secret')[0]!;
  for (const e of env.values()) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref === undefined) continue;
    t.is(ref.name, secret.metadata.name);
    t.true(ref.key in secret.stringData, `the Secret has ${ref.key}`);
  }
  t.deepEqual([...env.keys()].filter((name) => name.startsWith('RINGKV_') && env.get(name)!.valueFrom?.secretKeyRef !== undefined).sort(), ['RINGKV_CLUSTER_SECRET', 'RINGKV_REQUIREPASS']);
  for (const probe of [container.readinessProbe, container.livenessProbe]) t.deepEqual(probe.exec.command, ['/bin/sh', '/app/docker/healthcheck.sh']);
  const portNames = new Set((container.ports as Doc[]).map((p) => p.name));
  for (const s of byKind('Service')) for (const p of s.spec.ports as Doc[]) t.true(portNames.has(p.targetPort), `port ${p.targetPort}`);
  const metricsPort = (container.ports as Doc[]).find((p) => p.name === 'metrics')!.containerPort;
  t.is(String(metricsPort), env.get('RINGKV_METRICS_PORT')!.value);
  t.is(set!.spec.template.metadata.annotations['prometheus.io/port'], String(metricsPort));
  t.is(byKind('PodDisruptionBudget')[0]!.spec.maxUnavailable, 1);
  t.true(set!.spec.template.spec.securityContext.runAsNonRoot);
});

test('the health check script answers 0 for a node that PINGs with the password it is given, 1 otherwise', async (t) => {
  const node = await startNode({ requirepass: 'pw', extraArgs: ['--host-probe', 'off'] });
  t.teardown(() => node.cleanup());
  const check = (env: NodeJS.ProcessEnv) => new Promise<{ code: number; out: string }>((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGKV_') && name !== 'REDISCLI_AUTH'));
    execFile('sh', [path.join(deploy, 'docker/healthcheck.sh')], { env: { ...clean, ...env }, timeout: 10_000 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? -1), out: stdout });
    });
  });
  t.is((await check({ RINGKV_PORT: String(node.port), RINGKV_REQUIREPASS: 'pw' })).code, 0);
  const noPassword = await check({ RINGKV_PORT: String(node.port) });
  t.is(noPassword.code, 1);
  t.regex(noPassword.out, /NOAUTH/);
  t.is((await check({ RINGKV_PORT: String(node.port), RINGKV_REQUIREPASS: 'wrong' })).code, 1);
  t.is((await check({ RINGKV_PORT: String(await freePort()) })).code, 1, 'nothing listening');
});
