// Delta replication on the write path (coordinator/delta.ts), end to end
// over the in-memory cluster (test/helpers/sim.ts): a write to a collection
// every replica holds travels as a delta and leaves the same bytes on every
// replica; a replica that missed a write, lost its disk, or predates deltas
// gets the whole record after one more round trip; a duplicated delta, or one
// delayed past a newer write, is held and never applied twice; and the named
// limits keep small collections whole. Plus the message's codec.
import test, { type ExecutionContext } from 'ava';
import { encodeSiblings } from '../../src/clock/record-codec.js';
import type { PutResult } from '../../src/coordinator/coordinator.js';
import { deltaRecordBytesMin, valueDigestBytes } from '../../src/coordinator/delta.js';
import {
  decodeReplicaDeltaPut, decodeReplicaDeltaPutReply, encodeReplicaDeltaPut, encodeReplicaDeltaPutReply,
} from '../../src/coordinator/replica-messages.js';
import { ReplicaService } from '../../src/coordinator/replica-service.js';
import { encodeHashOperation } from '../../src/crdt/hash-operations.js';
import { encodeListOperation } from '../../src/crdt/list-operation.js';
import { encodeSetOperation } from '../../src/crdt/set-operations.js';
import { members, setType } from '../../src/crdt/set.js';
import { chainOf, setChainLimits } from '../../src/crdt/value-chain.js';
import { encodeZsetOperation } from '../../src/crdt/zset-operation.js';
import { MessageType } from '../../src/peer/message-types.js';
import { CodecError } from '../../src/peer/codec.js';
import type { PeerMessage } from '../../src/peer/transport.js';
import { SimCluster, type SimOptions } from '../helpers/sim.js';

const always = { recordBytesMin: 0, wholeToDeltaBytesMin: 0 };

async function cluster(t: ExecutionContext, options: Partial<SimOptions> = {}): Promise<SimCluster> {
  const sim = await SimCluster.start({ nodes: 3, n: 3, seed: 7, deltas: always, ...options });
  t.teardown(() => sim.stop());
  return sim;
}

const bytes = (s: string) => Buffer.from(s);

function sadd(sim: SimCluster, via: string, key: string, added: readonly string[], w = 3): Promise<PutResult> {
  const operation = encodeSetOperation({ kind: 'add', members: added.map(bytes) });
  return sim.node(via).coordinator.put(bytes(key), { kind: 'operate', type: 'set', operation }, { w });
}

/** Every replica stores the very same record bytes. */
function sameEverywhere(t: ExecutionContext, sim: SimCluster, key: string): void {
  const records = sim.nodes.map((n) => encodeSiblings(sim.local(n.id, key)));
  for (const r of records.slice(1)) t.true(r.equals(records[0]!), 'replicas hold the same bytes');
}

function stats(sim: SimCluster) {
  const sum = { sent: 0, applied: 0, held: 0, fallbacks: 0, mismatches: 0 };
  for (const n of sim.nodes) {
    const s = n.coordinator.stats;
    sum.sent += s.deltasSent;
    sum.applied += s.deltasApplied;
    sum.held += s.deltasHeld;
    sum.fallbacks += s.deltaFallbacks;
    sum.mismatches += s.deltaMismatches;
  }
  return sum;
}

/** Records every ReplicaDeltaPut payload `id` sends, by target. */
function captureDeltas(sim: SimCluster, id: string): { to: string; payload: Buffer }[] {
  const sent: { to: string; payload: Buffer }[] = [];
  const transport = sim.node(id).transport;
  const request = transport.request.bind(transport);
  transport.request = (address: string, message: PeerMessage, timeoutMs: number, expectedNodeId?: string) => {
    if (message.type === MessageType.ReplicaDeltaPut) sent.push({ to: expectedNodeId ?? address, payload: message.payload });
    return request(address, message, timeoutMs, expectedNodeId);
  };
  return sent;
}

test('delta replication › writes to a collection every replica holds travel as deltas, and every replica stores the same bytes', async (t) => {
  const sim = await cluster(t);
  await sadd(sim, 'a', 'k', ['x', 'y']);
  await sadd(sim, 'b', 'k', ['z']);
  await sadd(sim, 'c', 'k', ['x', 'w']);
  t.like(stats(sim), { sent: 6, applied: 6, fallbacks: 0, mismatches: 0 });
  sameEverywhere(t, sim, 'k');
  t.deepEqual(members(setType.decode(sim.local('c', 'k')[0]!.value)).map(String), ['w', 'x', 'y', 'z']);
});

test('delta replication › hashes, sorted sets and lists take the same path', async (t) => {
  const sim = await cluster(t);
  const put = (via: string, key: string, type: 'hash' | 'zset' | 'list', operation: Buffer) =>
    sim.node(via).coordinator.put(bytes(key), { kind: 'operate', type, operation }, { w: 3 });
  await put('a', 'h', 'hash', encodeHashOperation({ kind: 'set', pairs: [[bytes('f'), bytes('1')], [bytes('g'), bytes('2')]] }));
  await put('b', 'h', 'hash', encodeHashOperation({ kind: 'incrby', field: bytes('f'), increment: 5n }));
  await put('c', 'h', 'hash', encodeHashOperation({ kind: 'del', fields: [bytes('g')] }));
  await put('a', 'z', 'zset', encodeZsetOperation({ kind: 'add', flags: { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false }, pairs: [[1, bytes('m')], [2, bytes('n')]] }));
  await put('b', 'z', 'zset', encodeZsetOperation({ kind: 'add', flags: { nx: false, xx: false, gt: false, lt: false, ch: false, incr: true }, pairs: [[3, bytes('m')]] }));
  await put('c', 'z', 'zset', encodeZsetOperation({ kind: 'pop', end: 'max', count: 1 }));
  await put('a', 'l', 'list', encodeListOperation({ kind: 'push', end: 'tail', values: [bytes('1'), bytes('2'), bytes('3')], onlyIfExists: false }));
  await put('b', 'l', 'list', encodeListOperation({ kind: 'pop', end: 'head', count: 1 }));
  await put('c', 'l', 'list', encodeListOperation({ kind: 'rotate', from: 'tail', to: 'head' }));
  t.like(stats(sim), { sent: 18, applied: 18, fallbacks: 0, mismatches: 0 });
  for (const key of ['h', 'z', 'l']) sameEverywhere(t, sim, key);
});

test('delta replication › a replica that missed a write lacks the base: it asks, and the whole record follows', async (t) => {
  const sim = await cluster(t);
  await sadd(sim, 'a', 'k', ['x']);
  sim.down('c');
  await sadd(sim, 'a', 'k', ['y'], 2);
  sim.up('c');
  const before = stats(sim);
  await sadd(sim, 'a', 'k', ['z']);
  const after = stats(sim);
  t.is(after.fallbacks - before.fallbacks, 1, 'c answered missing-base once');
  t.is(after.applied - before.applied, 1, 'b applied its delta');
  sameEverywhere(t, sim, 'k');
});

test('delta replication › a replica that lost its disk gets the whole record', async (t) => {
  const sim = await cluster(t);
  await sadd(sim, 'a', 'k', ['x']);
  await sim.wipe('c');
  await sadd(sim, 'a', 'k', ['y']);
  t.is(stats(sim).fallbacks, 1);
  sameEverywhere(t, sim, 'k');
});

test('delta replication › a duplicated delta is held, not applied twice; one delayed past a newer write is held too', async (t) => {
  const sim = await cluster(t);
  const sent = captureDeltas(sim, 'a');
  await sadd(sim, 'a', 'k', ['x']);
  const first = sent.find((s) => s.to === 'b')!;
  const record = encodeSiblings(sim.local('b', 'k'));
  // The network delivers it again.
  t.is(await sim.node('b').coordinator.applyDeltaLocal(decodeReplicaDeltaPut(first.payload)), 'held');
  t.true(encodeSiblings(sim.local('b', 'k')).equals(record));
  // A newer write lands first; the old delta arrives late.
  await sadd(sim, 'c', 'k', ['y']);
  t.is(await sim.node('b').coordinator.applyDeltaLocal(decodeReplicaDeltaPut(first.payload)), 'held');
  t.is(sim.node('b').coordinator.stats.deltasHeld, 2);
  sameEverywhere(t, sim, 'k');
});

test('delta replication › a delta whose base was replaced, or whose rebuilt bytes differ, is refused, never stored', async (t) => {
  const sim = await cluster(t);
  const sent = captureDeltas(sim, 'a');
  await sadd(sim, 'a', 'k', ['x']);
  await sadd(sim, 'a', 'k', ['y']);
  const second = decodeReplicaDeltaPut(sent.filter((s) => s.to === 'b')[1]!.payload);
  t.is(second.bases.length, 1);
  // c was wiped: it has none of the base.
  await sim.wipe('c');
  t.is(await sim.node('c').coordinator.applyDeltaLocal(second), 'missing-base');
  t.deepEqual(sim.local('c', 'k'), []);
  // A digest other than the rebuilt value's (a bug's symptom) is refused before anything is stored.
  await sadd(sim, 'a', 'k', ['z']);
  const third = decodeReplicaDeltaPut(sent.filter((s) => s.to === 'b').at(-1)!.payload);
  const record = encodeSiblings(sim.local('b', 'k'));
  const tampered = { ...third, version: { ...third.version, dot: { ...third.version.dot, counter: third.version.dot.counter + 100 } }, check: { digest: Buffer.alloc(valueDigestBytes), valueBytes: third.check!.valueBytes } };
  t.is(await sim.node('b').coordinator.applyDeltaLocal({ ...tampered, bases: [third.version.dot] }), 'mismatch');
  t.true(encodeSiblings(sim.local('b', 'k')).equals(record));
});

test('delta replication › a peer that refuses the message (one that predates deltas) gets the whole record', async (t) => {
  const sim = await cluster(t);
  const c = sim.node('c');
  const replicas = new ReplicaService(c.coordinator);
  c.transport.setHandler((from: string, message: PeerMessage) => {
    if (message.type === MessageType.ReplicaDeltaPut) throw new Error(`replica service does not handle message type ${message.type}`);
    return replicas.handle(from, message);
  });
  await sadd(sim, 'a', 'k', ['x']);
  await sadd(sim, 'a', 'k', ['y']);
  t.is(sim.node('a').coordinator.stats.deltaFallbacks, 2);
  sameEverywhere(t, sim, 'k');
});

test('delta replication › under the named limits a small collection replicates whole, a large one by delta', async (t) => {
  const sim = await cluster(t, { deltas: undefined });
  await sadd(sim, 'a', 'small', ['x']);
  await sadd(sim, 'a', 'small', ['y']);
  t.is(stats(sim).sent, 0);
  const many = Array.from({ length: 2_000 }, (_, i) => `member-${i}`);
  await sadd(sim, 'a', 'large', many);
  t.true(sim.local('a', 'large')[0]!.value.length >= deltaRecordBytesMin, 'the set passed deltaRecordBytesMin');
  await sadd(sim, 'a', 'large', ['one-more']);
  // The SADD of 2000 members made a delta as large as the set: sent whole (wholeToDeltaBytesMin); the next one by delta.
  t.like(stats(sim), { sent: 2, applied: 2, fallbacks: 0 });
  sameEverywhere(t, sim, 'large');
});

test.serial('delta replication › a write that cuts a chain goes whole, so no replica replays the chain to rebuild it', async (t) => {
  const limits = setChainLimits({ baseBytesMin: 0, linksMax: 3 });
  t.teardown(() => setChainLimits(limits));
  const sim = await cluster(t);
  const sent = captureDeltas(sim, 'a');
  await sadd(sim, 'a', 'k', ['m0']);
  let cuts = 0;
  for (let i = 1; i <= 9; i++) {
    const chainedBefore = chainOf(sim.local('a', 'k')[0]!) !== undefined;
    const deltasBefore = sent.length;
    await sadd(sim, 'a', 'k', [`m${i}`]);
    const head = sim.local('a', 'k')[0]!;
    if (chainedBefore && chainOf(head) === undefined) {
      cuts++;
      t.is(sent.length, deltasBefore, `write ${i} cut the chain: the whole record went, no delta`);
      // Each replica starts its next chain from the coordinator's very base, so it never cuts a chain of its own.
      for (const id of ['b', 'c']) t.is(chainOf(sim.local(id, 'k')[0]!), undefined, `${id} holds the cut version plain`);
    } else {
      t.is(sent.length, deltasBefore + 2, `write ${i} went as a delta to both replicas`);
      for (const id of ['b', 'c']) t.truthy(chainOf(sim.local(id, 'k')[0]!), `${id} chains the delta`);
    }
    sameEverywhere(t, sim, 'k');
  }
  t.true(cuts >= 2, `cuts: ${cuts} (at three links, or once the deltas outweigh the small base)`);
  t.like(stats(sim), { fallbacks: 0, mismatches: 0 });
});

test('delta replication › the message survives its codec; truncation and unknown verdicts are refused', (t) => {
  const version = { value: Buffer.alloc(0), dot: { actor: 'a#1', counter: 9 }, past: [{ actor: 'a#1', counter: 8 }], timestamp: 5, type: 'set' as const, expiresAt: 99 };
  const put = { version, bases: [{ actor: 'a#1', counter: 8 }, { actor: 'b#1', counter: 3 }], delta: bytes('delta'), check: { digest: Buffer.alloc(valueDigestBytes, 7), valueBytes: 1234 } };
  const payload = encodeReplicaDeltaPut(bytes('key'), put);
  t.deepEqual(decodeReplicaDeltaPut(payload), { key: bytes('key'), ...put });
  // A chained version's delta goes unchecked (crdt/value-chain.ts): no check survives as no check.
  const { check: _, ...unchecked } = put;
  t.deepEqual(decodeReplicaDeltaPut(encodeReplicaDeltaPut(bytes('key'), unchecked)), { key: bytes('key'), ...unchecked });
  // The delta runs to the end, so a cut inside it reads as a shorter delta; every cut before it is refused.
  const deltaStart = payload.length - put.delta.length;
  for (let cut = 0; cut < deltaStart; cut++) t.throws(() => decodeReplicaDeltaPut(payload.subarray(0, cut)), { instanceOf: CodecError });
  for (const verdict of ['applied', 'held', 'missing-base', 'mismatch'] as const) t.is(decodeReplicaDeltaPutReply(encodeReplicaDeltaPutReply(verdict)), verdict);
  t.throws(() => decodeReplicaDeltaPutReply(Buffer.of(9)), { instanceOf: CodecError });
  // A version with a value, or a string, is no delta's.
  t.throws(() => decodeReplicaDeltaPut(encodeReplicaDeltaPut(bytes('k'), { ...put, version: { ...version, value: bytes('v') } })), { instanceOf: CodecError });
});
