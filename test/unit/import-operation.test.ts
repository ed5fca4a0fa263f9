// IMPORT's pages of a collection (crdt/import-operation.ts) as the
// coordinator mints them (coordinator/versioning.ts newVersion): the first
// page replaces whatever the key held, with its own expiry; each later page
// appends only onto the version the page before made; a page in `missing`
// mode is stamped as imported; a page's bytes survive the wire; lists,
// sorted sets, sets and hashes each take their items.

import test from 'ava';
import fc from 'fast-check';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { decodeImportToken, encodeImportToken } from '../../src/crdt/import-operation.js';
import { decodeListOperation, encodeListOperation, type ListOperation } from '../../src/crdt/list-operation.js';
import { TypeOperationError } from '../../src/crdt/operation.js';
import '../../src/crdt/types.js';
import { stateOf, typedValue } from '../../src/crdt/view.js';
import { listType, values } from '../../src/crdt/list.js';
import { ordered, zsetType } from '../../src/crdt/zset.js';
import { decodeZsetOperation, encodeZsetOperation, type ZsetOperation } from '../../src/crdt/zset-operation.js';
import { foldVersions, importedTimestamp, newVersion, takeMinted, type Mutation } from '../../src/coordinator/versioning.js';
import { MemoryActor } from '../../src/storage/actor.js';
import { members, type SetState } from '../../src/crdt/set.js';
import { entries, type HashState } from '../../src/crdt/hash.js';
import { decodeSetOperation, encodeSetOperation, type SetOperation } from '../../src/crdt/set-operations.js';
import { decodeHashOperation, encodeHashOperation, type HashOperation } from '../../src/crdt/hash-operations.js';

const b = (s: string) => Buffer.from(s);
const nowMs = 1_000_000;

function listPage(op: Omit<Extract<ListOperation, { kind: 'import' }>, 'kind'>, imported = false): Mutation {
  return { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'import', ...op }), ...(imported ? { imported: true } : {}) };
}

/** Applies a write as a coordinator does: a version over the record, folded in. */
function write(record: Sibling[], mutation: Mutation, actor: MemoryActor): { record: Sibling[]; version: Sibling } {
  const version = newVersion(record, mutation, undefined, actor, nowMs);
  return { record: foldVersions(record, [version]), version };
}

function listOf(record: Sibling[]): string[] {
  const current = typedValue(live(record, nowMs));
  if (current?.type !== 'list') return [];
  return values(stateOf(current) as ReturnType<typeof listType.empty>).map(String);
}

test('import › a list in pages: the first replaces a string and carries the expiry; later pages append in order', (t) => {
  const actor = new MemoryActor('a#1');
  let { record } = write([], { kind: 'value', value: b('old string') }, actor);
  const first = write(record, listPage({ imported: false, expiresAt: nowMs + 5_000, items: [b('a'), b('b')] }), actor);
  record = first.record;
  t.is(first.version.expiresAt, nowMs + 5_000);
  t.is(first.version.timestamp, nowMs);
  const chain = decodeImportToken(takeMinted(first.version).outcome!);
  t.deepEqual(chain, first.version.dot);
  const second = write(record, listPage({ imported: false, chain: chain!, items: [b('c')] }), actor);
  record = second.record;
  t.deepEqual(listOf(record), ['a', 'b', 'c']);
  t.is(second.version.expiresAt, nowMs + 5_000, 'a later page keeps the expiry');
  t.is(record.length, 1);
});

test('import › the first page over a list drops its members; in missing mode the pages are stamped as imported', (t) => {
  const actor = new MemoryActor('a#1');
  let { record } = write([], { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'push', end: 'tail', values: [b('x'), b('y')], onlyIfExists: false }) }, actor);
  const first = write(record, listPage({ imported: true, items: [b('a')] }, true), actor);
  record = first.record;
  t.deepEqual(listOf(record), ['a']);
  t.is(first.version.timestamp, importedTimestamp);
  t.is(first.version.expiresAt, undefined);
  const chain = decodeImportToken(takeMinted(first.version).outcome!)!;
  const second = write(record, listPage({ imported: true, chain, items: [b('b')] }), actor);
  t.is(second.version.timestamp, importedTimestamp);
  t.deepEqual(listOf(second.record), ['a', 'b']);
});

test('import › a later page onto a key written since the page before is refused as IMPORT_CHANGED', (t) => {
  const actor = new MemoryActor('a#1');
  const first = write([], listPage({ imported: false, items: [b('a')] }), actor);
  const chain = decodeImportToken(takeMinted(first.version).outcome!)!;
  const pushed = write(first.record, { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'push', end: 'tail', values: [b('client')], onlyIfExists: false }) }, actor);
  const err = t.throws(() => write(pushed.record, listPage({ imported: false, chain, items: [b('b')] }), actor), { instanceOf: TypeOperationError });
  t.is(err!.code, 'IMPORT_CHANGED');
  // Deleted since: refused too (nothing to append to).
  const deleted = write(first.record, { kind: 'delete' }, actor);
  t.throws(() => write(deleted.record, listPage({ imported: false, chain, items: [b('b')] }), actor), { instanceOf: TypeOperationError });
});

test('import › a first page whose expiry has passed is a delete', (t) => {
  const actor = new MemoryActor('a#1');
  const { version } = write([], listPage({ imported: false, expiresAt: nowMs - 1, items: [b('a')] }), actor);
  t.true(version.deleted);
});

test('import › a sorted set in pages: scores as given (the last for a repeated member), -0 as 0, ordered by score', (t) => {
  const actor = new MemoryActor('a#1');
  const page = (op: Omit<Extract<ZsetOperation, { kind: 'import' }>, 'kind'>): Mutation =>
    ({ kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'import', ...op }) });
  const first = write([], page({ imported: false, items: [[2, b('b')], [-0, b('z')], [9, b('a')], [1, b('a')]] }), actor);
  const chain = decodeImportToken(takeMinted(first.version).outcome!)!;
  const second = write(first.record, page({ imported: false, chain, items: [[-Infinity, b('low')]] }), actor);
  const current = typedValue(live(second.record, nowMs))!;
  const entries = ordered(stateOf(current) as ReturnType<typeof zsetType.empty>).map((e) => [Buffer.from(e.key, 'latin1').toString(), e.score]);
  t.deepEqual(entries, [['low', -Infinity], ['z', 0], ['a', 1], ['b', 2]]);
  t.false(Object.is(entries[1]![1], -0));
});

test('import › pages survive their wire bytes; tokens round-trip and junk is no token', (t) => {
  const arbDot = fc.record({ actor: fc.string({ minLength: 1, maxLength: 12 }), counter: fc.integer({ min: 1, max: 2 ** 40 }) });
  const arbBytes = fc.uint8Array({ maxLength: 6 }).map((u) => Buffer.from(u));
  fc.assert(fc.property(fc.option(arbDot, { nil: undefined }), fc.option(fc.integer({ min: 1, max: 2 ** 50 }), { nil: undefined }), fc.boolean(), fc.boolean(), fc.array(arbBytes, { maxLength: 5 }), (chain, expiresAt, imported, over, items) => {
    const op: ListOperation = {
      kind: 'import', imported, items, ...(chain === undefined ? {} : { chain, ...(over ? { over: true } : {}) }), ...(expiresAt === undefined ? {} : { expiresAt }),
    };
    t.deepEqual(decodeListOperation(encodeListOperation(op)), op);
    const zop: ZsetOperation = { kind: 'import', imported, items: items.map((m, i) => [i - 2.5, m] as const), ...(chain === undefined ? {} : { chain }) };
    t.deepEqual(decodeZsetOperation(encodeZsetOperation(zop)), zop);
    const sop: SetOperation = { kind: 'import', imported, items, ...(chain === undefined ? {} : { chain }) };
    t.deepEqual(decodeSetOperation(encodeSetOperation(sop)), sop);
    const hop: HashOperation = { kind: 'import', imported, items: items.map((f) => [f, Buffer.concat([f, f])] as const), ...(expiresAt === undefined ? {} : { expiresAt }) };
    t.deepEqual(decodeHashOperation(encodeHashOperation(hop)), hop);
    if (chain !== undefined) t.deepEqual(decodeImportToken(encodeImportToken(chain)), chain);
  }));
  t.is(decodeImportToken(b('junk')), undefined);
  t.is(decodeImportToken(Buffer.alloc(0)), undefined);
});

test('import › OVER: a first page that replaces an interrupted copy\'s pages, and only them', (t) => {
  const actor = new MemoryActor('a#1');
  const first = write([], listPage({ imported: true, items: [b('partial')] }, true), actor);
  const chain = decodeImportToken(takeMinted(first.version).outcome!)!;
  const again = write(first.record, listPage({ imported: true, chain, over: true, expiresAt: nowMs + 9, items: [b('a')] }), actor);
  t.deepEqual(listOf(again.record), ['a']);
  t.is(again.version.expiresAt, nowMs + 9);
  const pushed = write(first.record, { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'push', end: 'tail', values: [b('client')], onlyIfExists: false }) }, actor);
  const err = t.throws(() => write(pushed.record, listPage({ imported: true, chain, over: true, items: [b('a')] }), actor), { instanceOf: TypeOperationError });
  t.is(err!.code, 'IMPORT_CHANGED');
});

test('import › a set and a hash in pages: a repeated member or field once (the last value), over whatever the key held', (t) => {
  const actor = new MemoryActor('a#1');
  const setPage = (op: Omit<Extract<SetOperation, { kind: 'import' }>, 'kind'>): Mutation =>
    ({ kind: 'operate', type: 'set', operation: encodeSetOperation({ kind: 'import', ...op }) });
  const hashPage = (op: Omit<Extract<HashOperation, { kind: 'import' }>, 'kind'>): Mutation =>
    ({ kind: 'operate', type: 'hash', operation: encodeHashOperation({ kind: 'import', ...op }) });
  let { record } = write([], { kind: 'operate', type: 'set', operation: encodeSetOperation({ kind: 'add', members: [b('old')] }) }, actor);
  const first = write(record, setPage({ imported: false, items: [b('a'), b('b'), b('a')] }), actor);
  const chain = decodeImportToken(takeMinted(first.version).outcome!)!;
  record = write(first.record, setPage({ imported: false, chain, items: [Buffer.from([0x00, 0xff])] }), actor).record;
  t.deepEqual(members(stateOf(typedValue(live(record, nowMs))!) as SetState).map((m) => m.toString('latin1')).sort(), ['\x00\xff', 'a', 'b']);

  const h1 = write(record, hashPage({ imported: false, expiresAt: nowMs + 50, items: [[b('f'), b('1')], [b('g'), b('2')], [b('f'), b('3')]] }), actor);
  const hChain = decodeImportToken(takeMinted(h1.version).outcome!)!;
  const h2 = write(h1.record, hashPage({ imported: false, chain: hChain, items: [[b('h'), b('4')]] }), actor);
  const hash = stateOf(typedValue(live(h2.record, nowMs))!) as HashState;
  t.deepEqual(entries(hash).map(([f, v]) => `${f}=${v}`), ['f=3', 'g=2', 'h=4']);
  t.is(h2.version.expiresAt, nowMs + 50);
});

test('import › a first page over a big value of its type is one context copy, and a concurrent copy of the old members does not bring them back', (t) => {
  const actor = new MemoryActor('a#1');
  const n = 20_000;
  const old = write([], { kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'push', end: 'tail', values: Array.from({ length: n }, (_, i) => b(`o${i}`)), onlyIfExists: false }) }, actor);
  const started = Date.now();
  const first = write(old.record, listPage({ imported: false, items: [b('new')] }), actor);
  t.true(Date.now() - started < 2_000, `replaced ${n} elements in ${Date.now() - started} ms`);
  // A replica that still holds the old version merges it with the new state: only the import shows.
  const merged = listType.merge(listType.decode(first.version.value), listType.decode(old.version.value));
  t.deepEqual(values(merged).map(String), ['new']);
});
