// The keyspace tally's running sums agree with a count over the records as
// they stand after any sequence of changes, and with Redis's definitions:
// a tombstone-only record is no key, an expiry counts until it is removed.

import test from 'ava';
import fc from 'fast-check';
import type { Sibling } from '../../src/clock/types.js';
import { KeyspaceTally } from '../../src/storage/keyspace-tally.js';

function version(counter: number, options: { deleted?: boolean; expiresAt?: number; timestamp?: number } = {}): Sibling {
  const s: Sibling = { value: Buffer.from(options.deleted ? '' : `v${counter}`), dot: { actor: 'a', counter }, past: [], timestamp: options.timestamp ?? counter };
  if (options.expiresAt !== undefined) (s as { expiresAt?: number }).expiresAt = options.expiresAt;
  if (options.deleted) (s as { deleted?: boolean }).deleted = true;
  return s;
}

test('a tombstone-only record is no key; an expiry counts whether or not it has passed', (t) => {
  const tally = new KeyspaceTally();
  tally.change([], [version(1, { deleted: true })]);
  t.deepEqual(tally.counts(0), { keys: 0, expires: 0, avgTtlMs: 0 });
  tally.change([], [version(2, { expiresAt: 10_000 })]);
  tally.change([], [version(3, { expiresAt: 30_000 })]);
  tally.change([], [version(4)]);
  t.deepEqual(tally.counts(0), { keys: 3, expires: 2, avgTtlMs: 20_000 });
  t.deepEqual(tally.counts(50_000), { keys: 3, expires: 2, avgTtlMs: 0 });
});

test('an emptied collection is no key, alone or beside another emptied one; beside a live version the key counts', (t) => {
  const tally = new KeyspaceTally();
  const emptied = (counter: number): Sibling => ({ ...version(counter), type: 'set', emptied: true });
  tally.change([], [emptied(1)]);
  tally.change([], [emptied(2), emptied(3)]);
  t.deepEqual(tally.counts(0), { keys: 0, expires: 0, avgTtlMs: 0 });
  tally.change([], [emptied(5), { ...version(4), type: 'set' }]);
  t.deepEqual(tally.counts(0), { keys: 1, expires: 0, avgTtlMs: 0 });
});

test('siblings: the version GET answers decides whether the key has an expiry', (t) => {
  const tally = new KeyspaceTally();
  // GET answers the newest timestamp: here the one without an expiry.
  tally.change([], [version(1, { expiresAt: 5_000, timestamp: 1 }), version(2, { timestamp: 2 }), version(3, { deleted: true, timestamp: 3 })]);
  t.deepEqual(tally.counts(0), { keys: 1, expires: 0, avgTtlMs: 0 });
});

test('the running sums equal a recount of the final records after any changes (property)', (t) => {
  const record = fc.array(fc.record({ deleted: fc.boolean(), expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 62 }), { nil: undefined }), timestamp: fc.nat(100) }), { maxLength: 3 });
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(7), record), { maxLength: 60 }), (changes) => {
    const tally = new KeyspaceTally();
    const records = new Map<number, Sibling[]>();
    let counter = 0;
    for (const [key, shape] of changes) {
      const next = shape.map((o) => version(++counter, o));
      tally.change(records.get(key) ?? [], next);
      if (next.length === 0) records.delete(key);
      else records.set(key, next);
    }
    const recount = new KeyspaceTally();
    for (const siblings of records.values()) recount.change([], siblings);
    t.deepEqual(tally.counts(1_000), recount.counts(1_000));
  }));
});
