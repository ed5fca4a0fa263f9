// The pure parts of `ringkv migrate`: the source URL, the token bucket that
// paces reads of the source, and the checkpoint's refusal of another copy's
// file or a damaged one.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { freshCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/migrate/checkpoint.js';
import { endpointName, parseRedisUrl, redacted } from '../../src/migrate/endpoint.js';
import { TokenBucket } from '../../src/migrate/token-bucket.js';

test('endpoint › redis:// and rediss:// URLs, with user, password (percent-decoded), port and db', (t) => {
  t.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost', port: 6379, db: 0, tls: false, username: undefined, password: undefined });
  t.deepEqual(parseRedisUrl('rediss://app:p%40ss@10.0.0.5:6380/3'), { host: '10.0.0.5', port: 6380, db: 3, tls: true, username: 'app', password: 'p@ss' });
  t.deepEqual(parseRedisUrl('redis://:secret@[::1]:7000'), { host: '::1', port: 7000, db: 0, tls: false, username: undefined, password: 'secret' });
  t.is(endpointName(parseRedisUrl('redis://:secret@[::1]:7000/2')), 'redis://[::1]:7000/2');
});

test('endpoint › bad URLs are refused with a message that does not show the password', (t) => {
  t.throws(() => parseRedisUrl('localhost:6379'), { message: /is not redis: or rediss:|is not a URL/ });
  t.throws(() => parseRedisUrl('http://h:1'), { message: /'http:' is not redis: or rediss:/ });
  t.throws(() => parseRedisUrl('redis://u:hunter2@h:1/x'), { message: (m: string) => m.includes('must be a database number') && !m.includes('hunter2') });
  t.throws(() => parseRedisUrl('redis://h:1/0?timeout=3'), { message: /options ringkv migrate does not read/ });
  t.is(redacted('redis://u:hunter2@h:1/0'), 'redis://u:***@h:1/0');
});

test('token bucket › over any run of takes, keys pass at the rate plus at most one second\'s burst (property)', (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.array(fc.tuple(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 0, max: 2_000 })), { minLength: 1, maxLength: 50 }), (rate, takes) => {
    let now = 0;
    const bucket = new TokenBucket(rate, now);
    let taken = 0;
    for (const [count, gapMs] of takes) {
      now += gapMs;
      now += bucket.take(count, now); // the caller waits what it is told before the work starts
      taken += count;
      // What started by `now` was paid for: the initial burst plus the rate over the elapsed time (rounding: 1 ms).
      if (taken > rate + (rate * (now + 1)) / 1000 + 1e-6) return false;
    }
    return true;
  }));
  t.pass();
});

test('token bucket › a take within the budget waits nothing; past it, the wait pays for the excess', (t) => {
  const bucket = new TokenBucket(1000, 0);
  t.is(bucket.take(1000, 0), 0);
  t.is(bucket.take(500, 0), 500);
  t.is(bucket.take(500, 500), 500);
});

test('checkpoint › round trip; another copy\'s checkpoint or a damaged file is refused', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-cp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cp.json');
  t.is(loadCheckpoint(file, 'a', 'b'), undefined);
  const cp = { ...freshCheckpoint('a', 'b'), cursor: '1234', copied: { string: 7 }, skipped: { x: 1 }, bytes: 99, elapsedMs: 10 };
  saveCheckpoint(file, cp);
  t.deepEqual(loadCheckpoint(file, 'a', 'b'), cp);
  t.throws(() => loadCheckpoint(file, 'other', 'b'), { message: /is of a copy from a to b, not from other to b/ });
  writeFileSync(file, '{"version": 1, "cursor": "x"');
  t.throws(() => loadCheckpoint(file, 'a', 'b'), { message: /is not JSON/ });
  writeFileSync(file, '{"version": 9}');
  t.throws(() => loadCheckpoint(file, 'a', 'b'), { message: /not one this version of ringkv wrote/ });
});
