// The cost of the hint window's expiry pass (hints/level-hint-store.ts
// expire, called by hints/sender.ts on every pass, once a second, for each
// target with pending hints). Found by the `hinted` benchmark target
// (benchmarks/targets.ts): profiled with one of 4 nodes down, a fallback
// holding ~75k hints spent ~5% of its samples in expire, nearly all of it in
// one LevelDB getSync per pending hint per pass, although with the default
// 3 h window no hint was anywhere near expiring. The walk grows with the
// outage: measured on this box (one target, 100-byte values, nothing to
// expire), a pass takes ~300 ms at 75k hints and ~1.1 s at 250k (about the
// 256 MiB bound at 1 KiB a hint) — then the sender spends most of a core,
// every second, re-reading hints that cannot have expired, on every fallback
// for each down target, and a returning target waits for it before handoff.
//
// Fixed: the store remembers each target's oldest stored time left by the
// last walk, and skips the walk while the cutoff has not passed it.
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Sibling } from '../../src/clock/types.js';
import { LevelHintStore } from '../../src/hints/level-hint-store.js';

const hints = 5_000;
const passes = 5;
const windowMs = 3 * 60 * 60 * 1000;

function version(i: number): Sibling {
  return { value: Buffer.from(`value-${i}`), dot: { actor: 'n1#1', counter: i + 1 }, past: [], timestamp: 1_000 + i };
}

test('an expiry pass that finds nothing past the window does not read every pending hint, pass after pass', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-hint-expire-'));
  const store = await LevelHintStore.open(path.join(dir, 'hints'));
  const proto = ClassicLevel.prototype as unknown as { getSync: (...args: unknown[]) => unknown };
  const getSync = proto.getSync;
  let reads = 0;
  try {
    const nowMs = 10 * windowMs;
    await Promise.all(Array.from({ length: hints }, (_, i) => store.add('n4', Buffer.from(`key-${i}`), [version(i)], nowMs)));
    proto.getSync = function counted(this: unknown, ...args: unknown[]) {
      reads++;
      return getSync.apply(this, args);
    };
    const started = process.hrtime.bigint();
    let expired = 0;
    for (let pass = 0; pass < passes; pass++) expired += await store.expire('n4', nowMs + 1_000 - windowMs);
    const msPerPass = Number(process.hrtime.bigint() - started) / 1e6 / passes;
    t.log(`${passes} passes over ${hints} hints, none past the window: ${reads} LevelDB reads, ${msPerPass.toFixed(1)} ms per pass`);
    t.is(expired, 0);
    t.is(store.pending().get('n4')?.count, hints);
    t.true(reads < 2 * hints, `${reads} reads for ${passes} passes over ${hints} young hints: one read per hint per pass`);
  } finally {
    proto.getSync = getSync;
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('expiry still finds hints added after a walk that left none, and after one that skipped', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ringkv-hint-expire-'));
  const store = await LevelHintStore.open(path.join(dir, 'hints'));
  try {
    await store.add('n4', Buffer.from('a'), [version(1)], 1_000);
    t.is(await store.expire('n4', 2_000), 1, 'the only hint is due');
    await store.add('n4', Buffer.from('b'), [version(2)], 3_000);
    t.is(await store.expire('n4', 2_500), 0, 'not due yet');
    t.is(await store.expire('n4', 3_500), 1, 'due once the cutoff passes it');
    t.is(store.pending().get('n4')?.count ?? 0, 0);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
