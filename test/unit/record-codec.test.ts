// The record codec writes its fields by index (record-codec.ts writeSiblings):
// checked here against the layout written with Buffer's own checked writers,
// as the codec did before, so the bytes on disk and on the wire stay the same.
import test from 'ava';
import fc from 'fast-check';
import { encodeSiblings, encodedSize, writeSiblings } from '../../src/clock/record-codec.js';
import type { ClockEntry, Sibling } from '../../src/clock/types.js';

const typeCodes = { counter: 1, hash: 2, set: 3, zset: 4, list: 5 } as const;

function referenceEncode(siblings: readonly Sibling[]): Buffer {
  const out = Buffer.alloc(encodedSize(siblings));
  let o = out.writeUInt8(2, 0);
  o = out.writeUInt16BE(siblings.length, o);
  const entry = (e: ClockEntry): void => {
    const id = Buffer.from(e.actor, 'utf8');
    o = out.writeUInt8(id.length, o);
    o += id.copy(out, o);
    o = out.writeDoubleBE(e.counter, o);
  };
  for (const s of siblings) {
    const flags = (s.deleted ? 1 : 0) | (s.expiresAt !== undefined ? 2 : 0) | (s.type !== undefined ? 4 : 0) | (s.emptied === true && s.type !== undefined ? 8 : 0);
    o = out.writeUInt8(flags, o);
    if (s.type !== undefined) o = out.writeUInt8(typeCodes[s.type], o);
    o = out.writeDoubleBE(s.timestamp, o);
    if (s.expiresAt !== undefined) o = out.writeDoubleBE(s.expiresAt, o);
    entry(s.dot);
    o = out.writeUInt16BE(s.past.length, o);
    for (const e of s.past) entry(e);
    o = out.writeUInt32BE(s.value.length, o);
    o += s.value.copy(out, o);
  }
  return out.subarray(0, o);
}

const actor = fc.constantFrom('n1#1', 'n2#17', 'node-with-a-longer-name#123456789', 'n\u00e9\u4e2d#2', 'a'.repeat(255));
const entry = fc.record({ actor, counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) });
const sibling: fc.Arbitrary<Sibling> = fc.record(
  {
    value: fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
    dot: entry,
    past: fc.array(entry, { maxLength: 4 }),
    timestamp: fc.double({ noNaN: true }),
    expiresAt: fc.double({ noNaN: true }),
    deleted: fc.constant(true),
    type: fc.constantFrom('counter', 'hash', 'set', 'zset', 'list'),
    emptied: fc.constant(true),
  },
  { requiredKeys: ['value', 'dot', 'past', 'timestamp'] },
) as fc.Arbitrary<Sibling>;

test('record codec › every record is written byte for byte as Buffer\'s checked writers write its layout', (t) => {
  fc.assert(fc.property(fc.array(sibling, { maxLength: 4 }), (siblings) => {
    const expected = referenceEncode(siblings);
    t.true(encodeSiblings(siblings).equals(expected));
    // At an offset inside a larger buffer too, as the replica messages write it.
    const framed = Buffer.alloc(expected.length + 7, 0xee);
    t.is(writeSiblings(siblings, framed, 5), expected.length + 5);
    t.true(framed.subarray(5, 5 + expected.length).equals(expected));
    t.is(framed[4], 0xee);
    t.is(framed[framed.length - 1], 0xee);
  }), { seed: 14, numRuns: 300 });
});

test('record codec › a buffer shorter than the record is an error, not a cut record', (t) => {
  const siblings: Sibling[] = [{ value: Buffer.alloc(64, 1), dot: { actor: 'n1#1', counter: 1 }, past: [], timestamp: 1 }];
  const size = encodedSize(siblings);
  t.throws(() => writeSiblings(siblings, Buffer.alloc(size - 1), 0), { instanceOf: RangeError });
  t.throws(() => writeSiblings(siblings, Buffer.alloc(size + 3), 4), { instanceOf: RangeError });
  t.is(writeSiblings(siblings, Buffer.alloc(size + 3), 3), size + 3);
});
