// The `ringkv` command as a newcomer meets it, run as a real process:
// --version, --help, and a mistake on the command line is one line on stderr
// and exit code 2 for every subcommand, with nothing started. Also the
// prepare script that builds the command on `npm install`.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { makeTempDir, removeTempDir, repoRoot } from '../helpers/cluster.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without RINGKV_ variables, so the machine running the tests cannot change what they see. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGKV_')));
  return { ...env, ...extra };
}

/**
 * Runs a command to its end and collects its output. Everything here exits
 * at once (0.5 s alone), but one test starts 18 at a time beside the other
 * files' clusters on 2 cores: at 10 s one was killed after it had printed its
 * error (code null, CI 2026-11-27), so the guard only stops a hang.
 */
const runTimeoutMs = 60_000;

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: runTimeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ringkv = (args: readonly string[], env?: NodeJS.ProcessEnv) => run(process.execPath, [path.join(repoRoot, 'bin/ringkv.js'), ...args], env);

test('ringkv › --version, -v and version print the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['-v'], ['version']]) {
    const r = await ringkv(args);
    t.deepEqual(r, { code: 0, stdout: `ringkv ${version}\n`, stderr: '' }, args.join(' '));
  }
});

test('ringkv › start --help prints the usage', async (t) => {
  const r = await ringkv(['start', '--port', '7001', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^usage: ringkv start/);
  t.regex(r.stdout, /--advertise-host/);
});

test('ringkv › a mistake on the command line is one line on stderr and exit code 2, for every subcommand', async (t) => {
  const cases: [string[], string][] = [
    [['start', '--port', 'abc'], "--port needs an integer, got 'abc'"],
    [['start', '--port', '99999'], '--port must be 0..65535, got 99999'],
    [['start', '--log-level', 'loud'], "--log-level needs one of fatal, error, warn, info, debug, trace, silent, got 'loud'"],
    [['start', '--requirepass'], '--requirepass needs a value'],
    [['start', '--verbose'], 'unknown option --verbose (try: ringkv help)'],
    [['start', '--bind', '0.0.0.0'], '--bind 0.0.0.0 listens on every interface, so it is no address for other nodes: set --advertise-host (or RINGKV_ADVERTISE_HOST) to the address they reach this node at'],
    [['cluster'], '--nodes is required (an integer 1..64)'],
    [['cluster', '--nodes', 'three'], "--nodes needs an integer, got 'three'"],
    [['cluster', '--nodes', '3', '--port', '7001'], '--port is set per node by the cluster launcher: node i listens on --base-port + i - 1'],
    // Checked once by the launcher before any node starts, not three times by three failing nodes.
    [['cluster', '--nodes', '3', '--bind', '0.0.0.0'], '--bind 0.0.0.0 listens on every interface, so it is no address for other nodes: set --advertise-host (or RINGKV_ADVERTISE_HOST) to the address they reach this node at'],
    [['cluster', '--nodes', '3', '--r', '4'], '--r 4 is larger than --n 3'],
    [['status', '-p', 'abc'], "-p needs an integer, got 'abc'"],
    [['status', '-p'], '-p needs a value'],
    [['status', 'extra'], "unexpected argument 'extra' (ringkv status [-h HOST] [-p PORT] [-a PASSWORD])"],
    [['repair', '--all=yes'], '--all takes no value'],
    [['repair', '--port=0'], '--port must be 1..65535, got 0'],
    [['removenode'], 'ringkv removenode needs the id of the member to remove (see ringkv status)'],
    [['frobnicate'], "unknown command 'frobnicate' (try: ringkv help)"],
  ];
  const runs = await Promise.all(cases.map(([args]) => ringkv(args)));
  cases.forEach(([args, message], i) => {
    t.deepEqual(runs[i], { code: 2, stdout: '', stderr: `ringkv: ${message}\n` }, args.join(' '));
  });
});

test('ringkv › the environment is checked like the flags, naming the variable', async (t) => {
  const r = await ringkv(['start'], cleanEnv({ RINGKV_PORT: 'abc' }));
  t.deepEqual(r, { code: 2, stdout: '', stderr: "ringkv: RINGKV_PORT needs an integer, got 'abc'\n" });
});

/**
 * Runs package.json's prepare script, as npm install and npm ci do, in `dir`
 * (a copy of package.json plus `files`), with this checkout's TypeScript on
 * the PATH.
 */
async function prepareIn(files: Record<string, string>): Promise<Run & { dir: string }> {
  const dir = await makeTempDir('ringkv-prepare-');
  writeFileSync(path.join(dir, 'package.json'), readFileSync(path.join(repoRoot, 'package.json')));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const PATH = `${path.join(repoRoot, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`;
  const r = await new Promise<Run>((resolve, reject) => {
    const child = spawn('npm', ['run', 'prepare'], { cwd: dir, env: cleanEnv({ PATH }), stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { ...r, dir };
}

const tsconfig = JSON.stringify({ compilerOptions: { outDir: 'dist', strict: true }, include: ['main.ts'] });

test('prepare › builds on install, fails the install when the build fails, and skips where tsconfig.json is not copied yet (Docker\'s dependency layer)', async (t) => {
  const [built, broken, early] = await Promise.all([
    prepareIn({ 'tsconfig.json': tsconfig, 'main.ts': 'export const answer: number = 42;\n' }),
    prepareIn({ 'tsconfig.json': tsconfig, 'main.ts': 'export const answer: number = "42";\n' }),
    prepareIn({}),
  ]);
  t.teardown(async () => {
    for (const r of [built, broken, early]) await removeTempDir(r.dir);
  });
  t.is(built.code, 0, built.stderr);
  t.true(existsSync(path.join(built.dir, 'dist', 'main.js')), 'the build ran');
  t.not(broken.code, 0, 'a type error fails npm install');
  t.regex(broken.stdout, /error TS2322/);
  t.is(early.code, 0, early.stderr);
  t.regex(early.stdout, /no tsconfig\.json yet .* build skipped/);
});
