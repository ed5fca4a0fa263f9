import test from 'ava';
import fc from 'fast-check';
import { ContextError, contextEntriesMax, contextTextCharsMax, decodeContext, encodeContext } from '../../src/clock/context.js';
import { fresh, increment, isValidClock } from '../../src/clock/vclock.js';
import type { VClock } from '../../src/clock/types.js';

const runs = { seed: 42, numRuns: 300 };

const nodeIdArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });

const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(
    fc.record({
      node: nodeIdArb,
      counter: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
      timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
    }),
    { selector: (e) => e.node, maxLength: 6 },
  )
  .map((entries) => entries.sort((x, y) => (x.node < y.node ? -1 : x.node > y.node ? 1 : 0)));

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
  return (
    a.length === b.length &&
    a.every((e, i) => e.node === b[i]!.node && e.counter === b[i]!.counter && Object.is(e.timestamp, b[i]!.timestamp))
  );
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
        if (typeof outcome !== 'string') t.true(isValidClock(outcome));
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
});

test('context › an empty clock encodes and decodes', (t) => {
  const key = Buffer.from('k');
  const text = encodeContext(key, fresh());
  t.is(text.length, 8, 'version, 4-byte key tag, count: 6 bytes');
  t.deepEqual(decodeContext(key, text), []);
});

test('context › a clock after a few writes stays a short token', (t) => {
  let clock = fresh();
  for (const node of ['node-1', 'node-2', 'node-3']) clock = increment(clock, node, 1_700_000_000_000);
  const text = encodeContext(Buffer.from('user:42'), clock);
  t.true(text.length <= 80, `${text.length} chars`);
});

function rawContext(key: Buffer, clock: VClock, mutate: (bytes: Buffer) => Buffer): string {
  return mutate(Buffer.from(encodeContext(key, clock), 'base64url')).toString('base64url');
}

const key = Buffer.from('k');
const twoEntries: VClock = [
  { node: 'a', counter: 1, timestamp: 5 },
  { node: 'b', counter: 2, timestamp: 6 },
];
// Offsets in the encoding of twoEntries: 0 version, 1-4 tag, 5 count, 6 len 'a', 7 'a', 8 counter, 9-16 ts, 17 len 'b', 18 'b', 19 counter.
const malformedCases: [string, string][] = [
  ['garbage characters', '!!!!'],
  ['padding', encodeContext(key, twoEntries) + '='],
  ['standard base64 alphabet', encodeContext(key, twoEntries).replace(/-/g, '+').replace(/_/g, '/') + '+'],
  ['empty text', ''],
  ['unknown version', rawContext(key, twoEntries, (b) => ((b[0] = 2), b))],
  ['truncated', rawContext(key, twoEntries, (b) => b.subarray(0, b.length - 1))],
  ['trailing bytes', rawContext(key, twoEntries, (b) => Buffer.concat([b, Buffer.from([0])]))],
  ['unsorted nodes', rawContext(key, twoEntries, (b) => ((b[7] = 'c'.charCodeAt(0)), b))],
  ['duplicate nodes', rawContext(key, twoEntries, (b) => ((b[18] = 'a'.charCodeAt(0)), b))],
  ['zero counter', rawContext(key, twoEntries, (b) => ((b[8] = 0), b))],
  ['non-minimal varint', rawContext(key, twoEntries, (b) => Buffer.concat([b.subarray(0, 8), Buffer.from([0x81, 0x00]), b.subarray(9)]))],
  ['counter beyond 2^53', rawContext(key, twoEntries, (b) => Buffer.concat([b.subarray(0, 8), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), b.subarray(9)]))],
  ['infinite timestamp', rawContext(key, twoEntries, (b) => (b.writeDoubleBE(Infinity, 9), b))],
  ['NaN timestamp', rawContext(key, twoEntries, (b) => (b.writeDoubleBE(NaN, 9), b))],
  ['empty node id', rawContext(key, twoEntries, (b) => ((b[6] = 0), b))],
  ['node id not UTF-8', rawContext(key, twoEntries, (b) => ((b[7] = 0xff), b))],
  ['absurd entry count', rawContext(key, fresh(), (b) => Buffer.concat([b.subarray(0, 5), Buffer.from([0xff, 0xff, 0x7f])]))],
  ['absurd length', 'A'.repeat(contextTextCharsMax + 1)],
];

for (const [name, text] of malformedCases) {
  test(`context › refuses a malformed context: ${name}`, (t) => {
    t.is(attempt(key, text), 'CONTEXT_MALFORMED');
  });
}

test('context › a context with as many entries as allowed decodes, one more is refused', (t) => {
  const full: VClock = Array.from({ length: contextEntriesMax }, (_, i) => ({
    node: `n${String(i).padStart(4, '0')}`,
    counter: 1,
    timestamp: 0,
  }));
  t.is(decodeContext(key, encodeContext(key, full)).length, contextEntriesMax);
  const tooMany = rawContext(key, full, (b) => {
    b[5] = b[5]! + 1; // count is a 2-byte varint here; bump its low bits
    return b;
  });
  t.is(attempt(key, tooMany), 'CONTEXT_MALFORMED');
});

test('context › the error is typed, with a stable code', (t) => {
  const error = t.throws(() => decodeContext(key, '!!'), { instanceOf: ContextError });
  t.is(error?.code, 'CONTEXT_MALFORMED');
  t.is(error?.name, 'ContextError');
});
