// The bit arithmetic of SETBIT…BITFIELD against naive models (property
// tests), plus Redis's documented examples and the overflow quirks that the
// differential test also checks against redis-server.
import test from 'ava';
import fc from 'fast-check';
import { bitOperation, bitRange, countBits, fieldAdd, findBit, getBit, getField, setField } from '../../src/commands/bit-ops.js';

/** Bit i of the string as a plain array, MSB first. */
function bitsOf(bytes: Buffer): number[] {
  return [...bytes].flatMap((b) => Array.from({ length: 8 }, (_, i) => (b >> (7 - i)) & 1));
}

const bytesArb = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));

test('bit ops › countBits counts the set bits of any bit range (property)', (t) => {
  fc.assert(fc.property(bytesArb, fc.nat(), fc.nat(), (bytes, x, y) => {
    const total = bytes.length * 8;
    if (total === 0) return;
    const [first, last] = [Math.min(x, y) % total, Math.max(x, y) % total].sort((a, b) => a - b) as [number, number];
    const expected = bitsOf(bytes).slice(first, last + 1).filter((b) => b === 1).length;
    t.is(countBits(bytes, first, last), expected);
  }), { seed: 11, numRuns: 300 });
});

test('bit ops › findBit finds the first bit of a kind, or Redis\'s answer when there is none (property)', (t) => {
  fc.assert(fc.property(bytesArb, fc.nat(), fc.nat(), fc.constantFrom<0 | 1>(0, 1), fc.boolean(), (bytes, x, y, bit, endGiven) => {
    const total = bytes.length * 8;
    if (total === 0) return;
    const first = Math.min(x % total, y % total);
    const last = Math.max(x % total, y % total);
    const index = bitsOf(bytes).slice(first, last + 1).indexOf(bit);
    const none = bit === 1 || endGiven ? -1 : (Math.floor(last / 8) + 1) * 8;
    t.is(findBit(bytes, bit, first, last, endGiven), index === -1 ? none : first + index);
  }), { seed: 12, numRuns: 300 });
});

test('bit ops › ranges clamp as Redis\'s BITCOUNT/BITPOS do, in bytes and in bits', (t) => {
  t.deepEqual(bitRange(6, 0n, -1n, 'BYTE'), [0, 47]);
  t.deepEqual(bitRange(6, 1n, 1n, 'BYTE'), [8, 15]);
  t.deepEqual(bitRange(6, 5n, 30n, 'BIT'), [5, 30]);
  t.deepEqual(bitRange(6, -100n, 1000n, 'BIT'), [0, 47]);
  t.is(bitRange(6, 4n, 2n, 'BYTE'), null);
  t.is(bitRange(0, 0n, -1n, 'BYTE'), null);
});

test('bit ops › BITOP AND/OR/XOR/NOT pad shorter sources with zeros (property)', (t) => {
  fc.assert(fc.property(fc.array(bytesArb, { minLength: 1, maxLength: 4 }), (sources) => {
    const length = Math.max(...sources.map((s) => s.length));
    const at = (s: Buffer, i: number) => s[i] ?? 0;
    for (const op of ['AND', 'OR', 'XOR'] as const) {
      const out = bitOperation(op, sources);
      t.is(out.length, length);
      for (let i = 0; i < length; i++) {
        const expected = sources.slice(1).reduce((v, s) => (op === 'AND' ? v & at(s, i) : op === 'OR' ? v | at(s, i) : v ^ at(s, i)), at(sources[0]!, i));
        t.is(out[i], expected);
      }
    }
    t.deepEqual(bitOperation('NOT', [sources[0]!]), Buffer.from(sources[0]!.map((b) => ~b & 0xff)));
  }), { seed: 13, numRuns: 100 });
});

test('bit ops › fields read back what was written, signed and unsigned, at any offset (property)', (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.boolean(), fc.nat({ max: 80 }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (bits, signed, offset, value) => {
    if (!signed && bits === 64) return;
    const bytes = Buffer.alloc(Math.ceil((offset + bits) / 8));
    setField(bytes, offset, bits, value);
    const expected = signed ? BigInt.asIntN(bits, value) : BigInt.asUintN(bits, value);
    t.is(getField(bytes, offset, { signed, bits }), expected);
    // Bits outside the field stay zero.
    for (let i = 0; i < bytes.length * 8; i++) if (i < offset || i >= offset + bits) t.is(getBit(bytes, i), 0);
  }), { seed: 14, numRuns: 300 });
});

test('bit ops › BITFIELD overflow: WRAP, SAT and FAIL as Redis computes them, quirks included', (t) => {
  const i8 = { signed: true, bits: 8 };
  const u8 = { signed: false, bits: 8 };
  const i64 = { signed: true, bits: 64 };
  t.is(fieldAdd(100n, 100n, i8, 'WRAP'), -56n);
  t.is(fieldAdd(100n, 100n, i8, 'SAT'), 127n);
  t.is(fieldAdd(100n, 100n, i8, 'FAIL'), null);
  t.is(fieldAdd(-100n, -100n, i8, 'SAT'), -128n);
  t.is(fieldAdd(250n, 10n, u8, 'WRAP'), 4n);
  t.is(fieldAdd(5n, -10n, u8, 'SAT'), 0n);
  // SET u8 -1 under SAT: the value is taken as uint64, past the max: 255 (redis-server agrees).
  t.is(fieldAdd(-1n, 0n, u8, 'SAT'), 255n);
  t.is(fieldAdd(-1n, 0n, u8, 'WRAP'), 255n);
  // SET i8 LLONG_MIN under SAT: Redis's max-value difference wraps and reports the max.
  t.is(fieldAdd(-(2n ** 63n), 0n, i8, 'SAT'), 127n);
  t.is(fieldAdd(2n ** 63n - 1n, 1n, i64, 'WRAP'), -(2n ** 63n));
  t.is(fieldAdd(2n ** 63n - 1n, 1n, i64, 'SAT'), 2n ** 63n - 1n);
});
