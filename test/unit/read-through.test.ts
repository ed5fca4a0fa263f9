// --read-through's pure parts: what the old Redis's transaction replies say
// about a key (absent, a string, a collection to read, a value too large or
// of a type ringkv does not hold), what the collection read gives, and the
// one write that imports a value of any type (older than any ringkv write,
// with the old expiry). The wire and the coordinator's only-where-absent
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
import {
  probeCommands, probeOutcome, readCommands, readOutcome, readThroughBytesMax, readThroughItemsMax, scoreOf, type ExecReplies,
} from '../../src/migrate/read-through.js';
import { writePageItems } from '../../src/migrate/value-copiers.js';
import { MemoryActor } from '../../src/storage/actor.js';

const b = (s: string) => Buffer.from(s);
const nowMs = 1_000_000;
const wrongType = new Error('WRONGTYPE Operation against a key holding the wrong kind of value');

/** The probe's replies for a key of `type` (sizes in probeCommands' order: list, zset, set, hash). */
function probeReplies(type: string, pttl: number, string?: { length: number; bytes: Buffer }, size?: number): ExecReplies {
  const sizeAt = ['list', 'zset', 'set', 'hash'].indexOf(type);
  const none = type === 'none';
  return [
    [null, b(type)], [null, pttl],
    string === undefined ? [none ? null : wrongType, none ? 0 : null] : [null, string.length],
    string === undefined ? [none ? null : wrongType, none ? b('') : null] : [null, string.bytes],
    ...[0, 1, 2, 3].map((i): [Error | null, unknown] => (i === sizeAt ? [null, size] : none ? [null, 0] : [wrongType, null])),
  ];
}

test('read-through › limits: a collection read-through imports is one IMPORT page of items', (t) => {
  t.true(readThroughItemsMax <= writePageItems);
  t.true(readThroughBytesMax < 64 * 1024 * 1024, 'below a replica frame');
  t.is(probeCommands(b('k')).length, 8);
  t.deepEqual(readCommands(b('k'), 'hash').map((c) => String(c[0])), ['type', 'pttl', 'hlen', 'hrandfield']);
});

test('read-through › the probe: absent, a string with its TTL, a collection to read', (t) => {
  t.deepEqual(probeOutcome(probeReplies('none', -2), nowMs), { kind: 'absent' });
  t.deepEqual(probeOutcome(probeReplies('string', 5_000, { length: 3, bytes: b('abc') }), nowMs),
    { kind: 'value', value: { type: 'string', value: b('abc'), expiresAt: nowMs + 5_000 } });
  t.deepEqual(probeOutcome(probeReplies('string', -1, { length: 0, bytes: b('') }), nowMs), { kind: 'value', value: { type: 'string', value: b('') } });
  for (const type of ['list', 'zset', 'set', 'hash']) {
    t.deepEqual(probeOutcome(probeReplies(type, -1, undefined, 3), nowMs), { kind: 'collection', type }, type);
  }
});

test('read-through › the probe refuses, with the reason, a value too large or of a type ringkv does not hold', (t) => {
  const big = t.throws(() => probeOutcome(probeReplies('set', -1, undefined, readThroughItemsMax + 1), nowMs), { instanceOf: CommandError });
  t.regex(big!.message, /^ERR read-through: the set at this key in the old Redis is too large to import on read \(10001 items; .*\): copy it with ringkv migrate --mode missing$/);
  t.notThrows(() => probeOutcome(probeReplies('set', -1, undefined, readThroughItemsMax), nowMs));
  const long = t.throws(() => probeOutcome(probeReplies('string', -1, { length: readThroughBytesMax + 1, bytes: Buffer.alloc(readThroughBytesMax) }), nowMs));
  t.regex(long!.message, /the string at this key .* too large .*8388609 bytes/);
  const stream = t.throws(() => probeOutcome(probeReplies('stream', -1), nowMs), { instanceOf: CommandError });
  t.is(stream!.message, 'ERR read-through: the old Redis holds a stream at this key, a type ringkv does not hold');
});

test('read-through › a failed probe is a failure, never an absent key', (t) => {
  const replies: ExecReplies = [[new Error('NOPERM'), null], [null, -2]];
  t.throws(() => probeOutcome(replies, nowMs), { message: 'NOPERM' });
});

test('read-through › the collection read: each type\'s items, scores (inf too), the TTL', (t) => {
  const list = readOutcome('list', [[null, b('list')], [null, 9_000], [null, 2], [null, [b('a'), b('b')]]], nowMs);
  t.deepEqual(list, { type: 'list', items: [b('a'), b('b')], expiresAt: nowMs + 9_000 });
  const zset = readOutcome('zset', [[null, b('zset')], [null, -1], [null, 3], [null, [b('low'), b('-inf'), b('x'), b('1.5'), b('high'), b('inf')]]], nowMs);
  t.deepEqual(zset, { type: 'zset', entries: [[-Infinity, b('low')], [1.5, b('x')], [Infinity, b('high')]] });
  const hash = readOutcome('hash', [[null, b('hash')], [null, -1], [null, 1], [null, [b('f'), b('v')]]], nowMs);
  t.deepEqual(hash, { type: 'hash', entries: [[b('f'), b('v')]] });
  const set = readOutcome('set', [[null, b('set')], [null, -1], [null, 2], [null, [b('m'), b('n')]]], nowMs);
  t.deepEqual(set, { type: 'set', items: [b('m'), b('n')] });
});

test('read-through › the collection read: another type now is a change, none is absent, growth past the bounds is refused', (t) => {
  t.is(readOutcome('list', [[null, b('string')], [null, -1], [wrongType, null], [wrongType, null]], nowMs), 'changed');
  t.is(readOutcome('list', [[null, b('none')], [null, -2], [null, 0], [null, []]], nowMs), 'absent');
  t.throws(() => readOutcome('set', [[null, b('set')], [null, -1], [null, readThroughItemsMax + 1], [null, [b('m')]]], nowMs), { message: /too large/ });
  const huge = Buffer.alloc(readThroughBytesMax / 2 + 1);
  t.throws(() => readOutcome('list', [[null, b('list')], [null, -1], [null, 2], [null, [huge, huge]]], nowMs), { message: /too large .*bytes of items/ });
  t.throws(() => readOutcome('set', [[null, b('set')], [null, -1], [null, 3], [null, [b('m')]]], nowMs), { message: /answered 1 items for 3/ }, 'a partial read is never imported');
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
