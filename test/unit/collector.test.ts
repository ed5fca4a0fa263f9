import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pino from 'pino';
import { Collector } from '../../src/coordinator/collector.js';
import { tokenOf } from '../../src/storage/keys.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import type { Sibling } from '../../src/clock/types.js';

const clock = [{ node: 'n1', counter: 1, timestamp: 0 }];
const graceMs = 1000;

test('collector › removes dead records past grace, keeps the rest', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-collector-'));
  const storage = await LevelStorage.open(dir);
  t.teardown(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let now = 10_000;
  const put = (name: string, sibling: Sibling) => storage.update(Buffer.from(name), tokenOf(Buffer.from(name)), () => [sibling]);
  await put('live', { value: Buffer.from('v'), clock, timestamp: 1 });
  await put('old-tombstone', { value: Buffer.alloc(0), clock, timestamp: 1, deleted: true });
  await put('young-tombstone', { value: Buffer.alloc(0), clock, timestamp: 9_500, deleted: true });
  await put('long-expired', { value: Buffer.from('v'), clock, timestamp: 1, expiresAt: 5_000 });
  await put('just-expired', { value: Buffer.from('v'), clock, timestamp: 1, expiresAt: 9_900 });
  const collector = new Collector(storage, graceMs, pino({ level: 'silent' }), () => now);
  let removed = 0;
  for (let i = 0; i < 5; i++) removed += await collector.step();
  t.is(removed, 2);
  const has = (name: string) => storage.get(Buffer.from(name), tokenOf(Buffer.from(name))).length > 0;
  t.false(has('old-tombstone'));
  t.false(has('long-expired'));
  t.true(has('live'));
  t.true(has('young-tombstone'));
  t.true(has('just-expired'));
  now = 20_000;
  for (let i = 0; i < 5; i++) removed += await collector.step();
  t.is(removed, 4);
  t.true(has('live'));
  t.is(storage.recordCount(), 1);
});
