// The record hash's promises, as properties: it depends on the digest and the set of dots
// and on nothing else (not sibling order, values, timestamps, expiry, tombstones, pasts),
// every single change to a dot or the digest is seen, and [] alone is 0,0. Known answers
// pin the function: persisted trees and peers of another build depend on it not drifting.

import test from 'ava';
import fc from 'fast-check';
import type { Dot, Sibling } from '../../src/clock/types.js';
import { counterMax } from '../../src/clock/vclock.js';
import { actorCacheEntriesMax, recordHash } from '../../src/anti-entropy/version-hash.js';

const runs = { seed: 9, numRuns: 500 };
const half = 2 ** 32;

const actorArb = fc.constantFrom('a', 'b', 'n1#k2j4m8q0', 'n2#zz00aa11', 'nœud-é#12345678', '');
/** Counters 1..2^52 built from both halves, so high halves are exercised, not only small numbers. */
const counterArb = fc
  .tuple(fc.integer({ min: 0, max: counterMax / half }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }))
  .map(([hi, lo]) => Math.min(counterMax, Math.max(1, hi * half + (lo >>> 0))));
const dotArb: fc.Arbitrary<Dot> = fc.record({ actor: actorArb, counter: counterArb });
const digestArb = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((bytes) => Buffer.from(bytes));
/** A record's dots: distinct, as a stored record's are. */
const dotsArb = fc.uniqueArray(dotArb, { minLength: 1, maxLength: 5, selector: (d) => `${d.actor}/${d.counter}` });

function sibling(dot: Dot, extra: Partial<Sibling> = {}): Sibling {
  return { value: Buffer.from('v'), dot, past: [], timestamp: 1, ...extra };
}

function hashOf(digest: Buffer, siblings: readonly Sibling[]): [number, number] {
  const out = new Uint32Array(2);
  recordHash(digest, siblings, out);
  return [out[0]!, out[1]!];
}

test('version hash › an empty record hashes to 0,0; a non-empty one never does', (t) => {
  fc.assert(
    fc.property(digestArb, dotsArb, (digest, dots) => {
      t.deepEqual(hashOf(digest, []), [0, 0]);
      t.notDeepEqual(hashOf(digest, dots.map((d) => sibling(d))), [0, 0]);
    }),
    runs,
  );
});

test('version hash › the order of siblings does not matter', (t) => {
  fc.assert(
    fc.property(
      digestArb,
      dotsArb.chain((dots) => fc.tuple(fc.constant(dots), fc.shuffledSubarray(dots, { minLength: dots.length }))),
      (digest, [dots, shuffled]) => {
        t.deepEqual(hashOf(digest, shuffled.map((d) => sibling(d))), hashOf(digest, dots.map((d) => sibling(d))));
      },
    ),
    runs,
  );
});

test('version hash › any change to one dot (actor, counter low half, counter high half) changes the hash', (t) => {
  fc.assert(
    fc.property(digestArb, dotsArb, fc.nat(), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 19 }), (digest, dots, pick, loBit, hiBit) => {
      const at = pick % dots.length;
      const before = hashOf(digest, dots.map((d) => sibling(d)));
      const changed = (dot: Dot): [number, number] => hashOf(digest, dots.map((d, i) => sibling(i === at ? dot : d)));
      const { actor, counter } = dots[at]!;
      t.notDeepEqual(changed({ actor: `${actor}x`, counter }), before, 'actor');
      // Flip one bit of the low half (the counter stays ≥ 1 unless that makes it 0; then the next bit).
      const lo = counter % half;
      const flippedLo = (lo ^ (1 << loBit)) >>> 0 || (lo ^ (1 << ((loBit + 1) % 32))) >>> 0;
      t.notDeepEqual(changed({ actor, counter: counter - lo + flippedLo }), before, 'counter low half');
      // Flip one bit of the high half (2^52 has high half 2^20, so bits 0..19 stay within counterMax from below it).
      const hi = Math.floor(counter / half);
      const flippedHi = hi ^ (1 << hiBit);
      const next = flippedHi * half + lo;
      if (next >= 1 && next <= counterMax) t.notDeepEqual(changed({ actor, counter: next }), before, 'counter high half');
    }),
    runs,
  );
});

test('version hash › counters that differ only by 2^32 or only above 2^48 hash differently', (t) => {
  const digest = Buffer.alloc(8);
  const at = (counter: number) => hashOf(digest, [sibling({ actor: 'a', counter })]);
  t.notDeepEqual(at(5), at(5 + half));
  t.notDeepEqual(at(half), at(2 * half));
  t.notDeepEqual(at(counterMax), at(counterMax - 2 ** 48));
  t.notDeepEqual(at(counterMax), at(1));
});

test('version hash › adding or removing a sibling changes the hash', (t) => {
  fc.assert(
    fc.property(digestArb, dotsArb, dotArb, (digest, dots, extra) => {
      fc.pre(!dots.some((d) => d.actor === extra.actor && d.counter === extra.counter));
      const siblings = dots.map((d) => sibling(d));
      t.notDeepEqual(hashOf(digest, [...siblings, sibling(extra)]), hashOf(digest, siblings));
    }),
    runs,
  );
});

test('version hash › any one-bit change to the digest changes the hash', (t) => {
  fc.assert(
    fc.property(digestArb, dotsArb, fc.integer({ min: 0, max: 63 }), (digest, dots, bit) => {
      const siblings = dots.map((d) => sibling(d));
      const other = Buffer.from(digest);
      other[bit >> 3]! ^= 1 << (bit & 7);
      t.notDeepEqual(hashOf(other, siblings), hashOf(digest, siblings));
    }),
    runs,
  );
});

test('version hash › values, timestamps, expiry, tombstones and pasts do not change the hash', (t) => {
  const extraArb = fc.record(
    {
      value: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
      expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
      deleted: fc.boolean(),
      past: fc.uniqueArray(dotArb, { maxLength: 3, selector: (d) => d.actor }).map((p) => p.sort((x, y) => (x.actor < y.actor ? -1 : 1))),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(digestArb, dotsArb.chain((dots) => fc.tuple(fc.constant(dots), fc.array(extraArb, { minLength: dots.length, maxLength: dots.length }))), (digest, [dots, extras]) => {
      t.deepEqual(hashOf(digest, dots.map((d, i) => sibling(d, extras[i]))), hashOf(digest, dots.map((d) => sibling(d))));
    }),
    runs,
  );
});

test('version hash › the actor cache, cleared when full, gives the same hashes', (t) => {
  const digest = Buffer.from('0011223344556677', 'hex');
  const record = [sibling({ actor: 'n1#first', counter: 7 }), sibling({ actor: 'n2#second', counter: 2 ** 40 })];
  const first = hashOf(digest, record);
  for (let i = 0; i < 2 * actorCacheEntriesMax + 3; i++) hashOf(digest, [sibling({ actor: `filler-${i}`, counter: 1 })]);
  t.deepEqual(hashOf(digest, record), first);
});

test('version hash › known answers (a change here invalidates persisted trees and peers of other builds)', (t) => {
  const hex = (digest: string, dots: Dot[]) =>
    hashOf(Buffer.from(digest, 'hex'), dots.map((d) => sibling(d)))
      .map((w) => w.toString(16).padStart(8, '0'))
      .join('');
  t.is(hex('0000000000000000', []), '0000000000000000');
  t.is(hex('0000000000000000', [{ actor: 'a', counter: 1 }]), 'a16b825fc315c824');
  t.is(hex('ef46db3751d8e999', [{ actor: 'n1#k2j4m8q0', counter: 123_456_789 }]), '3c103d95877ee326');
  t.is(hex('ef46db3751d8e999', [{ actor: 'n1#k2j4m8q0', counter: counterMax }, { actor: 'n2#zz00aa11', counter: 3 }]), '43e85ec7f0bca32e');
});

test('version hash › refuses a digest that is not 8 bytes or an out array under two words', (t) => {
  const record = [sibling({ actor: 'a', counter: 1 })];
  t.throws(() => recordHash(Buffer.alloc(7), record, new Uint32Array(2)), { code: 'ERR_ASSERTION' });
  t.throws(() => recordHash(Buffer.alloc(9), record, new Uint32Array(2)), { code: 'ERR_ASSERTION' });
  t.throws(() => recordHash(Buffer.alloc(8), record, new Uint32Array(1)), { code: 'ERR_ASSERTION' });
});
