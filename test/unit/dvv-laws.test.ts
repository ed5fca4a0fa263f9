// The laws of dotted version vectors, checked against a naive model in the
// manner of riak_core's eqc/vclock_qc.erl.
//
// The model knows nothing of clocks. Every write is a version with an id and
// the set of versions its writer saw: a plain write at a replica saw whatever
// that replica knew; a write with a client's context saw whatever the replicas
// that answered the client's read knew. A replica knows the versions it was
// sent and everything they saw. From that alone the model says what a record
// must hold: the versions a replica knows that no version it knows saw.
//
// The implementation runs beside it: three replicas, each a coordinator with
// its own MemoryActor, writing with newVersion, replicating whole records as
// coordinators do (delivered late, out of order, or never), repairing with
// foldVersions, and clients reading contexts from any subset of replicas.
// After every step the two must agree: each version's past covers exactly the
// versions its writer saw (so a write never supersedes a version its context
// did not cover), each replica's causal context covers exactly what it knows,
// and each record holds exactly what the model says.
import test from 'ava';
import fc from 'fast-check';
import { causalContext, reconcile, versionOrder } from '../../src/clock/siblings.js';
import { counterOf, covers, descends, equal, isValidClock, merge } from '../../src/clock/vclock.js';
import type { Sibling, VClock } from '../../src/clock/types.js';
import { foldVersions, newVersion, type Mutation } from '../../src/coordinator/versioning.js';
import { MemoryActor } from '../../src/storage/actor.js';

// Version vectors: merge is a join ----------------------------------------

const actors = ['a', 'b', 'c', 'd', 'e'];

const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(fc.record({ actor: fc.constantFrom(...actors), counter: fc.integer({ min: 1, max: 4 }) }), {
    selector: (e) => e.actor,
    maxLength: actors.length,
  })
  .map((entries) => entries.sort((x, y) => (x.actor < y.actor ? -1 : 1)));

const clockRuns = { seed: 42, numRuns: 500 };

test('dvv laws › merge of clocks is commutative, associative and idempotent', (t) => {
  fc.assert(
    fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
      t.deepEqual(merge([a, b]), merge([b, a]));
      t.deepEqual(merge([merge([a, b]), c]), merge([a, merge([b, c])]));
      t.deepEqual(merge([a, b, c]), merge([c, a, b]));
      t.deepEqual(merge([a, a]), a);
      t.deepEqual(merge([merge([a, b]), b]), merge([a, b]));
    }),
    clockRuns,
  );
});

test('dvv laws › merge of clocks descends both inputs, is the per-actor maximum, and is the least such clock', (t) => {
  fc.assert(
    fc.property(clockArb, clockArb, clockArb, (a, b, extra) => {
      const m = merge([a, b]);
      t.true(isValidClock(m));
      t.true(descends(m, a) && descends(m, b));
      for (const actor of actors) t.is(counterOf(m, actor), Math.max(counterOf(a, actor), counterOf(b, actor)));
      // Every upper bound of a and b descends m.
      const upper = merge([a, b, extra]);
      t.true(descends(upper, m));
      if (descends(extra, a) && descends(extra, b)) t.true(descends(extra, m));
      // Nothing below m is an upper bound: lower any one entry and a or b is no longer descended.
      for (const e of m) {
        const lower = m.flatMap((x) => (x !== e ? [x] : x.counter > 1 ? [{ actor: x.actor, counter: x.counter - 1 }] : []));
        t.false(descends(lower, a) && descends(lower, b), `lowering ${e.actor}`);
      }
      t.is(equal(m, a), descends(a, b));
    }),
    clockRuns,
  );
});

// The simulation -------------------------------------------------------------

const replicaCount = 3;

type Op =
  | { readonly kind: 'write'; readonly at: number; readonly mutation: 'value' | 'delete' | 'expired' | 'ttl'; readonly context: number | null }
  | { readonly kind: 'read'; readonly from: number }
  | { readonly kind: 'deliver'; readonly pick: number }
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number }
  | { readonly kind: 'other-key'; readonly at: number };

const replicaArb = fc.nat({ max: replicaCount - 1 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at: replicaArb,
      mutation: fc.constantFrom('value' as const, 'value' as const, 'delete' as const, 'expired' as const, 'ttl' as const),
      context: fc.option(fc.nat(), { nil: null, freq: 2 }),
    }),
  },
  // A client read from a non-empty subset of the replicas (a bit mask): R of N answered.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), from: fc.integer({ min: 1, max: 2 ** replicaCount - 1 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  // Read repair, hinted handoff, anti-entropy: one replica's whole record folded into another's.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replicaArb, to: replicaArb }) },
  // The actor mints a counter for another key: counters on this key skip.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other-key' as const), at: replicaArb }) },
);

const historyArb = fc.array(opArb, { minLength: 1, maxLength: 50, size: 'medium' });

interface Version {
  readonly sibling: Sibling;
  readonly id: string;
  /** The model: every version the writer saw (transitively closed). */
  readonly saw: ReadonlySet<string>;
}

interface Message {
  readonly to: number;
  readonly record: readonly Sibling[];
  /** The model's side of the message: what the sender knew when it sent the record. */
  readonly knowledge: ReadonlySet<string>;
}

const idOf = (s: Sibling) => `${s.dot.actor}:${s.dot.counter}`;

function union(sets: Iterable<ReadonlySet<string>>): Set<string> {
  const out = new Set<string>();
  for (const s of sets) for (const x of s) out.add(x);
  return out;
}

class Sim {
  readonly actors = Array.from({ length: replicaCount }, (_, i) => new MemoryActor(`${'ABC'[i]}#e${i}`));
  readonly records: Sibling[][] = Array.from({ length: replicaCount }, () => []);
  readonly known: Set<string>[] = Array.from({ length: replicaCount }, () => new Set());
  readonly history: Version[] = [];
  readonly byId = new Map<string, Version>();
  readonly pending: Message[] = [];
  /** Contexts clients have read, with what the replicas that answered knew. */
  readonly contexts: { readonly clock: VClock; readonly saw: ReadonlySet<string> }[] = [{ clock: [], saw: new Set() }];
  nowMs = 1_000_000;

  run(op: Op): void {
    this.nowMs += 10;
    switch (op.kind) {
      case 'write':
        return this.write(op.at, op.mutation, op.context === null ? undefined : this.contexts[op.context % this.contexts.length]!);
      case 'read': {
        const from = [...Array(replicaCount).keys()].filter((r) => op.from & (1 << r));
        // The coordinator of the read merges the replies, as a quorum read does.
        const merged = reconcile(from.flatMap((r) => this.records[r]!));
        this.contexts.push({ clock: causalContext(merged), saw: union(from.map((r) => this.known[r]!)) });
        return;
      }
      case 'deliver':
        if (this.pending.length > 0) this.deliver(this.pending.splice(op.pick % this.pending.length, 1)[0]!);
        return;
      case 'drop':
        if (this.pending.length > 0) this.pending.splice(op.pick % this.pending.length, 1);
        return;
      case 'sync':
        this.deliver({ to: op.to, record: this.records[op.from]!, knowledge: new Set(this.known[op.from]) });
        return;
      case 'other-key':
        this.actors[op.at]!.next(0);
        return;
    }
  }

  private write(at: number, kind: 'value' | 'delete' | 'expired' | 'ttl', context: { clock: VClock; saw: ReadonlySet<string> } | undefined): void {
    const mutation: Mutation =
      kind === 'delete'
        ? { kind: 'delete' }
        : { kind: 'value', value: Buffer.from(`v${this.history.length}`), ...(kind === 'expired' ? { expiresAt: this.nowMs - 5 } : kind === 'ttl' ? { expiresAt: this.nowMs + 50 } : {}) };
    const sibling = newVersion(this.records[at]!, mutation, context?.clock, this.actors[at]!, this.nowMs);
    const id = idOf(sibling);
    if (this.byId.has(id)) throw new Error(`dot ${id} minted twice`);
    // A plain write saw what its coordinator knew; a write with a context, what that read saw.
    const saw = new Set(context === undefined ? this.known[at]! : context.saw);
    const version: Version = { sibling, id, saw };
    this.history.push(version);
    this.byId.set(id, version);
    this.records[at] = foldVersions(this.records[at]!, [sibling]);
    for (const x of saw) this.known[at]!.add(x);
    this.known[at]!.add(id);
    // The coordinator sends its whole new record to the other replicas.
    for (let r = 0; r < replicaCount; r++) {
      if (r !== at) this.pending.push({ to: r, record: this.records[at]!, knowledge: new Set(this.known[at]) });
    }
  }

  deliver(message: Message): void {
    this.records[message.to] = foldVersions(this.records[message.to]!, message.record);
    for (const x of message.knowledge) this.known[message.to]!.add(x);
  }

  /** Every message delivered, then every replica's record folded into every other's, twice round. */
  settle(): void {
    while (this.pending.length > 0) this.deliver(this.pending.shift()!);
    for (let round = 0; round < 2; round++) {
      for (let from = 0; from < replicaCount; from++) {
        for (let to = 0; to < replicaCount; to++) if (from !== to) this.run({ kind: 'sync', from, to });
      }
    }
  }

  /** The model's record: the versions in `known` that no version in `known` saw. */
  maximal(known: ReadonlySet<string>): string[] {
    const ids = [...known];
    return ids.filter((v) => !ids.some((w) => this.byId.get(w)!.saw.has(v))).sort();
  }

  /** The history's versions whose dots `clock` covers. */
  coveredBy(clock: VClock): string[] {
    return this.history.filter((v) => covers(clock, v.sibling.dot)).map((v) => v.id).sort();
  }
}

function fail(message: string): never {
  throw new Error(message);
}

const sortedIds = (siblings: readonly Sibling[]) => siblings.map(idOf).sort();
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Checks the implementation against the model after a step; throws (so fast-check shrinks) on a difference. */
function check(sim: Sim): void {
  for (const w of sim.history) {
    for (const v of sim.history) {
      if (v === w) continue;
      const covered = covers(w.sibling.past, v.sibling.dot);
      if (covered && !w.saw.has(v.id)) fail(`write ${w.id} supersedes ${v.id}, which its context never covered`);
      if (!covered && w.saw.has(v.id)) fail(`write ${w.id} saw ${v.id} but does not supersede it`);
    }
  }
  for (let r = 0; r < replicaCount; r++) {
    const record = sim.records[r]!;
    const known = sim.known[r]!;
    const held = sortedIds(record);
    if (new Set(held).size !== held.length) fail(`replica ${r} holds two copies of one dot: ${held.join(' ')}`);
    const expected = sim.maximal(known);
    if (!sameList(held, expected)) fail(`replica ${r} holds [${held.join(' ')}], the model says [${expected.join(' ')}]`);
    const covered = sim.coveredBy(causalContext(record));
    const knownIds = [...known].sort();
    if (!sameList(covered, knownIds)) fail(`replica ${r}'s context covers [${covered.join(' ')}] but it knows [${knownIds.join(' ')}]`);
    for (let i = 1; i < record.length; i++) if (!(versionOrder(record[i - 1]!, record[i]!) < 0)) fail(`replica ${r}'s record is not in versionOrder`);
  }
}

const simRuns = { seed: 1234, numRuns: 300 };

test('dvv laws › a write never supersedes a version its context did not cover, and records hold exactly what the model says', (t) => {
  fc.assert(
    fc.property(historyArb, (ops) => {
      const sim = new Sim();
      for (const op of ops) {
        sim.run(op);
        check(sim);
      }
      sim.settle();
      check(sim);
      // Settled: every replica knows the whole history and holds the same record, in the same order.
      const everything = sim.maximal(new Set(sim.history.map((v) => v.id)));
      for (let r = 0; r < replicaCount; r++) {
        if (!sameList(sortedIds(sim.records[r]!), everything)) fail(`replica ${r} does not hold the history's undominated versions`);
        t.deepEqual(sim.records[r], sim.records[0]);
      }
      // The same as the naive O(n²) reading of the whole history: kept unless some version's past covers it.
      const naive = sim.history.filter((v) => !sim.history.some((w) => covers(w.sibling.past, v.sibling.dot))).map((v) => v.id).sort();
      if (!sameList(naive, everything)) fail(`naive [${naive.join(' ')}] vs model [${everything.join(' ')}]`);
      t.deepEqual(sim.records[0], reconcile(sim.history.map((v) => v.sibling)));
    }),
    simRuns,
  );
});

test('dvv laws › counters never repeat and a version is never covered by its own past, in any history', (t) => {
  fc.assert(
    fc.property(historyArb, (ops) => {
      const sim = new Sim();
      for (const op of ops) sim.run(op);
      const seen = new Set<string>();
      for (const v of sim.history) {
        if (seen.has(v.id)) return false;
        seen.add(v.id);
        if (covers(v.sibling.past, v.sibling.dot)) return false;
        if (!isValidClock(v.sibling.past)) return false;
      }
      // Per actor, dots increase in the order they were minted.
      const last = new Map<string, number>();
      for (const v of sim.history) {
        if ((last.get(v.sibling.dot.actor) ?? 0) >= v.sibling.dot.counter) return false;
        last.set(v.sibling.dot.actor, v.sibling.dot.counter);
      }
      return true;
    }),
    simRuns,
  );
  t.pass();
});

// reconcile as a merge of records, over versions from a real history ------------

/** A history from the simulation, and three sub-multisets of its versions (duplicates allowed). */
const lawArb = fc.record({
  ops: historyArb,
  a: fc.array(fc.nat(), { maxLength: 12 }),
  b: fc.array(fc.nat(), { maxLength: 12 }),
  c: fc.array(fc.nat(), { maxLength: 12 }),
});

function pickVersions(sim: Sim, picks: readonly number[]): Sibling[] {
  return sim.history.length === 0 ? [] : picks.map((p) => sim.history[p % sim.history.length]!.sibling);
}

test('dvv laws › reconcile is idempotent, commutative and associative as a merge of records', (t) => {
  fc.assert(
    fc.property(lawArb, ({ ops, a: pa, b: pb, c: pc }) => {
      const sim = new Sim();
      for (const op of ops) sim.run(op);
      const [a, b, c] = [pickVersions(sim, pa), pickVersions(sim, pb), pickVersions(sim, pc)];
      const ab = reconcile([...a, ...b]);
      // Commutative: the same set of dots, and indeed the same array.
      t.deepEqual(sortedIds(ab), sortedIds(reconcile([...b, ...a])));
      t.deepEqual(ab, reconcile([...b, ...a]));
      // Associative.
      t.deepEqual(reconcile([...ab, ...c]), reconcile([...a, ...reconcile([...b, ...c])]));
      // Idempotent.
      t.deepEqual(reconcile(ab), ab);
      t.deepEqual(reconcile([...ab, ...ab]), ab);
      t.deepEqual(reconcile([...ab, ...a]), ab, 'merging in a part again changes nothing');
      // And it is the model's record of those versions.
      t.deepEqual(sortedIds(ab), sim.maximal(new Set([...a, ...b].map(idOf))));
    }),
    { seed: 99, numRuns: 300 },
  );
});

test('dvv laws › replicas receiving the same versions in any order, with duplicates, end with identical records', (t) => {
  const orderArb = fc.array(fc.nat(), { minLength: 1, maxLength: 60 });
  fc.assert(
    fc.property(historyArb, orderArb, orderArb, orderArb, fc.array(fc.nat({ max: 4 }), { maxLength: 60 }), (ops, o1, o2, o3, chunks) => {
      const sim = new Sim();
      for (const op of ops) sim.run(op);
      fc.pre(sim.history.length > 0);
      const all = sim.history.map((v) => v.sibling);
      const everything = reconcile(all);
      const ends = [o1, o2, o3].map((order) => {
        // Every version at least once (then the order's picks, duplicates included), folded
        // one at a time or a few together, as replica writes and repairs deliver them.
        const deliveries = [...order.map((p) => all[p % all.length]!), ...all.slice().reverse()];
        let record: Sibling[] = [];
        for (let i = 0, step = 0; i < deliveries.length; step++) {
          const size = 1 + (chunks[step % Math.max(1, chunks.length)] ?? 0);
          record = foldVersions(record, reconcile(deliveries.slice(i, i + size)));
          i += size;
        }
        return record;
      });
      t.deepEqual(ends[0], everything);
      t.deepEqual(ends[1], everything);
      t.deepEqual(ends[2], everything);
    }),
    { seed: 5, numRuns: 200 },
  );
});

// A few histories written out, for the reader ---------------------------------

test('dvv laws › a plain write at a replica that missed a version leaves that version standing beside it', (t) => {
  const sim = new Sim();
  sim.run({ kind: 'write', at: 0, mutation: 'value', context: null }); // A:1, sent to B and C
  sim.run({ kind: 'drop', pick: 1 }); // C never gets it
  sim.run({ kind: 'write', at: 2, mutation: 'value', context: null }); // C:1 never saw A:1
  check(sim);
  sim.settle();
  check(sim);
  t.deepEqual(sortedIds(sim.records[0]!), ['A#e0:1', 'C#e2:1']);
});

test('dvv laws › a client write over a stale context at another replica supersedes only what that read saw', (t) => {
  const sim = new Sim();
  sim.run({ kind: 'write', at: 0, mutation: 'value', context: null }); // A:1
  sim.run({ kind: 'deliver', pick: 0 }); // to B
  sim.run({ kind: 'read', from: 0b010 }); // a client reads A:1 at B: context 1
  sim.run({ kind: 'write', at: 0, mutation: 'value', context: null }); // A:2 over A:1
  sim.run({ kind: 'deliver', pick: 1 }); // A's record [A:2] reaches B
  t.deepEqual(sortedIds(sim.records[1]!), ['A#e0:2']);
  sim.run({ kind: 'write', at: 1, mutation: 'value', context: 1 }); // B:1 over A:1 only, beside A:2
  check(sim);
  sim.settle();
  check(sim);
  t.deepEqual(sortedIds(sim.records[2]!), ['A#e0:2', 'B#e1:1']);
});
