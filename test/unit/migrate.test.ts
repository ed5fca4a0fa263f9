// The pure parts of `ringkv migrate`: the source URL, the token bucket that
// paces reads of the source, the checkpoint's refusal of another copy's
// file or a damaged one, the per-type pages read and written, and verify's
// comparison of values by type.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { freshCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/migrate/checkpoint.js';
import { endpointName, parseRedisUrl, redacted } from '../../src/migrate/endpoint.js';
import { TokenBucket } from '../../src/migrate/token-bucket.js';
import {
  collectionPageItems, distinctEntries, expiryOf, importArgs, valueCopiers, writePageBytes, writePageItems, writePages,
} from '../../src/migrate/value-copiers.js';
import { sameValue } from '../../src/migrate/verify.js';
import { byBytes } from '../../src/migrate/copier.js';

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
  // A collection being written in pages: its key and last token come back; a malformed entry is refused.
  const paging = { ...cp, inFlight: { key: Buffer.from([0, 0xff]).toString('base64'), token: 'dG9rZW4=' } };
  saveCheckpoint(file, paging);
  t.deepEqual(loadCheckpoint(file, 'a', 'b'), paging);
  writeFileSync(file, JSON.stringify({ ...cp, inFlight: { key: 7 } }));
  t.throws(() => loadCheckpoint(file, 'a', 'b'), { message: /not one this version of ringkv wrote/ });
});

test('value copiers › a first page shorter than a window is the whole list; a full one has a next page; an empty reply is a key gone', (t) => {
  const list = valueCopiers.list!;
  const full = Array.from({ length: collectionPageItems }, (_, i) => Buffer.from(`e${i}`));
  t.deepEqual(list.parsePage([Buffer.from('a')], '0'), { items: [Buffer.from('a')], next: undefined });
  t.deepEqual(list.parsePage(full, '0')?.next, String(collectionPageItems));
  t.deepEqual(list.parsePage(full, '2000')?.next, String(2000 + collectionPageItems));
  t.is(list.parsePage([], '0'), undefined);
  t.deepEqual(list.parsePage([], '1000'), { items: [], next: undefined }, 'a list of exactly one window ends with an empty one');
  t.is(list.parsePage('a string', '0'), undefined);
});

test('value copiers › ZSCAN pages become score/member items; cursor 0 ends the scan; a repeated entry is kept once, its last look', (t) => {
  const zset = valueCopiers.zset!;
  const b = (s: string) => Buffer.from(s);
  t.deepEqual(zset.parsePage([b('17'), [b('m1'), b('1.5'), b('m2'), b('-inf')]], '0'), { items: [b('1.5'), b('m1'), b('-inf'), b('m2')], next: '17' });
  t.deepEqual(zset.parsePage([b('0'), [b('m3'), b('2')]], '17'), { items: [b('2'), b('m3')], next: undefined });
  t.is(zset.parsePage([b('0'), []], '0'), undefined);
  t.deepEqual(distinctEntries(zset, [b('1'), b('m1'), b('2'), b('m2'), b('3'), b('m1')]), [b('3'), b('m1'), b('2'), b('m2')]);
  t.deepEqual(distinctEntries(valueCopiers.list!, [b('x'), b('x')]), [b('x'), b('x')], 'a list keeps repeated elements');
  t.deepEqual(valueCopiers.set!.parsePage([b('0'), [b('a'), b('b')]], '0'), { items: [b('a'), b('b')], next: undefined });
  t.deepEqual(valueCopiers.hash!.parsePage([b('5'), [b('f'), b('v')]], '0'), { items: [b('f'), b('v')], next: '5' });
  t.deepEqual(distinctEntries(valueCopiers.hash!, [b('f'), b('1'), b('g'), b('2'), b('f'), b('3')]), [b('f'), b('3'), b('g'), b('2')]);
  t.deepEqual(distinctEntries(valueCopiers.set!, [b('a'), b('b'), b('a')]), [b('a'), b('b')]);
});

test('value copiers › IMPORT pages: at most writePageItems items and writePageBytes bytes, a pair never split, a huge item alone', (t) => {
  const small = Array.from({ length: 2 * writePageItems + 2 }, (_, i) => Buffer.from(`${i}`));
  const pages = writePages(small, 2);
  t.deepEqual(pages.map((p) => p.length), [writePageItems, writePageItems, 2]);
  t.deepEqual(pages.flat(), small);
  const huge = Buffer.alloc(writePageBytes + 1);
  t.deepEqual(writePages([Buffer.from('a'), huge, Buffer.from('b')], 1).map((p) => p.length), [1, 1, 1]);
  t.deepEqual(importArgs(Buffer.from('k'), 'zset', { mode: 'overwrite', expiresAt: 99 }, [Buffer.from('1'), Buffer.from('m')]).map(String), ['k', 'TYPE', 'zset', 'PXAT', '99', 'REPLACE', 'ITEMS', '1', 'm']);
  t.deepEqual(importArgs(Buffer.from('k'), 'list', { mode: 'missing', append: Buffer.from('t') }, [Buffer.from('x')]).map(String), ['k', 'TYPE', 'list', 'APPEND', 't', 'ITEMS', 'x']);
  t.is(expiryOf(-1, 1000), undefined);
  t.is(expiryOf(0, 1000), 1001, 'due in under a millisecond: 1 ms left, never forever');
  t.is(expiryOf(500, 1000), 1500);
});

test('verify › values compare by type: lists in order, sorted sets by member and score, sets and hashes in any order', (t) => {
  const b = (...s: string[]) => s.map((x) => Buffer.from(x));
  t.true(sameValue('list', b('a', 'b'), b('a', 'b')));
  t.false(sameValue('list', b('a', 'b'), b('b', 'a')));
  t.true(sameValue('zset', b('1', 'a', 'inf', 'b'), b('+inf', 'b', '1.0', 'a')));
  t.false(sameValue('zset', b('1', 'a', '2', 'b'), b('2', 'a', '1', 'b')));
  t.false(sameValue('zset', b('1', 'a'), b('1', 'a', '2', 'b')));
  t.true(sameValue('set', b('x', 'y'), b('y', 'x')));
  t.true(sameValue('hash', b('f1', 'v1', 'f2', 'v2'), b('f2', 'v2', 'f1', 'v1')));
  t.false(sameValue('hash', b('f1', 'v1', 'f2', 'v2'), b('f1', 'v2', 'f2', 'v1')));
  t.true(sameValue('string', b('v'), b('v')));
});

test('copier › a batch\'s writes go in pipelines of at most the byte bound, in order, a bigger write alone', (t) => {
  const w = (bytes: number) => ({ send: () => undefined, bytes });
  const writes = [w(4), w(4), w(3), w(20), w(1), w(9)];
  t.deepEqual(byBytes(writes, 10).map((run) => run.map((x) => x.bytes)), [[4, 4], [3], [20], [1, 9]]);
  t.deepEqual(byBytes([], 10), []);
});
