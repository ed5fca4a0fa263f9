// What one streamed megabyte costs each side in CPU, without the network or
// the other processes: `node dist/benchmarks/stream-cost.js`. The source reads
// its records a page at a time (range-service.ts readSpans) and encodes
// the reply; the receiver decodes it and folds every record into an empty
// LevelStorage through the one merge (foldVersions), page by page, as a
// joiner does (hints/ring-handoff.ts pullFrom). CPU time (process.cpuUsage,
// every thread: LevelDB's included) per MB is stable on a shared box where
// bench:stream's wall-clock rates are not; the longest synchronous stretch per
// page is what a request arriving meanwhile waits for, and each side's GC
// pauses (a node's heap holds its record cache, so its major collections cost
// more than here). Meanwhile a probe writes a new 1 KiB key to the receiver
// every few ms and times it to durable: what a write reaching a joiner as a
// pending replica (which a write to its future spans waits for) waits behind
// the stream's folds.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Sibling } from '../src/clock/types.js';
import { foldVersions } from '../src/coordinator/versioning.js';
import { decodeRangeRecordsReply, encodeRangeRecordsReply, rangePageBytesDefault } from '../src/hints/range-messages.js';
import { readSpans } from '../src/hints/range-service.js';
import { noLoad } from '../src/hints/load-monitor.js';
import { tokenMax, tokenOf } from '../src/storage/keys.js';
import { LevelStorage } from '../src/storage/level-storage.js';
import { applyPage, applySliceRecords } from '../src/hints/ring-handoff.js';

const keys = Number(process.env.STREAM_COST_KEYS ?? 100_000);
/** STREAM_COST_RATE: the receiver folds pages at this many MB/s (a joiner's throttle) instead of as fast as it can. */
const paceMbPerSec = Number(process.env.STREAM_COST_RATE ?? 0);
const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const valueBytes = 1024;
/** The probe's interval: 200 writes/s, a pending replica's share of a 1,000 requests/s workload. */
const probeIntervalMs = 5;
const loadInFlight = 2048;

/** Garbage-collection pauses on the main thread, summed and the longest, since the last take(). */
class GcPauses {
  private totalMs = 0;
  private longestMs = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      this.totalMs += entry.duration;
      this.longestMs = Math.max(this.longestMs, entry.duration);
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** The pauses since the last take (entries are delivered asynchronously: yield before taking). */
  async take(): Promise<{ totalMs: number; longestMs: number }> {
    await new Promise((resolve) => setImmediate(resolve));
    const taken = { totalMs: this.totalMs, longestMs: this.longestMs };
    this.totalMs = 0;
    this.longestMs = 0;
    return taken;
  }

  close(): void {
    this.observer.disconnect();
  }
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

const gc = new GcPauses();
const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-streamcost-'));
try {
  const source = await LevelStorage.open(path.join(dir, 'source'));
  for (let from = 0; from < keys; from += loadInFlight) {
    const writes: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(keys, from + loadInFlight); i++) {
      const key = Buffer.from(`stream:${i}`);
      const sibling: Sibling = { value: randomBytes(valueBytes), dot: { actor: 'n1#1', counter: i + 1 }, past: [], timestamp: Date.now() };
      writes.push(source.update(key, tokenOf(key), () => [sibling]));
    }
    await Promise.all(writes);
  }
  // Out of the record cache, as on a node whose cache the workload holds.
  await source.close();
  const reopened = await LevelStorage.open(path.join(dir, 'source'));

  await gc.take();
  const pages: Buffer[] = [];
  const sourceDelay = monitorEventLoopDelay({ resolution: 1 });
  sourceDelay.enable();
  let cpu = process.cpuUsage();
  let started = performance.now();
  let cursor = { fromSpan: 0, fromToken: 0n };
  const spans = [{ first: 0n, last: tokenMax }];
  for (;;) {
    const page = await readSpans(reopened, spans, cursor.fromSpan, cursor.fromToken, rangePageBytesDefault);
    pages.push(encodeRangeRecordsReply({ ...page, load: noLoad }));
    if (page.done) break;
    cursor = { fromSpan: page.nextSpan, fromToken: page.nextToken };
  }
  const bytes = pages.reduce((sum, p) => sum + p.length, 0);
  const sourceCpuMs = cpuMs(cpu);
  const sourceWallMs = performance.now() - started;
  sourceDelay.disable();
  const sourceGc = await gc.take();
  await reopened.close();

  const sliceRecords = Number(process.env.STREAM_COST_SLICE ?? applySliceRecords);
  const receiver = await LevelStorage.open(path.join(dir, 'receiver'));
  const apply = (key: Buffer, siblings: readonly Sibling[]) => receiver.update(key, undefined, (current) => foldVersions(current, siblings));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const probes: number[] = [];
  const probeValue = randomBytes(valueBytes);
  let probesSent = 0;
  const probe = setInterval(() => {
    const n = ++probesSent;
    const key = Buffer.from(`probe:${n}`);
    const sentMs = performance.now();
    const sibling: Sibling = { value: probeValue, dot: { actor: 'n2#1', counter: n }, past: [], timestamp: Date.now() };
    void receiver.update(key, undefined, () => [sibling]).then(() => probes.push(performance.now() - sentMs));
  }, probeIntervalMs);
  cpu = process.cpuUsage();
  started = performance.now();
  let pagesFolded = 0;
  for (const payload of pages) {
    await applyPage(decodeRangeRecordsReply(payload).entries, apply, undefined, sliceRecords);
    // Paced as a joiner's throttle would: the next page when this one's bytes are due at the rate.
    if (paceMbPerSec > 0) await sleepMs(started + ((pagesFolded += payload.length) / 1e3 / paceMbPerSec) - performance.now());
  }
  clearInterval(probe);
  delay.disable();
  const receiverGc = await gc.take();
  const longestMs = delay.max / 1e6;
  const p99Ms = delay.percentile(99) / 1e6;
  const receiverCpuMs = cpuMs(cpu);
  const receiverWallMs = performance.now() - started;
  const filter = receiver.filterUsage();
  await receiver.close();
  probes.sort((a, b) => a - b);
  const probeAt = (q: number) => (probes.length === 0 ? Number.NaN : probes[Math.min(probes.length - 1, Math.ceil(q * probes.length) - 1)]!);

  const mb = bytes / 1e6;
  const line = (side: string, ms: number, wall: number) =>
    `${side}: ${(ms / mb).toFixed(2)} ms CPU per MB (${(mb / (ms / 1000)).toFixed(1)} MB per CPU-second), wall ${(mb / (wall / 1000)).toFixed(1)} MB/s`;
  console.log(`${keys} records of ${valueBytes} B, ${mb.toFixed(1)} MB in ${pages.length} pages; receiver folds ${sliceRecords} records per slice${paceMbPerSec > 0 ? `, paced at ${paceMbPerSec} MB/s` : ''}`);
  console.log(line('source (read + encode)', sourceCpuMs, sourceWallMs));
  console.log(line('receiver (decode + fold + write)', receiverCpuMs, receiverWallMs));
  const pauses = (p: { totalMs: number; longestMs: number }) => `GC pauses ${(p.totalMs / mb).toFixed(2)} ms per MB, longest ${p.longestMs.toFixed(1)} ms`;
  console.log(`source: event-loop delay p99 ${(sourceDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(sourceDelay.max / 1e6).toFixed(1)} ms; ${pauses(sourceGc)}`);
  console.log(`receiver: event-loop delay p99 ${p99Ms.toFixed(1)} ms, max ${longestMs.toFixed(1)} ms; LevelDB reads skipped by the key filter ${filter.readsSkipped}; ${pauses(receiverGc)}`);
  console.log(`receiver: a probe write meanwhile took p50 ${probeAt(0.5).toFixed(1)} ms, p99 ${probeAt(0.99).toFixed(1)} ms, max ${probeAt(1).toFixed(1)} ms to durable (${probes.length} probes)`);
} finally {
  gc.close();
  rmSync(dir, { recursive: true, force: true });
}
