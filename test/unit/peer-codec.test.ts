import test from 'ava';
import fc from 'fast-check';
import type { ClockEntry, Sibling } from '../../src/clock/types.js';
import {
  CodecError,
  decodeControl,
  decodeReplicaGet,
  decodeReplicaGetReply,
  decodeReplicaPut,
  encodeControl,
  encodeReplicaGet,
  encodeReplicaGetReply,
  encodeReplicaPut,
} from '../../src/peer/codec.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const time = fc.integer({ min: 0, max: 2 ** 45 });

const clock: fc.Arbitrary<ClockEntry[]> = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 5 })
  .chain((nodes) =>
    fc.tuple(...nodes.sort().map((node) => fc.record({ node: fc.constant(node), counter: fc.integer({ min: 1, max: 2 ** 40 }), timestamp: time }))),
  );

const sibling: fc.Arbitrary<Sibling> = fc
  .record({ value: bytes(64), clock, timestamp: time, expiresAt: fc.option(time, { nil: undefined }), deleted: fc.boolean() })
  .map(({ value, clock, timestamp, expiresAt, deleted }) => {
    const s: { value: Buffer; clock: ClockEntry[]; timestamp: number; expiresAt?: number; deleted?: boolean } = { value, clock, timestamp };
    if (expiresAt !== undefined) s.expiresAt = expiresAt;
    if (deleted) s.deleted = true;
    return s;
  });

const siblings = fc.array(sibling, { maxLength: 4 });
const hintFor = fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined });
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
