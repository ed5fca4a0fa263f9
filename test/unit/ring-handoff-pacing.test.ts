// Streams that yield to client traffic: a received page is folded a slice at
// a time (hints/ring-handoff.ts applyPage): every record once, in order, the
// loop yielding between slices, a slice folded only once the one before it is
// durable, and a failed fold fails the page without an unhandled rejection; the rate follows the loop delay (stream-pacer.ts) and
// the throttle takes a new rate at once.
import test from 'ava';
import type { Sibling } from '../../src/clock/types.js';
import { applyPage } from '../../src/hints/ring-handoff.js';
import { ByteThrottle } from '../../src/hints/sender.js';
import { StreamPacer, pacerDefaults } from '../../src/hints/stream-pacer.js';

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

test('stream pacer › starts at its floor and doubles until the first cut, then cuts over target and climbs additively under it, within floor and ceiling', (t) => {
  const settings = { ...pacerDefaults(32), delayTargetMs: 5 };
  const pacer = new StreamPacer(settings, 0);
  t.is(pacer.rateBytesPerSec(), 2);
  t.false(pacer.due(settings.windowMs - 1));
  t.true(pacer.due(settings.windowMs));
  let now = 0;
  const step = (delayMs: number) => pacer.adjust(delayMs, (now += settings.windowMs));
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

test('stream pacer › slow start stops at the ceiling', (t) => {
  const pacer = new StreamPacer(pacerDefaults(32), 0);
  const rates = [1, 2, 3, 4, 5].map((i) => pacer.adjust(0, i * 500));
  t.deepEqual(rates, [4, 8, 16, 32, 32]);
});

test('stream pacer › a restart goes back to the floor and to slow start', (t) => {
  const pacer = new StreamPacer(pacerDefaults(32), 0);
  pacer.adjust(0, 500);
  pacer.adjust(10, 1000);
  t.is(pacer.restart(1200), 2);
  t.false(pacer.due(1600));
  t.is(pacer.adjust(0, 1700), 4, 'doubling again');
});

test('stream pacer › with a baseline noted, the target is twice its median when that is above the configured one; a restart forgets it', (t) => {
  const settings = { ...pacerDefaults(32), delayTargetMs: 5 };
  const pacer = new StreamPacer(settings, 0);
  t.is(pacer.delayTargetMs(), 5, 'no baseline: the configured target');
  for (const d of [1, 2, 2]) pacer.noteBaseline(d);
  t.is(pacer.delayTargetMs(), 5, 'twice a 2 ms median is under the configured 5 ms');
  for (const d of [9, 40, 8, 11]) pacer.noteBaseline(d);
  t.is(pacer.delayTargetMs(), 2 * 8, 'median of 1, 2, 2, 8, 9, 11, 40 is 8: the one 40 ms window does not move it');
  pacer.noteBaseline(12);
  t.is(pacer.delayTargetMs(), 2 * 8.5, 'an even count takes the middle two');
  let now = 0;
  const step = (delayMs: number) => pacer.adjust(delayMs, (now += settings.windowMs));
  t.deepEqual([step(16), step(17)], [4, 8], 'at or under twice the baseline: doubling');
  t.is(step(17.5), 8 * 0.7, 'over twice the baseline: cut');
  pacer.restart(now);
  t.is(pacer.delayTargetMs(), 5, 'a new operation measures its own baseline');
});

test('stream pacer › refuses a floor above its ceiling and a cut that is not a fraction', (t) => {
  t.throws(() => new StreamPacer({ ...pacerDefaults(32), rateMinBytesPerSec: 64 }, 0));
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
