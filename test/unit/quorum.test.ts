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

// The driver (quorum-call.ts) over controllable answers.
import { callQuorum } from '../../src/coordinator/quorum-call.js';
import { QuorumError } from '../../src/coordinator/errors.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('quorum call › a failed verdict waits for this node\'s own answer and counts it', async (t) => {
  const self = deferred<string>();
  const answered: number[] = [];
  const call = callQuorum<string>({
    operation: 'write', replicas: ['a', 'b', 'c'], needed: 2, selfIndex: 0,
    ask: (id) => (id === 'a' ? self.promise : Promise.reject(Object.assign(new Error('down'), { code: 'PEER_UNREACHABLE' }))),
    answered: (i) => answered.push(i),
  });
  let done = false;
  call.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.false(done, 'both peers failed, but the local commit is still pending');
  self.resolve('ok');
  const error = await t.throwsAsync(call, { instanceOf: QuorumError });
  t.is(error?.succeeded, 1);
  t.deepEqual(answered, [0]);
});

test('quorum call › met at R; later answers still arrive; settled once after the last', async (t) => {
  const slow = deferred<string>();
  const answered: number[] = [];
  let settled = 0;
  await callQuorum<string>({
    operation: 'read', replicas: ['a', 'b', 'c'], needed: 2, selfIndex: 0,
    ask: (id) => (id === 'c' ? slow.promise : id),
    answered: (i) => answered.push(i),
    settled: () => settled++,
  });
  t.deepEqual(answered, [0, 1]);
  t.is(settled, 0);
  slow.resolve('c');
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(answered, [0, 1, 2]);
  t.is(settled, 1);
});

test('quorum call › a synchronous throw is that replica\'s failure; a timeout is reported', async (t) => {
  const error = await t.throwsAsync(callQuorum<string>({
    operation: 'read', replicas: ['a', 'b'], needed: 1, selfIndex: -1,
    ask: (id) => {
      if (id === 'a') throw new Error('boom');
      return Promise.reject(Object.assign(new Error('slow'), { code: 'PEER_TIMEOUT' }));
    },
  }), { instanceOf: QuorumError });
  t.true(error?.timedOut);
  t.is(error?.succeeded, 0);
});
