// The log-once-per-change helper (logs/state-changes.ts): a line per change
// of state per key, repeats counted and not logged, an optional repeat line
// per period, and memory bounded by forgetting the least recent key.

import test from 'ava';
import fc from 'fast-check';
import { StateChanges } from '../../src/logs/state-changes.js';

test('a key\'s first state is a change; the same state again is not, and is counted for the next line', (t) => {
  const changes = new StateChanges<string>({ keysMax: 8 });
  t.deepEqual(changes.report('10.0.0.2:17001', 'refused: secret', 1000), { previous: undefined, previousReports: 0, previousSinceMs: undefined, unlogged: 0 });
  for (let i = 1; i <= 5; i++) t.is(changes.report('10.0.0.2:17001', 'refused: secret', 1000 + i * 500), undefined);
  t.deepEqual(changes.report('10.0.0.2:17001', 'connected', 9000), { previous: 'refused: secret', previousReports: 6, previousSinceMs: 1000, unlogged: 0 });
  t.is(changes.report('10.0.0.2:17001', 'connected', 9500), undefined);
  t.like(changes.report('10.0.0.2:17001', 'refused: secret', 10_000), { previous: 'connected', previousReports: 2 });
});

test('keys are independent', (t) => {
  const changes = new StateChanges<string>({ keysMax: 8 });
  t.truthy(changes.report('a', 'down', 0));
  t.truthy(changes.report('b', 'down', 0));
  t.is(changes.report('a', 'down', 1), undefined);
  t.truthy(changes.report('b', 'up', 2));
  t.is(changes.stateOf('a')?.state, 'down');
  t.is(changes.stateOf('b')?.state, 'up');
});

test('with repeatAfterMs an unchanged state is due a line again once per period, saying how many reports went unlogged', (t) => {
  const changes = new StateChanges<string>({ keysMax: 8, repeatAfterMs: 60_000 });
  t.truthy(changes.report('user:1', 'many siblings', 0));
  for (let ms = 1000; ms < 60_000; ms += 1000) t.is(changes.report('user:1', 'many siblings', ms), undefined);
  t.deepEqual(changes.report('user:1', 'many siblings', 60_000), { previous: 'many siblings', previousReports: 60, previousSinceMs: 0, unlogged: 59 });
  t.is(changes.report('user:1', 'many siblings', 61_000), undefined);
  t.like(changes.report('user:1', 'many siblings', 120_000), { unlogged: 1 });
});

test('memory is bounded: past keysMax the least recently reported key is forgotten, and its next report is a change', (t) => {
  const changes = new StateChanges<string>({ keysMax: 3 });
  changes.report('a', 's', 0);
  changes.report('b', 's', 1);
  changes.report('c', 's', 2);
  changes.report('a', 's', 3); // a is now the most recent
  changes.report('d', 's', 4); // forgets b
  t.is(changes.size, 3);
  t.is(changes.stateOf('b'), undefined);
  t.is(changes.report('a', 's', 5), undefined);
  t.truthy(changes.report('b', 's', 6));
});

test('property: lines per key = changes of state per key (no repeat period), and size never passes keysMax', (t) => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom('up', 'down', 'refused')), { maxLength: 300 }),
    fc.integer({ min: 1, max: 8 }),
    (reports, keysMax) => {
      const changes = new StateChanges<string>({ keysMax });
      // The naive model: the last state per key, with a recency order, forgetting the least recent.
      const model = new Map<number, string>();
      let ms = 0;
      for (const [key, state] of reports) {
        const expectLine = model.get(key) !== state;
        model.delete(key);
        model.set(key, state);
        if (model.size > keysMax) model.delete(model.keys().next().value!);
        const line = changes.report(String(key), state, ms++);
        if ((line !== undefined) !== expectLine) return false;
        if (changes.size > keysMax) return false;
      }
      return true;
    },
  ));
  t.pass();
});
