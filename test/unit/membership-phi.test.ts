// The phi-accrual detector on synthetic arrival times: no clock, no timers.
// Regular heartbeats keep phi low; silence raises it monotonically and
// convicts when the model says so; jitter widens the tolerance; an answer
// drops phi at once; the window stays bounded and its statistics match a
// naive recomputation.
import test from 'ava';
import fc from 'fast-check';
import type { PhiOptions } from '../../src/membership/phi.js';
import { ArrivalWindow, PhiDetector, elapsedAtPhi, phiOf } from '../../src/membership/phi.js';

const runs = { seed: 20250301, numRuns: 200 };

/** The membership defaults at a 500 ms gossip interval. */
const options: PhiOptions = {
  convictThreshold: 8,
  samplesMax: 1000,
  stdDeviationMsMin: 200,
  acceptablePauseMs: 500,
  firstIntervalMs: 1000,
  silenceMsMax: Infinity,
};

/** Feeds arrivals at the given intervals from t = 0; returns the time of the last one. */
function feed(detector: PhiDetector, id: string, intervals: readonly number[]): number {
  let now = 0;
  detector.heartbeat(id, now);
  for (const ms of intervals) {
    now += ms;
    detector.heartbeat(id, now);
  }
  return now;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('phi › phiOf is log10(2) at the mean and strictly increasing with the silence', (t) => {
  t.true(Math.abs(phiOf(500, 500, 100) - Math.log10(2)) < 1e-12);
  fc.assert(fc.property(
    fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0.001, max: 1e4, noNaN: true }),
    fc.double({ min: 0, max: 5e3, noNaN: true }), fc.double({ min: 1, max: 2e3, noNaN: true }),
    (elapsed, more, mean, sd) => {
      const a = phiOf(elapsed, mean, sd);
      const b = phiOf(elapsed + more, mean, sd);
      // Non-decreasing everywhere; strictly increasing where doubles resolve it (not deep below the mean, where phi underflows to 0).
      return Number.isFinite(a) && Number.isFinite(b) && a >= 0 && b >= a && (b > a || a < 1e-12 || a > 1e3);
    }), runs);
});

test('phi › the normal tail: phi 1 at 1.28 deviations past the mean, phi 8 at 5.2 (the exact normal: 5.6)', (t) => {
  // -log10(1 - Φ(1.2816)) = 1 for the exact normal, and the logistic approximation agrees; far out its tail is lighter.
  t.true(Math.abs(phiOf(500 + 1.2816 * 100, 500, 100) - 1) < 0.02);
  const at8 = (elapsedAtPhi(8, 500, 100) - 500) / 100;
  t.true(at8 > 5.15 && at8 < 5.3, `phi 8 at ${at8} deviations`);
});

test('phi › elapsedAtPhi inverts phiOf', (t) => {
  fc.assert(fc.property(
    fc.double({ min: 0.1, max: 20, noNaN: true }), fc.double({ min: 0, max: 5e3, noNaN: true }),
    fc.double({ min: 1, max: 2e3, noNaN: true }),
    (threshold, mean, sd) => Math.abs(phiOf(elapsedAtPhi(threshold, mean, sd), mean, sd) - threshold) < 1e-6 * threshold + 1e-9,
  ), runs);
  t.pass();
});

test('phi › regular heartbeats keep phi low and the member up', (t) => {
  const detector = new PhiDetector(options);
  const random = seeded(1);
  let now = 0;
  detector.heartbeat('m', now);
  let phiMax = 0;
  for (let i = 0; i < 2000; i++) {
    now += 500 + (random() - 0.5) * 40;
    phiMax = Math.max(phiMax, detector.phi('m', now));
    t.is(detector.verdict('m', now), 'up');
    detector.heartbeat('m', now);
  }
  t.true(phiMax < 1, `phi before an arrival reached ${phiMax}`);
  t.is(detector.phi('m', now), phiOf(0, detector.window('m')!.meanMs + 500, 200));
});

test('phi › silence raises phi monotonically and convicts within the expected time', (t) => {
  const detector = new PhiDetector(options);
  const last = feed(detector, 'm', Array.from({ length: 1000 }, () => 500));
  const window = detector.window('m')!;
  t.is(window.meanMs, 500);
  t.is(window.stdDeviationMs, 0);
  // Judged against mean 500 + pause 500 with the deviation floored at 200: phi 8 at 1000 + ~5.2 × 200 ms.
  const convictAt = detector.convictionAtMs('m', last);
  t.true(convictAt - last > 2000 && convictAt - last < 2100, `convicted after ${convictAt - last} ms`);
  let previous = -1;
  for (let silence = 0; silence <= 10_000; silence += 10) {
    const phi = detector.phi('m', last + silence);
    t.true(phi > previous, `phi ${phi} after ${silence} ms, ${previous} before`);
    previous = phi;
    t.is(detector.verdict('m', last + silence), last + silence < convictAt ? 'up' : 'down', `at ${silence} ms`);
  }
  t.true(detector.phi('m', last + 1_000) < 1);
  t.true(detector.phi('m', last + 1_900) < 8);
  t.true(Number.isFinite(detector.phi('m', last + 3_600_000)), 'an hour of silence is a large phi, not Infinity');
});

test('phi › jittery heartbeats widen the tolerance, and the jitter itself is not convicted', (t) => {
  const regular = new PhiDetector(options);
  const jittery = new PhiDetector(options);
  const random = seeded(2);
  // Both average 500 ms; the jittery one comes after 100 or 900 ms (deviation 400 ms), as a heartbeat that
  // rides the next exchange or misses a round.
  const lastRegular = feed(regular, 'm', Array.from({ length: 1000 }, () => 500));
  let now = 0;
  jittery.heartbeat('m', now);
  for (let i = 0; i < 1000; i++) {
    now += random() < 0.5 ? 100 : 900;
    t.is(jittery.verdict('m', now), 'up', `interval ${i} convicted`);
    jittery.heartbeat('m', now);
  }
  const regularSilence = regular.convictionAtMs('m', lastRegular) - lastRegular;
  const jitterySilence = jittery.convictionAtMs('m', now) - now;
  t.true(jitterySilence > regularSilence + 500, `jittery tolerates ${jitterySilence} ms, regular ${regularSilence} ms`);
  t.true(jittery.window('m')!.stdDeviationMs > 350);
});

test('phi › a member that answers again is up at once, and its outage is not learned', (t) => {
  const detector = new PhiDetector(options);
  const last = feed(detector, 'm', Array.from({ length: 200 }, () => 500));
  const before = { mean: detector.window('m')!.meanMs, sd: detector.window('m')!.stdDeviationMs, size: detector.window('m')!.size };
  const back = last + 30_000;
  t.is(detector.verdict('m', back - 1), 'down');
  t.true(detector.phi('m', back - 1) > 1000);
  detector.heartbeat('m', back);
  t.is(detector.verdict('m', back), 'up');
  t.true(detector.phi('m', back) < 0.01);
  const after = detector.window('m')!;
  t.deepEqual({ mean: after.meanMs, sd: after.stdDeviationMs, size: after.size }, before, 'the 30 s outage is not a sample');
  // A late but unconvicted interval is a sample: the window learns it.
  detector.heartbeat('m', back + 1200);
  t.is(detector.window('m')!.size, before.size + 1);
});

test('phi › a member never heard first-hand is down; a fresh one is not convicted on its bootstrap', (t) => {
  const detector = new PhiDetector(options);
  t.is(detector.phi('new', 0), Infinity);
  t.is(detector.verdict('new', 0), 'down');
  t.is(detector.convictionAtMs('new', 0), Infinity);
  detector.heartbeat('new', 5_000);
  t.is(detector.verdict('new', 5_000), 'up');
  // The bootstrap window says ~1000 ms ± 250: a first gap of twice that, plus the pause, is still tolerated.
  t.is(detector.verdict('new', 5_000 + 2_500), 'up');
  t.is(detector.verdict('new', 5_000 + 4_500), 'down');
  t.is(detector.window('new')!.size, 2, 'two bootstrap samples, no real one yet');
});

test('phi › the silence ceiling convicts whatever phi says', (t) => {
  const detector = new PhiDetector({ ...options, silenceMsMax: 1200 });
  const last = feed(detector, 'm', Array.from({ length: 100 }, () => 500));
  t.true(detector.phi('m', last + 1200) < 8);
  t.is(detector.verdict('m', last + 1199), 'up');
  t.is(detector.verdict('m', last + 1200), 'down');
  t.is(detector.convictionAtMs('m', last), last + 1200);
});

test('phi › the verdict flips exactly at convictionAtMs', (t) => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 300 }),
    fc.double({ min: 1, max: 16, noNaN: true }), fc.integer({ min: 0, max: 2000 }),
    (intervals, threshold, pause) => {
      const detector = new PhiDetector({ ...options, convictThreshold: threshold, acceptablePauseMs: pause });
      const last = feed(detector, 'm', intervals);
      if (detector.verdict('m', last) === 'down') return true;
      const at = detector.convictionAtMs('m', last);
      return at > last && detector.verdict('m', at - 0.01) === 'up' && detector.verdict('m', at + 0.01) === 'down';
    }), runs);
  t.pass();
});

test('phi › the window is bounded and its mean and deviation match the samples it keeps', (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 2, max: 50 }),
    fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 400 }),
    (samplesMax, intervals) => {
      const window = new ArrivalWindow(0, samplesMax, 1000);
      const model = [750, 1250];
      let now = 0;
      for (const ms of intervals) {
        now += ms;
        window.arrive(now, true);
        model.push(ms);
      }
      const kept = model.slice(-samplesMax);
      const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
      const sd = Math.sqrt(kept.reduce((a, b) => a + (b - mean) ** 2, 0) / kept.length);
      return window.size === kept.length && window.lastMs === now
        && Math.abs(window.meanMs - mean) < 1e-6 && Math.abs(window.stdDeviationMs - sd) < 1e-3;
    }), runs);
  const detector = new PhiDetector(options);
  feed(detector, 'm', Array.from({ length: 5000 }, (_, i) => 400 + (i % 3) * 100));
  t.is(detector.window('m')!.size, options.samplesMax);
});

test('phi › a clock that goes back records no negative interval and keeps the last arrival', (t) => {
  const detector = new PhiDetector(options);
  const last = feed(detector, 'm', [500, 500, 500]);
  const size = detector.window('m')!.size;
  detector.heartbeat('m', last - 10_000);
  t.is(detector.window('m')!.size, size);
  t.is(detector.window('m')!.lastMs, last);
  t.is(detector.verdict('m', last - 10_000), 'up');
});

test('phi › forget drops a member\'s history', (t) => {
  const detector = new PhiDetector(options);
  feed(detector, 'm', [500]);
  detector.forget('m');
  t.is(detector.window('m'), undefined);
  t.is(detector.verdict('m', 500), 'down');
});
