import test from 'ava';
import fc from 'fast-check';
import xxhash from 'xxhash-addon';
import { ContextError, contextCounterMax, contextEntriesMax, contextTextCharsMax, decodeContext, encodeContext } from '../../src/clock/context.js';
import { causalContext } from '../../src/clock/siblings.js';
import { counterMax, fresh, isValidClock, merge } from '../../src/clock/vclock.js';
import type { Sibling, VClock } from '../../src/clock/types.js';
import { foldVersions, newVersion } from '../../src/coordinator/versioning.js';
import { MemoryActor } from '../../src/storage/actor.js';

const runs = { seed: 42, numRuns: 300 };

const actorArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });

const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(
    fc.record({
      actor: actorArb,
      counter: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: contextCounterMax })),
    }),
    { selector: (e) => e.actor, maxLength: 6 },
  )
  .map((entries) => entries.sort((x, y) => (x.actor < y.actor ? -1 : x.actor > y.actor ? 1 : 0)));

const keyArb = fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes));

/** Decodes, returning the ContextError code, or the clock; anything else thrown fails the test. */
function attempt(key: Buffer, text: string): VClock | ContextError['code'] {
  try {
    return decodeContext(key, text);
  } catch (error) {
    if (error instanceof ContextError) return error.code;
    throw error;
  }
}

function sameClock(a: VClock, b: VClock): boolean {
  return a.length === b.length && a.every((e, i) => e.actor === b[i]!.actor && e.counter === b[i]!.counter);
}

test('context › encode then decode gives the same clock back, for any clock and key', (t) => {
  fc.assert(
    fc.property(keyArb, clockArb, (key, clock) => {
      const text = encodeContext(key, clock);
      t.regex(text, /^[A-Za-z0-9_-]*$/);
      t.true(sameClock(decodeContext(key, text), clock));
    }),
    runs,
  );
});

test('context › every single-byte corruption or truncation is refused with ContextError or decodes to a valid clock', (t) => {
  fc.assert(
    fc.property(keyArb, clockArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (key, clock, at, flip) => {
      const bytes = Buffer.from(encodeContext(key, clock), 'base64url');
      const corrupt = Buffer.from(bytes);
      const i = at % corrupt.length;
      corrupt[i] = corrupt[i]! ^ flip;
      for (const text of [corrupt.toString('base64url'), bytes.subarray(0, i).toString('base64url')]) {
        const outcome = attempt(key, text);
        if (typeof outcome !== 'string') {
          t.true(isValidClock(outcome));
          for (const e of outcome) t.true(e.counter <= contextCounterMax);
        }
      }
    }),
    runs,
  );
});

test('context › every single-character corruption of the text is refused with ContextError or decodes to a valid clock', (t) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .\u00e9';
  fc.assert(
    fc.property(keyArb, clockArb, fc.nat(), fc.nat({ max: alphabet.length - 1 }), (key, clock, at, pick) => {
      const text = encodeContext(key, clock);
      const i = at % text.length;
      const corrupt = text.slice(0, i) + alphabet[pick] + text.slice(i + 1);
      const outcome = attempt(key, corrupt);
      if (typeof outcome !== 'string') t.true(isValidClock(outcome));
      t.is(attempt(key, text.slice(0, i)) === 'CONTEXT_MALFORMED' || i === 0, true);
    }),
    runs,
  );
});

test('context › a context taken from another key is refused as foreign', (t) => {
  fc.assert(
    fc.property(keyArb, keyArb, clockArb, (a, b, clock) => {
      fc.pre(!a.equals(b));
      t.is(attempt(b, encodeContext(a, clock)), 'CONTEXT_FOREIGN');
    }),
    runs,
  );
  t.is(attempt(Buffer.from('user:2'), encodeContext(Buffer.from('user:1'), fresh())), 'CONTEXT_FOREIGN');
  const error = t.throws(() => decodeContext(Buffer.from('user:2'), encodeContext(Buffer.from('user:1'), [{ actor: 'a#1', counter: 3 }])), {
    instanceOf: ContextError,
  });
  t.is(error?.code, 'CONTEXT_FOREIGN');
});

test('context › an empty clock encodes and decodes', (t) => {
  const key = Buffer.from('k');
  const text = encodeContext(key, fresh());
  t.is(text.length, 8, 'version, 4-byte key tag, count: 6 bytes');
  t.deepEqual(decodeContext(key, text), []);
});

test('context › a clock after a few writes stays a short token', (t) => {
  // Actor ids are node id and storage epoch; counters node-wide, so large.
  const clock = merge(['node-1#0k3j9x2a', 'node-2#7fq0zz81', 'node-3#a0b1c2d3'].map((actor) => [{ actor, counter: 123_456_789 }]));
  const text = encodeContext(Buffer.from('user:42'), clock);
  t.true(text.length <= 100, `${text.length} chars`);
});

test('context › every counter a node can mint (up to counterMax) decodes; the write path, not the decoder, refuses forgeries', (t) => {
  const key = Buffer.from('k');
  t.deepEqual(decodeContext(key, encodeContext(key, [{ actor: 'a', counter: contextCounterMax + 1 }])), [{ actor: 'a', counter: contextCounterMax + 1 }]);
  t.deepEqual(decodeContext(key, encodeContext(key, [{ actor: 'a', counter: counterMax }])), [{ actor: 'a', counter: counterMax }]);
  const error = t.throws(() => decodeContext(key, withCounter(varint(counterMax + 1))), { instanceOf: ContextError });
  t.regex(error?.message ?? '', /too large/);
  // A forged claim beyond contextCounterMax that the key never saw is refused when written, changing nothing.
  const forged = t.throws(() => newVersion([], { kind: 'value', value: Buffer.from('x') }, [{ actor: 'b', counter: contextCounterMax + 1 }], new MemoryActor('a'), 1), { instanceOf: ContextError });
  t.is(forged?.code, 'CONTEXT_IMPLAUSIBLE');
});

test('context › encodeContext refuses a clock that is not valid (a programmer error)', (t) => {
  const key = Buffer.from('k');
  t.throws(() => encodeContext(key, [{ actor: 'b', counter: 1 }, { actor: 'a', counter: 1 }]));
  t.throws(() => encodeContext(key, [{ actor: 'a', counter: 0 }]));
  t.throws(() => encodeContext(key, [{ actor: 'x'.repeat(256), counter: 1 }]));
  t.throws(() => encodeContext(key, [{ actor: '\uD800', counter: 1 }]));
});

function rawContext(key: Buffer, clock: VClock, mutate: (bytes: Buffer) => Buffer): string {
  return mutate(Buffer.from(encodeContext(key, clock), 'base64url')).toString('base64url');
}

/** A LEB128 varint, written without the codec's own helper. */
function varint(value: number): Buffer {
  const out: number[] = [];
  while (value >= 128) {
    out.push((value % 128) | 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

const key = Buffer.from('k');
const keyTag = xxhash.XXHash64.hash(key).subarray(0, 4);

/**
 * A context in the layout of version 1 (vector clocks, before dotted
 * versions): per entry a node id, a counter and an f64 timestamp. Built by
 * hand, since nothing writes it any more.
 */
function contextV1(entries: { node: string; counter: number; timestamp: number }[]): string {
  const parts = [Buffer.from([1]), keyTag, varint(entries.length)];
  for (const e of entries) {
    const ts = Buffer.alloc(8);
    ts.writeDoubleBE(e.timestamp);
    parts.push(varint(Buffer.byteLength(e.node)), Buffer.from(e.node), varint(e.counter), ts);
  }
  return Buffer.concat(parts).toString('base64url');
}

test('context › a version-1 context (vector clocks) is refused, telling the client to read again', (t) => {
  const old = contextV1([
    { node: 'a', counter: 1, timestamp: 1_700_000_000_000 },
    { node: 'b', counter: 2, timestamp: 1_700_000_000_001 },
  ]);
  const error = t.throws(() => decodeContext(key, old), { instanceOf: ContextError });
  t.is(error?.code, 'CONTEXT_MALFORMED');
  t.regex(error?.message ?? '', /version 1.*read the key again/);
  t.is(attempt(key, contextV1([])), 'CONTEXT_MALFORMED', 'even an empty one');
});

const twoEntries: VClock = [
  { actor: 'a', counter: 1 },
  { actor: 'b', counter: 2 },
];
// Offsets in the encoding of twoEntries: 0 version, 1-4 tag, 5 count, 6 len 'a', 7 'a', 8 counter, 9 len 'b', 10 'b', 11 counter.
const withCounter = (counter: Buffer) => rawContext(key, twoEntries, (b) => Buffer.concat([b.subarray(0, 8), counter, b.subarray(9)]));
const malformedCases: [string, string][] = [
  ['garbage characters', '!!!!'],
  ['padding', encodeContext(key, twoEntries) + '='],
  ['standard base64 alphabet', encodeContext(key, twoEntries).replace(/-/g, '+').replace(/_/g, '/') + '+'],
  ['empty text', ''],
  ['version 1', rawContext(key, twoEntries, (b) => ((b[0] = 1), b))],
  ['unknown version', rawContext(key, twoEntries, (b) => ((b[0] = 3), b))],
  ['version 0', rawContext(key, twoEntries, (b) => ((b[0] = 0), b))],
  ['truncated', rawContext(key, twoEntries, (b) => b.subarray(0, b.length - 1))],
  ['truncated in the key tag', rawContext(key, twoEntries, (b) => b.subarray(0, 3))],
  ['trailing bytes', rawContext(key, twoEntries, (b) => Buffer.concat([b, Buffer.from([0])]))],
  ['unsorted actors', rawContext(key, twoEntries, (b) => ((b[7] = 'c'.charCodeAt(0)), b))],
  ['duplicate actors', rawContext(key, twoEntries, (b) => ((b[10] = 'a'.charCodeAt(0)), b))],
  ['zero counter', rawContext(key, twoEntries, (b) => ((b[8] = 0), b))],
  ['non-minimal varint', withCounter(Buffer.from([0x81, 0x00]))],
  ['counter one above counterMax', withCounter(varint(counterMax + 1))],
  ['counter 2^53 - 1', withCounter(varint(Number.MAX_SAFE_INTEGER))],
  ['counter beyond 2^53', withCounter(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))],
  ['varint longer than 8 bytes', withCounter(Buffer.from([0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01]))],
  ['empty actor id', rawContext(key, twoEntries, (b) => ((b[6] = 0), b))],
  ['actor id longer than 255 bytes', rawContext(key, fresh(), (b) => Buffer.concat([b.subarray(0, 5), Buffer.from([1]), varint(256), Buffer.alloc(256, 0x61), Buffer.from([1])]))],
  ['actor id not UTF-8', rawContext(key, twoEntries, (b) => ((b[7] = 0xff), b))],
  ['absurd entry count', rawContext(key, fresh(), (b) => Buffer.concat([b.subarray(0, 5), Buffer.from([0xff, 0xff, 0x7f])]))],
  ['absurd length', 'A'.repeat(contextTextCharsMax + 1)],
];

for (const [name, text] of malformedCases) {
  test(`context › refuses a malformed context: ${name}`, (t) => {
    t.is(attempt(key, text), 'CONTEXT_MALFORMED');
  });
}

test('context › the hand-built layout matches the encoder, so the malformed cases above are one change away from valid', (t) => {
  const built = Buffer.concat([Buffer.from([2]), keyTag, varint(2), varint(1), Buffer.from('a'), varint(1), varint(1), Buffer.from('b'), varint(2)]);
  t.is(built.toString('base64url'), encodeContext(key, twoEntries));
  t.deepEqual(decodeContext(key, withCounter(varint(contextCounterMax))), [
    { actor: 'a', counter: contextCounterMax },
    { actor: 'b', counter: 2 },
  ]);
});

test('context › a context with as many entries as allowed decodes, one more is refused', (t) => {
  const full: VClock = Array.from({ length: contextEntriesMax }, (_, i) => ({ actor: `n${String(i).padStart(4, '0')}`, counter: 1 }));
  t.is(decodeContext(key, encodeContext(key, full)).length, contextEntriesMax);
  const tooMany = rawContext(key, full, (b) => {
    b[5] = b[5]! + 1; // count is a 2-byte varint here; bump its low bits
    return b;
  });
  t.is(attempt(key, tooMany), 'CONTEXT_MALFORMED');
  t.throws(() => encodeContext(key, [...full, { actor: 'z', counter: 1 }]), undefined, 'the encoder refuses it too');
});

test('context › the error is typed, with a stable code', (t) => {
  const error = t.throws(() => decodeContext(key, '!!'), { instanceOf: ContextError });
  t.is(error?.code, 'CONTEXT_MALFORMED');
  t.is(error?.name, 'ContextError');
});

// A context the server accepted must never lead it to give out contexts it
// refuses or cannot encode: a client that reads VCLOCK and writes back with it
// has to keep working. (These caught two bugs of the first DVV version: a
// decoder that refused counters the nodes themselves could mint, and a
// context of the most entries allowed growing one past them.)

const userKey = Buffer.from('user:1');
const write = (stored: Sibling[], text: string, context: VClock | undefined, actor: MemoryActor, now: number) =>
  foldVersions(stored, [newVersion(stored, { kind: 'value', value: Buffer.from(text) }, context, actor, now)]);
const reread = (key: Buffer, record: Sibling[]) => () => decodeContext(key, encodeContext(key, causalContext(record)));

test('context › after a write over an accepted context claiming the coordinator\u2019s own counter, the key\u2019s next context is accepted', (t) => {
  const a = new MemoryActor('A#1');
  const accepted = decodeContext(userKey, encodeContext(userKey, [{ actor: 'A#1', counter: contextCounterMax }]));
  const record = write([], 'x', accepted, a, 1);
  t.notThrows(reread(userKey, record), JSON.stringify(causalContext(record)));
});

test('context › after a write over an accepted context claiming another actor\u2019s counter, that actor\u2019s next contexts are accepted, on every key', (t) => {
  const a = new MemoryActor('A#1');
  const b = new MemoryActor('B#1');
  const accepted = decodeContext(userKey, encodeContext(userKey, [{ actor: 'B#1', counter: contextCounterMax }]));
  let record = write([], 'x', accepted, a, 1);
  t.notThrows(reread(userKey, record), 'the claim itself comes back fine');
  // B, another replica of the key, coordinates the next plain SET over the record it received.
  record = write(record, 'y', undefined, b, 2);
  t.notThrows(reread(userKey, record), JSON.stringify(causalContext(record)));
  // B's counter is node-wide: a key B writes afterwards carries it too.
  const otherKey = Buffer.from('user:2');
  const other = write([], 'z', undefined, b, 3);
  t.notThrows(reread(otherKey, other), JSON.stringify(causalContext(other)));
});

test('context › a context with the most entries allowed is refused when written if the new dot would not fit; one entry fewer writes and comes back', (t) => {
  const a = new MemoryActor('A#1');
  const full: VClock = Array.from({ length: contextEntriesMax }, (_, i) => ({ actor: `n${String(i).padStart(4, '0')}`, counter: 1 }));
  const accepted = decodeContext(userKey, encodeContext(userKey, full));
  const refused = t.throws(() => write([], 'x', accepted, a, 1), { instanceOf: ContextError });
  t.is(refused?.code, 'CONTEXT_TOO_LARGE');
  const record = write([], 'x', accepted.slice(1), a, 1);
  t.notThrows(reread(userKey, record), `${causalContext(record).length} entries`);
});
