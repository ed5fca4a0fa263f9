// The replica side of the peer protocol: what a node does when another node,
// as coordinator, sends it a key's versions, asks for its record, forwards a
// client write, or pages through its keys. One handler per message type.

import { decodeReplicaDeltaPut, decodeReplicaGet, decodeReplicaPut, encodeReplicaDeltaPutReply, encodeReplicaGetReply } from './replica-messages.js';
import { MessageType } from '../peer/message-types.js';
import type { PeerMessage } from '../peer/transport.js';
import { tokenOf } from '../storage/keys.js';
import type { Coordinator } from './coordinator.js';
import { NotReplicaError } from './errors.js';
import { decodeCoordinatePut, decodeKeysScan, encodeCoordinatePutReply, encodeKeysScanReply, type CoordinatePutRequest } from './messages.js';

const empty = Buffer.alloc(0);
/**
 * Forwarded operations remembered, to answer a duplicate of one (the network
 * may deliver a request twice, within a few delays) without applying it
 * again. A few thousand cover far more operations than arrive in the seconds
 * a duplicate can trail its original; past it the oldest is forgotten.
 */
export const recentOperationsMax = 4096;
/** A remote page request asks for at most this many keys: bounds the reply. */
const scanPageKeysMax = 10_000;

export class ReplicaService {
  /** Forwarded operations by id (hex), with their reply: answered again, never applied again. */
  private readonly recentOperations = new Map<string, Promise<PeerMessage>>();

  constructor(private readonly coordinator: Coordinator) {}

  /** True for the message types this service answers. */
  static handles(type: number): boolean {
    return (
      type === MessageType.ReplicaPut ||
      type === MessageType.ReplicaDeltaPut ||
      type === MessageType.ReplicaGet ||
      type === MessageType.CoordinatePut ||
      type === MessageType.KeysScan ||
      type === MessageType.Flush
    );
  }

  async handle(_from: string, message: PeerMessage): Promise<PeerMessage> {
    switch (message.type) {
      case MessageType.ReplicaPut: {
        const { key, siblings, hintFor } = decodeReplicaPut(message.payload);
        // A fallback keeps a hinted write apart from its records, for the primary named.
        if (hintFor !== undefined) await this.coordinator.storeHint(hintFor, key, siblings);
        // No token: storage hashes the key only if it must read the record from disk.
        else await this.coordinator.applyLocal(key, undefined, siblings);
        return { type: MessageType.ReplicaPutAck, payload: empty };
      }
      case MessageType.ReplicaDeltaPut: {
        // A delta is no duplicate-safe operation to remember: its version has a dot, and a version already held is answered 'held' (delta.ts).
        const verdict = await this.coordinator.applyDeltaLocal(decodeReplicaDeltaPut(message.payload));
        return { type: MessageType.ReplicaDeltaPutReply, payload: encodeReplicaDeltaPutReply(verdict) };
      }
      case MessageType.ReplicaGet: {
        const key = decodeReplicaGet(message.payload);
        const record = this.coordinator.localVersions(key, undefined);
        return { type: MessageType.ReplicaGetReply, payload: encodeReplicaGetReply(record) };
      }
      case MessageType.CoordinatePut: {
        const request = decodeCoordinatePut(message.payload);
        if (request.id === undefined) return this.coordinateForwarded(request);
        const id = request.id.toString('hex');
        const seen = this.recentOperations.get(id);
        if (seen !== undefined) return seen;
        const reply = this.coordinateForwarded(request);
        if (this.recentOperations.size >= recentOperationsMax) this.recentOperations.delete(this.recentOperations.keys().next().value!);
        this.recentOperations.set(id, reply);
        return reply;
      }
      case MessageType.KeysScan: {
        const request = decodeKeysScan(message.payload);
        const page = await this.coordinator.storage.scan(request.from, Math.min(request.limit, scanPageKeysMax));
        return { type: MessageType.KeysScanReply, payload: encodeKeysScanReply(page) };
      }
      case MessageType.Flush: {
        await this.coordinator.storage.clear();
        return { type: MessageType.FlushAck, payload: empty };
      }
      default:
        throw new Error(`replica service does not handle message type ${message.type}`);
    }
  }

  /** A client write forwarded by a node outside the key's replicas: coordinated here, its outcome encoded. */
  private async coordinateForwarded(request: CoordinatePutRequest): Promise<PeerMessage> {
    const token = tokenOf(request.key);
    const replicas = this.coordinator.view.preferenceList(request.key, token);
    let outcome: Awaited<ReturnType<Coordinator['coordinatePut']>> | Error;
    // Only a replica of the key mints its versions and counts toward its W —
    // unless every replica is down and the sender asks this node, a fallback, to keep the write as hints.
    const isReplica = replicas.includes(this.coordinator.selfId);
    if (!isReplica && request.fallback !== true) {
      return { type: MessageType.CoordinatePutReply, payload: encodeCoordinatePutReply(new NotReplicaError(this.coordinator.selfId)) };
    }
    try {
      const strict = request.strict === true;
      const options = request.context === undefined ? { w: request.w, strict } : { w: request.w, context: request.context, strict };
      outcome = isReplica
        ? await this.coordinator.coordinatePut(request.key, token, request.mutation, options, replicas)
        : await this.coordinator.coordinateAsFallback(request.key, token, request.mutation, options, replicas);
    } catch (err) {
      outcome = err as Error;
    }
    return { type: MessageType.CoordinatePutReply, payload: encodeCoordinatePutReply(outcome) };
  }
}
