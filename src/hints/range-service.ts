// The serving side of range transfers (range-transfer.ts is the asking side):
// answers a RangeRecords with a page of this node's records in the spans
// asked, read from storage in ring order and cut at a token boundary past the
// byte budget, and folds a RangePut's records into this node's own through
// the one merge path. Stateless between requests: the asker carries the
// cursor, so a lost reply, a restart on either side, or an asker that gives
// up costs nothing here. Each answer carries this node's load (load-monitor.ts),
// which the asker paces the stream by.

import type { Sibling } from '../clock/types.js';
import { frameBytesMax, frameHeaderBytes } from '../peer/frame.js';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage } from '../peer/transport.js';
import type { Storage } from '../storage/storage.js';
import { noLoad, type LoadReport, type StreamLoad } from './load-monitor.js';
import {
  decodeRangePut,
  decodeRangeRecords,
  encodeRangePutAck,
  encodeRangeRecordsReply,
  entryBytes,
  type RangeRecordsReply,
  type RecordEntry,
  type TokenSpan,
} from './range-messages.js';

/** Records read from storage per scan step: small enough that a page overshoots its budget by little. */
export const rangeScanStepRecords = 256;
/** A reply must fit a frame with room for its head, whatever budget the asker named. */
const replyBytesMax = frameBytesMax - frameHeaderBytes - 64;

export interface RangeServiceOptions {
  readonly storage: Storage;
  /** Folds a whole record into the local one (Coordinator.applyLocal). */
  readonly apply: (key: Buffer, siblings: readonly Sibling[]) => Promise<unknown>;
  /** This node's load monitor: each page served or folded marks its window as streaming, and its report goes back. */
  readonly load?: StreamLoad;
}

export class RangeService {
  /** Records and bytes served and folded, for INFO. */
  readonly stats = { recordsServed: 0, bytesServed: 0, recordsFolded: 0 };

  constructor(private readonly options: RangeServiceOptions) {}

  static handles(type: number): boolean {
    return type === MessageType.RangeRecords || type === MessageType.RangePut;
  }

  async handle(_from: string, message: PeerMessage): Promise<PeerMessage> {
    if (message.type === MessageType.RangeRecords) {
      return { type: MessageType.RangeRecordsReply, payload: encodeRangeRecordsReply(await this.page(message.payload)) };
    }
    const entries = decodeRangePut(message.payload);
    this.options.load?.markStreaming();
    await Promise.all(entries.map((e) => this.options.apply(e.key, e.siblings)));
    this.stats.recordsFolded += entries.length;
    return { type: MessageType.RangePutAck, payload: encodeRangePutAck({ folded: entries.length, load: this.load() }) };
  }

  private async page(payload: Buffer): Promise<RangeRecordsReply> {
    const request = decodeRangeRecords(payload);
    this.options.load?.markStreaming();
    const page = await readSpans(this.options.storage, request.spans, request.fromSpan, request.fromToken, Math.min(request.bytesMax, replyBytesMax));
    this.stats.recordsServed += page.entries.length;
    this.stats.bytesServed += page.bytes;
    return { ...page, load: this.load() };
  }

  private load(): LoadReport {
    // Marked again at the answer: a page read across a window's end streamed in both.
    this.options.load?.markStreaming();
    return this.options.load?.report() ?? noLoad;
  }
}

/**
 * Reads this node's records in `spans` (ascending, disjoint) from the cursor
 * (span index, first token wanted) until about `budget` bytes, ending on a
 * token boundary; `done` once nothing of any span remains.
 */
export async function readSpans(
  storage: Storage, spans: readonly TokenSpan[], fromSpan: number, fromToken: bigint, budget: number,
): Promise<Omit<RangeRecordsReply, 'load'> & { bytes: number }> {
  const entries: RecordEntry[] = [];
  let bytes = 0;
  let span = fromSpan;
  let from = fromToken < spans[span]!.first ? spans[span]!.first : fromToken;
  while (span < spans.length && bytes < budget) {
    const { last } = spans[span]!;
    if (from <= last) {
      const page = await storage.scanSpan(from, last, rangeScanStepRecords);
      for (const entry of page.entries) {
        const out: RecordEntry = { key: entry.key, siblings: entry.siblings, encoded: entry.encoded };
        entries.push(out);
        bytes += entryBytes(out);
      }
      // scanSpan ends pages on a token boundary: resume just past its last token.
      from = page.more ? page.entries[page.entries.length - 1]!.token + 1n : last + 1n;
    }
    // Past this span's end (or the top of the ring): on to the next span.
    while (span < spans.length && from > spans[span]!.last) {
      span++;
      if (span < spans.length) from = spans[span]!.first;
    }
  }
  const done = span >= spans.length;
  return { entries, bytes, done, nextSpan: done ? 0 : span, nextToken: done ? 0n : from };
}
