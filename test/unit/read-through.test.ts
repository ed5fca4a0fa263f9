// --read-through's pure parts: what the old Redis's read script answers about
// a key (absent, a string, a collection with its items, a value too large or
// of a type ringkv does not hold), and the one write that imports a value of
// any type (older than any ringkv write, with the old expiry). The script
// itself runs against a real redis-server in the integration tests. The wire and the coordinator's only-where-absent
// rule are tested against a real redis-server in test/integration/read-through*.

import test from 'ava';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { importMutation } from '../../src/commands/read-through.js';
import { CommandError, type ReadThroughValue } from '../../src/commands/types.js';
import { foldVersions, importedTimestamp, newVersion } from '../../src/coordinator/versioning.js';
import { entries, type HashState } from '../../src/crdt/hash.js';
import { values, type ListState } from '../../src/crdt/list.js';
import { members, type SetState } from '../../src/crdt/set.js';
import '../../src/crdt/types.js';
import { stateOf, typedValue } from '../../src/crdt/view.js';
import { ordered, type ZsetState } from '../../src/crdt/zset.js';
import { readThroughBytesMax, readThroughItemsMax, scoreOf, valueOf } from '../../src/migrate/read-through.js';
import { writePageItems } from '../../src/migrate/value-copiers.js';
import { MemoryActor } from '../../src/storage/actor.js';

const b = (s: string) => Buffer.from(s);
const nowMs = 1_000_000;

/** readScript's reply for a key of `type` as ioredis gives it (bulk strings as Buffers). */
function reply(type: string, ...rest: unknown[]): unknown[] {
  return [b(type), ...rest];
}

test('read-through › limits: a collection read-through imports is one IMPORT page of items, in one replica message', (t) => {
  t.true(readThroughItemsMax <= writePageItems);
  t.true(readThroughBytesMax < 64 * 1024 * 1024, 'below a replica frame');
});

test('read-through › the script\'s reply: no key, a string with its TTL, each collection with its items', (t) => {
  t.is(valueOf([b('none')], nowMs), undefined);
  t.deepEqual(valueOf(reply('string', 5_000, 3, 3, b('abc')), nowMs), { type: 'string', value: b('abc'), expiresAt: nowMs + 5_000 });
  t.deepEqual(valueOf(reply('string', -1, 0, 0, b('')), nowMs), { type: 'string', value: b('') });
  t.deepEqual(valueOf(reply('list', 9_000, 2, 2, [b('a'), b('b')]), nowMs), { type: 'list', items: [b('a'), b('b')], expiresAt: nowMs + 9_000 });
  t.deepEqual(valueOf(reply('set', -1, 2, 2, [b('m'), b('n')]), nowMs), { type: 'set', items: [b('m'), b('n')] });
  t.deepEqual(valueOf(reply('hash', -1, 1, 2, [b('f'), b('v')]), nowMs), { type: 'hash', entries: [[b('f'), b('v')]] });
  t.deepEqual(valueOf(reply('zset', 0, 3, 13, [b('low'), b('-inf'), b('x'), b('1.5'), b('high'), b('inf')]), nowMs),
    { type: 'zset', entries: [[-Infinity, b('low')], [1.5, b('x')], [Infinity, b('high')]], expiresAt: nowMs + 1 }, 'PTTL 0: 1 ms left, not forever');
});

test('read-through › the script\'s reply refuses, with the reason, a value too large or of a type ringkv does not hold', (t) => {
  const big = t.throws(() => valueOf(reply('set', -1, readThroughItemsMax + 1, 0), nowMs), { instanceOf: CommandError });
  t.regex(big!.message, /^ERR read-through: the set at this key in the old Redis is too large to import on read \(10001 items; .*\): copy it with ringkv migrate --mode missing$/);
  const heavy = t.throws(() => valueOf(reply('hash', -1, 2, readThroughBytesMax + 1), nowMs), { instanceOf: CommandError });
  t.regex(heavy!.message, /the hash at this key .* too large .*8388609 bytes of items/);
  const long = t.throws(() => valueOf(reply('string', -1, readThroughBytesMax + 1, readThroughBytesMax + 1), nowMs), { instanceOf: CommandError });
  t.regex(long!.message, /the string at this key .* too large .*8388609 bytes/);
  const stream = t.throws(() => valueOf(reply('stream', -1), nowMs), { instanceOf: CommandError });
  t.is(stream!.message, 'ERR read-through: the old Redis holds a stream at this key, a type ringkv does not hold');
});

test('read-through › a reply that is not the whole value is a failure, never an absent key nor a partial import', (t) => {
  t.throws(() => valueOf(reply('set', -1, 3, 1, [b('m')]), nowMs), { message: /answered 1 items for a set of 3/ });
  t.throws(() => valueOf(reply('list', -1, 0, 0, []), nowMs), { message: /answered 0 items/ });
  t.throws(() => valueOf(reply('hash', -1, 1, 2), nowMs), { message: /no items/ });
  t.throws(() => valueOf(reply('string', -1, 1, 1), nowMs), { message: /no string/ });
  t.throws(() => valueOf(null, nowMs), { message: /no array/ });
  t.throws(() => valueOf(reply('zset', -1, 1, 4, [b('m'), b('nan')]), nowMs), { message: /not a score/ });
});

test('read-through › scores as Redis writes them', (t) => {
  t.is(scoreOf(b('inf')), Infinity);
  t.is(scoreOf(b('-inf')), -Infinity);
  t.is(scoreOf(b('0.10000000000000001')), 0.1);
  t.is(scoreOf(b('-3')), -3);
  t.throws(() => scoreOf(b('nan')));
  t.throws(() => scoreOf(b('')));
});

/** The record after a coordinator applies `mutation` over `record`. */
function write(record: Sibling[], value: ReadThroughValue, actor = new MemoryActor('a#1')): { record: Sibling[]; version: Sibling } {
  const version = newVersion(record, importMutation(value), undefined, actor, nowMs);
  return { record: foldVersions(record, [version]), version };
}

function contentOf(record: Sibling[]): unknown {
  const current = typedValue(live(record, nowMs))!;
  const text = (x: Buffer | string) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : x).toString();
  switch (current.type) {
    case undefined: return text(current.value);
    case 'list': return values(stateOf(current) as ListState).map(text);
    case 'set': return members(stateOf(current) as SetState).map(text);
    case 'hash': return entries(stateOf(current) as HashState).map(([f, v]) => [text(f), text(v)]);
    case 'zset': return ordered(stateOf(current) as ZsetState).map((e) => [text(e.key), e.score]);
    default: return current.type;
  }
}

test('read-through › the import of each type: exactly the old value, its expiry, stamped older than any ringkv write', (t) => {
  const at = nowMs + 60_000;
  const cases: [ReadThroughValue, unknown][] = [
    [{ type: 'string', value: b('v'), expiresAt: at }, 'v'],
    [{ type: 'list', items: [b('a'), b('b'), b('a')], expiresAt: at }, ['a', 'b', 'a']],
    [{ type: 'set', items: [b('y'), b('x')], expiresAt: at }, ['x', 'y']],
    [{ type: 'hash', entries: [[b('f'), b('1')], [b('g'), b('2')]], expiresAt: at }, [['f', '1'], ['g', '2']]],
    [{ type: 'zset', entries: [[2, b('b')], [-Infinity, b('a')]], expiresAt: at }, [['a', -Infinity], ['b', 2]]],
  ];
  for (const [value, content] of cases) {
    const { record, version } = write([], value);
    t.deepEqual(contentOf(record), content, value.type);
    t.is(version.expiresAt, at, value.type);
    t.is(version.timestamp, importedTimestamp, value.type);
    t.is(version.type, value.type === 'string' ? undefined : value.type);
    t.falsy(version.deleted);
  }
});

test('read-through › the import is marked to be kept only where the key has no version', (t) => {
  for (const value of [{ type: 'string', value: b('v') }, { type: 'set', items: [b('m')] }] as ReadThroughValue[]) {
    const mutation = importMutation(value);
    t.true(mutation.kind !== 'delete' && mutation.imported === true, value.type);
  }
});
