// Types in records (issue 12): the record codec keeps a version's type and
// still reads records written before types as strings; a read's view merges
// every live version of the winner's type; string commands refuse another
// type with WRONGTYPE (shown with a type registered by this test only); and
// the coordinator applies INCRs atomically per key and merges increments
// made on both sides of a partition (simulated cluster, memory transport).
import test from 'ava';
import fc from 'fast-check';
import { decodeSiblings, encodeSiblings, RecordCodecError } from '../../src/clock/record-codec.js';
import { live } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { counterText, counterType, encodeCounterOperation } from '../../src/crdt/counter.js';
import type { TypeName } from '../../src/crdt/kind.js';
import { add, emptySet, setType } from '../../src/crdt/set.js';
import { TypeOperationError } from '../../src/crdt/operation.js';
import { redisTypeOf, registerType } from '../../src/crdt/registry.js';
import '../../src/crdt/types.js';
import { typedValue } from '../../src/crdt/view.js';
import { isString, stringOf, wrongTypeError } from '../../src/commands/data.js';
import { CommandError } from '../../src/commands/types.js';
import type { Mutation } from '../../src/coordinator/versioning.js';
import { SimCluster } from '../helpers/sim.js';

const runs = { seed: 7, numRuns: 200 };

test('typed records › a record written before types (no type flag) decodes as strings, byte for byte as it was', (t) => {
  // Format 2 as it was before types: u8 2, u16 1, flags 0, f64 ts, dot (u8 len, actor, f64), u16 0 past, u32 len, value.
  const actor = Buffer.from('n1#1');
  const old = Buffer.concat([
    Buffer.of(2, 0, 1, 0), f64(1_700_000_000_000), Buffer.of(actor.length), actor, f64(3), Buffer.of(0, 0), Buffer.of(0, 0, 0, 2), Buffer.from('10'),
  ]);
  const [sibling] = decodeSiblings(old);
  t.is(sibling!.type, undefined);
  t.is(sibling!.value.toString(), '10');
  t.true(encodeSiblings([sibling!]).equals(old));
});

function f64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b;
}

const typeArb = fc.constantFrom(undefined, 'counter' as const, 'set' as const, 'hash' as const, 'zset' as const, 'list' as const);

test('typed records › typed versions round-trip through the record codec, next to strings and tombstones', (t) => {
  const specArb = fc.record({ type: typeArb, value: fc.uint8Array({ maxLength: 8 }), expires: fc.boolean(), deleted: fc.boolean(), emptied: fc.boolean() });
  fc.assert(fc.property(fc.array(specArb, { maxLength: 5 }), (specs) => {
    const record: Sibling[] = specs.map((spec, i) => {
      const s: Sibling = { value: spec.deleted ? Buffer.alloc(0) : Buffer.from(spec.value), dot: { actor: `a${i}`, counter: i + 1 }, past: [], timestamp: 1000 + i };
      if (spec.deleted) return { ...s, deleted: true };
      const typed: Sibling = spec.type === undefined ? s : spec.emptied ? { ...s, type: spec.type, emptied: true } : { ...s, type: spec.type };
      return spec.expires ? { ...typed, expiresAt: 5000 } : typed;
    });
    t.deepEqual(decodeSiblings(encodeSiblings(record)), record);
  }), runs);
  t.pass();
});

test('typed records › an unknown type code, and a typed tombstone, are refused', (t) => {
  const typed: Sibling = { value: Buffer.from('x'), dot: { actor: 'a', counter: 1 }, past: [], timestamp: 1, type: 'counter' };
  const bytes = encodeSiblings([typed]);
  // Layout: format, u16 count, flags (typed), type byte.
  t.is(bytes[3]! & 4, 4);
  const unknown = Buffer.from(bytes);
  unknown[4] = 200;
  t.throws(() => decodeSiblings(unknown), { instanceOf: RecordCodecError, message: /unknown value type/ });
  const tombstone = Buffer.from(bytes);
  tombstone[3] = tombstone[3]! | 1;
  t.throws(() => decodeSiblings(tombstone), { instanceOf: RecordCodecError, message: /typed tombstone/ });
});

test('typed records › the emptied flag is read only on a typed version', (t) => {
  const plain: Sibling = { value: Buffer.from('x'), dot: { actor: 'a', counter: 1 }, past: [], timestamp: 1 };
  const bytes = encodeSiblings([{ ...plain, emptied: true }]);
  t.is(bytes[3], 0, 'a string version never carries the flag');
  const forged = Buffer.from(bytes);
  forged[3] = 8;
  t.throws(() => decodeSiblings(forged), { instanceOf: RecordCodecError, message: /emptied version without its type/ });
});

function counterVersion(actor: string, counter: number, timestamp: number, increment: bigint): Sibling {
  const state = counterType.merge(counterType.empty(), {
    runs: [{ actor, start: counter, counter, total: { m: increment, e: 0 } }],
  });
  return { value: counterType.encode(state), dot: { actor, counter }, past: [], timestamp, type: 'counter' };
}

test('typed records › a read of concurrent counter versions shows their merge; a concurrent string stays a sibling and the winner\'s type answers', (t) => {
  const a = counterVersion('a#1', 1, 10, 5n);
  const b = counterVersion('b#1', 1, 11, 7n);
  const merged = typedValue([a, b])!;
  t.is(merged.type, 'counter');
  t.is(counterText(counterType.decode(merged.value)), '12');
  t.is(stringOf(merged).toString(), '12');
  const older: Sibling = { value: Buffer.from('hello'), dot: { actor: 'c#1', counter: 1 }, past: [], timestamp: 5 };
  t.is(stringOf(typedValue([a, older, b])!).toString(), '12');
  const newer: Sibling = { ...older, timestamp: 50 };
  t.is(stringOf(typedValue([a, newer, b])!).toString(), 'hello');
  t.is(typedValue(live([{ ...newer, deleted: true, value: Buffer.alloc(0) }], 60)), undefined);
});

test('typed records › string commands refuse a value of another type with Redis\'s WRONGTYPE; TYPE names it', (t) => {
  const state = add(emptySet(), [Buffer.from('m')], { actor: 'a', counter: 1 }).state;
  const version: Sibling = { value: setType.encode(state), dot: { actor: 'a', counter: 1 }, past: [], timestamp: 1, type: 'set' };
  const current = typedValue([version])!;
  t.false(isString(current));
  t.is(redisTypeOf(current.type), 'set');
  const error = t.throws(() => stringOf(current), { instanceOf: CommandError });
  t.is(error.message, wrongTypeError);
  t.is(wrongTypeError, 'WRONGTYPE Operation against a key holding the wrong kind of value');
  t.throws(() => registerType({ convergent: setType, redisType: 'set', objectEncoding: () => '', apply: () => ({ state }) }), { message: /twice/ });
  // A version of a type this node does not know (a newer peer's) is WRONGTYPE, never misread as a string.
  const unknown: Sibling = { ...version, type: 'future' as Exclude<TypeName, 'string'> };
  t.throws(() => typedValue([unknown]), { instanceOf: TypeOperationError, message: /no type future/ });
  t.is(redisTypeOf(undefined), 'string');
  t.is(redisTypeOf('counter'), 'string');
});

function incrBy(n: bigint): Mutation {
  return { kind: 'operate', type: 'counter', operation: encodeCounterOperation({ kind: 'by', increment: n }) };
}

function valueOf(record: readonly Sibling[]): string {
  const current = typedValue(live(record, Date.now()));
  return current === undefined ? '(none)' : stringOf(current).toString();
}

test('typed records › 200 INCRs of one key arriving at one coordinator at once all count, and each reply is a distinct value', async (t) => {
  const cluster = await SimCluster.start({ nodes: 3, n: 3, seed: 5 });
  try {
    const results = await Promise.all(Array.from({ length: 200 }, () => cluster.node('a').coordinator.put(Buffer.from('hits'), incrBy(1n), { w: 2 })));
    const replies = results.map((r) => counterText(counterType.decode(r.version.value)));
    t.is(new Set(replies).size, 200);
    t.deepEqual([...replies].map(Number).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
    t.is(valueOf(await cluster.get('b', 'hits', 3)), '200');
  } finally {
    await cluster.stop();
  }
});

test('typed records › increments on both sides of a partition all count once it heals; a string base counts once', async (t) => {
  const cluster = await SimCluster.start({ nodes: 3, n: 3, seed: 9 });
  try {
    await cluster.put('a', 'k', '10', 3);
    cluster.partition(['a'], ['b', 'c']);
    const left = await Promise.all(Array.from({ length: 5 }, () => cluster.node('a').coordinator.put(Buffer.from('k'), incrBy(2n), { w: 1 })));
    const right = await Promise.all(Array.from({ length: 7 }, () => cluster.node('b').coordinator.put(Buffer.from('k'), incrBy(3n), { w: 2 })));
    t.is(counterText(counterType.decode(left.at(-1)!.version.value)), '20');
    t.is(counterText(counterType.decode(right.at(-1)!.version.value)), '31');
    cluster.heal();
    const healed = await cluster.get('c', 'k', 3);
    t.is(valueOf(healed), String(10 + 5 * 2 + 7 * 3));
    t.is(live(healed, Date.now()).length, 2, 'two concurrent counter versions until the next write');
    // The next INCR merges both and supersedes them: one version again.
    const next = await cluster.node('c').coordinator.put(Buffer.from('k'), incrBy(1n), { w: 3 });
    t.is(counterText(counterType.decode(next.version.value)), '42');
    t.is(live(await cluster.get('a', 'k', 3), Date.now()).length, 1);
  } finally {
    await cluster.stop();
  }
});

test('typed records › an INCR forwarded from a node outside the key\'s replicas is applied by a replica and returns its value; its refusal comes back typed', async (t) => {
  const cluster = await SimCluster.start({ nodes: 5, n: 3, seed: 3 });
  try {
    const key = cluster.findKey('fwd', (replicas) => !replicas.includes('a'));
    const first = await cluster.node('a').coordinator.put(Buffer.from(key), incrBy(41n), { w: 2 });
    const second = await cluster.node('a').coordinator.put(Buffer.from(key), incrBy(1n), { w: 2 });
    t.is(counterText(counterType.decode(first.version.value)), '41');
    t.is(counterText(counterType.decode(second.version.value)), '42');
    await cluster.put('a', key, 'not a number', 2);
    const error = await t.throwsAsync(cluster.node('a').coordinator.put(Buffer.from(key), incrBy(1n), { w: 2 }), { instanceOf: TypeOperationError });
    t.is(error!.code, 'NOT_INTEGER');
  } finally {
    await cluster.stop();
  }
});
