// The responder side of an anti-entropy exchange (exchange.ts is the
// initiator): answers a peer's TreeLevel, LeafEntries, RecordsGet and
// RecordsPut from this node's trees and records, through the same
// LocalReplica seam the initiator uses. Every reply keeps to the wire bounds
// (messages.ts): a leaf listing or a records reply stops past its byte target
// and says so, and the initiator asks again for the rest. Stateless between
// requests, so a lost reply or a peer that gives up costs nothing here.

import type { Sibling } from '../clock/types.js';
import { recordEntryBytes } from '../clock/record-entries.js';
import { CodecError } from '../peer/codec.js';
import { frameBytesMax, frameHeaderBytes } from '../peer/frame.js';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage } from '../peer/transport.js';
import { ExchangeError, type LocalReplica } from './exchange.js';
import {
  decodeLeafEntries,
  decodeRecordsGet,
  decodeRecordsPut,
  decodeTreeLevel,
  encodeLeafEntriesReply,
  encodeRecordsGetReply,
  encodeRecordsPutAck,
  encodeTreeLevelReply,
  leafEntriesReplyBytesTarget,
  leafListingBytes,
  recordsBytesTarget,
  type LeafListing,
} from './messages.js';

/** What a reply's payload may take: a whole frame less its header. */
const replyBytesMax = frameBytesMax - frameHeaderBytes;
/** Bytes of a LeafEntriesReply or RecordsGetReply before its listings or records. */
const replyHeadBytes = 3;

export class ExchangeService {
  constructor(private readonly local: LocalReplica) {}

  /** True for the message types this service answers. */
  static handles(type: number): boolean {
    return type === MessageType.TreeLevel || type === MessageType.LeafEntries || type === MessageType.RecordsGet || type === MessageType.RecordsPut;
  }

  async handle(_from: string, message: PeerMessage): Promise<PeerMessage> {
    switch (message.type) {
      case MessageType.TreeLevel:
        return { type: MessageType.TreeLevelReply, payload: this.treeLevel(message.payload) };
      case MessageType.LeafEntries:
        return { type: MessageType.LeafEntriesReply, payload: await this.leafEntries(message.payload) };
      case MessageType.RecordsGet:
        return { type: MessageType.RecordsGetReply, payload: await this.recordsGet(message.payload) };
      case MessageType.RecordsPut:
        return { type: MessageType.RecordsPutAck, payload: await this.recordsPut(message.payload) };
      default:
        throw new Error(`exchange service does not handle message type ${message.type}`);
    }
  }

  private treeLevel(payload: Buffer): Buffer {
    const { tree: treeId, level, indices } = decodeTreeLevel(payload);
    const tree = this.local.tree(treeId);
    if (tree === undefined) return encodeTreeLevelReply(undefined);
    // The decoder bounds indices by their level; the level is bounded by this tree's depth here.
    if (level > tree.depth) throw new CodecError(`TreeLevel: level ${level} below the leaves of a depth-${tree.depth} tree`);
    return encodeTreeLevelReply(tree.encodeNodeHashes(level, indices));
  }

  /** The listings of the leaves asked, in order, each whole, stopping once past the reply's byte target. */
  private async leafEntries(payload: Buffer): Promise<Buffer> {
    const { tree: treeId, leaves } = decodeLeafEntries(payload);
    const tree = this.local.tree(treeId);
    if (tree === undefined) return encodeLeafEntriesReply({ found: false, leaves: [] });
    const last = leaves[leaves.length - 1]!;
    if (last >= tree.leafCount) throw new CodecError(`LeafEntries: leaf ${last} beyond a tree of ${tree.leafCount} leaves`);
    const listed: LeafListing[] = [];
    let bytes = replyHeadBytes;
    for (const leaf of leaves) {
      if (listed.length > 0 && bytes >= leafEntriesReplyBytesTarget) break;
      const entries = await this.local.leafEntries(treeId, leaf);
      bytes += leafListingBytes(entries);
      if (bytes > replyBytesMax) {
        // At least one leaf goes per reply, each whole: one that cannot fit stops this exchange (64 MiB of keys in 1/65,536 of a replica set's keys).
        if (listed.length === 0) throw new ExchangeError('EXCHANGE_TOO_LARGE', `leaf ${leaf} of tree ${treeId} lists more than a frame holds`);
        break;
      }
      listed.push({ leaf, entries });
    }
    const truncated = listed.length < leaves.length;
    return encodeLeafEntriesReply(truncated ? { found: true, leaves: listed, truncatedAfterLeaf: listed[listed.length - 1]!.leaf } : { found: true, leaves: listed });
  }

  /** The records of a prefix of the keys asked: at least one, then as many as stay within the byte target. */
  private async recordsGet(payload: Buffer): Promise<Buffer> {
    const keys = decodeRecordsGet(payload);
    const records = await this.local.records(keys);
    const sent: Sibling[][] = [];
    let bytes = replyHeadBytes;
    for (let i = 0; i < keys.length; i++) {
      // recordEntryBytes counts the key too: a slight overestimate that keeps the rule in one place.
      const recordBytes = recordEntryBytes(keys[i]!, records[i]!);
      if (sent.length > 0 && bytes + recordBytes > recordsBytesTarget) break;
      bytes += recordBytes;
      if (bytes > replyBytesMax) throw new ExchangeError('EXCHANGE_TOO_LARGE', 'a record larger than a frame');
      sent.push(records[i]!);
    }
    return encodeRecordsGetReply(sent);
  }

  /** Folds each whole record through the one merge path; acks once all are stored. */
  private async recordsPut(payload: Buffer): Promise<Buffer> {
    const entries = decodeRecordsPut(payload);
    await Promise.all(entries.map((e) => (e.siblings.length > 0 ? this.local.apply(e.key, e.siblings) : undefined)));
    return encodeRecordsPutAck(entries.length);
  }
}
