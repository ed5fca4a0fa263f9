// Delta replication's pure part (src/coordinator/delta.ts): for every
// operation of every collection type, minted through the coordinator's own
// versioning path over records that three replicas grow apart and sync, a
// replica holding the versions the operation was built on rebuilds the new
// version's value byte for byte from the delta (the same bytes everywhere is
// the write's promise); a replica lacking one answers missing-base, never a
// wrong value; a duplicate or superseded delta is held, not applied twice.
import test from 'ava';
import fc from 'fast-check';
import type { Sibling } from '../../src/clock/types.js';
import { applyDelta, encodeDelta, valueDigest, type DeltaPut } from '../../src/coordinator/delta.js';
import { foldVersions, newVersion, takeMinted, type Mutation } from '../../src/coordinator/versioning.js';
import { encodeHashOperation, type HashOperation } from '../../src/crdt/hash-operations.js';
import { encodeListOperation, type ListOperation } from '../../src/crdt/list-operation.js';
import { TypeOperationError } from '../../src/crdt/operation.js';
import { encodeSetOperation, type SetOperation } from '../../src/crdt/set-operations.js';
import '../../src/crdt/types.js';
import { encodeZsetOperation, type ZsetOperation } from '../../src/crdt/zset-operation.js';
import { CrdtLimitError } from '../../src/crdt/list.js';
import { MemoryActor } from '../../src/storage/actor.js';
import { typeEntry } from '../../src/crdt/registry.js';
import { mergeVersions } from '../../src/crdt/view.js';
import { chainOf, setChainLimits } from '../../src/crdt/value-chain.js';

type Collection = 'set' | 'hash' | 'zset' | 'list';

const member = fc.constantFrom('a', 'b', 'c', 'd', 'e', '1', '22').map((s) => Buffer.from(s, 'latin1'));
const members = fc.array(member, { maxLength: 4 });
const arbScore = fc.constantFrom(0, 1, -1, 2.5, 1e9, Infinity, -Infinity);

const setOp: fc.Arbitrary<SetOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), members }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), members }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pop' as const), count: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('store' as const), members }) },
);
const hashOp: fc.Arbitrary<HashOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), pairs: fc.array(fc.tuple(member, member), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setnx' as const), field: member, value: member }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), fields: members }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('incrby' as const), field: member, increment: fc.bigInt({ min: -5n, max: 5n }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('incrbyfloat' as const), field: member, increment: fc.constantFrom('1.5', '-0.25', '3').map((s) => Buffer.from(s)) }) },
);
const zsetOp: fc.Arbitrary<ZsetOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({
    kind: fc.constant('add' as const),
    flags: fc.record({ nx: fc.boolean(), xx: fc.boolean(), gt: fc.boolean(), lt: fc.boolean(), ch: fc.boolean(), incr: fc.boolean() }),
    pairs: fc.array(fc.tuple(arbScore, member), { minLength: 1, maxLength: 3 }),
  }).map((op) => (op.flags.incr ? { ...op, pairs: op.pairs.slice(0, 1) } : op)) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), members }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pop' as const), end: fc.constantFrom('min' as const, 'max' as const), count: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), pairs: fc.array(fc.tuple(arbScore, member), { maxLength: 3 }) }) },
);
const end = fc.constantFrom('head' as const, 'tail' as const);
const listOp: fc.Arbitrary<ListOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), end, values: fc.array(member, { minLength: 1, maxLength: 3 }), onlyIfExists: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const), end, count: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), index: fc.constantFrom('0', '-1', '1').map((s) => Buffer.from(s)), value: member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), count: fc.integer({ min: -2, max: 2 }), element: member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trim' as const), start: fc.integer({ min: -3, max: 3 }), stop: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), after: fc.boolean(), pivot: member, element: member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rotate' as const), from: end, to: end }) },
);

const operations: Record<Collection, fc.Arbitrary<Buffer>> = {
  set: setOp.map(encodeSetOperation),
  hash: hashOp.map(encodeHashOperation),
  zset: zsetOp.map(encodeZsetOperation),
  list: listOp.map(encodeListOperation),
};

type Step =
  | { readonly kind: 'op'; readonly replica: number; readonly operation: Buffer }
  /** Another key's writes move the actor's counter on: dots of one key are sparse. */
  | { readonly kind: 'gap'; readonly replica: number; readonly by: number }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number }
  /** A DEL or a string SET of the key: the next operation starts over another type or nothing. */
  | { readonly kind: 'other'; readonly replica: number; readonly mutation: Mutation };

const replica = fc.integer({ min: 0, max: 2 });
function stepsOf(type: Collection): fc.Arbitrary<Step[]> {
  return fc.array(fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('op' as const), replica, operation: operations[type] }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('gap' as const), replica, by: fc.integer({ min: 1, max: 5 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replica, to: replica }) },
    { weight: 1, arbitrary: fc.record({
      kind: fc.constant('other' as const), replica,
      mutation: fc.constantFrom<Mutation>({ kind: 'delete' }, { kind: 'value', value: Buffer.from('s') }),
    }) },
  ), { maxLength: 30 });
}

/** The replica message for a version the coordinator minted with a delta. */
function putOf(version: Sibling): DeltaPut | undefined {
  const delta = takeMinted(version).delta;
  if (delta === undefined) return undefined;
  return { version: { ...version, value: Buffer.alloc(0) }, bases: delta.bases, delta: encodeDelta(delta), check: { digest: valueDigest(version.value), valueBytes: version.value.length } };
}

interface Tally { rebuilt: number; missing: number; whole: number }

/** mergeDelta (in place) builds what merge builds, to the byte, over any replica's state and any delta — not only the delta's own start. */
function mergeDeltaAgrees(record: readonly Sibling[], type: Collection, deltaBytes: Buffer): void {
  const convergent = typeEntry(type).convergent;
  const versions = record.filter((v) => v.type === type && v.deleted !== true);
  const delta = convergent.decode(deltaBytes);
  const merged = convergent.encode(convergent.merge(mergeVersions(convergent, versions), delta));
  const inPlace = convergent.encode(convergent.mergeDelta!(mergeVersions(convergent, versions), delta));
  if (!merged.equals(inPlace)) throw new Error('mergeDelta differs from merge');
}

function run(steps: readonly Step[], type: Collection, tally: Tally): void {
  const records: Sibling[][] = [[], [], []];
  const actors = [new MemoryActor('a#1'), new MemoryActor('b#2'), new MemoryActor('c#3')];
  let now = 1;
  for (const step of steps) {
    if (step.kind === 'gap') {
      actors[step.replica]!.next(0);
      for (let i = 1; i < step.by; i++) actors[step.replica]!.next(0);
      continue;
    }
    if (step.kind === 'sync') {
      records[step.to] = foldVersions(records[step.to]!, records[step.from]!);
      continue;
    }
    const r = step.replica;
    const record = records[r]!;
    let version: Sibling;
    try {
      const mutation: Mutation = step.kind === 'op' ? { kind: 'operate', type, operation: step.operation } : step.mutation;
      version = newVersion(record, mutation, undefined, actors[r]!, now++);
    } catch (err) {
      if (err instanceof TypeOperationError || err instanceof CrdtLimitError) continue;
      throw err;
    }
    const put = putOf(version);
    if (put === undefined) {
      if (step.kind === 'op') tally.whole++;
    }
    else {
      // The coordinator's own record holds every base: the rebuilt bytes are the coordinator's.
      const here = applyDelta(record, put);
      if (here.kind !== 'rebuilt') throw new Error(`coordinator's record gave ${here.kind}`);
      if (!here.version.value.equals(version.value)) throw new Error('rebuilt value differs from the coordinator\'s');
      if (JSON.stringify({ ...here.version, value: 0 }) !== JSON.stringify({ ...version, value: 0 })) throw new Error('rebuilt version metadata differs');
      tally.rebuilt++;
      // Any other replica rebuilds the same bytes or asks for the whole record — never a value of its own.
      for (const other of records) {
        mergeDeltaAgrees(other, type, put.delta);
        if (other === record) continue;
        const there = applyDelta(other, put);
        if (there.kind === 'mismatch') throw new Error('a replica rebuilt other bytes');
        if (there.kind === 'missing-base') tally.missing++;
        if (there.kind === 'rebuilt' && !there.version.value.equals(version.value)) throw new Error('rebuilt value differs');
      }
    }
    records[r] = foldVersions(record, [version]);
    // The same delta again (a duplicate, or delayed past this write): held, not applied twice.
    if (put !== undefined && applyDelta(records[r]!, put).kind !== 'held') throw new Error('a duplicate delta was not held');
  }
}

for (const type of ['set', 'hash', 'zset', 'list'] as const) {
  test(`delta › ${type}: a replica holding the bases rebuilds the coordinator's bytes; one lacking them asks for the whole`, (t) => {
    const tally: Tally = { rebuilt: 0, missing: 0, whole: 0 };
    fc.assert(fc.property(stepsOf(type), (steps) => run(steps, type, tally)), { seed: 12, numRuns: 300 });
    t.log(tally);
    // Not vacuous: deltas were made, and some replicas lacked their bases.
    t.true(tally.rebuilt > 150);
    t.true(tally.missing > 50);
  });
}

test.serial('delta › a malformed delta to a chained base is a mismatch and leaves the base\'s chain as it was', (t) => {
  const before = setChainLimits({ baseBytesMin: 0, linksMax: 6 });
  try {
    const actor = new MemoryActor('coordinator#1');
    const sadd = (...members: string[]): Mutation => ({ kind: 'operate', type: 'set', operation: encodeSetOperation({ kind: 'add', members: members.map((m) => Buffer.from(m)) }) });
    let record: Sibling[] = [];
    // A base of 50 members, so the deltas after it stay lighter than it and the chain goes on.
    for (const mutation of [sadd(...Array.from({ length: 50 }, (_, i) => `member-${i}`)), sadd('b')]) {
      record = foldVersions(record, [newVersion(record, mutation, undefined, actor, 1)]);
    }
    const base = record[0]!;
    t.truthy(chainOf(base), 'the second add is chained');
    // The next version as a coordinator would send it (minting it here would extend this node's chain itself).
    const version: Sibling = { value: Buffer.alloc(0), dot: { actor: 'other#1', counter: 1 }, past: [base.dot], timestamp: 1, type: 'set' };
    const put: DeltaPut = { version, bases: [base.dot], delta: Buffer.from([0xff, 0x00, 0x13]) };
    t.is(applyDelta(record, put).kind, 'mismatch');
    t.truthy(chainOf(base), 'the base still reads as its chain');
  } finally {
    setChainLimits(before);
  }
});
