// Limits as an operator meets them: refused at startup with a message that
// names the bound (exit code 2, like every configuration error), and reported
// by CONFIG GET as the node actually enforces them.

import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { replicatedValueBytesMax } from '../../src/coordinator/coordinator.js';
import { makeTempDir, removeTempDir, repoRoot, startNode } from '../helpers/cluster.js';

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

/** Sends raw bytes; resolves with what the node wrote before closing (or within waitMs). */
function raw(port: number, bytes: string, waitMs = 5000): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed: false });
    }, waitMs);
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, closed: true });
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

async function protoMaxBulkLen(node: { cli(...args: string[]): Promise<string> }): Promise<number> {
  const [name, value] = (await node.cli('CONFIG', 'GET', 'proto-max-bulk-len')).trim().split('\n');
  if (name !== 'proto-max-bulk-len') throw new Error(`CONFIG GET answered ${name}`);
  return Number(value);
}

test('limits › a replicated node reports and enforces the value size a peer frame can carry', async (t) => {
  const node = await startNode({ n: 3, r: 1, w: 1 });
  t.teardown(() => node.cleanup());
  t.is(await protoMaxBulkLen(node), replicatedValueBytesMax);
  // One byte more is refused from the length header alone, as Redis refuses a bulk over proto-max-bulk-len.
  const header = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${replicatedValueBytesMax + 1}\r\n`;
  const result = await raw(node.port, header);
  t.is(result.reply, '-ERR Protocol error: invalid bulk length\r\n');
  t.true(result.closed);
});

test('limits › a node of one keeps Redis\'s 512 MB, and a smaller configured limit is kept as is', async (t) => {
  const single = await startNode();
  t.teardown(() => single.cleanup());
  t.is(await protoMaxBulkLen(single), 512 * 1024 * 1024);
  const small = await startNode({ n: 3, r: 1, w: 1, extraArgs: ['--proto-max-bulk-len', String(2 * 1024 * 1024)] });
  t.teardown(() => small.cleanup());
  t.is(await protoMaxBulkLen(small), 2 * 1024 * 1024);
});
