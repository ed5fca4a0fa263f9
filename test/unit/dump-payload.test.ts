// ringkv's DUMP payload: the CRC is Redis's CRC-64 (its check value), a
// payload round-trips, any single corrupted byte or a cut payload is refused,
// and a payload redis-server's DUMP wrote is recognised as Redis's own.
import test from 'ava';
import fc from 'fast-check';
import { crc64, decodeDump, dumpOverheadBytes, encodeDump } from '../../src/commands/dump-payload.js';

test('dump payload › CRC-64 is Redis\'s (Jones): its check value for "123456789"', (t) => {
  t.is(crc64(Buffer.from('123456789')), 0xe9c6d914c4b8d9can);
});

test('dump payload › a value round-trips; every single-byte change and every cut is refused (property)', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), fc.nat(), fc.integer({ min: 1, max: 255 }), (value, at, flip) => {
    const payload = encodeDump(value);
    t.is(payload.length, value.length + dumpOverheadBytes);
    t.deepEqual(decodeDump(payload), { ok: true, value });
    const changed = Buffer.from(payload);
    changed[at % payload.length]! ^= flip;
    t.false(decodeDump(changed).ok);
    t.false(decodeDump(payload.subarray(0, at % payload.length)).ok);
  }), { seed: 31, numRuns: 300 });
});

test('dump payload › a payload from redis-server 7 (DUMP of "1") is recognised as Redis\'s RDB format', (t) => {
  // redis-cli DUMP k after SET k 1: RDB type 0, int-encoded 1, RDB version 10, CRC-64 little-endian.
  const redis = Buffer.from([0x00, 0xc0, 0x01, 0x0a, 0x00, 0x26, 0x78, 0xe7, 0xb6, 0xd1, 0x01, 0x11, 0xfc]);
  t.deepEqual(decodeDump(redis), { ok: false, reason: 'redis' });
  t.deepEqual(decodeDump(Buffer.from('garbage')), { ok: false, reason: 'corrupt' });
});
