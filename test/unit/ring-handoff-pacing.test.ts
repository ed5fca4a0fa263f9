// A received page is folded a slice at a time (hints/ring-handoff.ts
// applyPage): every record once, in order, the loop yielding between slices,
// and a failed fold fails the page without an unhandled rejection.
import test from 'ava';
import type { Sibling } from '../../src/clock/types.js';
import { applyPage } from '../../src/hints/ring-handoff.js';

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

test('applyPage › resolves only once every fold is durable', async (t) => {
  let durable = 0;
  const later = () => new Promise<void>((resolve) => setTimeout(() => { durable++; resolve(); }, 5));
  await applyPage(entries, later, undefined, 3);
  t.is(durable, entries.length);
});
