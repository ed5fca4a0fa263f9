// Where a single-node SET spends its time, without the network: the
// coordinator's put path (versioning, record cache, group commit into
// LevelDB) driven in-process, N=1, 800 puts in flight. Each put's latency
// (call to resolve: mostly the wait for its group commit) goes into an
// HdrHistogram (latency.ts). `node dist/benchmarks/put-path.js`
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { MemoryActor } from '../src/storage/actor.js';
import { LevelStorage } from '../src/storage/level-storage.js';
import { formatLatency, LatencyRecorder } from './latency.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-putpath-'));
const storage = await LevelStorage.open(dir);
const view = { selfId: 'n1', preferenceList: () => ['n1'], isUp: () => true, fallbacks: () => [], peerAddress: () => '', memberIds: () => ['n1'], replicationFactor: () => 1, joined: () => true };
const coordinator = new Coordinator(storage, view, undefined, {
  requestTimeoutMs: 1000, siblingsMax: 100, siblingsWarn: 25, tombstoneGraceMs: 86_400_000,
  actor: new MemoryActor('n1#bench'), readRepairsInFlightMax: 100, logger: pino({ level: 'silent' }),
});
const keys = Array.from({ length: 100_000 }, (_, i) => Buffer.from(`key:${String(i).padStart(12, '0')}`));
const value = Buffer.from('xxx');
for (const round of [1, 2, 3]) {
  const started = process.hrtime.bigint();
  const total = 200_000;
  const inFlight = 800;
  let issued = 0;
  const latency = new LatencyRecorder();
  await new Promise<void>((resolve) => {
    let done = 0;
    const next = (): void => {
      if (issued >= total) return;
      const key = keys[(issued * 7919) % keys.length]!;
      issued++;
      const sent = process.hrtime.bigint();
      coordinator.put(key, { kind: 'value', value }, { w: 1 }).then(() => {
        latency.recordSince(sent);
        if (++done === total) resolve();
        else next();
      });
    };
    for (let i = 0; i < inFlight; i++) next();
  });
  const ns = Number(process.hrtime.bigint() - started) / total;
  console.log(`round ${round}: ${(1e9 / ns / 1000).toFixed(1)}k puts/s, ${(ns / 1000).toFixed(2)} us/put; latency with ${inFlight} in flight ${formatLatency(latency.summary())}`);
}
await storage.close();
rmSync(dir, { recursive: true, force: true });
