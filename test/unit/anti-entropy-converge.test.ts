// Three replicas of one replica set (MemoryStorage + TreeKeeper each, linked
// straight into each other's ExchangeService), holding what partitions leave
// behind: concurrent siblings on two replicas and a tombstone on the third.
// Exchanges alone (no read) bring every replica to the one record the merge
// decides, whichever pair goes first; and a tombstone one replica has already
// reaped does not come back from another that still holds it, nor does what
// it deleted.
import test from 'ava';
import pino from 'pino';
import { sameVersions } from '../../src/clock/siblings.js';
import type { Sibling } from '../../src/clock/types.js';
import { ExchangeService } from '../../src/anti-entropy/exchange-service.js';
import { exchange, exchangeThrottle, type LocalReplica, type PeerLink } from '../../src/anti-entropy/exchange.js';
import { localReplica } from '../../src/anti-entropy/local-replica.js';
import { TreeKeeper } from '../../src/anti-entropy/tree-keeper.js';
import { foldVersions } from '../../src/coordinator/versioning.js';
import { Ring } from '../../src/ring/ring.js';
import { generateTokens, splitmix64 } from '../../src/ring/tokens.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

const logger = pino({ level: 'silent' });
const ids = ['a', 'b', 'c'];
const treeId = ids.join(',');
const ring = Ring.build(ids.map((id, i) => ({ id, tokens: generateTokens(id, 64, splitmix64(BigInt(i + 7))) })), 3);

interface Replica {
  readonly storage: MemoryStorage;
  readonly trees: TreeKeeper;
  readonly local: LocalReplica;
  readonly service: ExchangeService;
}

async function replica(id: string): Promise<Replica> {
  const storage = new MemoryStorage();
  const trees = new TreeKeeper({ storage, selfId: id, logger, leafBits: 8 });
  trees.setRing(ring, 3);
  await trees.start();
  const local = localReplica(trees, storage, (key, siblings) => storage.update(key, undefined, (current) => foldVersions(current, siblings)));
  return { storage, trees, local, service: new ExchangeService(local) };
}

function link(to: Replica): PeerLink {
  return { request: async (message) => to.service.handle('peer', message) };
}

async function sync(from: Replica, to: Replica): Promise<void> {
  await exchange({ treeId, local: from.local, peer: link(to), throttle: exchangeThrottle(1e15) });
}

const key = Buffer.from('contested');
const v1: Sibling = { value: Buffer.from('left'), dot: { actor: 'a#1', counter: 1 }, past: [], timestamp: 10 };
const v2: Sibling = { value: Buffer.from('right'), dot: { actor: 'b#1', counter: 1 }, past: [], timestamp: 11 };
/** A delete made having seen v1 only: v2 stays beside it. */
const deletesV1: Sibling = { value: Buffer.alloc(0), dot: { actor: 'c#1', counter: 1 }, past: [{ actor: 'a#1', counter: 1 }], timestamp: 12, deleted: true };
/** A delete made having seen both. */
const deletesBoth: Sibling = { ...deletesV1, dot: { actor: 'c#1', counter: 2 }, past: [{ actor: 'a#1', counter: 1 }, { actor: 'b#1', counter: 1 }] };

for (const [name, tombstone, expected] of [
  ['a tombstone that saw one sibling leaves the other beside it', deletesV1, [v2, deletesV1]],
  ['a tombstone that saw both siblings wins everywhere', deletesBoth, [deletesBoth]],
] as const) {
  for (const order of [['ab', 'bc', 'ca'], ['ca', 'bc', 'ab'], ['bc', 'ab', 'ca']] as const) {
    test(`anti-entropy converge › siblings on two replicas, a tombstone on the third: ${name} (exchanges ${order.join(' ')})`, async (t) => {
      const [a, b, c] = await Promise.all(ids.map(replica)) as [Replica, Replica, Replica];
      t.teardown(() => Promise.all([a, b, c].map((r) => r.trees.stop())));
      await a.storage.update(key, undefined, (cur) => foldVersions(cur, [v1]));
      await b.storage.update(key, undefined, (cur) => foldVersions(cur, [v2]));
      await c.storage.update(key, undefined, (cur) => foldVersions(cur, [tombstone]));
      const byName = { a, b, c };
      // Two passes over the pairs: a fold learned in a later pair reaches the earlier ones.
      for (let pass = 0; pass < 2; pass++) {
        for (const pair of order) await sync(byName[pair[0] as 'a'], byName[pair[1] as 'a']);
      }
      for (const r of [a, b, c]) t.true(sameVersions(r.storage.get(key, undefined), [...expected]), JSON.stringify(r.storage.get(key, undefined).map((s) => s.dot)));
    });
  }
}

test('anti-entropy converge › a tombstone reaped on one replica is not brought back by one that still holds it, nor is what it deleted', async (t) => {
  const [a, b] = await Promise.all([replica('a'), replica('b')]);
  t.teardown(() => Promise.all([a, b].map((r) => r.trees.stop())));
  // Both held v1, then the delete of it; a has since reaped the tombstone (every replica held it), b not yet.
  for (const r of [a, b]) await r.storage.update(key, undefined, (cur) => foldVersions(foldVersions(cur, [v1]), [deletesV1]));
  await a.storage.update(key, undefined, () => []);
  await sync(a, b);
  const held = a.storage.get(key, undefined);
  t.false(held.some((s) => s.deleted !== true), 'no live value came back to a');
  t.false(b.storage.get(key, undefined).some((s) => s.deleted !== true), 'nor to b');
});
