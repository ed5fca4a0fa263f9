// SLOWLOG's core (commands/slowlog.ts): Redis's argument cuts at their
// boundaries, the redacted passwords, the threshold and length rules, and
// the ring of entries against a naive model.

import test from 'ava';
import fc from 'fast-check';
import { Slowlog, slowlogArgs } from '../../src/commands/slowlog.js';
import { buildCommandTable } from '../../src/commands/table.js';
import type { Session } from '../../src/commands/types.js';

const table = buildCommandTable();
const session = { remoteAddress: '127.0.0.1:50000', name: 'app' } as Session;
const strings = (args: Buffer[]) => args.map((a) => a.toString());
const words = (...w: string[]) => w.map((s) => Buffer.from(s));

test('32 arguments are kept whole; past 32 the 32nd says how many more there were, as Redis', (t) => {
  const args32 = words('DEL', ...Array.from({ length: 31 }, (_, i) => `k${i}`));
  t.deepEqual(strings(slowlogArgs('del', args32)), strings(args32));
  const args41 = words('DEL', ...Array.from({ length: 40 }, (_, i) => `k${i}`));
  const kept = strings(slowlogArgs('del', args41));
  t.is(kept.length, 32);
  t.deepEqual(kept.slice(0, 31), strings(args41.slice(0, 31)));
  t.is(kept[31], '... (10 more arguments)');
});

test('an argument is cut at 128 bytes with how many more bytes there were; 128 bytes stay whole', (t) => {
  const [, at, over] = slowlogArgs('set', [Buffer.from('SET'), Buffer.alloc(128, 'a'), Buffer.alloc(200, 'v')]);
  t.is(at!.length, 128);
  t.is(over!.toString(), `${'v'.repeat(128)}... (72 more bytes)`);
});

test('passwords are redacted: AUTH\'s arguments, HELLO … AUTH\'s user and password, CONFIG SET requirepass and cluster-secret', (t) => {
  t.deepEqual(strings(slowlogArgs('auth', words('AUTH', 'pw'))), ['AUTH', '(redacted)']);
  t.deepEqual(strings(slowlogArgs('auth', words('AUTH', 'user', 'pw'))), ['AUTH', '(redacted)', '(redacted)']);
  t.deepEqual(strings(slowlogArgs('hello', words('HELLO', '3', 'AUTH', 'default', 'pw', 'SETNAME', 'x'))), ['HELLO', '3', 'AUTH', '(redacted)', '(redacted)', 'SETNAME', 'x']);
  t.deepEqual(strings(slowlogArgs('config', words('CONFIG', 'SET', 'maxclients', '10', 'REQUIREPASS', 's'))), ['CONFIG', 'SET', 'maxclients', '10', 'REQUIREPASS', '(redacted)']);
  t.deepEqual(strings(slowlogArgs('config', words('CONFIG', 'GET', 'requirepass'))), ['CONFIG', 'GET', 'requirepass']);
});

test('the threshold: at or above it is logged, below is not, negative logs nothing; EXEC is never logged', (t) => {
  const settings = { slowlogLogSlowerThan: 1000, slowlogMaxLen: 10 };
  const log = new Slowlog(settings);
  log.consider(table.get('get')!, words('GET', 'a'), 0.999, session);
  log.consider(table.get('get')!, words('GET', 'b'), 1, session);
  log.consider(table.get('exec')!, words('EXEC'), 50, session);
  t.deepEqual(log.newest(10).map((e) => [e.id, e.durationUs, strings([...e.args]), e.clientAddress, e.clientName]), [[0, 1000, ['GET', 'b'], '127.0.0.1:50000', 'app']]);
  Object.assign(settings, { slowlogLogSlowerThan: -1 });
  log.consider(table.get('get')!, words('GET', 'c'), 500, session);
  t.is(log.length, 1);
});

test('ids go on across RESET; a lower max-len applies at the next command, as in Redis', (t) => {
  const settings = { slowlogLogSlowerThan: 0, slowlogMaxLen: 5 };
  const log = new Slowlog(settings);
  const get = table.get('get')!;
  for (let i = 0; i < 4; i++) log.consider(get, words('GET', `k${i}`), 0, session);
  log.reset();
  t.is(log.length, 0);
  log.consider(get, words('GET', 'x'), 0, session);
  t.is(log.newest(1)[0]!.id, 4);
  for (let i = 0; i < 3; i++) log.consider(get, words('GET', `y${i}`), 0, session);
  Object.assign(settings, { slowlogMaxLen: 2 });
  t.is(log.length, 4, 'not trimmed by the setting alone');
  Object.assign(settings, { slowlogLogSlowerThan: 10_000_000 });
  log.consider(get, words('GET', 'fast'), 0, session);
  t.deepEqual(log.newest(10).map((e) => e.id), [7, 6], 'trimmed at the next command even when that one is not logged');
});

test('property: the log holds the newest max-len entries logged, newest first, whatever max-len does meanwhile', (t) => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.record({ len: fc.integer({ min: 0, max: 6 }) }), fc.constant('push' as const), fc.constant('reset' as const)), { maxLength: 200 }), (ops) => {
    const settings = { slowlogLogSlowerThan: 0, slowlogMaxLen: 3 };
    const log = new Slowlog(settings);
    let model: number[] = []; // ids, oldest first
    let next = 0;
    for (const op of ops) {
      if (op === 'reset') {
        log.reset();
        model = [];
      } else if (op === 'push') {
        log.consider(table.get('get')!, words('GET', 'k'), 0, session);
        model.push(next++);
        model = model.slice(Math.max(0, model.length - settings.slowlogMaxLen));
      } else {
        settings.slowlogMaxLen = op.len;
      }
      if (JSON.stringify(log.newest(1000).map((e) => e.id)) !== JSON.stringify([...model].reverse())) return false;
    }
    return true;
  }));
  t.pass();
});
