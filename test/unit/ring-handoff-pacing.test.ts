// Streams that yield to client traffic: a received page is folded a slice at
// a time (hints/ring-handoff.ts applyPage): every record once, in order, the
// loop yielding between slices, a slice folded only once the one before it is
// durable, and a failed fold fails the page without an unhandled rejection; the rate follows the loop delays of the nodes streaming (stream-pacer.ts),
// each node's baseline is a high quantile of its windows with nothing streaming (load-monitor.ts), and
// the throttle takes a new rate at once.
import test from 'ava';
import type { Sibling } from '../../src/clock/types.js';
import { applyPage } from '../../src/hints/ring-handoff.js';
import { ByteThrottle } from '../../src/hints/sender.js';
import { StreamPacer, pacerDefaults } from '../../src/hints/stream-pacer.js';
import { DelayHistory, LoadMonitor, baselineWindowsMax, loadWindowMs, type LoadReport } from '../../src/hints/load-monitor.js';

const entries = Array.from({ length: 10 }, (_, i) => ({ key: Buffer.from(`k${i}`), siblings: [] as Sibling[] }));

test('applyPage › folds every record once, in order, yielding between slices of the given size', async (t) => {
  const log: string[] = [];
  await applyPage(entries, async (key) => { log.push(key.toString()); }, async () => { log.push('yield'); }, 4);
  t.deepEqual(log, ['k0', 'k1', 'k2', 'k3', 'yield', 'k4', 'k5', 'k6', 'k7', 'yield', 'k8', 'k9']);
});

test('applyPage › a fold that fails (async or thrown) fails the page, and the slices after it are not folded', async (t) => {
  const folded: string[] = [];
  const err = await t.throwsAsync(applyPage(entries, (key) => {
    folded.push(key.toString());
    if (key.toString() === 'k1') return Promise.reject(new Error('disk full'));
    if (key.toString() === 'k2') throw new Error('closing');
    return Promise.resolve();
  }, () => new Promise((resolve) => setImmediate(resolve)), 4));
  t.true(['disk full', 'closing'].includes(err?.message ?? ''));
  t.deepEqual(folded, ['k0', 'k1', 'k2', 'k3']);
});

test('applyPage › a slice is folded only once every fold of the slice before it is durable', async (t) => {
  const started: string[] = [];
  const durable: (() => void)[] = [];
  const page = applyPage(entries, (key) => {
    started.push(key.toString());
    return new Promise<void>((resolve) => durable.push(resolve));
  }, () => Promise.resolve(), 4);
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  await settle();
  t.deepEqual(started, ['k0', 'k1', 'k2', 'k3']);
  for (const resolve of durable.splice(0, 3)) resolve();
  await settle();
  t.is(started.length, 4, 'one fold of the slice still pending');
  durable.shift()!();
  await settle();
  t.deepEqual(started.slice(4), ['k4', 'k5', 'k6', 'k7']);
  for (const resolve of durable.splice(0)) resolve();
  await settle();
  for (const resolve of durable.splice(0)) resolve();
  await page;
  t.is(started.length, entries.length);
});

test('applyPage › resolves only once every fold is durable', async (t) => {
  let durable = 0;
  const later = () => new Promise<void>((resolve) => setTimeout(() => { durable++; resolve(); }, 5));
  await applyPage(entries, later, undefined, 3);
  t.is(durable, entries.length);
});

/** A node's load with no baseline yet: only the configured target applies. */
const at = (delayMs: number, baselineMs = 0): LoadReport => ({ delayMs, baselineMs });

test('stream pacer › starts at its start rate and doubles until the first cut, then cuts over target and climbs additively under it, within floor and ceiling', (t) => {
  const settings = { ...pacerDefaults(32), rateStartBytesPerSec: 2, delayTargetMs: 5 };
  const pacer = new StreamPacer(settings, 0);
  t.is(pacer.rateBytesPerSec(), 2);
  t.false(pacer.due(settings.windowMs - 1));
  t.true(pacer.due(settings.windowMs));
  let now = 0;
  const step = (delayMs: number) => pacer.adjust([at(delayMs)], (now += settings.windowMs));
  t.deepEqual([step(0), step(5), step(1)], [4, 8, 16], 'slow start: doubling while at or under target');
  t.is(step(6), 16 * 0.7, 'over target: cut');
  t.is(step(0), 16 * 0.7 + 2, 'after the first cut: additive');
  for (let i = 0; i < 20; i++) step(50);
  t.is(pacer.rateBytesPerSec(), settings.rateMinBytesPerSec, 'never below the floor');
  t.is(step(0), settings.rateMinBytesPerSec + settings.increaseBytesPerSec);
  for (let i = 0; i < 20; i++) step(0);
  t.is(pacer.rateBytesPerSec(), 32, 'at the ceiling, never above');
  t.is(step(4), 32);
  t.false(pacer.due(now + settings.windowMs - 1), 'a window starts at each adjustment');
});

test('stream pacer › by default starts at half the ceiling; slow start stops at the ceiling', (t) => {
  const pacer = new StreamPacer(pacerDefaults(32), 0);
  t.is(pacer.rateBytesPerSec(), 16);
  const rates = [1, 2].map((i) => pacer.adjust([at(0)], i * 500));
  t.deepEqual(rates, [32, 32]);
});

test('stream pacer › a busy node cuts the start to the floor within six windows', (t) => {
  const pacer = new StreamPacer(pacerDefaults(32), 0);
  const rates = [1, 2, 3, 4, 5, 6].map((i) => pacer.adjust([at(50)], i * 500));
  t.deepEqual(rates, [1, 2, 3, 4, 5].map((k) => 16 * 0.7 ** k).concat([2]));
});

test('stream pacer › a restart goes back to the start rate and to slow start', (t) => {
  const pacer = new StreamPacer(pacerDefaults(32), 0);
  pacer.adjust([at(0)], 500);
  pacer.adjust([at(10)], 1000);
  t.is(pacer.restart(1200), 16);
  t.false(pacer.due(1600));
  t.is(pacer.adjust([at(0)], 1700), 32, 'doubling again');
});

test('stream pacer › one target for every node streaming: twice the highest baseline among them, or the configured one if higher; any node over it cuts', (t) => {
  const settings = { ...pacerDefaults(32), rateStartBytesPerSec: 2, delayTargetMs: 5 };
  const pacer = new StreamPacer(settings, 0);
  t.is(pacer.delayTargetMs([at(3, 2)]), 5, 'twice a 2 ms baseline is under the configured 5 ms');
  t.is(pacer.delayTargetMs([at(3, 1), at(40, 12), at(0, 0)]), 24, 'a source serving clients at a 12 ms baseline: the idle joiner may rise to 24 ms too');
  let now = 0;
  const step = (...loads: LoadReport[]) => pacer.adjust(loads, (now += settings.windowMs));
  t.is(step(at(20, 1), at(24, 12)), 4, 'the joiner (own load first) at 20 ms from a 1 ms baseline, its source at 24: both within twice the source\'s baseline');
  t.is(step(at(2, 1), at(24.5, 12)), 4 * 0.7, 'the source over it: cut, however quiet this node');
  t.is(step(at(25, 1), at(1, 12)), 2, 'this node over it: cut (to the floor)');
  t.is(step(at(6)), 2, 'with no baseline heard, the configured target: 6 ms is over 5, a cut (held at the floor)');
  t.is(step(), 2 + 2, 'no load known (no monitor): nothing to cut for');
});

test('stream pacer › refuses a floor above its ceiling and a cut that is not a fraction', (t) => {
  t.throws(() => new StreamPacer({ ...pacerDefaults(32), rateMinBytesPerSec: 64 }, 0));
  t.throws(() => new StreamPacer({ ...pacerDefaults(32), rateStartBytesPerSec: 1 }, 0), undefined, 'a start under the floor');
  t.throws(() => new StreamPacer({ ...pacerDefaults(32), rateStartBytesPerSec: 33 }, 0), undefined, 'a start over the ceiling');
  t.throws(() => new StreamPacer({ ...pacerDefaults(32), decreaseFactor: 1 }, 0));
});

test('byte throttle › a new rate applies from then on, and the burst shrinks with it', (t) => {
  const throttle = new ByteThrottle(1000, 1000, 0);
  t.is(throttle.take(1500, 0), 0, 'a send goes while the bucket is positive, into debt');
  t.is(throttle.take(10, 0), 500, 'the debt at 1000 B/s');
  throttle.setRate(100, 100, 0);
  t.is(throttle.take(10, 0), 5000, 'the same debt at 100 B/s');
  t.is(throttle.take(10, 5001), 0);
  // Refilled at most to the new burst: 100 bytes go, the next send waits.
  t.is(throttle.take(100, 60_000), 0);
  t.true(throttle.take(1, 60_000) > 0);
});

test('delay history › reports the last window and a baseline of the quiet windows only: their 90th percentile, not their median', (t) => {
  const history = new DelayHistory();
  t.deepEqual(history.report(), { delayMs: 0, baselineMs: 0 }, 'nothing measured: no delay, no baseline');
  // Ten quiet windows, one with a collection in it, as a node serving clients has.
  for (const d of [1, 2, 1, 3, 2, 1, 2, 14, 2, 1]) history.note(d, false);
  t.deepEqual(history.report(), { delayMs: 1, baselineMs: 3 }, 'sorted 1,1,1,1,2,2,2,2,3,14: the 90th percentile by index floor(0.9 × 9) = 8');
  history.note(40, true);
  history.note(35, true);
  t.deepEqual(history.report(), { delayMs: 35, baselineMs: 3 }, 'windows that streamed are the delay now, never the baseline');
  for (const d of [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]) history.note(d, false);
  t.is(history.report().baselineMs, 22, 'the baseline follows the quiet windows as they come: 20 windows, index floor(0.9 × 19) = 17');
});

test('delay history › keeps only the last baselineWindowsMax quiet windows', (t) => {
  const history = new DelayHistory();
  for (let i = 0; i < baselineWindowsMax; i++) history.note(100, false);
  for (let i = 0; i < baselineWindowsMax; i++) history.note(1, false);
  t.is(history.report().baselineMs, 1, 'the older windows are forgotten');
  for (let i = 0; i < baselineWindowsMax / 2; i++) history.note(50, false);
  t.is(history.report().baselineMs, 50, 'half the ring at 50 ms: its 90th percentile');
  t.throws(() => history.note(-1, false), undefined, 'a negative delay is a bug');
  t.throws(() => history.note(Number.NaN, false));
});

test('load monitor › measures a window at a time from start to close; a window blocked while streaming is the delay (its longest wait), never the baseline', async (t) => {
  const monitor = new LoadMonitor();
  monitor.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, loadWindowMs * 2.5));
    const quiet = monitor.report();
    t.true(quiet.delayMs >= 0 && quiet.delayMs < 1000 && quiet.baselineMs >= 0, 'a quiet test process: small, finite figures');
    // Windows marked streaming throughout, with the loop blocked for 200 ms in one of them.
    const marking = setInterval(() => monitor.markStreaming(), 10);
    const seen: LoadReport[] = [];
    const watching = setInterval(() => seen.push(monitor.report()), 50);
    try {
      monitor.markStreaming();
      const until = Date.now() + 200;
      while (Date.now() < until) monitor.markStreaming();
      await new Promise((resolve) => setTimeout(resolve, loadWindowMs * 2.5));
    } finally {
      clearInterval(marking);
      clearInterval(watching);
    }
    const worst = Math.max(...seen.map((r) => r.delayMs));
    t.true(worst >= 100, `the blocked window's delay is its stall (${worst} ms)`);
    t.true(seen.every((r) => r.baselineMs === quiet.baselineMs), 'the streaming windows left the baseline alone');
  } finally {
    monitor.close();
  }
  const closed = monitor.report();
  await new Promise((resolve) => setTimeout(resolve, loadWindowMs * 1.5));
  t.deepEqual(monitor.report(), closed, 'closed: no more windows');
});
