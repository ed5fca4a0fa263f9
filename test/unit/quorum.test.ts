import test from 'ava';
import fc from 'fast-check';
import { QuorumState } from '../../src/coordinator/quorum.js';

test('quorum › met at the needed successes', (t) => {
  const q = new QuorumState(3, 2);
  t.is(q.success(), 'pending');
  t.is(q.success(), 'met');
});

test('quorum › failed as soon as the outstanding replies cannot make it', (t) => {
  const q = new QuorumState(3, 2);
  t.is(q.failure(), 'pending');
  t.is(q.failure(), 'failed');
  t.is(q.succeeded, 0);
  t.is(q.answered, 2);
});

test('quorum › more needed than asked fails at once', (t) => {
  t.is(new QuorumState(1, 2).verdict(), 'failed');
  t.is(new QuorumState(0, 1).verdict(), 'failed');
});

test('quorum › verdict agrees with counting, for any order of replies', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.array(fc.boolean(), { maxLength: 7 }), (asked, needed, replies) => {
      const q = new QuorumState(asked, needed);
      let ok = 0;
      let bad = 0;
      for (const reply of replies.slice(0, asked)) {
        const verdict = reply ? q.success() : q.failure();
        if (reply) ok++;
        else bad++;
        const expected = ok >= needed ? 'met' : asked - bad < needed ? 'failed' : 'pending';
        if (verdict !== expected) return false;
      }
      return true;
    }),
    { seed: 7, numRuns: 500 },
  );
  t.pass();
});
