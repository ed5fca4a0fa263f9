// The cluster-wide keyspace: SCAN, KEYS and DBSIZE over every node, each key
// counted once. Storage keeps records in token order, so a page is "keys with
// token ≥ cursor" on every node; the pages are merged, cut where the shortest
// full page ended (nothing beyond it is known from every node yet), and the
// next cursor is the token after the cut. The cursor is a plain 64-bit
// number: valid on any node, and redis-cli reads it with strtoull.
// A key is live when the versions its replicas hold, reconciled, are live —
// so a stale replica's copy of a deleted key is not listed.
//
// Members that do not answer (down, or their page failed) are left out only
// while fewer than N of them are silent: every key has N replicas, so one of
// them answered. From N silent members on, some key may have no answering
// replica, and the walk fails (CLUSTERDOWN at the RESP edge) rather than
// report a keyspace with holes in it.

import { live, reconcile, winner } from '../clock/siblings.js';
import type { TypeName } from '../crdt/kind.js';
import { isRegistered, typeEntry } from '../crdt/registry.js';
import { typedValue } from '../crdt/view.js';
import type { Sibling } from '../clock/types.js';
import { MessageType } from '../peer/message-types.js';
import type { Transport } from '../peer/transport.js';
import type { ScanEntry, Storage } from '../storage/storage.js';
import type { ClusterView } from './cluster-view.js';
import { ClusterUnavailableError } from './errors.js';
import { decodeKeysScanReply, encodeKeysScan, type KeysScanReply } from './messages.js';

export interface ScanResult {
  readonly keys: Buffer[];
  /** Each key's type (its live winner's; absent = string), for SCAN … TYPE. */
  readonly types: ReadonlyMap<Buffer, TypeName>;
  /** 0n when the scan is complete. */
  readonly cursor: bigint;
}

const tokenMax = (1n << 64n) - 1n;
/** Keys per page when counting or listing the whole keyspace: bounds one reply's size. */
export const keyspacePageKeys = 1000;

export class KeyspaceScanner {
  constructor(
    private readonly storage: Storage,
    private readonly view: ClusterView,
    private readonly transport: Transport | undefined,
    /** Read at each request: CONFIG SET may change it (Coordinator.retune). */
    private readonly requestTimeoutMs: () => number,
    private readonly now: () => number,
  ) {}

  async scan(cursor: bigint, count: number): Promise<ScanResult> {
    const pages = await this.fetchPages(cursor, count);
    let cut = tokenMax;
    let more = false;
    for (const page of pages) {
      if (!page.more || page.entries.length === 0) continue;
      more = true;
      const last = page.entries[page.entries.length - 1]!.token;
      if (last < cut) cut = last;
    }
    const merged = new Map<string, { key: Buffer; token: bigint; versions: Sibling[] }>();
    for (const page of pages) {
      for (const entry of page.entries) {
        if (entry.token > cut) break;
        const id = entry.key.toString('latin1');
        const known = merged.get(id);
        if (known === undefined) merged.set(id, { key: entry.key, token: entry.token, versions: entry.siblings });
        else known.versions = reconcile([...known.versions, ...entry.siblings]);
      }
    }
    const now = this.now();
    const types = new Map<Buffer, TypeName>();
    const found = [...merged.values()].filter((e) => {
      const alive = live(e.versions, now);
      const type = winner(alive)?.type;
      if (type !== undefined) types.set(e.key, type);
      // An emptied collection is no key (crdt/registry.ts isEmpty); telling needs its merged state, so a SCAN page decodes the collections it meets.
      if (type !== undefined && isRegistered(type) && typeEntry(type).isEmpty !== undefined) return typedValue(alive) !== undefined;
      return alive.length > 0;
    });
    found.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : Buffer.compare(a.key, b.key)));
    const next = !more || cut === tokenMax ? 0n : cut + 1n;
    return { keys: found.map((e) => e.key), types, cursor: next };
  }

  /** Every live key, page by page. */
  async *all(): AsyncGenerator<Buffer[]> {
    let cursor = 0n;
    do {
      const page = await this.scan(cursor, keyspacePageKeys);
      yield page.keys;
      cursor = page.cursor;
    } while (cursor !== 0n);
  }

  async count(): Promise<number> {
    let total = 0;
    for await (const keys of this.all()) total += keys.length;
    return total;
  }

  async flushAll(): Promise<void> {
    const others = this.others();
    const transport = this.transport;
    const remote = transport === undefined ? [] : others.map((id) =>
      transport.request(this.view.peerAddress(id), { type: MessageType.Flush, payload: Buffer.alloc(0) }, this.requestTimeoutMs(), id));
    const results = await Promise.allSettled([this.storage.clear(), ...remote]);
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) throw new ClusterUnavailableError(`FLUSHALL reached ${results.length - failed} of ${results.length} members`);
  }

  private others(): string[] {
    return this.view.memberIds().filter((id) => id !== this.view.selfId && this.view.isUp(id));
  }

  private async fetchPages(cursor: bigint, count: number): Promise<KeysScanReply[]> {
    const transport = this.transport;
    const local = this.storage.scan(cursor, count);
    const asked = transport === undefined ? [] : this.others();
    const remote = asked.map((id) =>
      transport!
        .request(this.view.peerAddress(id), { type: MessageType.KeysScan, payload: encodeKeysScan({ from: cursor, limit: count }) }, this.requestTimeoutMs(), id)
        .then((reply) => decodeKeysScanReply(reply.payload)));
    const settled = await Promise.allSettled([local, ...remote]);
    if (settled[0]!.status === 'rejected') throw (settled[0] as PromiseRejectedResult).reason;
    const pages: KeysScanReply[] = [];
    const silent = this.view.memberIds().filter((id) => id !== this.view.selfId && !this.view.isUp(id));
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') pages.push(s.value as { entries: ScanEntry[]; more: boolean });
      else silent.push(asked[i - 1]!);
    });
    const n = this.view.replicationFactor();
    if (silent.length >= n) {
      throw new ClusterUnavailableError(
        `keyspace incomplete: ${silent.length} members did not answer (${namesOf(silent)}), and with N=${n} some keys may be held only by them`,
      );
    }
    return pages;
  }
}

/** Member ids for an error message: the first few, so a large cluster's message stays one short line. */
function namesOf(ids: readonly string[]): string {
  const shown = 8;
  return ids.length <= shown ? ids.join(', ') : `${ids.slice(0, shown).join(', ')}, …`;
}
