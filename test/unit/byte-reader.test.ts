// The shared cursor's actorId(): ids it has decoded recently are handed back
// without decoding, so a hit must be exactly what utf8() would read from the
// same bytes, misses must still refuse what utf8() refuses, and the recent
// slots must never answer for bytes that only share a length or a prefix.
import test from 'ava';
import fc from 'fast-check';
import { ByteReader } from '../../src/clock/byte-reader.js';

const fail = (message: string) => new Error(`flaw: ${message}`);

function framed(ids: readonly Buffer[]): Buffer {
  return Buffer.concat(ids.flatMap((id) => [Buffer.from([id.length]), id]));
}

function readAll(bytes: Buffer, count: number, how: 'actorId' | 'utf8'): string[] {
  const r = new ByteReader(bytes, 0, bytes.length, fail);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(how === 'actorId' ? r.actorId(r.u8(), 'actor id') : r.utf8(r.u8(), 'actor id'));
  return out;
}

test('actorId reads what utf8 reads, across more ids than it keeps and ids that differ in one byte', (t) => {
  // Few distinct lengths and a small alphabet, so ids collide on length and prefix and slots are reused.
  const id = fc.array(fc.constantFrom(0x61, 0x62, 0xc3, 0xa9, 0x23), { minLength: 1, maxLength: 4 }).map((b) => Buffer.from(b));
  fc.assert(
    fc.property(fc.array(id, { minLength: 1, maxLength: 40 }), (ids) => {
      const bytes = framed(ids);
      let expected: string[] | Error;
      try {
        expected = readAll(bytes, ids.length, 'utf8');
      } catch (err) {
        expected = err as Error;
      }
      if (expected instanceof Error) {
        const thrown = t.throws(() => readAll(bytes, ids.length, 'actorId'));
        return thrown?.message === expected.message;
      }
      const got = readAll(bytes, ids.length, 'actorId');
      return got.length === expected.length && got.every((s, i) => s === expected[i]);
    }),
    { seed: 7, numRuns: 500 },
  );
});

test('actorId refuses bytes that are not UTF-8 even right after reading a valid id of the same length', (t) => {
  const valid = Buffer.from('é', 'utf8'); // c3 a9
  const invalid = Buffer.from([0xc3, 0x28]);
  const r = new ByteReader(framed([valid, invalid]), 0, 6, fail);
  t.is(r.actorId(r.u8(), 'actor id'), 'é');
  t.throws(() => r.actorId(r.u8(), 'actor id'), { message: 'flaw: actor id is not UTF-8' });
});

test('actorId reads past its slots an id longer than 255 bytes, and a truncated one fails as truncated', (t) => {
  const long = Buffer.alloc(300, 0x61);
  const r = new ByteReader(long, 0, long.length, fail);
  t.is(r.actorId(300, 'actor id'), 'a'.repeat(300));
  const short = new ByteReader(Buffer.from([0x61, 0x62]), 0, 2, fail);
  t.throws(() => short.actorId(3, 'actor id'), { message: 'flaw: truncated' });
  t.is(short.offset, 0);
});
