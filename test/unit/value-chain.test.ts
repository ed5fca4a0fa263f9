// Chained versions (crdt/value-chain.ts) and how LevelDB keeps them
// (storage/level-storage.ts): a version made as a chain reads, byte for
// byte, as the same operation's version encoded whole (sets, hashes, lists, sorted sets); storage appends its
// links, writes a chain begun in one batch as its origin and links, and a
// reopened store replays them into the same value; nothing that only sizes
// or copies the version's fields encodes its value.

import test from 'ava';
import fc from 'fast-check';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Sibling } from '../../src/clock/types.js';
import { encodeSetOperation, type SetOperation } from '../../src/crdt/set-operations.js';
import { encodeHashOperation, type HashOperation } from '../../src/crdt/hash-operations.js';
import { encodeListOperation, type ListOperation } from '../../src/crdt/list-operation.js';
import { encodeZsetOperation, type ZsetOperation } from '../../src/crdt/zset-operation.js';
import '../../src/crdt/types.js';
import { chainBaseBytesPerLink, chainCounts, chainLinksMax, chainOf, extendChain, linksMaxFor, recordBytesEstimate, setChainLimits, valueBytesOf, withValue } from '../../src/crdt/value-chain.js';
import { foldVersions, newVersion, type Mutation } from '../../src/coordinator/versioning.js';
import { MemoryActor } from '../../src/storage/actor.js';
import { has, setType, size } from '../../src/crdt/set.js';
import { emptyHash, hashType, setFields } from '../../src/crdt/hash.js';
import { decodedStateBytesMin } from '../../src/crdt/state-cache.js';
import { readStateOf, typedValue } from '../../src/crdt/view.js';
import { LevelStorage } from '../../src/storage/level-storage.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const memberArb = fc.integer({ min: 0, max: 40 }).map((i) => b(`m${i}`));

const setOpArb: fc.Arbitrary<SetOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), members: fc.array(memberArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), members: fc.array(memberArb, { minLength: 1, maxLength: 3 }) }) },
  // No SPOP: it picks at random, so two runs of one sequence differ anyway (its delta is a removal's, as SREM's).
);
const hashOpArb: fc.Arbitrary<HashOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), pairs: fc.array(fc.tuple(memberArb, memberArb), { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), fields: fc.array(memberArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('incrby' as const), field: memberArb.map((m) => b(`n${m.toString('latin1')}`)), increment: fc.bigInt({ min: -5n, max: 5n }) }) },
);

const endArb = fc.constantFrom('head' as const, 'tail' as const);
const listOpArb: fc.Arbitrary<ListOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), end: endArb, values: fc.array(memberArb, { minLength: 1, maxLength: 70 }), onlyIfExists: fc.constant(false) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const), end: endArb, count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), count: fc.integer({ min: -2, max: 2 }), element: memberArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), index: fc.integer({ min: -3, max: 3 }).map((i) => b(String(i))), value: memberArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trim' as const), start: fc.integer({ min: 0, max: 3 }), stop: fc.integer({ min: -3, max: 80 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), after: fc.boolean(), pivot: memberArb, element: memberArb }) },
);

const flagsArb = fc.record({ nx: fc.boolean(), xx: fc.constant(false), gt: fc.boolean(), lt: fc.constant(false), ch: fc.boolean(), incr: fc.constant(false) });
const scoreArb = fc.integer({ min: -20, max: 20 }).map((n) => n / 4);
const zsetOpArb: fc.Arbitrary<ZsetOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), flags: flagsArb, pairs: fc.array(fc.tuple(scoreArb, memberArb), { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), flags: flagsArb.map((f) => ({ ...f, nx: false, gt: false, incr: true })), pairs: fc.tuple(scoreArb, memberArb).map((p) => [p]) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), members: fc.array(memberArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pop' as const), end: fc.constantFrom('min' as const, 'max' as const), count: fc.integer({ min: 1, max: 3 }) }) },
);

const operate = (type: 'set' | 'hash' | 'list' | 'zset', operation: Buffer): Mutation => ({ kind: 'operate', type, operation });
const mutationsArb = fc.oneof(
  fc.array(setOpArb, { minLength: 1, maxLength: 40 }).map((ops) => ops.map((op) => operate('set', encodeSetOperation(op)))),
  fc.array(hashOpArb, { minLength: 1, maxLength: 40 }).map((ops) => ops.map((op) => operate('hash', encodeHashOperation(op)))),
  fc.array(listOpArb, { minLength: 1, maxLength: 40 }).map((ops) => ops.map((op) => operate('list', encodeListOperation(op)))),
  fc.array(zsetOpArb, { minLength: 1, maxLength: 40 }).map((ops) => ops.map((op) => operate('zset', encodeZsetOperation(op)))),
);

/** The records each mutation leaves, applied in turn by one coordinator (under the chain limits in force). */
function run(mutations: readonly Mutation[], actorId: string): Sibling[][] {
  const actor = new MemoryActor(actorId);
  let record: Sibling[] = [];
  const out: Sibling[][] = [];
  mutations.forEach((m, i) => {
    try {
      record = foldVersions(record, [newVersion(record, m, undefined, actor, 1_000 + i)]);
    } catch {
      // A refused operation (WRONGTYPE, an overflow) changes nothing, chained or not.
    }
    out.push(record);
  });
  return out;
}

/** Runs `body` with chains from any size, cut every `linksMax` links (0: no chains at all); the limits are put back after. */
function withChains<T>(linksMax: number, body: () => T): T {
  const before = setChainLimits({ baseBytesMin: linksMax === 0 ? Infinity : 0, linksMax });
  try {
    return body();
  } finally {
    setChainLimits(before);
  }
}

test.serial('value chain › a chained version reads, byte for byte, as the same operation encoded whole', (t) => {
  fc.assert(
    fc.property(mutationsArb, fc.integer({ min: 1, max: 6 }), (mutations, linksMax) => {
      const whole = withChains(0, () => run(mutations, 'a#1'));
      const chained = withChains(linksMax, () => run(mutations, 'a#1'));
      // Read newest first in one run (each replay from the base), oldest first in the other (each from the value kept before it).
      const reversed = withChains(linksMax, () => run(mutations, 'a#1'));
      for (let i = mutations.length - 1; i >= 0; i--) {
        for (let j = 0; j < whole[i]!.length; j++) if (!whole[i]![j]!.value.equals(reversed[i]![j]!.value)) return false;
      }
      for (let i = 0; i < mutations.length; i++) {
        const [w, c] = [whole[i]!, chained[i]!];
        if (w.length !== c.length) return false;
        for (let j = 0; j < w.length; j++) {
          if (chainOf(w[j]!) !== undefined) return false;
          if (!w[j]!.value.equals(c[j]!.value) || w[j]!.deleted !== c[j]!.deleted || w[j]!.emptied !== c[j]!.emptied) return false;
        }
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test.serial('value chain › sizing, copying fields and estimating a record never encode a chained value', (t) => {
  const records = withChains(100, () => run([operate('set', encodeSetOperation({ kind: 'add', members: [b('x')] })), operate('set', encodeSetOperation({ kind: 'add', members: [b('y')] }))], 'a#1'));
  const version = records[1]![0]!;
  t.truthy(chainOf(version), 'the second add is chained onto the first');
  const before = chainCounts().encoded;
  t.true(valueBytesOf(version) > 0);
  t.true(recordBytesEstimate([version]) > valueBytesOf(version));
  const copy = withValue(version, Buffer.alloc(0));
  t.deepEqual(copy.dot, version.dot);
  t.is(chainOf(copy), undefined, 'a copy is a plain version');
  t.is(chainCounts().encoded, before, 'nothing was encoded');
  t.true(version.value.length > 0);
  t.is(chainCounts().encoded, before + 1, 'reading the value encodes it, once');
  t.true(version.value.equals(version.value));
  t.is(chainCounts().encoded, before + 1);
});

test.serial('value chain › a larger base allows more links: one per chainBaseBytesPerLink of it, never fewer than chainLinksMax', (t) => {
  t.is(linksMaxFor(0), chainLinksMax);
  t.is(linksMaxFor(1024 * 1024), Math.floor(1024 * 1024 / chainBaseBytesPerLink));
  const before = setChainLimits({ baseBytesMin: 0, linksMax: 3, baseBytesPerLink: 16 });
  try {
    const store = operate('set', encodeSetOperation({ kind: 'store', members: Array.from({ length: 60 }, (_, i) => b(`base-member-${i}`)) }));
    const adds = Array.from({ length: 120 }, (_, i) => operate('set', encodeSetOperation({ kind: 'add', members: [b(`m${i}`)] })));
    const records = run([store, ...adds], 'a#1');
    let longest = 0;
    for (let i = 1; i < records.length; i++) {
      const link = chainOf(records[i]![0]!);
      if (link === undefined) continue;
      t.true(link.position <= linksMaxFor(link.base.length), `link ${link.position} of a ${link.base.length}-byte base`);
      const next = records[i + 1]?.[0];
      // A cut comes exactly at the limit (or when the deltas outweigh the base, which 16 bytes a link never reaches here).
      if (next !== undefined && chainOf(next)?.position === 1) t.is(link.position, linksMaxFor(link.base.length));
      longest = Math.max(longest, link.position);
    }
    t.true(longest > 3, `the chain outgrew the fixed floor (${longest} links)`);
  } finally {
    setChainLimits(before);
  }
});

test.serial('value chain › LevelDB appends links, keeps a chain begun in one batch as origin and links, and replays them after a reopen', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-chain-'));
  const key = b('k');
  try {
    const mutations = Array.from({ length: 30 }, (_, i) => operate('set', encodeSetOperation({ kind: i % 7 === 6 ? 'remove' : 'add', members: [b(`m${i % 11}`), b(`n${i}`)] })));
    const records = withChains(8, () => run(mutations, 'a#1'));
    let storage = await LevelStorage.open(dir);
    // One update per record and a commit between each: links are appended one at a time.
    for (const record of records.slice(0, 12)) await storage.update(key, undefined, () => record);
    t.truthy(chainOf(records[11]![0]!), 'the twelfth version is chained');
    await storage.close();
    storage = await LevelStorage.open(dir);
    const appended = storage.get(key, undefined);
    t.deepEqual(appended[0]!.dot, records[11]![0]!.dot);
    t.true(appended[0]!.value.equals(records[11]![0]!.value), 'appended links replay into the written value');
    // Then several records in one batch: only the last is written, with every link its chain has.
    const pending = records.slice(12).map((record) => storage.update(key, undefined, () => record));
    await Promise.all(pending);
    const last = records.at(-1)!;
    t.truthy(chainOf(last[0]!), 'the last version is chained');
    t.true(storage.chains().linksWritten > 0);
    await storage.close();
    storage = await LevelStorage.open(dir);
    const reread = storage.get(key, undefined);
    t.is(reread.length, 1);
    t.truthy(chainOf(reread[0]!), 'read back as a chain, not encoded');
    t.deepEqual(reread[0]!.dot, last[0]!.dot);
    t.true(reread[0]!.value.equals(last[0]!.value), 'the replayed value is the written one');
    // A delete removes the record and its links; reopened, nothing is left of the key.
    await storage.update(key, undefined, () => []);
    t.is(storage.chains().chainedRecords, 0);
    await storage.close();
    storage = await LevelStorage.open(dir);
    t.deepEqual(storage.get(key, undefined), []);
    t.is(storage.chains().chainedRecords, 0, 'no link is left on disk');
    await storage.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.serial('value chain › a cut leaves the links on disk under the new base: a read stops at the first older one, and the next chain writes over them', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-chain-'));
  const key = b('k');
  try {
    const adds = Array.from({ length: 40 }, (_, i) => operate('set', encodeSetOperation({ kind: 'add', members: [b(`m${i}`), b(`n${i}`)] })));
    // Then a hash written whole over the set (RESTORE … REPLACE does so), and a delete.
    const hash = setFields(emptyHash(), [[b('f'), b('v')]], { actor: 'h#1', counter: 1 }).state;
    const mutations: Mutation[] = [...adds, { kind: 'value', value: hashType.encode(hash), type: 'hash' }, { kind: 'delete' }];
    const records = withChains(5, () => run(mutations, 'a#1'));
    let storage = await LevelStorage.open(dir);
    let cuts = 0;
    for (let i = 0; i < records.length; i++) {
      await storage.update(key, undefined, () => records[i]!);
      const [now, before] = [records[i]![0]!, records[i - 1]?.[0]];
      if (before !== undefined && chainOf(before) !== undefined && chainOf(now) === undefined) cuts++;
      // Reopened after every write: what is read is what was written, whatever older links lie beyond the chain.
      await storage.close();
      storage = await LevelStorage.open(dir);
      const read = storage.get(key, undefined);
      t.is(read.length, 1, `write ${i}`);
      t.deepEqual(read[0]!.dot, now.dot, `write ${i}`);
      t.is(read[0]!.type, now.type, `write ${i}`);
      t.true(read[0]!.value.equals(now.value), `write ${i} reads back as written`);
      t.is(chainOf(read[0]!)?.position, chainOf(now)?.position, `write ${i} replays exactly its own links`);
      if (i === adds.length) t.is(storage.chains().chainedRecords, 1, 'the hash keeps the set\'s links under it, unread');
    }
    t.true(cuts >= 3, `${cuts} cuts`);
    t.is(storage.chains().chainedRecords, 0, 'the delete removed every link');
    await storage.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.serial('value chain › a version that does not follow its base is never chained onto it', (t) => {
  const records = withChains(100, () => run([operate('set', encodeSetOperation({ kind: 'add', members: [b('x')] }))], 'a#1'));
  const base = records[0]![0]!;
  const delta = setType.encode(setType.empty());
  const follows = { dot: { actor: 'b#1', counter: 1 }, past: [base.dot], timestamp: 2, type: 'set' as const };
  t.truthy(withChains(100, () => extendChain(base, follows, delta)));
  t.is(withChains(100, () => extendChain(base, { ...follows, past: [] }, delta)), undefined, 'a concurrent version is encoded whole');
});

test.serial('value chain › a state read is kept for the next read and never changed by the operations after it', (t) => {
  const members = Array.from({ length: 400 }, (_, i) => b(`member-${i}-${'x'.repeat(20)}`));
  const records = withChains(100, () => run([
    operate('set', encodeSetOperation({ kind: 'add', members })),
    operate('set', encodeSetOperation({ kind: 'add', members: [b('one-more')] })),
    operate('set', encodeSetOperation({ kind: 'remove', members: [members[0]!] })),
  ], 'a#1'));
  const [first, second, third] = records.map((r) => typedValue(r)!);
  t.true(valueBytesOf(records[0]![0]!) >= decodedStateBytesMin, 'large enough to be kept');
  // The operations ran first here; read each version in turn, then again: the same objects, with what each version held.
  const read = [first!, second!, third!].map((v) => readStateOf(v, setType));
  t.is(readStateOf(first!, setType), read[0], 'kept for the next read');
  t.deepEqual([read.map((s) => size(s)), read.map((s) => has(s, b('one-more'))), read.map((s) => has(s, members[0]!))], [[400, 401, 400], [false, true, true], [true, true, false]]);
  // An operation on the last version takes the state operations change (takeState), never the one reads hold.
  const before = size(read[2]!);
  withChains(100, () => foldVersions(records[2]!, [newVersion(records[2]!, operate('set', encodeSetOperation({ kind: 'add', members: [b('later')] })), undefined, new MemoryActor('a#1'), 9_999)]));
  t.is(size(read[2]!), before, 'a later SADD leaves the read state as it was');
  t.false(has(read[2]!, b('later')));
});
