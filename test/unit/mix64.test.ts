// mix64's one guarantee beyond being a good hash: word sequences of the same length that
// differ in exactly one word never hash alike (each step is a bijection; see the module).

import test from 'ava';
import fc from 'fast-check';
import { mixFinish, mixStart, mixWord } from '../../src/anti-entropy/mix64.js';

const wordArb = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

function mix(seed: number, words: readonly number[]): string {
  const out = new Uint32Array(2);
  mixStart(seed);
  for (const word of words) mixWord(word);
  mixFinish(out, 0);
  return `${out[0]},${out[1]}`;
}

test('mix64 › sequences differing in exactly one word always hash differently', (t) => {
  fc.assert(
    fc.property(wordArb, fc.array(wordArb, { minLength: 1, maxLength: 40 }), fc.nat(), wordArb, (seed, words, pick, replacement) => {
      const at = pick % words.length;
      fc.pre(words[at]! >>> 0 !== replacement >>> 0);
      const other = words.map((w, i) => (i === at ? replacement : w));
      t.not(mix(seed, other), mix(seed, words));
    }),
    { seed: 5, numRuns: 2000 },
  );
});

test('mix64 › only the low 32 bits of a word count, and the seed and length change the hash', (t) => {
  t.is(mix(1, [5, -1]), mix(1, [5, 0xffffffff]));
  t.not(mix(1, [5]), mix(2, [5]));
  t.not(mix(1, [0]), mix(1, [0, 0]));
});
