// The handoff sender against a fake target on virtual time (test/sim's
// VirtualTime: minutes pass in milliseconds, nothing sleeps for real): it
// delivers once the target is up and never while it is down, removes a hint
// only after the ack, retries after a failure with a backoff, keeps to its
// in-flight bound and its byte rate, keeps and redelivers a hint that changed
// during delivery, stops cleanly, and resumes from a restarted store. A
// property test then drives random interleavings of writes, deliveries,
// failures and outages and checks that the target ends with every version
// ever hinted, and the store empty.
import test from 'ava';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { causalContext, reconcile, sameVersions } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import type { HintStore } from '../../src/hints/hint-store.js';
import { LevelHintStore } from '../../src/hints/level-hint-store.js';
import { MemoryHintStore } from '../../src/hints/memory-hint-store.js';
import {
  ByteThrottle,
  HandoffSender,
  handoffBackoffMsMin,
  handoffBurstMs,
  type HandoffOptions,
  type HandoffTimers,
} from '../../src/hints/sender.js';
import { VirtualTime } from '../sim/virtual-time.js';

const silent = pino({ level: 'silent' });
const k = (s: string) => Buffer.from(s);
const values = (siblings: readonly Sibling[]) => siblings.map((s) => s.value.toString()).sort();

function v(value: string, actor: string, counter: number, past: Sibling['past'] = []): Sibling {
  return { value: Buffer.from(value), dot: { actor, counter }, past, timestamp: 1_000 + counter };
}

/** Virtual timers that count the ones still set, to show that stop() leaves none. */
class CountingTimers implements HandoffTimers {
  readonly live = new Set<unknown>();
  constructor(private readonly vt: VirtualTime) {}
  now(): number {
    return this.vt.now();
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const handle: unknown = this.vt.setTimeout(() => {
      this.live.delete(handle);
      callback();
    }, ms);
    this.live.add(handle);
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.live.delete(handle);
    this.vt.clearTimeout(handle);
  }
}

type Outcome = 'ok' | 'fail' | 'lostAck';

interface Delivery {
  readonly key: string;
  readonly siblings: readonly Sibling[];
  settle(outcome: Outcome): void;
}

/**
 * The target node: its records, and how it answers deliveries — at once
 * (auto, after `delayMs` of virtual time) or when the test settles them
 * (manual). `lostAck`: stored, but the ack never reached the sender.
 */
class FakeTarget {
  up = false;
  manual = false;
  delayMs = 1;
  /** Call indexes (0-based) that fail in auto mode. */
  readonly failCalls = new Set<number>();
  readonly records = new Map<string, Sibling[]>();
  readonly waiting: Delivery[] = [];
  readonly calls: { atMs: number; key: string; siblings: readonly Sibling[] }[] = [];
  inFlight = 0;
  inFlightPeak = 0;
  onDeliver: ((key: string) => void) | undefined;

  constructor(private readonly vt: VirtualTime, readonly id = 't') {}

  deliver = (target: string, key: Buffer, siblings: readonly Sibling[]): Promise<void> => {
    if (target !== this.id) throw new Error(`delivered to ${target}`);
    const call = this.calls.length;
    const name = key.toString('latin1');
    this.calls.push({ atMs: this.vt.now(), key: name, siblings });
    this.inFlight++;
    this.inFlightPeak = Math.max(this.inFlightPeak, this.inFlight);
    this.onDeliver?.(name);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        this.inFlight--;
        if (outcome !== 'fail') this.store(name, siblings);
        if (outcome === 'ok') resolve();
        else reject(new Error(`delivery ${outcome}`));
      };
      if (this.manual) this.waiting.push({ key: name, siblings, settle });
      else this.vt.setTimeout(() => settle(this.failCalls.has(call) ? 'fail' : 'ok'), this.delayMs);
    });
  };

  settle(index: number, outcome: Outcome): void {
    const [delivery] = this.waiting.splice(index, 1);
    delivery?.settle(outcome);
  }

  settleAll(outcome: Outcome = 'ok'): void {
    while (this.waiting.length > 0) this.settle(0, outcome);
  }

  private store(key: string, siblings: readonly Sibling[]): void {
    this.records.set(key, reconcile([...(this.records.get(key) ?? []), ...siblings]));
  }
}

/** Runs virtual time until `done()` holds; fails after `budgetMs` of virtual time. */
function until(vt: VirtualTime, done: () => boolean, budgetMs = 60_000): Promise<void> {
  return vt.runUntil(done, budgetMs);
}

/** Lets `ms` of virtual time pass, firing what falls due. */
async function advance(vt: VirtualTime, ms: number): Promise<void> {
  let passed = false;
  vt.setTimeout(() => (passed = true), ms);
  await vt.runUntil(() => passed, ms + 1);
}

/** Awaits `promise` while running virtual time (a memory store commits on it). */
async function settled<T>(vt: VirtualTime, promise: Promise<T>): Promise<T> {
  let done = false;
  const result = promise.finally(() => (done = true));
  await until(vt, () => done);
  return result;
}

interface Rig {
  readonly vt: VirtualTime;
  readonly timers: CountingTimers;
  readonly store: MemoryHintStore;
  readonly target: FakeTarget;
  readonly sender: HandoffSender;
}

function rig(options: Partial<Omit<HandoffOptions, 'store' | 'deliver' | 'isUp' | 'logger' | 'timers'>> = {}, store?: MemoryHintStore, vt = new VirtualTime()): Rig {
  const timers = new CountingTimers(vt);
  const hints = store ?? new MemoryHintStore({ scheduler: vt });
  const target = new FakeTarget(vt);
  const sender = new HandoffSender({ store: hints, deliver: target.deliver, isUp: (id) => id === target.id && target.up, logger: silent, timers, ...options });
  return { vt, timers, store: hints, target, sender };
}

/** Adds hints for target 't': key `key<i>` with value `value<i>` padded to `valueBytes`. */
async function hint(r: Rig, count: number, valueBytes = 16): Promise<void> {
  const adds: Promise<void>[] = [];
  for (let i = 0; i < count; i++) adds.push(r.store.add('t', k(`key${String(i).padStart(4, '0')}`), [v(`value${i}`.padEnd(valueBytes, '.'), 'a', i + 1)], r.vt.now()));
  await settled(r.vt, Promise.all(adds));
}

const pendingCount = (store: HintStore) => store.pending().get('t')?.count ?? 0;

test('handoff › delivers nothing while the target is down, then 1,000 hints within seconds of its return, once each', async (t) => {
  const r = rig();
  await hint(r, 1_000, 100);
  r.sender.start();
  await advance(r.vt, 30_000);
  t.is(r.target.calls.length, 0, 'nothing sent to a down target');
  t.is(pendingCount(r.store), 1_000);
  r.target.up = true; // no kick: the periodic pass finds it
  const backAt = r.vt.now();
  await until(r.vt, () => pendingCount(r.store) === 0, 10_000);
  const tookMs = r.vt.now() - backAt;
  t.true(tookMs <= 3_000, `took ${tookMs} ms of virtual time`);
  t.is(r.target.calls.length, 1_000, 'each hint delivered once');
  t.is(new Set(r.target.calls.map((c) => c.key)).size, 1_000);
  t.deepEqual(values(r.target.records.get('key0042')!), ['value42'.padEnd(100, '.')]);
  await settled(r.vt, r.sender.stop()); // the last removes resolve once durable
  t.deepEqual(r.sender.progress.get('t'), { delivered: 1_000, pending: 0 });
  t.is(r.store.stats.delivered, 1_000);
});

test('handoff › a hint is removed only after the target acknowledged it', async (t) => {
  const r = rig();
  await hint(r, 1);
  r.target.up = true;
  r.target.manual = true;
  r.sender.kick();
  await until(r.vt, () => r.target.waiting.length === 1);
  await advance(r.vt, 100);
  t.is(pendingCount(r.store), 1, 'still hinted while unacknowledged');
  t.is(r.target.records.size, 0);
  r.target.settle(0, 'ok');
  await until(r.vt, () => pendingCount(r.store) === 0);
  t.deepEqual(values(r.target.records.get('key0000')!), ['value0'.padEnd(16, '.')]);
  await settled(r.vt, r.sender.stop());
});

test('handoff › a failed delivery ends the target\'s pass; the hint is retried after a backoff and delivered', async (t) => {
  const r = rig({ inFlightMax: 1 });
  await hint(r, 10);
  r.target.up = true;
  r.target.failCalls.add(3);
  r.sender.start();
  await until(r.vt, () => r.target.calls.length === 4);
  const failedAt = r.vt.now();
  await advance(r.vt, handoffBackoffMsMin - 10);
  t.is(r.target.calls.length, 4, 'no delivery after the failure until the backoff passes');
  t.is(pendingCount(r.store), 7);
  await until(r.vt, () => pendingCount(r.store) === 0);
  t.true(r.target.calls[4]!.atMs - failedAt >= handoffBackoffMsMin);
  t.is(r.target.calls[4]!.key, r.target.calls[3]!.key, 'the failed hint goes first on the retry');
  t.is(r.target.records.size, 10);
  await settled(r.vt, r.sender.stop());
});

test('handoff › the backoff doubles while deliveries keep failing, and a kick for the target forgets it', async (t) => {
  const r = rig({ inFlightMax: 1 });
  await hint(r, 1);
  r.target.up = true;
  for (let i = 0; i < 100; i++) r.target.failCalls.add(i);
  r.sender.start();
  await advance(r.vt, 40_000);
  const times = r.target.calls.map((c) => c.atMs);
  const gaps = times.slice(1).map((at, i) => at - times[i]!);
  t.true(gaps.length >= 4 && gaps.length <= 6, `attempts at ${times.map((x) => x - times[0]!).join(', ')}`);
  gaps.slice(0, 5).forEach((gap, i) => t.true(gap >= handoffBackoffMsMin * 2 ** i, `gap ${i}: ${gap} ms`));
  r.target.failCalls.clear();
  const before = r.target.calls.length;
  r.sender.kick('t');
  await advance(r.vt, 50);
  t.is(r.target.calls.length, before + 1, 'the kick retried at once');
  t.is(pendingCount(r.store), 0);
  await settled(r.vt, r.sender.stop());
});

test('handoff › never more than inFlightMax deliveries at once', async (t) => {
  const r = rig({ inFlightMax: 4 });
  await hint(r, 20);
  r.target.up = true;
  r.target.manual = true;
  r.sender.kick();
  await until(r.vt, () => r.target.waiting.length === 4);
  await advance(r.vt, 500);
  t.is(r.target.calls.length, 4, 'the fifth waits for a slot');
  r.target.settle(0, 'ok');
  await until(r.vt, () => r.target.calls.length === 5);
  while (pendingCount(r.store) > 0) {
    r.target.settleAll();
    await advance(r.vt, 5);
  }
  t.is(r.target.inFlightPeak, 4);
  t.is(r.target.records.size, 20);
  await settled(r.vt, r.sender.stop());
});

test('handoff › keeps to the byte rate, and no slower than it', async (t) => {
  const rate = 20_000;
  const r = rig({ rateBytesPerSec: rate });
  await hint(r, 60, 1_000);
  const sizes = new Map<string, number>();
  for (const h of await settled(r.vt, r.store.page('t', undefined, 100))) sizes.set(h.key.toString('latin1'), h.bytes);
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const hintMax = Math.max(...sizes.values());
  const burst = (rate * handoffBurstMs) / 1000;
  r.target.up = true;
  r.sender.kick();
  await until(r.vt, () => pendingCount(r.store) === 0);
  const t0 = r.target.calls[0]!.atMs;
  let sent = 0;
  for (const call of r.target.calls) {
    sent += sizes.get(call.key)!;
    t.true(sent <= burst + (rate * (call.atMs - t0)) / 1000 + hintMax, `${sent} bytes by +${call.atMs - t0} ms`);
  }
  const tookMs = r.target.calls[r.target.calls.length - 1]!.atMs - t0;
  t.true(tookMs >= ((total - burst - hintMax) / rate) * 1000, `${total} bytes in ${tookMs} ms`);
  t.true(tookMs <= (total / rate) * 1000 + 100, `${total} bytes in ${tookMs} ms`);
  await settled(r.vt, r.sender.stop());
});

test('handoff › a hint that changed during its delivery is kept, and its newer version delivered on a later pass', async (t) => {
  const r = rig();
  const v1 = v('one', 'a', 1);
  const v2 = v('two', 'a', 2, [{ actor: 'a', counter: 1 }]);
  const concurrent = v('side', 'b', 1);
  await settled(r.vt, r.store.add('t', k('key'), [v1], r.vt.now()));
  r.target.up = true;
  r.target.manual = true;
  r.target.onDeliver = () => {
    r.target.onDeliver = undefined;
    void r.store.add('t', k('key'), [v2, concurrent], r.vt.now());
  };
  r.sender.kick();
  await until(r.vt, () => r.target.waiting.length === 1);
  r.target.settle(0, 'ok');
  await advance(r.vt, 50);
  t.deepEqual(values(r.target.records.get('key')!), ['one']);
  t.deepEqual(values(r.store.versionsOf(k('key'))), ['side', 'two'], 'kept: it holds versions the target has not seen');
  t.is(r.store.stats.delivered, 0);
  r.target.manual = false;
  r.sender.start();
  await until(r.vt, () => pendingCount(r.store) === 0);
  t.true(sameVersions(r.target.records.get('key')!, [v2, concurrent]));
  t.is(r.target.calls.length, 2);
  await settled(r.vt, r.sender.stop());
});

test('handoff › stop() waits for deliveries in flight, starts no new one and leaves no timer', async (t) => {
  const r = rig({ inFlightMax: 3 });
  await hint(r, 10);
  r.target.up = true;
  r.target.manual = true;
  r.sender.start();
  await until(r.vt, () => r.target.waiting.length === 3);
  let stopped = false;
  const stopping = r.sender.stop().then(() => (stopped = true));
  await advance(r.vt, 200);
  t.false(stopped, 'waits for the three in flight');
  r.target.settleAll();
  await until(r.vt, () => stopped);
  await stopping;
  t.is(r.target.calls.length, 3);
  t.is(pendingCount(r.store), 7);
  t.is(r.timers.live.size, 0, 'no timer left');
  r.sender.kick();
  r.sender.start();
  await advance(r.vt, 5_000);
  t.is(r.target.calls.length, 3, 'a stopped sender stays stopped');
  t.is(r.timers.live.size, 0);
});

test('handoff › stop() during a throttle wait returns at once', async (t) => {
  const r = rig({ rateBytesPerSec: 100 });
  await hint(r, 3, 1_000);
  r.target.up = true;
  r.sender.kick();
  await until(r.vt, () => r.target.calls.length === 1);
  await advance(r.vt, 100);
  const stopAt = r.vt.now();
  let stopped = false;
  void r.sender.stop().then(() => (stopped = true));
  await until(r.vt, () => stopped, 100);
  t.true(r.vt.now() - stopAt < 10);
  t.is(r.target.calls.length, 1);
  t.is(r.timers.live.size, 0);
});

test('handoff › a delivery that never settles times out, is retried, and does not hang stop()', async (t) => {
  const r = rig({ deliveryTimeoutMs: 500 });
  await hint(r, 1);
  r.target.up = true;
  const deliver = r.target.deliver;
  let calls = 0;
  r.target.deliver = (target, key, siblings) => (calls++ === 0 ? new Promise<void>(() => {}) : deliver(target, key, siblings));
  const sender = new HandoffSender({ store: r.store, deliver: (...a) => r.target.deliver(...a), isUp: () => r.target.up, logger: silent, timers: r.timers, deliveryTimeoutMs: 500 });
  sender.start();
  await until(r.vt, () => pendingCount(r.store) === 0);
  t.is(calls, 2);
  await settled(r.vt, sender.stop());
  await settled(r.vt, r.sender.stop());
  t.is(r.timers.live.size, 0);
});

test('handoff › a target going down mid-pass is left alone without a backoff', async (t) => {
  const r = rig({ inFlightMax: 1 });
  await hint(r, 5);
  r.target.up = true;
  r.target.manual = true;
  r.sender.kick();
  await until(r.vt, () => r.target.waiting.length === 1);
  r.target.settle(0, 'ok');
  await until(r.vt, () => r.target.waiting.length === 1);
  r.target.up = false;
  r.target.settle(0, 'ok');
  await advance(r.vt, 3_000);
  t.is(r.target.calls.length, 2);
  t.is(pendingCount(r.store), 3);
  r.target.up = true;
  r.target.manual = false;
  r.sender.kick();
  await advance(r.vt, 50);
  t.is(pendingCount(r.store), 0, 'served at once: going down was not a failure');
  await settled(r.vt, r.sender.stop());
});

test('handoff › a restarted fallback resumes delivery from its store', async (t) => {
  const first = rig({ inFlightMax: 2 });
  await hint(first, 10);
  first.target.up = true;
  first.target.manual = true;
  first.sender.kick();
  await until(first.vt, () => first.target.waiting.length === 2);
  first.target.settle(0, 'ok');
  await until(first.vt, () => first.target.waiting.length === 2 && pendingCount(first.store) === 9);
  const disk = first.store.crash(); // the process dies with one delivery acknowledged, two in flight
  first.target.settleAll('ok'); // they land on the target, but the dead process cannot remove them
  await settled(first.vt, first.sender.stop());
  t.is(pendingCount(disk), 9);
  const second = rig({}, disk, first.vt);
  for (const [key, siblings] of first.target.records) second.target.records.set(key, siblings);
  second.target.up = true;
  second.sender.start();
  await until(second.vt, () => pendingCount(disk) === 0);
  t.is(second.target.records.size, 10);
  t.is(second.target.calls.length, 9, 'everything not removed before the crash is sent again (idempotent by dots)');
  await settled(second.vt, second.sender.stop());
});

test('handoff › LevelHintStore on real timers: hints written before a restart are delivered after it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-handoff-'));
  const location = path.join(dir, 'hints');
  try {
    let store = await LevelHintStore.open(location);
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.add('t', k(`key${i}`), [v(`value${i}`, 'a', i + 1)], Date.now())));
    await store.close();
    store = await LevelHintStore.open(location);
    const received = new Map<string, Sibling[]>();
    const sender = new HandoffSender({
      store,
      deliver: async (_target, key, siblings) => {
        received.set(key.toString(), [...siblings]);
      },
      isUp: () => true,
      logger: silent,
    });
    sender.start();
    const deadline = Date.now() + 5_000;
    while (pendingCount(store) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await sender.stop();
    t.is(pendingCount(store), 0);
    t.is(received.size, 200);
    t.deepEqual(values(received.get('key7')!), ['value7']);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('handoff › ByteThrottle: a burst, then the rate, with one send of debt', (t) => {
  const throttle = new ByteThrottle(1_000, 100, 0);
  t.is(throttle.take(60, 0), 0);
  t.is(throttle.take(60, 0), 0, 'the bucket was positive: it goes, into debt');
  t.is(throttle.take(10, 0), 20, '20 bytes of debt at 1,000 B/s');
  t.is(throttle.take(10, 19), 1);
  t.is(throttle.take(10, 21), 0);
  t.is(throttle.take(5_000, 10_000), 0, 'a send larger than the bucket still goes');
  t.is(throttle.take(1, 10_000), 4_900);
  t.throws(() => new ByteThrottle(0, 10, 0), { instanceOf: RangeError });
});

type Command =
  | { readonly kind: 'write'; readonly coordinator: number; readonly key: number; readonly blind: boolean }
  | { readonly kind: 'up'; readonly up: boolean }
  | { readonly kind: 'settle'; readonly index: number; readonly outcome: Outcome }
  | { readonly kind: 'kick' }
  | { readonly kind: 'advance'; readonly ms: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), coordinator: fc.nat(2), key: fc.nat(3), blind: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('up' as const), up: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('settle' as const), index: fc.nat(5), outcome: fc.constantFrom<Outcome>('ok', 'ok', 'fail', 'lostAck') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kick' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 500 }) }) },
);

/**
 * Coordinators write whole records (each its own, every new version over the
 * context of what it holds, or blind: over nothing) and hint them for the
 * target; deliveries succeed, fail, or lose their ack in any order while the
 * target goes up and down. At the end, with the target up and healthy, it
 * holds exactly the reconciliation of every version ever hinted, and the
 * store is empty.
 */
async function runInterleaving(commands: readonly Command[]): Promise<boolean> {
  // Frequent passes and short backoffs, so a short history holds many deliveries.
  const r = rig({ inFlightMax: 3, batchKeys: 2, passIntervalMs: 10, backoffMsMin: 50, backoffMsMax: 400 });
  r.target.manual = true;
  r.target.up = true;
  const records = [new Map<string, Sibling[]>(), new Map<string, Sibling[]>(), new Map<string, Sibling[]>()];
  const counters = [0, 0, 0];
  const everHinted = new Map<string, Sibling[]>();
  r.sender.start();
  for (const c of commands) {
    if (c.kind === 'write') {
      const key = `key${c.key}`;
      const own = records[c.coordinator]!.get(key) ?? [];
      const past = c.blind || own.length === 0 ? [] : causalContext(own);
      const version: Sibling = { value: Buffer.from(`${c.coordinator}:${counters[c.coordinator]! + 1}`), dot: { actor: `c${c.coordinator}`, counter: ++counters[c.coordinator]! }, past, timestamp: r.vt.now() };
      const record = reconcile([...own, version]);
      records[c.coordinator]!.set(key, record);
      everHinted.set(key, [...(everHinted.get(key) ?? []), ...record]);
      void r.store.add('t', k(key), record, r.vt.now());
    } else if (c.kind === 'up') {
      r.target.up = c.up;
    } else if (c.kind === 'settle') {
      if (r.target.waiting.length > 0) r.target.settle(c.index % r.target.waiting.length, c.outcome);
    } else if (c.kind === 'kick') {
      r.sender.kick('t');
    }
    await advance(r.vt, c.kind === 'advance' ? c.ms : 7);
  }
  r.target.up = true;
  r.target.manual = false;
  r.target.settleAll('ok');
  r.sender.kick('t');
  await until(r.vt, () => pendingCount(r.store) === 0 && r.target.inFlight === 0, 600_000);
  await settled(r.vt, r.sender.stop());
  for (const [key, versions] of everHinted) {
    if (!sameVersions(r.target.records.get(key) ?? [], reconcile(versions))) return false;
  }
  return r.store.pending().size === 0 && r.timers.live.size === 0;
}

test('handoff › property: any interleaving ends with the target holding every version ever hinted, and no hint left', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(commandArb, { minLength: 10, maxLength: 80, size: 'max' }), runInterleaving), { numRuns: 150 });
  t.pass();
});
