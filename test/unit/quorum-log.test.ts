// Quorum failures in the log as episodes (coordinator/quorum-log.ts): one
// warn line when failures start, none per later failure, none for a success
// between failures, one info line at the first success after a quiet spell.

import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { QuorumError } from '../../src/coordinator/errors.js';
import { QuorumLog, quorumQuietMs } from '../../src/coordinator/quorum-log.js';

function capture(): { lines: Array<{ level: number; msg: string; [k: string]: unknown }>; log: (now: () => number) => QuorumLog } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: (now) => new QuorumLog(pino({ level: 'info' }, stream), now) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

test('a storm of write failures is one line, successes amid it none, and the first success after a quiet spell one more', async (t) => {
  const { lines, log: make } = capture();
  let now = 0;
  const log = make(() => now);
  const failure = new QuorumError('write', 2, 1, 3, false);
  for (let i = 0; i < 1000; i++) {
    now += 10;
    log.failed(failure);
    if (i % 3 === 0) log.met('write'); // other keys' writes still succeed meanwhile
  }
  log.met('read'); // reads never failed: nothing to end
  now += quorumQuietMs - 1;
  log.met('write');
  await flush();
  t.deepEqual(lines.map((l) => l.msg), ['write quorums failing (one line until they are met again)']);
  t.is(lines[0]!.reason, 'write quorum not met: 1 of 2 needed replicas answered (3 asked)');
  now += 1;
  log.met('write');
  log.met('write');
  await flush();
  t.is(lines.length, 2);
  t.like(lines[1], { level: 30, msg: 'write quorums met again', operation: 'write', failures: 1000 });
  t.is(lines[1]!.forMs, 9990 + quorumQuietMs);
  log.failed(failure);
  await flush();
  t.is(lines.length, 3, 'a new episode is a new line');
});

test('read and write episodes are apart, and watch() reads a promise\'s outcome', async (t) => {
  const { lines, log: make } = capture();
  let now = 0;
  const log = make(() => now);
  await t.throwsAsync(log.watch('write', Promise.reject(new QuorumError('write', 2, 0, 3, true))));
  await t.throwsAsync(log.watch('write', Promise.reject(new Error('not a quorum failure'))));
  log.failed(new QuorumError('read', 2, 1, 3, false));
  now += quorumQuietMs;
  t.is(await log.watch('write', Promise.resolve('ok')), 'ok');
  await flush();
  t.deepEqual(lines.map((l) => l.msg), ['write quorums failing (one line until they are met again)', 'read quorums failing (one line until they are met again)', 'write quorums met again']);
});
