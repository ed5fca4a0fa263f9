// LCS against Redis's documented answers and a naive model (property): the
// length is the classic DP's, the sequence is a subsequence of both strings,
// and IDX's ranges cover exactly the sequence's bytes.
import test from 'ava';
import fc from 'fast-check';
import { lcs } from '../../src/commands/lcs.js';

test('lcs › Redis\'s documented example: ohmytext and mynewtext', (t) => {
  const result = lcs(Buffer.from('ohmytext'), Buffer.from('mynewtext'));
  t.is(result.sequence.toString(), 'mytext');
  t.is(result.length, 6);
  t.deepEqual(result.matches.map((m) => [m.a, m.b, m.length]), [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]]);
});

function naiveLength(a: Buffer, b: Buffer): number {
  const rows = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) rows[i]![j] = a[i - 1] === b[j - 1] ? rows[i - 1]![j - 1]! + 1 : Math.max(rows[i - 1]![j]!, rows[i]![j - 1]!);
  }
  return rows[a.length]![b.length]!;
}

function isSubsequence(s: Buffer, of: Buffer): boolean {
  let i = 0;
  for (const byte of of) if (i < s.length && s[i] === byte) i++;
  return i === s.length;
}

test('lcs › length, sequence and ranges agree with a naive model (property)', (t) => {
  const text = fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a.map((x) => 97 + (x % 4))));
  fc.assert(fc.property(text, text, (a, b) => {
    const result = lcs(a, b);
    t.is(result.length, naiveLength(a, b));
    t.is(result.sequence.length, result.length);
    t.true(isSubsequence(result.sequence, a) && isSubsequence(result.sequence, b));
    t.is(result.matches.reduce((n, m) => n + m.length, 0), result.length);
    for (const m of result.matches) t.deepEqual(a.subarray(m.a[0], m.a[1] + 1), b.subarray(m.b[0], m.b[1] + 1));
  }), { seed: 21, numRuns: 300 });
});
