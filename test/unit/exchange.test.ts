// One anti-entropy exchange (src/anti-entropy/exchange.ts, initiator; and
// exchange-service.ts, responder) between two in-memory replicas: a
// MerkleTree kept beside a Map of records, folded with the coordinator's one
// merge path (versioning.ts foldVersions), linked by a fake PeerLink that
// calls the responder directly and can lose, duplicate or delay replies.
// Histories are made the way a cluster makes them — writes minted by
// newVersion at either replica, sometimes replicated as whole records,
// sometimes not — so records hold siblings and tombstones as real ones do.
//
// Properties: after one exchange both replicas hold, for every key, the fold
// of what both held; only the records that differed moved, each way exactly
// as the fold decides; identical replicas exchange one root; a lost reply
// rejects the exchange with every record still either as it was or the full
// fold (never anything a merge could not produce), and a retry converges; an
// abort stops it; a byte rate is kept (virtual time).
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { reconcile, sameVersions } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { foldVersions, newVersion, type Mutation } from '../../src/coordinator/versioning.js';
import {
  exchange,
  ExchangeError,
  exchangeThrottle,
  inFlightWriteMs,
  type ExchangeOptions,
  type ExchangeProgress,
  type ExchangeResult,
  type LeafEntry,
  type LocalReplica,
  type PeerLink,
} from '../../src/anti-entropy/exchange.js';
import { ExchangeService } from '../../src/anti-entropy/exchange-service.js';
import { MerkleTree, leafOfDigest } from '../../src/anti-entropy/merkle-tree.js';
import {
  decodeLeafEntriesReply,
  decodeTreeLevelReply,
  encodeLeafEntries,
  encodeLeafEntriesReply,
  encodeTreeLevel,
  leafEntriesReplyBytesTarget,
  recordsBytesTarget,
} from '../../src/anti-entropy/messages.js';
import { recordHash } from '../../src/anti-entropy/version-hash.js';
import { CodecError } from '../../src/peer/codec.js';
import { MessageType } from '../../src/peer/message-types.js';
import { PeerError, requestTimeoutMsMax, type PeerMessage } from '../../src/peer/transport.js';
import { MemoryActor } from '../../src/storage/actor.js';
import { tokenOf } from '../../src/storage/keys.js';
import { VirtualTime } from '../sim/virtual-time.js';

const treeId = 'a,b,c';
const hash = new Uint32Array(2);
/** No pacing unless a test asks for it. */
const unthrottled = () => exchangeThrottle(1e15);

/** A replica of one tree in memory: records in a Map, the tree kept in step on every fold, as TreeKeeper does. */
class MemoryReplica implements LocalReplica {
  readonly stored = new Map<string, { key: Buffer; siblings: Sibling[] }>();
  readonly merkle: MerkleTree;
  /** Keys folded by apply(), to see what an exchange moved. */
  readonly applied: string[] = [];
  hasTree = true;

  constructor(readonly leafBits: number) {
    this.merkle = new MerkleTree(leafBits);
  }

  tree(id: string): MerkleTree | undefined {
    return id === treeId && this.hasTree ? this.merkle : undefined;
  }

  async leafEntries(id: string, leaf: number): Promise<LeafEntry[]> {
    if (id !== treeId) throw new Error('no such tree');
    const out: LeafEntry[] = [];
    for (const { key, siblings } of this.stored.values()) {
      const digest = tokenOf(key);
      if (leafOfDigest(digest, this.leafBits) !== leaf || siblings.length === 0) continue;
      recordHash(digest, siblings, hash);
      out.push({ key, hi: hash[0]!, lo: hash[1]! });
    }
    return out;
  }

  async records(keys: readonly Buffer[]): Promise<Sibling[][]> {
    return keys.map((k) => this.get(k));
  }

  async apply(key: Buffer, siblings: readonly Sibling[]): Promise<Sibling[]> {
    this.applied.push(key.toString('latin1'));
    return this.fold(key, siblings);
  }

  get(key: Buffer): Sibling[] {
    return this.stored.get(key.toString('latin1'))?.siblings ?? [];
  }

  fold(key: Buffer, incoming: readonly Sibling[]): Sibling[] {
    const before = this.get(key);
    const after = foldVersions(before, incoming);
    const digest = tokenOf(key);
    const leaf = leafOfDigest(digest, this.leafBits);
    recordHash(digest, before, hash);
    this.merkle.toggle(leaf, hash[0]!, hash[1]!);
    recordHash(digest, after, hash);
    this.merkle.toggle(leaf, hash[0]!, hash[1]!);
    this.stored.set(key.toString('latin1'), { key: Buffer.from(key), siblings: after });
    return after;
  }

  snapshot(): Map<string, Sibling[]> {
    return new Map([...this.stored].map(([id, r]) => [id, r.siblings]));
  }
}

interface Faults {
  /** The reply to the request with this number (0-based) is lost: the transport times it out. */
  readonly loseReply?: number;
  /** Each request reaches the responder twice (a retransmission); one reply comes back. */
  readonly duplicate?: boolean;
  /** Real event-loop turns each reply waits (replies interleave with nothing else here, but it moves every await). */
  readonly delayTurns?: number;
  /** Lost replies never come back at all (the exchange's own guard must end the wait). */
  readonly lostHangs?: boolean;
  /** Rewrites a reply before the initiator sees it. */
  readonly tamper?: (request: PeerMessage, reply: PeerMessage) => PeerMessage;
}

/** The peer as the initiator sees it: the responder called directly, with faults. */
class FakeLink implements PeerLink {
  readonly requests: PeerMessage[] = [];
  /** The replies the responder made (before any fault). */
  readonly replies: PeerMessage[] = [];
  onRequest: ((n: number) => void) | undefined;

  constructor(private readonly service: ExchangeService, private readonly faults: Faults = {}) {}

  async request(message: PeerMessage, timeoutMs: number): Promise<PeerMessage> {
    const n = this.requests.push(message) - 1;
    this.onRequest?.(n);
    let reply = await this.service.handle('a', message);
    if (this.faults.duplicate) reply = await this.service.handle('a', message);
    this.replies.push(reply);
    for (let i = 0; i < (this.faults.delayTurns ?? 0); i++) await new Promise((resolve) => setImmediate(resolve));
    if (n === this.faults.loseReply) {
      if (this.faults.lostHangs) return new Promise<PeerMessage>(() => {});
      throw new PeerError('PEER_TIMEOUT', `no reply within ${timeoutMs} ms`);
    }
    return this.faults.tamper?.(message, reply) ?? reply;
  }

  count(type: number): number {
    return this.requests.filter((m) => m.type === type).length;
  }
}

function pair(leafBits: number, faults?: Faults) {
  const a = new MemoryReplica(leafBits);
  const b = new MemoryReplica(leafBits);
  const link = new FakeLink(new ExchangeService(b), faults);
  return { a, b, link };
}

/**
 * On real time, the request guard at its longest: the tests of a file run
 * concurrently on one event loop, and a loaded machine must not turn a slow
 * turn into a timeout (the timeout tests run on virtual time).
 */
function run(a: MemoryReplica, link: PeerLink, extra: Partial<ExchangeOptions> = {}): Promise<ExchangeResult> {
  return exchange({ treeId, local: a, peer: link, throttle: unthrottled(), requestTimeoutMs: requestTimeoutMsMax, ...extra });
}

// ---- histories ----

interface Write {
  readonly key: number;
  readonly at: 0 | 1;
  readonly mutation: Mutation;
  /** The writer's whole record also reaches the other replica (a replica write that arrived). */
  readonly replicated: boolean;
}

const keyNames = Array.from({ length: 24 }, (_, i) => Buffer.from(`key:${i}`));
const write: fc.Arbitrary<Write> = fc.record({
  key: fc.integer({ min: 0, max: keyNames.length - 1 }),
  at: fc.constantFrom(0 as const, 1 as const),
  mutation: fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 6 }).map((v): Mutation => ({ kind: 'value', value: Buffer.from(v) })) },
    { weight: 1, arbitrary: fc.constant<Mutation>({ kind: 'delete' }) },
  ),
  replicated: fc.boolean(),
});

/** Plays writes into two replicas as coordinators at each would, replicating whole records or not. */
function play(replicas: [MemoryReplica, MemoryReplica], writes: readonly Write[]): void {
  const actors = [new MemoryActor('a#1'), new MemoryActor('b#1')];
  let now = 1_000;
  for (const w of writes) {
    const key = keyNames[w.key]!;
    const writer = replicas[w.at];
    const version = newVersion(writer.get(key), w.mutation, undefined, actors[w.at]!, now++);
    const record = writer.fold(key, [version]);
    if (w.replicated) replicas[1 - w.at]!.fold(key, record);
  }
}

function hashOf(key: Buffer, siblings: readonly Sibling[]): string {
  recordHash(tokenOf(key), siblings, hash);
  return `${hash[0]},${hash[1]}`;
}

/** What both must hold after an exchange: the fold of both, key by key. */
function expectedFold(a: Map<string, Sibling[]>, b: Map<string, Sibling[]>): Map<string, Sibling[]> {
  const out = new Map<string, Sibling[]>();
  for (const id of new Set([...a.keys(), ...b.keys()])) out.set(id, foldVersions(a.get(id) ?? [], b.get(id) ?? []));
  return out;
}

function holds(t: ExecutionContext, replica: MemoryReplica, expected: Map<string, Sibling[]>, who: string): void {
  for (const [id, record] of expected) {
    t.deepEqual(reconcile(replica.get(Buffer.from(id, 'latin1'))), reconcile(record), `${who} holds the fold of ${id}`);
  }
  t.is([...replica.stored.values()].filter((r) => r.siblings.length > 0).length, [...expected.values()].filter((r) => r.length > 0).length);
}

const leafBitsArb = fc.constantFrom(4, 8, 12);
const runs = { seed: 2024, numRuns: 120 };

test('exchange › both replicas end with the fold of both, and only the differing records move (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(leafBitsArb, fc.array(write, { maxLength: 40 }), fc.boolean(), fc.nat({ max: 2 }), async (leafBits, writes, duplicate, delayTurns) => {
      const { a, b, link } = pair(leafBits, { duplicate, delayTurns });
      play([a, b], writes);
      const a0 = a.snapshot();
      const b0 = b.snapshot();
      const expected = expectedFold(a0, b0);
      const result = await run(a, link);
      holds(t, a, expected, 'initiator');
      holds(t, b, expected, 'responder');
      t.is(a.merkle.encodeNodeHashes(0, [0]).toString('hex'), b.merkle.encodeNodeHashes(0, [0]).toString('hex'), 'the roots agree');

      // What had to move: the peer's records where the two differed; back, the folds the peer lacked.
      const differing = [...expected.keys()].filter((id) => hashOf(Buffer.from(id, 'latin1'), a0.get(id) ?? []) !== hashOf(Buffer.from(id, 'latin1'), b0.get(id) ?? []));
      const received = differing.filter((id) => (b0.get(id) ?? []).length > 0);
      const sent = differing.filter((id) => hashOf(Buffer.from(id, 'latin1'), expected.get(id)!) !== hashOf(Buffer.from(id, 'latin1'), b0.get(id) ?? []));
      t.is(result.recordsReceived, received.length);
      t.is(result.recordsSent, sent.length);
      t.deepEqual([...new Set(a.applied)].sort(), received.sort(), 'the initiator folded exactly the records that differed');
      t.deepEqual([...new Set(b.applied)].sort(), sent.sort(), 'the responder folded exactly the records it lacked');
      t.is(result.outcome, differing.length === 0 ? 'in-sync' : 'repaired');
      t.true(result.keysCompared >= differing.length);
    }),
    runs,
  );
});

test('exchange › writes landing on either side during the exchange lose nothing: both end at or above the fold (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(leafBitsArb, fc.array(write, { maxLength: 30 }), fc.array(write, { maxLength: 20 }), async (leafBits, before, during) => {
      const { a, b, link } = pair(leafBits, { delayTurns: 1 });
      play([a, b], before);
      const expected = expectedFold(a.snapshot(), b.snapshot());
      // One write between any two requests, as client writes would interleave with the exchange.
      const actors = [new MemoryActor('a#2'), new MemoryActor('b#2')];
      link.onRequest = (n) => {
        const w = during[n];
        if (w === undefined) return;
        const writer = [a, b][w.at]!;
        const key = keyNames[w.key]!;
        writer.fold(key, [newVersion(writer.get(key), w.mutation, undefined, actors[w.at]!, 5_000 + n)]);
      };
      await run(a, link);
      for (const replica of [a, b]) {
        for (const [id, fold] of expected) {
          const now = replica.get(Buffer.from(id, 'latin1'));
          t.true(sameVersions(foldVersions(now, fold), now), `${id}: nothing of the fold is missing`);
        }
      }
    }),
    { seed: 31, numRuns: 80 },
  );
});

test('exchange › identical replicas exchange the root and nothing else (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(leafBitsArb, fc.array(write, { maxLength: 30 }), async (leafBits, writes) => {
      const { a, b, link } = pair(leafBits);
      play([a, b], writes.map((w) => ({ ...w, replicated: true })));
      const result = await run(a, link);
      t.is(result.outcome, 'in-sync');
      t.deepEqual(link.requests.map((m) => m.type), [MessageType.TreeLevel]);
      t.like(result, { levels: 1, differingLeaves: 0, keysCompared: 0, recordsSent: 0, recordsReceived: 0 });
      t.is(result.bytesReceived, 1 + 8);
      t.deepEqual([a.applied, b.applied], [[], []]);
    }),
    { seed: 5, numRuns: 60 },
  );
});

test('exchange › one differing key at the default 16-bit tree: four levels down, one leaf, one record each way', async (t) => {
  const { a, b, link } = pair(16);
  play([a, b], [
    { key: 1, at: 0, mutation: { kind: 'value', value: Buffer.from('x') }, replicated: true },
    { key: 2, at: 0, mutation: { kind: 'value', value: Buffer.from('y') }, replicated: true },
    { key: 1, at: 0, mutation: { kind: 'value', value: Buffer.from('x2') }, replicated: false },
    { key: 1, at: 1, mutation: { kind: 'value', value: Buffer.from('x3') }, replicated: false },
  ]);
  const result = await run(a, link);
  t.like(result, { outcome: 'repaired', levels: 5, differingLeaves: 1, keysCompared: 1, recordsReceived: 1, recordsSent: 1 });
  t.deepEqual(a.get(keyNames[1]!).map((s) => s.value.toString()).sort(), ['x2', 'x3'], 'concurrent writes stay siblings');
  t.deepEqual(reconcile(b.get(keyNames[1]!)), reconcile(a.get(keyNames[1]!)));
  t.deepEqual(link.requests.map((m) => m.type), [
    ...Array(5).fill(MessageType.TreeLevel),
    MessageType.LeafEntries,
    MessageType.RecordsGet,
    MessageType.RecordsPut,
  ]);
});

test('exchange › tombstones travel: a delete on one side wins over the value it saw, on both', async (t) => {
  const { a, b, link } = pair(8);
  play([a, b], [
    { key: 3, at: 1, mutation: { kind: 'value', value: Buffer.from('v') }, replicated: true },
    { key: 3, at: 0, mutation: { kind: 'delete' }, replicated: false },
    { key: 4, at: 1, mutation: { kind: 'delete' }, replicated: false },
  ]);
  await run(a, link);
  for (const replica of [a, b]) {
    t.true(replica.get(keyNames[3]!).every((s) => s.deleted === true) && replica.get(keyNames[3]!).length === 1);
    t.true(replica.get(keyNames[4]!)[0]?.deleted === true);
  }
});

test('exchange › a lost reply rejects the exchange, leaves every record as it was or the whole fold, and a retry converges (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(leafBitsArb, fc.array(write, { minLength: 1, maxLength: 40 }), fc.nat({ max: 14 }), async (leafBits, writes, lost) => {
      const { a, b, link } = pair(leafBits, { loseReply: lost });
      play([a, b], writes);
      const a0 = a.snapshot();
      const b0 = b.snapshot();
      const expected = expectedFold(a0, b0);
      let failed = false;
      try {
        await run(a, link);
      } catch (error) {
        failed = true;
        t.true(error instanceof ExchangeError && error.code === 'EXCHANGE_PEER_FAILED', String(error));
        t.true(error instanceof ExchangeError && error.cause instanceof PeerError);
      }
      t.is(failed, link.requests.length > lost, 'it fails exactly when the lost reply was one it needed');
      t.true(link.requests.length <= lost + 1, 'nothing is asked after the loss');
      // Whole records only: each key is as it was, or already the fold of both.
      for (const [replica, before] of [[a, a0], [b, b0]] as const) {
        for (const [id, fold] of expected) {
          const now = reconcile(replica.get(Buffer.from(id, 'latin1')));
          const ok = [reconcile(before.get(id) ?? []), reconcile(fold)].some((r) => isDeepStrictEqual(r, now));
          t.true(ok, `${id} is neither as it was nor the fold`);
        }
      }
      const retry = await run(a, new FakeLink(new ExchangeService(b)));
      t.not(retry.outcome, 'no-peer-tree');
      holds(t, a, expected, 'initiator after the retry');
      holds(t, b, expected, 'responder after the retry');
    }),
    { seed: 77, numRuns: 100 },
  );
});

test('exchange › a reply that never comes times out by the exchange’s own guard (virtual time)', async (t) => {
  const vt = new VirtualTime();
  const { a, b, link } = pair(8, { loseReply: 1, lostHangs: true });
  play([a, b], [{ key: 0, at: 0, mutation: { kind: 'value', value: Buffer.from('v') }, replicated: false }]);
  let outcome: unknown;
  const started = vt.now();
  run(a, link, { timers: vt, requestTimeoutMs: 2_000, throttle: exchangeThrottle(1e15, vt) }).then(
    (r) => (outcome = r),
    (e: unknown) => (outcome = e),
  );
  await vt.runUntil(() => outcome !== undefined, 10_000);
  t.true(outcome instanceof ExchangeError && outcome.code === 'EXCHANGE_TIMEOUT', String(outcome));
  t.is(vt.now() - started, 2_000);
});

test('exchange › an abort stops it between requests; an aborted signal stops it before the first', async (t) => {
  const { a, b, link } = pair(4);
  play([a, b], keyNames.map((_, key) => ({ key, at: (key % 2) as 0 | 1, mutation: { kind: 'value', value: Buffer.from('v') }, replicated: false })));
  const controller = new AbortController();
  link.onRequest = (n) => {
    if (n === 2) controller.abort(new Error('operator pressed ^C'));
  };
  const error = await t.throwsAsync(run(a, link, { signal: controller.signal }), { instanceOf: ExchangeError });
  t.is(error?.code, 'EXCHANGE_ABORTED');
  t.is((error?.cause as Error).message, 'operator pressed ^C');
  t.is(link.requests.length, 3, 'no request after the abort');

  const before = new FakeLink(new ExchangeService(b));
  const aborted = AbortSignal.abort();
  await t.throwsAsync(run(a, before, { signal: aborted }), { instanceOf: ExchangeError, message: /aborted/ });
  t.is(before.requests.length, 0);
});

test('exchange › an abort during a throttle wait ends the wait at once (virtual time)', async (t) => {
  const vt = new VirtualTime();
  const { a, b, link } = pair(8);
  play([a, b], keyNames.map((_, key) => ({ key, at: 1, mutation: { kind: 'value', value: Buffer.alloc(2000, 1) }, replicated: false })));
  const controller = new AbortController();
  let outcome: unknown;
  // 1 KiB/s: the first reply of records already puts the throttle seconds in debt.
  run(a, link, { timers: vt, signal: controller.signal, throttle: exchangeThrottle(1024, vt) }).then(
    (r) => (outcome = r),
    (e: unknown) => (outcome = e),
  );
  const abortAtMs = vt.now() + 3_000;
  vt.setTimeout(() => controller.abort(), 3_000);
  await vt.runUntil(() => outcome !== undefined, 60_000);
  t.true(outcome instanceof ExchangeError && outcome.code === 'EXCHANGE_ABORTED', String(outcome));
  t.is(vt.now(), abortAtMs, 'it ended when the abort came, not when the wait would have');
});

test('exchange › keeps to its byte rate both ways (virtual time)', async (t) => {
  const vt = new VirtualTime();
  const { a, b, link } = pair(8);
  // 24 keys of 4 KiB on each side, none shared: ~200 KiB must move.
  play([a, b], keyNames.flatMap((_, key) => [
    { key, at: 0 as const, mutation: { kind: 'value' as const, value: Buffer.alloc(4096, 1) }, replicated: false },
    { key, at: 1 as const, mutation: { kind: 'value' as const, value: Buffer.alloc(4096, 2) }, replicated: false },
  ]));
  const rate = 32 * 1024;
  const burst = (rate * 100) / 1000;
  let result: ExchangeResult | undefined;
  const started = vt.now();
  void run(a, link, { timers: vt, throttle: exchangeThrottle(rate, vt) }).then((r) => (result = r));
  await vt.runUntil(() => result !== undefined, 600_000);
  const bytes = result!.bytesSent + result!.bytesReceived;
  t.true(bytes > 190 * 1024, `${bytes} bytes moved`);
  const largestMessage = Math.max(...link.requests.map((m) => m.payload.length), 24 * 4200);
  const elapsedMs = vt.now() - started;
  t.true(elapsedMs >= ((bytes - burst - largestMessage) / rate) * 1000, `${bytes} bytes in ${elapsedMs} ms at ${rate} B/s`);
  t.true(elapsedMs <= ((bytes + burst) / rate) * 1000 + 1000, `not much slower than the rate: ${elapsedMs} ms`);
});

test('exchange › progress reports only grow and end at the result', async (t) => {
  const { a, b, link } = pair(8);
  play([a, b], keyNames.map((_, key) => ({ key, at: (key % 2) as 0 | 1, mutation: { kind: 'value', value: Buffer.from(`v${key}`) }, replicated: key % 3 === 0 })));
  const seen: ExchangeProgress[] = [];
  const result = await run(a, link, { onProgress: (p) => seen.push(p) });
  t.true(seen.length > 3);
  for (let i = 1; i < seen.length; i++) {
    for (const k of Object.keys(seen[i]!) as (keyof ExchangeProgress)[]) t.true(seen[i]![k] >= seen[i - 1]![k], `${k} never goes down`);
  }
  const { outcome, ...counts } = result;
  t.is(outcome, 'repaired');
  t.deepEqual(seen[seen.length - 1], counts);
  t.is(counts.bytesSent, link.requests.reduce((n, m) => n + m.payload.length, 0));
});

test('exchange › a missing tree on either side skips the exchange without moving anything', async (t) => {
  const { a, b, link } = pair(8);
  play([a, b], [{ key: 0, at: 0, mutation: { kind: 'value', value: Buffer.from('v') }, replicated: false }]);
  b.hasTree = false;
  t.like(await run(a, link), { outcome: 'no-peer-tree', levels: 0, recordsSent: 0, recordsReceived: 0 });
  b.hasTree = true;
  a.hasTree = false;
  t.like(await run(a, link), { outcome: 'no-local-tree', bytesSent: 0 });
  t.deepEqual([a.applied, b.applied], [[], []]);
});

test('exchange › large listings and records span several replies and frames, each within its byte target', async (t) => {
  const { a, b, link } = pair(4);
  const mib = 1024 * 1024;
  t.is(leafEntriesReplyBytesTarget, mib);
  t.is(recordsBytesTarget, mib);
  // The peer: 300 keys of 4 KiB (1.2 MiB of listings over 16 leaves) and 12 records of 200 KiB. Here: 12 other records of 200 KiB.
  const bigKeys = Array.from({ length: 300 }, (_, i) => Buffer.concat([Buffer.from(`big:${i}:`), Buffer.alloc(4096, i % 251)]));
  const theirs = Array.from({ length: 12 }, (_, i) => Buffer.from(`theirs:${i}`));
  const ours = Array.from({ length: 12 }, (_, i) => Buffer.from(`ours:${i}`));
  const mint = (replica: MemoryReplica, actor: MemoryActor, key: Buffer, value: Buffer) =>
    replica.fold(key, [newVersion([], { kind: 'value', value }, undefined, actor, 1)]);
  const actorA = new MemoryActor('a#1');
  const actorB = new MemoryActor('b#1');
  for (const key of bigKeys) mint(b, actorB, key, Buffer.from('v'));
  for (const key of theirs) mint(b, actorB, key, Buffer.alloc(200 * 1024, 3));
  for (const key of ours) mint(a, actorA, key, Buffer.alloc(200 * 1024, 4));

  const result = await run(a, link);
  t.like(result, { recordsReceived: 312, recordsSent: 12 });
  for (const key of [...bigKeys, ...theirs, ...ours]) t.deepEqual(a.get(key), b.get(key));
  const leafReplies = link.replies.filter((m) => m.type === MessageType.LeafEntriesReply).map((m) => decodeLeafEntriesReply(m.payload));
  t.true(leafReplies.length >= 2 && leafReplies[0]!.truncatedAfterLeaf !== undefined, 'the listing went in several replies');
  const sizes = (type: number, list: PeerMessage[]) => list.filter((m) => m.type === type).map((m) => m.payload.length);
  const recordReplies = sizes(MessageType.RecordsGetReply, link.replies);
  const puts = sizes(MessageType.RecordsPut, link.requests);
  t.true(recordReplies.length >= 3 && puts.length >= 3, `${recordReplies.length} record replies, ${puts.length} puts`);
  for (const size of [...recordReplies, ...puts]) t.true(size <= mib, `a records frame of ${size} bytes`);
  // A listing reply stops once past its target, so it may pass it by one leaf.
  for (const size of sizes(MessageType.LeafEntriesReply, link.replies)) t.true(size <= mib + 300 * 4200, `a listing of ${size} bytes`);
});

test('exchange › a malformed or unasked-for reply fails the exchange as EXCHANGE_BAD_REPLY', async (t) => {
  const setup = (tamper: Faults['tamper']) => {
    const { a, b, link } = pair(8, { tamper });
    play([a, b], [{ key: 5, at: 1, mutation: { kind: 'value', value: Buffer.from('v') }, replicated: false }]);
    return run(a, link);
  };
  const cases: [string, Faults['tamper']][] = [
    ['a reply of the wrong type', (_q, r) => ({ ...r, type: MessageType.Pong })],
    ['garbage in a reply', (_q, r) => ({ ...r, payload: Buffer.from([7, 7, 7]) })],
    ['hashes for fewer nodes than asked', (_q, r) => (r.type === MessageType.TreeLevelReply ? { ...r, payload: r.payload.subarray(0, r.payload.length - 8) } : r)],
    ['a listing of another leaf than asked', (_q, r) => {
      if (r.type !== MessageType.LeafEntriesReply) return r;
      const reply = decodeLeafEntriesReply(r.payload);
      return { ...r, payload: encodeLeafEntriesReply({ found: true, leaves: reply.leaves.map((l) => ({ ...l, leaf: (l.leaf + 1) % 256 })) }) };
    }],
    ['a key that is not in its leaf', (_q, r) => {
      if (r.type !== MessageType.LeafEntriesReply) return r;
      const reply = decodeLeafEntriesReply(r.payload);
      const stranger = keyNames.find((k) => leafOfDigest(tokenOf(k), 8) !== reply.leaves[0]!.leaf)!;
      return { ...r, payload: encodeLeafEntriesReply({ found: true, leaves: [{ leaf: reply.leaves[0]!.leaf, entries: [{ key: stranger, hi: 1, lo: 2 }] }] }) };
    }],
    ['an empty records reply', (_q, r) => (r.type === MessageType.RecordsGetReply ? { ...r, payload: Buffer.from([0, 0]) } : r)],
  ];
  for (const [why, tamper] of cases) {
    const error = await t.throwsAsync(setup(tamper), { instanceOf: ExchangeError }, why);
    t.is(error?.code, 'EXCHANGE_BAD_REPLY', why);
  }
});

test('exchange service › answers from its own tree, and refuses what its tree cannot hold', async (t) => {
  const replica = new MemoryReplica(8);
  replica.fold(keyNames[0]!, [newVersion([], { kind: 'value', value: Buffer.from('v') }, undefined, new MemoryActor('a#1'), 1)]);
  const service = new ExchangeService(replica);
  for (const type of [MessageType.TreeLevel, MessageType.LeafEntries, MessageType.RecordsGet, MessageType.RecordsPut]) t.true(ExchangeService.handles(type));
  t.false(ExchangeService.handles(MessageType.ReplicaPut));

  const root = await service.handle('b', { type: MessageType.TreeLevel, payload: encodeTreeLevel({ tree: treeId, level: 0, indices: [0] }) });
  t.deepEqual(decodeTreeLevelReply(root.payload, 1).hashes, replica.merkle.encodeNodeHashes(0, [0]));
  const other = await service.handle('b', { type: MessageType.TreeLevel, payload: encodeTreeLevel({ tree: 'x,y', level: 0, indices: [0] }) });
  t.false(decodeTreeLevelReply(other.payload, 1).found);
  const noLeaves = await service.handle('b', { type: MessageType.LeafEntries, payload: encodeLeafEntries({ tree: 'x,y', leaves: [0] }) });
  t.false(decodeLeafEntriesReply(noLeaves.payload).found);

  await t.throwsAsync(service.handle('b', { type: MessageType.TreeLevel, payload: encodeTreeLevel({ tree: treeId, level: 3, indices: [0] }) }), { instanceOf: CodecError });
  await t.throwsAsync(service.handle('b', { type: MessageType.LeafEntries, payload: encodeLeafEntries({ tree: treeId, leaves: [256] }) }), { instanceOf: CodecError });
  await t.throwsAsync(service.handle('b', { type: MessageType.RecordsGet, payload: Buffer.from([0, 0]) }), { instanceOf: CodecError });
  await t.throwsAsync(service.handle('b', { type: MessageType.Ping, payload: Buffer.alloc(0) }));
});

test('exchange › a key written here within inFlightWriteMs is left to a later exchange; one stamped ahead of this clock (skew) or older is moved', async (t) => {
  const vt = new VirtualTime();
  const { a, b, link } = pair(8);
  const [hot, skewed, old, absentHere] = [keyNames[0]!, keyNames[1]!, keyNames[2]!, keyNames[3]!];
  const value = (v: string, actor: string, atMs: number) => newVersion([], { kind: 'value', value: Buffer.from(v) }, undefined, new MemoryActor(actor), atMs);
  a.fold(hot, [value('hot here', 'a#1', vt.now() - 10)]);
  b.fold(hot, [value('hot there', 'b#1', vt.now() - 5)]);
  a.fold(skewed, [value('from a clock ahead', 'a#1', vt.now() + 60_000)]);
  a.fold(old, [value('settled', 'a#1', vt.now() - inFlightWriteMs)]);
  b.fold(absentHere, [value('only there, just written', 'b#1', vt.now() - 1)]);
  const timers = { now: () => vt.now(), setTimeout: vt.setTimeout.bind(vt), clearTimeout: vt.clearTimeout.bind(vt) };
  await run(a, link, { timers, throttle: exchangeThrottle(1e15, vt) });
  const values = (replica: MemoryReplica, key: Buffer) => replica.get(key).map((s) => s.value.toString()).sort();
  t.deepEqual(values(a, hot), ['hot here'], 'in flight here: not fetched');
  t.deepEqual(values(b, hot), ['hot there'], 'nor sent');
  t.deepEqual(values(b, skewed), ['from a clock ahead'], 'a timestamp ahead of this clock is not taken as recent');
  t.deepEqual(values(b, old), ['settled']);
  t.deepEqual(values(a, absentHere), ['only there, just written'], 'a key this node lacks is fetched whatever its age there');
  // inFlightWriteMs later, the next exchange moves the hot key both ways.
  const later = { ...timers, now: () => vt.now() + inFlightWriteMs };
  await run(a, new FakeLink(new ExchangeService(b)), { timers: later, throttle: exchangeThrottle(1e15, vt) });
  t.deepEqual(values(a, hot), ['hot here', 'hot there']);
  t.deepEqual(values(b, hot), ['hot here', 'hot there']);
});
