// The cluster-wide keyspace walk when members do not answer: every key has N
// replicas, so up to N-1 silent members (down, or failing their page) cannot
// hide a key and the walk goes on; from N on, some key may have no answering
// replica, and SCAN/KEYS/DBSIZE must say so rather than silently count less.
// Members are MemoryStorage stores behind a fake transport that serves KeysScan
// the way replica-service.ts does (storage.scan, encoded).

import test from 'ava';
import type { Sibling } from '../../src/clock/types.js';
import type { ClusterView } from '../../src/coordinator/cluster-view.js';
import { ClusterUnavailableError } from '../../src/coordinator/errors.js';
import { KeyspaceScanner } from '../../src/coordinator/keyspace.js';
import { decodeKeysScan, encodeKeysScanReply } from '../../src/coordinator/messages.js';
import { MessageType } from '../../src/peer/message-types.js';
import { PeerError, type PeerMessage, type RequestHandler, type Transport } from '../../src/peer/transport.js';
import { tokenOf } from '../../src/storage/keys.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

const now = 1_000_000;

function sib(value: string): Sibling {
  return { value: Buffer.from(value), dot: { actor: 'w', counter: 1 }, past: [], timestamp: now };
}

interface Fixture {
  readonly scanner: KeyspaceScanner;
  readonly stores: Map<string, MemoryStorage>;
  /** Members whose KeysScan fails (as a timeout would). */
  readonly failing: Set<string>;
  /** Members gossip reports down: not asked at all. */
  readonly down: Set<string>;
}

/** `members` nodes (the first is self), replication factor `n`; `keys` keys, each stored on every member. */
async function cluster(members: number, n: number, keys: number): Promise<Fixture> {
  const ids = Array.from({ length: members }, (_, i) => `n${i + 1}`);
  const stores = new Map(ids.map((id) => [id, new MemoryStorage()]));
  for (let i = 0; i < keys; i++) {
    const key = Buffer.from(`key-${i}`);
    for (const store of stores.values()) await store.update(key, tokenOf(key), () => [sib(`v${i}`)]);
  }
  const failing = new Set<string>();
  const down = new Set<string>();
  const view: ClusterView = {
    selfId: ids[0]!,
    preferenceList: () => ids.slice(0, n),
    isUp: (id) => !down.has(id),
    fallbacks: () => [],
    peerAddress: (id) => `addr-of-${id}`,
    memberIds: () => ids,
    replicationFactor: () => n,
    joined: () => true,
  };
  const transport: Transport = {
    nodeId: ids[0]!,
    listen: async () => undefined,
    setHandler: (_handler: RequestHandler) => undefined,
    close: async () => undefined,
    async request(address: string, message: PeerMessage): Promise<PeerMessage> {
      const id = address.slice('addr-of-'.length);
      if (failing.has(id)) throw new PeerError('PEER_TIMEOUT', `request to ${address} timed out`);
      if (message.type !== MessageType.KeysScan) throw new Error(`unexpected message type ${message.type}`);
      const request = decodeKeysScan(message.payload);
      const page = await stores.get(id)!.scan(request.from, request.limit);
      return { type: MessageType.KeysScanReply, payload: encodeKeysScanReply(page) };
    },
  };
  const scanner = new KeyspaceScanner(stores.get(ids[0]!)!, view, transport, () => 1000, () => now);
  return { scanner, stores, failing, down };
}

test('keyspace › up to N-1 members failing their page still counts every key', async (t) => {
  const f = await cluster(5, 3, 40);
  f.failing.add('n2');
  f.failing.add('n3');
  t.is(await f.scanner.count(), 40);
  f.failing.clear();
  f.down.add('n4');
  f.failing.add('n5');
  t.is(await f.scanner.count(), 40);
});

test('keyspace › N members failing their page fail the walk instead of hiding keys', async (t) => {
  const f = await cluster(5, 3, 40);
  for (const id of ['n2', 'n3', 'n4']) f.failing.add(id);
  const error = await t.throwsAsync(f.scanner.count(), { instanceOf: ClusterUnavailableError });
  t.regex(error!.message, /n2.*n3.*n4/);
  await t.throwsAsync(f.scanner.scan(0n, 10), { instanceOf: ClusterUnavailableError });
});

test('keyspace › down members count as silent too', async (t) => {
  const f = await cluster(5, 3, 40);
  f.down.add('n2');
  f.down.add('n3');
  f.failing.add('n4');
  await t.throwsAsync(f.scanner.count(), { instanceOf: ClusterUnavailableError });
});

test('keyspace › with N=1 any silent member may hide keys', async (t) => {
  const f = await cluster(3, 1, 10);
  f.failing.add('n3');
  await t.throwsAsync(f.scanner.scan(0n, 100), { instanceOf: ClusterUnavailableError });
});
