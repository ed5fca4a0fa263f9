// Limits as an operator meets them: refused at startup with a message that
// names the bound (exit code 2, like every configuration error), and reported
// by CONFIG GET as the node actually enforces them.

import { execFile } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { makeTempDir, removeTempDir, repoRoot } from '../helpers/cluster.js';

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin/ringkv.js'), ...args], { timeout: 10_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr });
    });
  });
}

test('limits › --tombstone-grace-ms below 1000 is refused at startup, naming the minimum', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => removeTempDir(dir));
  for (const grace of ['0', '999']) {
    const { code, stderr } = await runCli(['start', '--port', '0', '--data', dir, '--tombstone-grace-ms', grace]);
    t.is(code, 2, stderr);
    t.is(stderr.trim().split('\n').length, 1, stderr);
    t.regex(stderr, /^ringkv: .*tombstone-grace-ms.*\b1000\b/);
  }
});
