// A write's past at its coordinator (coordinator/versioning.ts newVersion):
// the record's causal context and every earlier event of the coordinator's
// actor. The single-writer path skips building and merging that context;
// whatever the record, the past must be exactly the merge.

import test from 'ava';
import fc from 'fast-check';
import { causalContext } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { merge } from '../../src/clock/vclock.js';
import { newVersion } from '../../src/coordinator/versioning.js';
import { MemoryActor } from '../../src/storage/actor.js';

const actorArb = fc.constantFrom('a#1', 'b#1', 'c#2');
const clockArb = fc.uniqueArray(fc.record({ actor: actorArb, counter: fc.integer({ min: 1, max: 50 }) }), { selector: (e) => e.actor, maxLength: 3 })
  .map((entries) => entries.sort((x, y) => (x.actor < y.actor ? -1 : x.actor > y.actor ? 1 : 0)));
const versionArb: fc.Arbitrary<Sibling> = fc.record({ actor: actorArb, counter: fc.integer({ min: 1, max: 60 }), past: clockArb })
  .map(({ actor, counter, past }) => ({ value: Buffer.from('v'), dot: { actor, counter }, past: past.filter((e) => e.actor !== actor || e.counter < counter), timestamp: 1 }));

test('own past › a plain write\'s past is the record\'s context merged with the actor\'s earlier events, on every path', (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(versionArb, { maxLength: 3, selector: (v) => `${v.dot.actor} ${v.dot.counter}` }), fc.integer({ min: 0, max: 80 }), (stored, start) => {
      const actor = new MemoryActor('a#1');
      if (start > 0) actor.next(start - 1);
      const version = newVersion(stored, { kind: 'value', value: Buffer.from('x') }, undefined, actor, 1);
      const expected = version.dot.counter > 1
        ? merge([causalContext(stored), [{ actor: 'a#1', counter: version.dot.counter - 1 }]])
        : causalContext(stored);
      t.deepEqual(version.past, expected);
    }),
    { numRuns: 2000 },
  );
});
