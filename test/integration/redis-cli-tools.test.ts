// The redis-cli modes operators point at a Redis, pointed at a ringkv node:
// --pipe (mass insertion, which ends with an ECHO of a random marker),
// --scan with a pattern, --bigkeys (SCAN, TYPE, STRLEN) and --memkeys
// (MEMORY USAGE); and MEMORY's replies and errors as redis-server 7 gives
// them.

import { spawn } from 'node:child_process';
import test from 'ava';
import { startNode, type RingkvNode } from '../helpers/cluster.js';

let node: RingkvNode;

test.before(async () => {
  node = await startNode();
});

test.after.always(async () => {
  await node?.cleanup();
});

function cli(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(node.port), ...args]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
    child.stdin.end(input ?? '');
  });
}

test.serial('--pipe inserts every command and counts the replies; --scan lists by pattern', async (t) => {
  const lines: string[] = [];
  for (let i = 1; i <= 1000; i++) lines.push(`SET tool:${i} ${'x'.repeat(i)}`);
  lines.push('SET other:1 y');
  const piped = await cli(['--pipe'], `${lines.join('\r\n')}\r\n`);
  t.is(piped.code, 0, piped.out);
  t.regex(piped.out, /errors: 0, replies: 1001/);
  const scanned = await cli(['--scan', '--pattern', 'tool:*']);
  const keys = scanned.out.trim().split('\n');
  t.is(keys.length, 1000);
  t.is(new Set(keys).size, 1000, 'each key once');
});

test.serial('--bigkeys and --memkeys find the biggest key', async (t) => {
  const big = await cli(['--bigkeys']);
  t.regex(big.out, /Biggest string found '"tool:1000"' has 1000 bytes/, big.out);
  t.regex(big.out, /1001 strings with 500501 bytes/);
  const mem = await cli(['--memkeys']);
  t.regex(mem.out, /Biggest string found '"tool:1000"' has \d+ bytes/, mem.out);
  const usage = Number(/Biggest string found '"tool:1000"' has (\d+) bytes/.exec(mem.out)?.[1]);
  t.true(usage > 1000 && usage < 1200, `MEMORY USAGE of a 1000-byte value: ${usage}`);
});

test.serial('MEMORY USAGE and HELP answer, and refuse, as redis-server 7 does', async (t) => {
  const c = node.client({ protocol: 2 });
  await c.set('mem:k', 'v');
  const usage = (await c.call('MEMORY', 'USAGE', 'mem:k')) as number;
  t.true(usage > 5 && usage < 200, String(usage));
  t.is(await c.call('MEMORY', 'USAGE', 'mem:k', 'SAMPLES', '0'), usage);
  t.is(await c.call('MEMORY', 'USAGE', 'mem:none'), null);
  const refusals: [string[], string][] = [
    [['MEMORY', 'USAGE'], "ERR wrong number of arguments for 'memory|usage' command"],
    [['MEMORY', 'USAGE', 'k', 'SAMPLES'], 'ERR syntax error'],
    [['MEMORY', 'USAGE', 'k', 'SAMPLES', 'x'], 'ERR value is not an integer or out of range'],
    [['MEMORY', 'USAGE', 'k', 'SAMPLES', '-1'], 'ERR syntax error'],
    [['MEMORY', 'FOO'], "ERR unknown subcommand 'FOO'. Try MEMORY HELP."],
    [['MEMORY'], "ERR wrong number of arguments for 'memory' command"],
    [['MEMORY', 'HELP', 'x'], "ERR wrong number of arguments for 'memory|help' command"],
  ];
  for (const [command, message] of refusals) {
    await t.throwsAsync(c.call(command[0]!, ...command.slice(1)), { message }, command.join(' '));
  }
  const help = (await c.call('MEMORY', 'HELP')) as string[];
  t.is(help[0], 'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  t.true(help.includes('USAGE <key> [SAMPLES <count>]'));
});
