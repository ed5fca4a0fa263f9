import test from 'ava';
import { compare, defaultPruneLimits } from '../../src/clock/vclock.js';
import type { Sibling } from '../../src/clock/types.js';
import { foldVersions, newVersion, sameVersions } from '../../src/coordinator/versioning.js';

const options = { pruneLimits: defaultPruneLimits, tombstoneGraceMs: 1000 };
const value = (text: string) => ({ kind: 'value' as const, value: Buffer.from(text) });

function write(stored: Sibling[], text: string, node: string, now: number, context?: Sibling['clock']): Sibling[] {
  const version = newVersion(stored, value(text), context, node, now, defaultPruneLimits);
  return foldVersions(stored, [version], now, options);
}

test('versioning › a plain write supersedes everything the coordinator stores', (t) => {
  let a: Sibling[] = write([], 'x', 'A', 1);
  const fromB = write([], 'y', 'B', 2);
  a = foldVersions(a, fromB, 3, options);
  t.is(a.length, 2, 'concurrent writes are siblings');
  a = write(a, 'z', 'A', 4);
  t.is(a.length, 1);
  t.is(a[0]!.value.toString(), 'z');
});

test('versioning › a write with a context keeps what the context does not cover', (t) => {
  const s1 = write([], 'one', 'A', 1);
  const context = s1[0]!.clock;
  const both = foldVersions(s1, write([], 'two', 'B', 2), 3, options);
  const resolved = write(both, 'merged', 'A', 4, context);
  t.deepEqual(resolved.map((s) => s.value.toString()).sort(), ['merged', 'two']);
});

test('versioning › a stale context on the same coordinator cannot drop a version it never saw', (t) => {
  const first = write([], 'v1', 'A', 1);
  const staleContext = first[0]!.clock;
  const second = write(first, 'v2', 'A', 2);
  const third = write(second, 'v3', 'A', 3, staleContext);
  t.deepEqual(third.map((s) => s.value.toString()).sort(), ['v2', 'v3']);
  t.is(compare(third[0]!.clock, third[1]!.clock), 'concurrent');
  // Two writes with the same stale context stay distinct versions too.
  const fourth = write(third, 'v4', 'A', 4, staleContext);
  t.deepEqual(fourth.map((s) => s.value.toString()).sort(), ['v2', 'v3', 'v4']);
});

test('versioning › a tombstone beats the value it covers and is collected after grace', (t) => {
  const stored = write([], 'v', 'A', 1);
  const tombstone = newVersion(stored, { kind: 'delete' }, undefined, 'A', 2, defaultPruneLimits);
  const deleted = foldVersions(stored, [tombstone], 2, options);
  t.is(deleted.length, 1);
  t.true(deleted[0]!.deleted);
  // A stale replica's old value folds in and stays dead.
  t.true(foldVersions(deleted, stored, 3, options)[0]!.deleted);
  t.deepEqual(foldVersions(deleted, [], 2 + options.tombstoneGraceMs + 1, options), []);
});

test('versioning › sameVersions compares by clock, not by order', (t) => {
  const a = foldVersions(write([], 'x', 'A', 1), write([], 'y', 'B', 2), 3, options);
  t.true(sameVersions(a, [...a].reverse()));
  t.false(sameVersions(a, a.slice(0, 1)));
});
