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
  decodeRangeRecords,
  decodeRangeRecordsReply,
  encodeRangePut,
  encodeRangeRecords,
  encodeRangeRecordsReply,
} from '../../src/hints/range-messages.js';
import { readSpans } from '../../src/hints/range-service.js';
import { CodecError } from '../../src/peer/codec.js';
import { tokenSpace } from '../../src/ring/index.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { tokenOf } from '../../src/storage/keys.js';

function value(v: string, counter: number): Sibling[] {
  return [{ value: Buffer.from(v), dot: { actor: 'a', counter }, past: [], timestamp: 1 }];
}

test('RangeRecords and its reply round-trip', (t) => {
  const spans = [{ first: 0n, last: 10n }, { first: 20n, last: tokenSpace - 1n }];
  const request = { spans, fromSpan: 1, fromToken: 25n, bytesMax: 4096 };
  t.deepEqual(decodeRangeRecords(encodeRangeRecords(request)), request);
  const entries = [{ key: Buffer.from('k1'), siblings: value('v1', 1) }, { key: Buffer.from(''), siblings: value('', 2) }];
  const reply = decodeRangeRecordsReply(encodeRangeRecordsReply({ entries, done: false, nextSpan: 1, nextToken: 99n }));
  t.false(reply.done);
  t.is(reply.nextSpan, 1);
  t.is(reply.nextToken, 99n);
  t.deepEqual(reply.entries.map((e) => [e.key.toString(), encodeSiblings(e.siblings).toString('hex')]),
    entries.map((e) => [e.key.toString(), encodeSiblings(e.siblings).toString('hex')]));
  t.is(decodeRangePut(encodeRangePut(entries)).length, 2);
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
    for (const decode of [decodeRangeRecords, decodeRangeRecordsReply, decodeRangePut]) {
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
