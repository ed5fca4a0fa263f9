import test from 'ava';
import fc from 'fast-check';
import { covers, isCounter, isValidClock } from '../../src/clock/vclock.js';
import { RecordCodecError, decodeSiblings, encodeSiblings, encodedSize, readSiblings, writeSiblings } from '../../src/clock/record-codec.js';
import type { ClockEntry, Sibling } from '../../src/clock/types.js';
import { CodecError, decodeControl, encodeControl } from '../../src/peer/codec.js';
import {
  decodeReplicaGet,
  decodeReplicaGetReply,
  decodeReplicaPut,
  encodeReplicaGet,
  encodeReplicaGetReply,
  encodeReplicaPut,
} from '../../src/coordinator/replica-messages.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const time = fc.integer({ min: 0, max: 2 ** 45 });
const actor = fc.string({ minLength: 1, maxLength: 12 });
const counter = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 2 ** 52 }));

const clock: fc.Arbitrary<ClockEntry[]> = fc
  .uniqueArray(actor, { maxLength: 5 })
  .chain((actors) => fc.tuple(...actors.sort().map((a) => fc.record({ actor: fc.constant(a), counter }))));

/** A past never covers its own dot: the dot's actor is held below the dot. */
function pastBelow(past: ClockEntry[], dot: ClockEntry): ClockEntry[] {
  return past.flatMap((e) => (e.actor !== dot.actor || e.counter < dot.counter ? [e] : dot.counter > 1 ? [{ actor: e.actor, counter: dot.counter - 1 }] : []));
}

const sibling: fc.Arbitrary<Sibling> = fc
  .record({
    value: bytes(64),
    dot: fc.record({ actor, counter }),
    past: clock,
    timestamp: time,
    expiresAt: fc.option(time, { nil: undefined }),
    deleted: fc.boolean(),
  })
  .map(({ value, dot, past, timestamp, expiresAt, deleted }) => {
    const s: { value: Buffer; dot: ClockEntry; past: ClockEntry[]; timestamp: number; expiresAt?: number; deleted?: boolean } = {
      value,
      dot,
      past: pastBelow(past, dot),
      timestamp,
    };
    if (expiresAt !== undefined) s.expiresAt = expiresAt;
    if (deleted) s.deleted = true;
    return s;
  });

const siblings = fc.array(sibling, { maxLength: 4 });
// hintFor names a node: ids follow membership/node-id.ts.
const hintFor = fc.option(fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/), { nil: undefined });
const seeded = { seed: 20240601, numRuns: 300 };

test('codec › ReplicaPut round-trips (property)', (t) => {
  fc.assert(
    fc.property(bytes(40), siblings, hintFor, (key, sibs, hint) => {
      const decoded = decodeReplicaPut(encodeReplicaPut(key, sibs, hint));
      t.deepEqual(decoded, hint === undefined ? { key, siblings: sibs } : { key, siblings: sibs, hintFor: hint });
    }),
    seeded,
  );
});

test('codec › ReplicaGet and its reply round-trip (property)', (t) => {
  fc.assert(
    fc.property(bytes(40), siblings, (key, sibs) => {
      t.deepEqual(decodeReplicaGet(encodeReplicaGet(key)), key);
      t.deepEqual(decodeReplicaGetReply(encodeReplicaGetReply(sibs)), sibs);
    }),
    seeded,
  );
});

test('codec › every truncation and any trailing byte is malformed (property)', (t) => {
  fc.assert(
    fc.property(bytes(20), siblings, hintFor, fc.integer({ min: 0, max: 255 }), (key, sibs, hint, extra) => {
      const put = encodeReplicaPut(key, sibs, hint);
      for (let cut = 0; cut < put.length; cut++) {
        t.throws(() => decodeReplicaPut(put.subarray(0, cut)), { instanceOf: CodecError });
      }
      t.throws(() => decodeReplicaPut(Buffer.concat([put, Buffer.from([extra])])), { instanceOf: CodecError });
      const reply = encodeReplicaGetReply(sibs);
      t.throws(() => decodeReplicaGetReply(reply.subarray(0, reply.length - 1)), { instanceOf: CodecError });
    }),
    { seed: 99, numRuns: 60 },
  );
});

test('codec › random bytes decode or throw CodecError, nothing else (property)', (t) => {
  fc.assert(
    fc.property(bytes(120), (buf) => {
      for (const decode of [decodeReplicaPut, decodeReplicaGetReply, decodeControl]) {
        try {
          decode(buf);
        } catch (error) {
          t.true(error instanceof CodecError, String(error));
          t.is((error as CodecError).code, 'CODEC_MALFORMED');
        }
      }
    }),
    { seed: 5, numRuns: 1000 },
  );
});

test('codec › ReplicaPut rejects unknown flags and an empty hint', (t) => {
  const put = encodeReplicaPut(Buffer.from('k'), [], 'node-b');
  const badFlags = Buffer.from(put);
  badFlags[0] = 0x80;
  t.throws(() => decodeReplicaPut(badFlags), { instanceOf: CodecError, message: /flags/ });
  t.throws(() => encodeReplicaPut(Buffer.from('k'), [], ''), { instanceOf: CodecError });
  t.throws(() => encodeReplicaPut(Buffer.from('k'), [], 'x'.repeat(256)), { instanceOf: CodecError });
});

test('codec › malformed record bytes surface as CodecError with the cause', (t) => {
  const error = t.throws(() => decodeReplicaGetReply(Buffer.from([9, 0, 0])), { instanceOf: CodecError });
  t.is(error?.code, 'CODEC_MALFORMED');
  t.truthy(error?.cause);
});

test('codec › control values round-trip with Buffers as Buffers (property)', (t) => {
  const value = fc.jsonValue().map((json) => ({ json, blob: Buffer.from('blob'), nested: { list: [Buffer.alloc(3, 1), 7, 'x'] } }));
  fc.assert(
    fc.property(value, (v) => {
      const decoded = decodeControl<typeof v>(encodeControl(v));
      t.deepEqual(decoded.json, v.json);
      t.true(Buffer.isBuffer(decoded.blob));
      t.true(Buffer.isBuffer(decoded.nested.list[0]));
      t.deepEqual(decoded.blob, v.blob);
      t.deepEqual(decoded.nested, v.nested);
    }),
    seeded,
  );
});

test('codec › control rejects empty, truncated and trailing bytes', (t) => {
  const good = encodeControl({ a: 1, b: Buffer.from('x') });
  t.throws(() => decodeControl(Buffer.alloc(0)), { instanceOf: CodecError });
  t.throws(() => decodeControl(good.subarray(0, good.length - 1)), { instanceOf: CodecError });
  t.throws(() => decodeControl(Buffer.concat([good, Buffer.from([1])])), { instanceOf: CodecError });
});

// The record codec (clock/record-codec.ts) under every replica message and
// every LevelDB value ------------------------------------------------------

/** Decodes, returning the record or 'malformed'; anything but RecordCodecError fails the test. */
function tryRecord(buf: Buffer): Sibling[] | 'malformed' {
  try {
    return decodeSiblings(buf);
  } catch (error) {
    if (error instanceof RecordCodecError && error.code === 'RECORD_MALFORMED') return 'malformed';
    throw error;
  }
}

/** What any decoded record must satisfy, however corrupt its bytes were. */
function wellFormed(record: readonly Sibling[]): boolean {
  return record.every(
    (s) =>
      s.dot.actor.length > 0 &&
      isCounter(s.dot.counter) &&
      isValidClock(s.past) &&
      !covers(s.past, s.dot) &&
      Number.isFinite(s.timestamp) &&
      (s.expiresAt === undefined || Number.isFinite(s.expiresAt)) &&
      Buffer.isBuffer(s.value),
  );
}

test('codec › record › format 2 round-trips any record, at any offset of a larger buffer (property)', (t) => {
  fc.assert(
    fc.property(siblings, fc.nat({ max: 16 }), (sibs, pad) => {
      const encoded = encodeSiblings(sibs);
      t.is(encoded[0], 2, 'format 2');
      t.is(encoded.length, encodedSize(sibs));
      t.deepEqual(decodeSiblings(encoded), sibs);
      const out = Buffer.alloc(pad + encodedSize(sibs) + pad, 0xee);
      const end = writeSiblings(sibs, out, pad);
      t.is(end, pad + encoded.length);
      t.deepEqual(readSiblings(out, pad, end), sibs);
    }),
    seeded,
  );
});

test('codec › record › corruption and truncation never throw anything but RecordCodecError (property)', (t) => {
  fc.assert(
    fc.property(siblings, fc.nat(), fc.integer({ min: 1, max: 255 }), (sibs, at, flip) => {
      const encoded = encodeSiblings(sibs);
      const i = at % encoded.length;
      const corrupt = Buffer.from(encoded);
      corrupt[i] = corrupt[i]! ^ flip;
      const outcome = tryRecord(corrupt);
      if (outcome !== 'malformed') t.true(wellFormed(outcome));
      t.is(tryRecord(encoded.subarray(0, i)), 'malformed', `truncated to ${i} bytes`);
      t.is(tryRecord(Buffer.concat([encoded, Buffer.from([flip])])), 'malformed', 'trailing byte');
    }),
    { seed: 3, numRuns: 500 },
  );
});

test('codec › record › random bytes decode to a well-formed record or throw RecordCodecError (property)', (t) => {
  fc.assert(
    fc.property(bytes(120), fc.constantFrom(1, 2), (buf, format) => {
      if (buf.length > 0) buf[0] = format;
      const outcome = tryRecord(buf);
      if (outcome !== 'malformed' && !wellFormed(outcome)) throw new Error(`decoded a malformed record from ${buf.toString('hex')}`);
    }),
    { seed: 5, numRuns: 1000 },
  );
  // Short buffers that happen to be valid (an empty record) do decode.
  t.deepEqual(decodeSiblings(Buffer.from([2, 0, 0])), []);
  t.deepEqual(decodeSiblings(Buffer.from([1, 0, 0])), []);
});

/** A one-sibling format-2 record laid out by hand, so single fields can be made wrong. */
function record2(fields: { flags?: number; timestamp?: number; expiresAt?: number; dot?: [string, number]; past?: [string, number][]; value?: string } = {}): Buffer {
  const f64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return b;
  };
  const entry = ([id, n]: [string, number]) => Buffer.concat([Buffer.from([Buffer.byteLength(id)]), Buffer.from(id), f64(n)]);
  const flags = fields.flags ?? (fields.expiresAt !== undefined ? 2 : 0);
  const past = fields.past ?? [];
  const count = Buffer.alloc(2);
  count.writeUInt16BE(past.length);
  const value = Buffer.from(fields.value ?? 'v');
  const valueBytes = Buffer.alloc(4);
  valueBytes.writeUInt32BE(value.length);
  return Buffer.concat([
    Buffer.from([2, 0, 1, flags]),
    f64(fields.timestamp ?? 1000),
    fields.expiresAt !== undefined ? f64(fields.expiresAt) : Buffer.alloc(0),
    entry(fields.dot ?? ['b', 5]),
    count,
    ...past.map(entry),
    valueBytes,
    value,
  ]);
}

test('codec › record › the hand-built layout decodes as expected', (t) => {
  t.deepEqual(decodeSiblings(record2({ past: [['a', 2], ['b', 4]], expiresAt: 5000 })), [
    { value: Buffer.from('v'), dot: { actor: 'b', counter: 5 }, past: [{ actor: 'a', counter: 2 }, { actor: 'b', counter: 4 }], timestamp: 1000, expiresAt: 5000 },
  ]);
  t.deepEqual(encodeSiblings(decodeSiblings(record2({ past: [['a', 2]] }))), record2({ past: [['a', 2]] }));
});

const malformedRecords: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['unknown format 3', Buffer.from([3, 0, 0])],
  ['format 0', Buffer.from([0, 0, 0])],
  ['unknown flags', record2({ flags: 4 })],
  ['NaN timestamp', record2({ timestamp: NaN })],
  ['infinite expiry', record2({ expiresAt: Infinity })],
  ['empty dot actor', record2({ dot: ['', 1] })],
  ['zero dot counter', record2({ dot: ['b', 0] })],
  ['fractional dot counter', record2({ dot: ['b', 1.5] })],
  ['dot counter beyond counterMax', record2({ dot: ['b', 2 ** 52 + 1] })],
  ['unsorted past', record2({ past: [['c', 1], ['a', 1]] })],
  ['duplicate past actors', record2({ past: [['a', 1], ['a', 2]] })],
  ['zero past counter', record2({ past: [['a', 0]] })],
  ['past covering its own dot', record2({ dot: ['b', 5], past: [['b', 5]] })],
  ['past beyond its own dot', record2({ dot: ['b', 5], past: [['a', 1], ['b', 9]] })],
  ['value length beyond the record', (() => {
    const b = record2();
    b.writeUInt32BE(1000, b.length - 5);
    return b;
  })()],
  ['trailing bytes', Buffer.concat([record2(), Buffer.from([0])])],
];

for (const [name, buf] of malformedRecords) {
  test(`codec › record › refuses a malformed record: ${name}`, (t) => {
    t.is(tryRecord(buf), 'malformed');
  });
}

test('codec › record › a past that covers other actors at any height, and its own actor below the dot, is fine', (t) => {
  const [s] = decodeSiblings(record2({ dot: ['b', 5], past: [['a', 99], ['b', 4], ['c', 2 ** 52]] }));
  t.deepEqual(s!.past, [{ actor: 'a', counter: 99 }, { actor: 'b', counter: 4 }, { actor: 'c', counter: 2 ** 52 }]);
});

test('codec › record › the encoder refuses an actor id longer than 255 bytes with RecordCodecError', (t) => {
  const long: Sibling = { value: Buffer.from('v'), dot: { actor: 'x'.repeat(256), counter: 1 }, past: [], timestamp: 1 };
  t.throws(() => encodeSiblings([long]), { instanceOf: RecordCodecError });
  t.throws(() => encodeSiblings([{ ...long, dot: { actor: 'a', counter: 2 }, past: [{ actor: 'é'.repeat(128), counter: 1 }] }]), { instanceOf: RecordCodecError });
  t.notThrows(() => encodeSiblings([{ ...long, dot: { actor: 'x'.repeat(255), counter: 1 } }]));
});

// Format 1: vector clocks whose entries carried timestamps, read for records
// stored before dotted versions. Built by hand here: nothing writes it any more.

interface OldEntry {
  readonly node: string;
  readonly counter: number;
  readonly timestamp: number;
}

interface OldSibling {
  readonly value: Buffer;
  readonly clock: readonly OldEntry[];
  readonly timestamp: number;
  readonly expiresAt?: number;
  readonly deleted?: boolean;
}

function recordV1(siblings: readonly OldSibling[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(3);
  head.writeUInt8(1, 0);
  head.writeUInt16BE(siblings.length, 1);
  parts.push(head);
  for (const s of siblings) {
    const fixed = Buffer.alloc(1 + 8 + (s.expiresAt !== undefined ? 8 : 0) + 2);
    let o = fixed.writeUInt8((s.deleted ? 1 : 0) | (s.expiresAt !== undefined ? 2 : 0), 0);
    o = fixed.writeDoubleBE(s.timestamp, o);
    if (s.expiresAt !== undefined) o = fixed.writeDoubleBE(s.expiresAt, o);
    fixed.writeUInt16BE(s.clock.length, o);
    parts.push(fixed);
    for (const e of s.clock) {
      const id = Buffer.from(e.node, 'utf8');
      const nums = Buffer.alloc(16);
      nums.writeDoubleBE(e.counter, 0);
      nums.writeDoubleBE(e.timestamp, 8);
      parts.push(Buffer.from([id.length]), id, nums);
    }
    const len = Buffer.alloc(4);
    len.writeUInt32BE(s.value.length);
    parts.push(len, s.value);
  }
  return Buffer.concat(parts);
}

function old(clock: Record<string, [number, number]>, timestamp = 1, extra: Partial<OldSibling> = {}): OldSibling {
  const entries = Object.keys(clock)
    .sort()
    .map((node) => ({ node, counter: clock[node]![0], timestamp: clock[node]![1] }));
  return { value: Buffer.from('v'), clock: entries, timestamp, ...extra };
}

const v1Cases: [string, OldSibling, ClockEntry, ClockEntry[]][] = [
  ['one entry, first event', old({ A: [1, 10] }), { actor: 'A', counter: 1 }, []],
  ['one entry, later event', old({ A: [4, 10] }), { actor: 'A', counter: 4 }, [{ actor: 'A', counter: 3 }]],
  ['the newest entry is the writer', old({ A: [3, 5], B: [1, 9] }), { actor: 'B', counter: 1 }, [{ actor: 'A', counter: 3 }]],
  ['the writer keeps its earlier events', old({ A: [3, 9], B: [1, 5] }), { actor: 'A', counter: 3 }, [{ actor: 'A', counter: 2 }, { actor: 'B', counter: 1 }]],
  ['equal timestamps: the greatest node id writes', old({ A: [2, 7], B: [2, 7] }), { actor: 'B', counter: 2 }, [{ actor: 'A', counter: 2 }, { actor: 'B', counter: 1 }]],
  ['a one-off actor', old({ A: [3, 5], 'A~k2.0': [1, 6] }), { actor: 'A~k2.0', counter: 1 }, [{ actor: 'A', counter: 3 }]],
];

for (const [name, sibling, dot, past] of v1Cases) {
  test(`codec › record › format 1: ${name}`, (t) => {
    const [decoded] = decodeSiblings(recordV1([sibling]));
    t.deepEqual(decoded, { value: sibling.value, dot, past, timestamp: sibling.timestamp });
  });
}

test('codec › record › format 1 keeps flags, expiry, timestamp and value, and re-encodes as format 2', (t) => {
  const siblingsV1 = [
    old({ A: [2, 10] }, 100, { value: Buffer.from('kept'), expiresAt: 5000 }),
    old({ B: [1, 20] }, 200, { value: Buffer.alloc(0), deleted: true }),
  ];
  const decoded = decodeSiblings(recordV1(siblingsV1));
  t.deepEqual(decoded, [
    { value: Buffer.from('kept'), dot: { actor: 'A', counter: 2 }, past: [{ actor: 'A', counter: 1 }], timestamp: 100, expiresAt: 5000 },
    { value: Buffer.alloc(0), dot: { actor: 'B', counter: 1 }, past: [], timestamp: 200, deleted: true },
  ]);
  t.is(encodeSiblings(decoded)[0], 2);
  t.deepEqual(decodeSiblings(encodeSiblings(decoded)), decoded);
});

test('codec › record › format 1 dot is the newest-timestamp entry, past the rest (property)', (t) => {
  const oldClock = fc
    .uniqueArray(fc.constantFrom('A', 'B', 'C', 'D'), { minLength: 1, maxLength: 4 })
    .chain((nodes) =>
      fc.tuple(...nodes.sort().map((node) => fc.record({ node: fc.constant(node), counter: fc.integer({ min: 1, max: 5 }), timestamp: fc.integer({ min: 0, max: 4 }) }))),
    );
  fc.assert(
    fc.property(oldClock, time, (clock, timestamp) => {
      const [decoded] = decodeSiblings(recordV1([{ value: Buffer.from('x'), clock, timestamp }]));
      const newest = Math.max(...clock.map((e) => e.timestamp));
      const writer = clock.filter((e) => e.timestamp === newest).reduce((a, b) => (b.node > a.node ? b : a));
      t.deepEqual(decoded!.dot, { actor: writer.node, counter: writer.counter });
      const expected = clock.flatMap((e) => (e !== writer ? [{ actor: e.node, counter: e.counter }] : e.counter > 1 ? [{ actor: e.node, counter: e.counter - 1 }] : []));
      t.deepEqual(decoded!.past, expected);
      t.true(wellFormed([decoded!]));
    }),
    seeded,
  );
});

// An old history: each write merged some earlier clocks with its node's latest
// and incremented its own entry, stamped after every entry it saw (the old
// vclock.increment). Decoded, a version supersedes another exactly when its
// old clock dominated the other's.
test('codec › record › format-1 versions supersede exactly what their old clocks dominated (property)', (t) => {
  const writeArb = fc.record({ node: fc.constantFrom('A', 'B', 'C'), parents: fc.array(fc.nat(), { maxLength: 3 }), now: fc.integer({ min: 0, max: 50 }) });
  const counters = (c: readonly OldEntry[]) => new Map(c.map((e) => [e.node, e.counter]));
  const dominates = (a: readonly OldEntry[], b: readonly OldEntry[]) => {
    const ma = counters(a);
    const mb = counters(b);
    for (const [node, n] of mb) if ((ma.get(node) ?? 0) < n) return false;
    return [...ma].some(([node, n]) => n > (mb.get(node) ?? 0));
  };
  fc.assert(
    fc.property(fc.array(writeArb, { minLength: 1, maxLength: 12 }), (writes) => {
      const clocks: OldEntry[][] = [];
      const latest = new Map<string, number>();
      writes.forEach((w, index) => {
        const parents = new Set(index === 0 ? [] : w.parents.map((p) => p % index));
        if (latest.has(w.node)) parents.add(latest.get(w.node)!);
        const merged = new Map<string, OldEntry>();
        for (const p of parents) for (const e of clocks[p]!) if ((merged.get(e.node)?.counter ?? 0) < e.counter) merged.set(e.node, e);
        const newest = Math.max(-1, ...[...merged.values()].map((e) => e.timestamp));
        const own = merged.get(w.node)?.counter ?? 0;
        merged.set(w.node, { node: w.node, counter: own + 1, timestamp: Math.max(w.now, newest + 1) });
        clocks.push([...merged.values()].sort((x, y) => (x.node < y.node ? -1 : 1)));
        latest.set(w.node, index);
      });
      const decoded = decodeSiblings(recordV1(clocks.map((clock) => ({ value: Buffer.from('v'), clock, timestamp: 1 }))));
      for (let i = 0; i < clocks.length; i++) {
        for (let j = 0; j < clocks.length; j++) {
          if (i === j) continue;
          t.is(covers(decoded[i]!.past, decoded[j]!.dot), dominates(clocks[i]!, clocks[j]!), `${i} over ${j}`);
        }
      }
    }),
    { seed: 17, numRuns: 200 },
  );
});

const malformedV1: [string, Buffer][] = [
  ['a version without a clock', recordV1([{ value: Buffer.from('v'), clock: [], timestamp: 1 }])],
  ['unsorted clock', recordV1([{ value: Buffer.from('v'), clock: [{ node: 'B', counter: 1, timestamp: 1 }, { node: 'A', counter: 1, timestamp: 1 }], timestamp: 1 }])],
  ['zero counter', recordV1([old({ A: [0, 1] })])],
  ['NaN entry timestamp', recordV1([old({ A: [1, NaN] })])],
  ['infinite entry timestamp', recordV1([old({ A: [1, Infinity] })])],
  ['NaN sibling timestamp', recordV1([old({ A: [1, 1] }, NaN)])],
];

for (const [name, buf] of malformedV1) {
  test(`codec › record › format 1 refuses: ${name}`, (t) => {
    t.is(tryRecord(buf), 'malformed');
  });
}

test('codec › record › format-1 truncations and corruptions throw nothing but RecordCodecError (property)', (t) => {
  const oldSibling = fc
    .record({
      clock: fc.uniqueArray(fc.record({ node: fc.string({ minLength: 1, maxLength: 4 }), counter: fc.integer({ min: 1, max: 9 }), timestamp: time }), {
        selector: (e) => e.node,
        minLength: 1,
        maxLength: 4,
      }),
      value: bytes(16),
      timestamp: time,
    })
    .map((s) => ({ ...s, clock: s.clock.sort((x, y) => (x.node < y.node ? -1 : 1)) }));
  fc.assert(
    fc.property(fc.array(oldSibling, { maxLength: 3 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (sibs, at, flip) => {
      const buf = recordV1(sibs);
      const decoded = tryRecord(buf);
      t.not(decoded, 'malformed');
      const i = at % buf.length;
      t.is(tryRecord(buf.subarray(0, i)), 'malformed');
      const corrupt = Buffer.from(buf);
      corrupt[i] = corrupt[i]! ^ flip;
      const outcome = tryRecord(corrupt);
      if (outcome !== 'malformed') t.true(wellFormed(outcome));
    }),
    { seed: 23, numRuns: 300 },
  );
});

test('codec › a ReplicaPut carrying a version whose past covers its own dot is malformed', (t) => {
  const put = Buffer.concat([encodeReplicaPut(Buffer.from('k'), []).subarray(0, 5 + 1), record2({ dot: ['b', 5], past: [['b', 5]] })]);
  const error = t.throws(() => decodeReplicaPut(put), { instanceOf: CodecError });
  t.true(error?.cause instanceof RecordCodecError);
});
