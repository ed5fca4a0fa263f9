// The anti-entropy messages (src/anti-entropy/messages.ts) defend themselves
// like the replica messages: every encoding round-trips, every truncation and
// trailing byte is refused, every count, index and bound is checked against
// the design's numbers (written out here, independent of the code), and any
// bytes at all decode to a value or a CodecError — nothing else is thrown.
import test from 'ava';
import fc from 'fast-check';
import type { ClockEntry, Sibling } from '../../src/clock/types.js';
import { encodeSiblings } from '../../src/clock/record-codec.js';
import { CodecError } from '../../src/peer/codec.js';
import {
  decodeLeafEntries,
  decodeLeafEntriesReply,
  decodeRecordsGet,
  decodeRecordsGetReply,
  decodeRecordsPut,
  decodeRecordsPutAck,
  decodeTreeLevel,
  decodeTreeLevelReply,
  encodeLeafEntries,
  encodeLeafEntriesReply,
  encodeRecordsGet,
  encodeRecordsGetReply,
  encodeRecordsPut,
  encodeRecordsPutAck,
  encodeTreeLevel,
  encodeTreeLevelReply,
  isTreeId,
  leafListingBytes,
  type LeafEntriesReply,
} from '../../src/anti-entropy/messages.js';
import { recordEntryBytes } from '../../src/clock/record-entries.js';
import { MessageType } from '../../src/peer/message-types.js';

// The design's bounds (aae-spec.md "Wire"), independent of the code under test.
const indicesMax = 4096;
const leavesMax = 256;
const keysMax = 512;
const levelMax = 5;
const leafLimit = 2 ** 20;

const runs = { seed: 7, numRuns: 200 };
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const actor = fc.stringMatching(/^[a-z]{1,6}#[0-9]{1,3}$/);
const counter = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 2 ** 52 }));
const clock: fc.Arbitrary<ClockEntry[]> = fc
  .uniqueArray(actor, { maxLength: 4 })
  .chain((actors) => fc.tuple(...actors.sort().map((a) => fc.record({ actor: fc.constant(a), counter }))));
const sibling: fc.Arbitrary<Sibling> = fc
  .record({ value: bytes(32), dot: fc.record({ actor, counter }), past: clock, timestamp: fc.integer({ min: 0, max: 2 ** 45 }), expires: fc.boolean(), deleted: fc.boolean() })
  .map(({ value, dot, past, timestamp, expires, deleted }) => {
    const s: { -readonly [K in keyof Sibling]: Sibling[K] } = {
      value,
      dot,
      past: past.filter((e) => e.actor !== dot.actor || e.counter < dot.counter),
      timestamp,
    };
    if (expires) s.expiresAt = timestamp + 1000;
    if (deleted) s.deleted = true;
    return s;
  });
const record = fc.array(sibling, { maxLength: 3 });
const nodeId = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
const treeId = fc.uniqueArray(nodeId, { minLength: 1, maxLength: 5 }).map((ids) => ids.sort().join(','));
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const ascending = (limit: number, min: number, max: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max: limit - 1 }), { minLength: min, maxLength: max }).map((a) => a.sort((x, y) => x - y));
const levelRequest = fc
  .integer({ min: 0, max: levelMax })
  .chain((level) => fc.record({ tree: treeId, level: fc.constant(level), indices: ascending(16 ** level, 1, 40) }));
const leafEntry = fc.record({ key: bytes(24), hi: u32, lo: u32 });
const leafEntriesReply: fc.Arbitrary<LeafEntriesReply> = fc.oneof(
  fc.constant({ found: false, leaves: [] }),
  fc
    .tuple(ascending(leafLimit, 1, 6), fc.boolean())
    .chain(([leaves, truncated]) =>
      fc.tuple(...leaves.map((leaf) => fc.record({ leaf: fc.constant(leaf), entries: fc.array(leafEntry, { maxLength: 5 }) }))).map((listed) =>
        truncated ? { found: true, leaves: listed, truncatedAfterLeaf: listed[listed.length - 1]!.leaf } : { found: true, leaves: listed },
      ),
    ),
  fc.constant({ found: true, leaves: [] }),
);
const recordsPut = fc.array(fc.record({ key: bytes(24), siblings: record }), { minLength: 1, maxLength: 6 });

/** Raw big-endian payloads for hand-made malformed inputs. */
const u8 = (v: number) => Buffer.from([v]);
const u16 = (v: number) => Buffer.from([v >> 8, v & 255]);
const u32b = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const tree = (id: string) => Buffer.concat([u8(id.length), Buffer.from(id, 'latin1')]);
const cat = (...parts: Buffer[]) => Buffer.concat(parts);

/** Each decoder with a valid payload generator, for the generic properties. */
const codecs: { name: string; sample: fc.Arbitrary<Buffer>; decode: (b: Buffer) => unknown }[] = [
  { name: 'TreeLevel', sample: levelRequest.map(encodeTreeLevel), decode: decodeTreeLevel },
  // Hashes for 3 indices (the decoder checks the count against its request's).
  { name: 'TreeLevelReply', sample: fc.option(fc.uint8Array({ minLength: 24, maxLength: 24 }).map((a) => Buffer.from(a)), { nil: undefined }).map(encodeTreeLevelReply), decode: (b) => decodeTreeLevelReply(b, 3) },
  { name: 'LeafEntries', sample: fc.record({ tree: treeId, leaves: ascending(leafLimit, 1, 20) }).map(encodeLeafEntries), decode: decodeLeafEntries },
  { name: 'LeafEntriesReply', sample: leafEntriesReply.map(encodeLeafEntriesReply), decode: decodeLeafEntriesReply },
  { name: 'RecordsGet', sample: fc.array(bytes(20), { minLength: 1, maxLength: 6 }).map(encodeRecordsGet), decode: decodeRecordsGet },
  { name: 'RecordsGetReply', sample: fc.array(record, { maxLength: 5 }).map(encodeRecordsGetReply), decode: decodeRecordsGetReply },
  { name: 'RecordsPut', sample: recordsPut.map(encodeRecordsPut), decode: decodeRecordsPut },
  { name: 'RecordsPutAck', sample: fc.integer({ min: 0, max: keysMax }).map(encodeRecordsPutAck), decode: decodeRecordsPutAck },
];

function isCodecError(error: unknown): boolean {
  return error instanceof CodecError && error.code === 'CODEC_MALFORMED';
}

test('anti-entropy messages › types are appended after the handshake, never renumbered', (t) => {
  t.is(MessageType.HandshakeRefused, 18);
  t.deepEqual(
    [MessageType.TreeLevel, MessageType.TreeLevelReply, MessageType.LeafEntries, MessageType.LeafEntriesReply],
    [19, 20, 21, 22],
  );
  t.deepEqual([MessageType.RecordsGet, MessageType.RecordsGetReply, MessageType.RecordsPut, MessageType.RecordsPutAck], [23, 24, 25, 26]);
  t.is(new Set(Object.values(MessageType)).size, Object.values(MessageType).length);
});

test('anti-entropy messages › TreeLevel and its reply round-trip (property)', (t) => {
  fc.assert(
    fc.property(levelRequest, fc.uint8Array({ minLength: 8, maxLength: 8 * 30 }), (request, raw) => {
      t.deepEqual(decodeTreeLevel(encodeTreeLevel(request)), request);
      const hashes = Buffer.from(raw.subarray(0, raw.length - (raw.length % 8)));
      const count = hashes.length / 8;
      t.deepEqual(decodeTreeLevelReply(encodeTreeLevelReply(hashes), count), { found: true, hashes });
      t.deepEqual(decodeTreeLevelReply(encodeTreeLevelReply(undefined), count), { found: false, hashes: Buffer.alloc(0) });
    }),
    runs,
  );
});

test('anti-entropy messages › LeafEntries and its reply round-trip (property)', (t) => {
  fc.assert(
    fc.property(treeId, ascending(leafLimit, 1, leavesMax), leafEntriesReply, (id, leaves, reply) => {
      t.deepEqual(decodeLeafEntries(encodeLeafEntries({ tree: id, leaves })), { tree: id, leaves });
      const payload = encodeLeafEntriesReply(reply);
      t.deepEqual(decodeLeafEntriesReply(payload), reply);
      t.is(payload.length, 3 + reply.leaves.reduce((n, l) => n + leafListingBytes(l.entries), 0));
    }),
    runs,
  );
});

test('anti-entropy messages › RecordsGet, RecordsGetReply, RecordsPut and the ack round-trip (property)', (t) => {
  fc.assert(
    fc.property(fc.array(bytes(30), { minLength: 1, maxLength: 20 }), fc.array(record, { maxLength: 8 }), recordsPut, (keys, records, entries) => {
      t.deepEqual(decodeRecordsGet(encodeRecordsGet(keys)), keys);
      t.deepEqual(decodeRecordsGetReply(encodeRecordsGetReply(records)), records);
      const put = encodeRecordsPut(entries);
      t.deepEqual(decodeRecordsPut(put), entries);
      t.is(put.length, 2 + entries.reduce((n, e) => n + recordEntryBytes(e.key, e.siblings), 0));
      t.is(decodeRecordsPutAck(encodeRecordsPutAck(entries.length)), entries.length);
    }),
    runs,
  );
});

test('anti-entropy messages › every message is refused truncated at any byte or with a trailing byte (property)', (t) => {
  for (const { name, sample, decode } of codecs) {
    fc.assert(
      fc.property(sample, fc.integer({ min: 0, max: 255 }), (payload, extra) => {
        for (let cut = 0; cut < payload.length; cut++) {
          t.throws(() => decode(payload.subarray(0, cut)), { instanceOf: CodecError }, `${name} cut at ${cut}`);
        }
        t.throws(() => decode(cat(payload, u8(extra))), { instanceOf: CodecError }, `${name} with a trailing byte`);
      }),
      { seed: 11, numRuns: 40 },
    );
  }
});

test('anti-entropy messages › garbage decodes to a value or a CodecError, nothing else (property)', (t) => {
  // Random bytes, and valid payloads with one byte flipped (which reach far deeper than pure noise).
  const flipped = fc.oneof(...codecs.map((c, i) => fc.tuple(fc.constant(i), c.sample, fc.nat(), fc.integer({ min: 1, max: 255 }))));
  fc.assert(
    fc.property(bytes(200), flipped, (noise, [i, payload, at, xor]) => {
      const broken = Buffer.from(payload);
      if (broken.length > 0) broken[at % broken.length]! ^= xor;
      for (const { decode } of codecs) {
        for (const input of [noise, broken]) {
          try {
            decode(input);
          } catch (error) {
            if (!isCodecError(error)) t.fail(`${codecs[i]!.name} bytes threw ${String(error)}`);
          }
        }
      }
    }),
    { seed: 3, numRuns: 1500 },
  );
  t.pass();
});

test('anti-entropy messages › tree ids must be sorted distinct node ids', (t) => {
  t.true(isTreeId('n1,n2,n3'));
  t.true(isTreeId('solo'));
  for (const bad of ['', 'n2,n1', 'n1,n1', 'n1,,n2', 'n1,', 'n 1', 'n1;n2', 'é', 'x'.repeat(256)]) t.false(isTreeId(bad), bad);
  const level = (id: string) => cat(tree(id), u8(0), u16(1), u32b(0));
  t.notThrows(() => decodeTreeLevel(level('a,b')));
  for (const bad of ['b,a', 'a,a', '', 'a,b,']) t.throws(() => decodeTreeLevel(level(bad)), { instanceOf: CodecError, message: /tree id/ });
  // Not UTF-8 at all.
  t.throws(() => decodeTreeLevel(cat(u8(2), Buffer.from([0xc3, 0x28]), u8(0), u16(1), u32b(0))), { instanceOf: CodecError });
});

test('anti-entropy messages › TreeLevel bounds: level, count, index range and order', (t) => {
  const id = tree('a,b,c');
  const levelOf = (level: number, indices: number[], count = indices.length) => cat(id, u8(level), u16(count), ...indices.map(u32b));
  t.notThrows(() => decodeTreeLevel(levelOf(levelMax, [0, 16 ** levelMax - 1])));
  t.notThrows(() => decodeTreeLevel(levelOf(3, Array.from({ length: indicesMax }, (_, i) => i))));
  const refused: [string, Buffer][] = [
    ['level above the deepest tree', levelOf(levelMax + 1, [0])],
    ['no index', levelOf(1, [])],
    ['more indices than a request may carry', levelOf(4, Array.from({ length: indicesMax + 1 }, (_, i) => i))],
    ['index beyond its level', levelOf(1, [16])],
    ['root index other than 0', levelOf(0, [1])],
    ['indices out of order', levelOf(2, [5, 4])],
    ['an index asked twice', levelOf(2, [5, 5])],
    ['count larger than the indices present', levelOf(2, [1, 2], 3)],
    ['count smaller than the indices present', levelOf(2, [1, 2], 1)],
  ];
  for (const [why, payload] of refused) t.throws(() => decodeTreeLevel(payload), { instanceOf: CodecError }, why);
});

test('anti-entropy messages › TreeLevelReply bounds: found byte, exactly one hash per index asked', (t) => {
  t.deepEqual(decodeTreeLevelReply(u8(0), 1).found, false);
  t.is(decodeTreeLevelReply(cat(u8(1), Buffer.alloc(8 * indicesMax)), indicesMax).hashes.length, 8 * indicesMax);
  const refused: [string, Buffer, number][] = [
    ['empty', Buffer.alloc(0), 1],
    ['found byte 2', cat(u8(2), Buffer.alloc(8)), 1],
    ['not found with hashes', cat(u8(0), Buffer.alloc(8)), 1],
    ['found without hashes', u8(1), 1],
    ['a partial hash', cat(u8(1), Buffer.alloc(12)), 2],
    ['fewer hashes than indices asked', cat(u8(1), Buffer.alloc(8)), 2],
    ['more hashes than indices asked', cat(u8(1), Buffer.alloc(24)), 2],
  ];
  for (const [why, payload, count] of refused) t.throws(() => decodeTreeLevelReply(payload, count), { instanceOf: CodecError }, why);
  t.throws(() => decodeTreeLevelReply(u8(0), indicesMax + 1), { message: /./ }, 'a count no request carries is a bug of the caller');
});

test('anti-entropy messages › LeafEntries bounds: count, leaf range and order', (t) => {
  const id = tree('n1,n2');
  const of = (leaves: number[], count = leaves.length) => cat(id, u16(count), ...leaves.map(u32b));
  t.notThrows(() => decodeLeafEntries(of(Array.from({ length: leavesMax }, (_, i) => i * 7))));
  t.notThrows(() => decodeLeafEntries(of([leafLimit - 1])));
  const refused: [string, Buffer][] = [
    ['no leaf', of([])],
    ['more leaves than a batch', of(Array.from({ length: leavesMax + 1 }, (_, i) => i))],
    ['leaf beyond the largest tree', of([leafLimit])],
    ['leaves out of order', of([9, 3])],
    ['a leaf asked twice', of([3, 3])],
    ['count larger than the leaves present', of([1], 2)],
  ];
  for (const [why, payload] of refused) t.throws(() => decodeLeafEntries(payload), { instanceOf: CodecError }, why);
});

test('anti-entropy messages › LeafEntriesReply bounds: flags, leaf count, order, entries that cannot fit', (t) => {
  const entry = (key: string, hi: number, lo: number) => cat(u32b(key.length), Buffer.from(key), u32b(hi), u32b(lo));
  const leaf = (index: number, ...entries: Buffer[]) => cat(u32b(index), u32b(entries.length), ...entries);
  const good = cat(u8(1), u16(2), leaf(3, entry('a', 1, 2)), leaf(9));
  t.deepEqual(decodeLeafEntriesReply(good), { found: true, leaves: [{ leaf: 3, entries: [{ key: Buffer.from('a'), hi: 1, lo: 2 }] }, { leaf: 9, entries: [] }] });
  t.is(decodeLeafEntriesReply(cat(u8(3), u16(1), leaf(4))).truncatedAfterLeaf, 4);
  t.notThrows(() => decodeLeafEntriesReply(cat(u8(1), u16(leavesMax), ...Array.from({ length: leavesMax }, (_, i) => leaf(i)))));
  const refused: [string, Buffer][] = [
    ['unknown flags', cat(u8(5), u16(0))],
    ['leaves of a tree not found', cat(u8(0), u16(1), leaf(1))],
    ['truncated but not found', cat(u8(2), u16(0))],
    ['truncated before any leaf', cat(u8(3), u16(0))],
    ['more leaves than a batch', cat(u8(1), u16(leavesMax + 1), ...Array.from({ length: leavesMax + 1 }, (_, i) => leaf(i)))],
    ['leaf beyond the largest tree', cat(u8(1), u16(1), leaf(leafLimit))],
    ['leaves out of order', cat(u8(1), u16(2), leaf(5), leaf(2))],
    ['a leaf listed twice', cat(u8(1), u16(2), leaf(5), leaf(5))],
    ['an entry count the bytes cannot hold', cat(u8(1), u16(1), u32b(1), u32b(0xffff_ffff))],
    ['a key running past the end', cat(u8(1), u16(1), u32b(1), u32b(1), u32b(100), Buffer.from('abc'), u32b(0), u32b(0))],
  ];
  for (const [why, payload] of refused) t.throws(() => decodeLeafEntriesReply(payload), { instanceOf: CodecError }, why);
});

test('anti-entropy messages › records bounds: key and record counts, lengths, malformed records', (t) => {
  const key = (k: string) => cat(u32b(k.length), Buffer.from(k));
  const rec = (r: Buffer) => cat(u32b(r.length), r);
  const empty = encodeSiblings([]);
  t.deepEqual(decodeRecordsGet(cat(u16(keysMax), ...Array.from({ length: keysMax }, () => key('')))).length, keysMax);
  t.is(decodeRecordsGetReply(cat(u16(keysMax), ...Array.from({ length: keysMax }, () => rec(empty)))).length, keysMax);
  t.deepEqual(decodeRecordsGetReply(u16(0)), []);
  const refused: [string, (b: Buffer) => unknown, Buffer][] = [
    ['RecordsGet without keys', decodeRecordsGet, u16(0)],
    ['RecordsGet over the key bound', decodeRecordsGet, cat(u16(keysMax + 1), ...Array.from({ length: keysMax + 1 }, () => key('')))],
    ['RecordsGet count the bytes cannot hold', decodeRecordsGet, cat(u16(400), key('a'))],
    ['RecordsGet key length past the end', decodeRecordsGet, cat(u16(1), u32b(0xffff_ffff), Buffer.from('a'))],
    ['RecordsGetReply over the key bound', decodeRecordsGetReply, cat(u16(keysMax + 1), ...Array.from({ length: keysMax + 1 }, () => rec(empty)))],
    ['RecordsGetReply record length past the end', decodeRecordsGetReply, cat(u16(1), u32b(100), empty)],
    ['RecordsGetReply malformed record', decodeRecordsGetReply, cat(u16(1), rec(Buffer.from([9, 0, 0])))],
    ['RecordsGetReply record with trailing bytes inside its length', decodeRecordsGetReply, cat(u16(1), rec(cat(empty, u8(0))))],
    ['RecordsPut without entries', decodeRecordsPut, u16(0)],
    ['RecordsPut over the entry bound', decodeRecordsPut, cat(u16(keysMax + 1), ...Array.from({ length: keysMax + 1 }, () => cat(key('k'), rec(empty))))],
    ['RecordsPut count the bytes cannot hold', decodeRecordsPut, cat(u16(3), key('k'), rec(empty))],
    ['RecordsPut malformed record', decodeRecordsPut, cat(u16(1), key('k'), rec(Buffer.from([2, 0, 1, 0])))],
    ['RecordsPutAck over the bound', decodeRecordsPutAck, u16(keysMax + 1)],
    ['RecordsPutAck empty', decodeRecordsPutAck, Buffer.alloc(0)],
  ];
  for (const [why, decode, payload] of refused) {
    const error = t.throws(() => decode(payload), { instanceOf: CodecError }, why);
    t.is(error?.code, 'CODEC_MALFORMED');
  }
});

test('anti-entropy messages › encoders refuse what no correct initiator or responder sends', (t) => {
  t.throws(() => encodeTreeLevel({ tree: 'b,a', level: 0, indices: [0] }));
  t.throws(() => encodeTreeLevel({ tree: 'a', level: 1, indices: [16] }));
  t.throws(() => encodeTreeLevel({ tree: 'a', level: 4, indices: Array.from({ length: indicesMax + 1 }, (_, i) => i) }));
  t.throws(() => encodeLeafEntries({ tree: 'a', leaves: [] }));
  t.throws(() => encodeLeafEntries({ tree: 'a', leaves: [2, 1] }));
  t.throws(() => encodeRecordsGet([]));
  t.throws(() => encodeRecordsPut(Array.from({ length: keysMax + 1 }, () => ({ key: Buffer.alloc(0), siblings: [] }))));
  t.throws(() => encodeLeafEntriesReply({ found: false, leaves: [{ leaf: 1, entries: [] }] }));
  t.throws(() => encodeTreeLevelReply(Buffer.alloc(7)));
});
