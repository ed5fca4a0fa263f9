// The Docker image's entrypoint (deploy/docker/entrypoint.sh): the node listens on
// 0.0.0.0, and ringkv refuses a wildcard bind without an address to
// advertise, so the script must supply one (the container's first IPv4
// address) unless the user did. Docker is not available to the tests, so the
// script runs here directly, with a stand-in `hostname` that reports what a
// container's would.

import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { eventually, makeTempDir, removeTempDir, repoRoot, respCommand } from '../helpers/cluster.js';
import { freePortPair } from '../helpers/ports.js';

/** The environment without RINGKV_ variables, plus `extra`. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGKV_')));
  return { ...env, ...extra };
}

/** A directory holding a stand-in `hostname` that prints `addresses` for `hostname -I`, as in a container. */
async function fakeHostname(addresses: string): Promise<string> {
  const dir = await makeTempDir('ringkv-hostname-');
  const file = path.join(dir, 'hostname');
  writeFileSync(file, `#!/bin/sh\n[ "$1" = -I ] && echo '${addresses}'\n`);
  chmodSync(file, 0o755);
  return dir;
}

const entrypoint = path.join(repoRoot, 'deploy/docker/entrypoint.sh');

test('docker entrypoint › binds 0.0.0.0 and advertises the container\'s first IPv4 address, unless told another', async (t) => {
  const shim = await fakeHostname('fd00::5 172.18.0.7 10.1.1.1 ');
  const data = await makeTempDir('ringkv-entrypoint-');
  t.teardown(async () => {
    await removeTempDir(shim);
    await removeTempDir(data);
  });
  const pathWithShim = `${shim}${path.delimiter}${process.env.PATH ?? ''}`;
  const advertised = async (env: NodeJS.ProcessEnv, extraArgs: string[]) => {
    const { port, peerPort } = await freePortPair();
    const node = spawn('sh', [entrypoint, '--data', path.join(data, String(port)), '--port', String(port), '--peer-port', String(peerPort), '--log-level', 'warn', '--host-probe', 'off', ...extraArgs],
      { env: cleanEnv({ PATH: pathWithShim, ...env }), stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => node.once('exit', (code) => resolve(code)));
    try {
      let info = '';
      await eventually(async () => {
        info = await respCommand(port, ['INFO', 'cluster']).catch(() => '');
        return info !== '';
      }, 15_000);
      return /^member0:.*address=([^,]+)/m.exec(info)?.[1];
    } finally {
      node.kill('SIGTERM'); // the script exec'd node, so the node itself gets the signal and stops cleanly
      t.is(await exited, 0);
    }
  };
  t.regex(await advertised({}, []) ?? '', /^172\.18\.0\.7:\d+$/, 'the first IPv4 address, IPv6 skipped');
  t.regex(await advertised({ RINGKV_ADVERTISE_HOST: '10.9.9.9' }, []) ?? '', /^10\.9\.9\.9:/, 'RINGKV_ADVERTISE_HOST wins');
  t.regex(await advertised({}, ['--advertise-host', '10.8.8.8']) ?? '', /^10\.8\.8\.8:/, 'a flag after the image name wins');
});

test('docker entrypoint › without an IPv4 address the node refuses to start and says what to set', async (t) => {
  const shim = await fakeHostname('fd00::5');
  const data = await makeTempDir('ringkv-entrypoint-');
  t.teardown(async () => {
    await removeTempDir(shim);
    await removeTempDir(data);
  });
  const { port } = await freePortPair();
  const node = spawn('sh', [entrypoint, '--data', data, '--port', String(port)], { env: cleanEnv({ PATH: `${shim}${path.delimiter}${process.env.PATH ?? ''}` }), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  node.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => node.once('close', (c) => resolve(c)));
  t.is(code, 2);
  t.regex(stderr, /^ringkv: --bind 0\.0\.0\.0 listens on every interface.*RINGKV_ADVERTISE_HOST/);
});
