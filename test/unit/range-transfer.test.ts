// Range transfers (hints/range-messages.ts, range-service.ts): the codecs
// round-trip and refuse malformed bytes with CodecError only; a paged read of
// spans returns every record in them exactly once, in ring order, whatever
// the page budget, and nothing outside them.

import test from 'ava';
import fc from 'fast-check';
import { encodeSiblings } from '../../src/clock/record-codec.js';
import type { Sibling } from '../../src/clock/types.js';
import {
  decodeRangePut,
  decodeRangePutAck,
  decodeRangeRecords,
  decodeRangeRecordsReply,
  encodeRangePut,
  encodeRangePutAck,
  encodeRangeRecords,
  encodeRangeRecordsReply,
} from '../../src/hints/range-messages.js';
import { readSpans } from '../../src/hints/range-service.js';
import { noLoad } from '../../src/hints/load-monitor.js';
import { CodecError } from '../../src/peer/codec.js';
import { tokenSpace } from '../../src/ring/index.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import '../../src/crdt/types.js';
import { add, emptySet, setType } from '../../src/crdt/set.js';
import { extendChain, setChainLimits } from '../../src/crdt/value-chain.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tokenOf } from '../../src/storage/keys.js';

function value(v: string, counter: number): Sibling[] {
  return [{ value: Buffer.from(v), dot: { actor: 'a', counter }, past: [], timestamp: 1 }];
}

test('RangeRecords and its reply round-trip', (t) => {
  const spans = [{ first: 0n, last: 10n }, { first: 20n, last: tokenSpace - 1n }];
  const request = { spans, fromSpan: 1, fromToken: 25n, bytesMax: 4096 };
  t.deepEqual(decodeRangeRecords(encodeRangeRecords(request)), request);
  const entries = [{ key: Buffer.from('k1'), siblings: value('v1', 1) }, { key: Buffer.from(''), siblings: value('', 2) }];
  const load = { delayMs: 12.345, baselineMs: 3.5 };
  const reply = decodeRangeRecordsReply(encodeRangeRecordsReply({ entries, done: false, nextSpan: 1, nextToken: 99n, load }));
  t.false(reply.done);
  t.is(reply.nextSpan, 1);
  t.is(reply.nextToken, 99n);
  t.deepEqual(reply.load, load, 'the source\'s load, to the microsecond');
  t.deepEqual(reply.entries.map((e) => [e.key.toString(), encodeSiblings(e.siblings).toString('hex')]),
    entries.map((e) => [e.key.toString(), encodeSiblings(e.siblings).toString('hex')]));
  t.is(decodeRangePut(encodeRangePut(entries)).length, 2);
  t.deepEqual(decodeRangePutAck(encodeRangePutAck({ folded: 2, load: { delayMs: 0.001, baselineMs: 0 } })), { folded: 2, load: { delayMs: 0.001, baselineMs: 0 } });
  t.deepEqual(decodeRangePutAck(encodeRangePutAck({ folded: 0, load: { delayMs: 1e9, baselineMs: 0.0004 } })).load, { delayMs: 0xffff_ffff / 1000, baselineMs: 0 },
    'a delay past what a u32 of microseconds holds is reported as the most it holds; under half a microsecond rounds to 0');
});

test('malformed range messages are CodecErrors: spans out of order, empty, a cursor out of range, truncation', (t) => {
  const good = encodeRangeRecords({ spans: [{ first: 0n, last: 10n }], fromSpan: 0, fromToken: 0n, bytesMax: 1024 });
  const outOfOrder = encodeRangeRecords({ spans: [{ first: 0n, last: 10n }, { first: 20n, last: 30n }], fromSpan: 0, fromToken: 0n, bytesMax: 1024 });
  outOfOrder.writeBigUInt64BE(5n, 2 + 16); // second span starts inside the first
  t.throws(() => decodeRangeRecords(outOfOrder), { instanceOf: CodecError });
  const badCursor = Buffer.from(good);
  badCursor.writeUInt16BE(3, 2 + 16);
  t.throws(() => decodeRangeRecords(badCursor), { instanceOf: CodecError });
  const noBudget = Buffer.from(good);
  noBudget.writeUInt32BE(0, good.length - 4);
  t.throws(() => decodeRangeRecords(noBudget), { instanceOf: CodecError });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    for (const decode of [decodeRangeRecords, decodeRangeRecordsReply, decodeRangePut, decodeRangePutAck]) {
      try {
        decode(Buffer.from(bytes));
      } catch (err) {
        if (!(err instanceof CodecError)) return false;
      }
    }
    return true;
  }), { seed: 3, numRuns: 500 });
  t.pass();
});

test('a paged read of spans returns each record in them once, in ring order, whatever the budget', async (t) => {
  const storage = new MemoryStorage();
  const keys = Array.from({ length: 400 }, (_, i) => Buffer.from(`key:${i}`));
  for (const [i, key] of keys.entries()) await storage.update(key, undefined, () => value(`v${i}`, i + 1));
  await fc.assert(fc.asyncProperty(
    fc.uniqueArray(fc.bigInt({ min: 0n, max: tokenSpace - 1n }), { minLength: 2, maxLength: 10 }),
    fc.integer({ min: 1, max: 3000 }),
    async (cuts, budget) => {
      const sorted = [...cuts].sort((a, b) => (a < b ? -1 : 1));
      const spans: { first: bigint; last: bigint }[] = [];
      for (let i = 0; i + 1 < sorted.length; i += 2) spans.push({ first: sorted[i]!, last: sorted[i + 1]! });
      const within = (token: bigint) => spans.some((s) => token >= s.first && token <= s.last);
      const want = keys.filter((k) => within(tokenOf(k).readBigUInt64BE(0))).map((k) => k.toString()).sort();
      const got: string[] = [];
      let fromSpan = 0;
      let fromToken = spans[0]!.first;
      let lastToken = -1n;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await readSpans(storage, spans, fromSpan, fromToken, budget);
        for (const e of page.entries) {
          const token = tokenOf(e.key).readBigUInt64BE(0);
          if (token < lastToken) return false;
          lastToken = token;
          got.push(e.key.toString());
        }
        if (page.done) break;
        fromSpan = page.nextSpan;
        fromToken = page.nextToken;
      }
      return got.sort().join() === want.join();
    }), { seed: 5, numRuns: 60 });
  t.pass();
});

test('records read from disk travel as their stored bytes; cached and chained ones are encoded; all decode to what was written', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-range-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plain = Array.from({ length: 50 }, (_, i) => Buffer.from(`plain:${i}`));
  const set = Buffer.from('a-set');
  const limits = setChainLimits({ baseBytesMin: 64, linksMax: 8 });
  t.teardown(() => setChainLimits(limits));
  let storage = await LevelStorage.open(dir);
  for (const [i, key] of plain.entries()) await storage.update(key, undefined, () => value(`v${i}`.repeat(i + 1), i + 1));
  // A set grown member by member: its versions chain onto a base (crdt/value-chain.ts), stored as a record plus links.
  let state = emptySet();
  let previous: Sibling | undefined;
  for (let i = 1; i <= 12; i++) {
    const update = add(state, [Buffer.from(`member-${i}-${'x'.repeat(8)}`)], { actor: 'a', counter: i });
    state = update.state;
    const delta = update.delta;
    // Each version follows the one before it, as a coordinator's does (a chain's links must).
    const fields = { dot: { actor: 'a', counter: i }, past: i === 1 ? [] : [{ actor: 'a', counter: i - 1 }], timestamp: 1, type: 'set' as const };
    const chained = previous === undefined ? undefined : extendChain(previous, fields, setType.encode(delta));
    const version: Sibling = chained ?? { ...fields, value: setType.encode(state) };
    await storage.update(set, undefined, () => [version]);
    previous = version;
  }
  const written = new Map<string, string>();
  for (const key of [...plain, set]) written.set(key.toString(), encodeSiblings(await storage.get(key, undefined)).toString('hex'));
  await storage.close();
  storage = await LevelStorage.open(dir);
  t.teardown(() => storage.close());
  await storage.get(plain[0]!, undefined); // now cached: encoded afresh
  const spans = [{ first: 0n, last: tokenSpace - 1n }];
  const page = await readSpans(storage, spans, 0, 0n, 64 * 1024 * 1024);
  t.true(page.done);
  const sent = new Map(page.entries.map((e) => [e.key.toString(), e]));
  t.is(sent.size, plain.length + 1);
  t.is(sent.get(plain[0]!.toString())!.encoded, undefined, 'a cached record is encoded from its siblings');
  t.is(sent.get(set.toString())!.encoded, undefined, 'a chained record is encoded from its replayed version');
  t.true(plain.slice(1).every((k) => sent.get(k.toString())!.encoded !== undefined), 'the others are sent as stored');
  const received = decodeRangeRecordsReply(encodeRangeRecordsReply({ ...page, load: noLoad })).entries;
  t.deepEqual(Object.fromEntries(received.map((e) => [e.key.toString(), encodeSiblings(e.siblings).toString('hex')])), Object.fromEntries(written));
});
