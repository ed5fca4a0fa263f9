// Membership in the simulation: each node's own view of the members' ring
// statuses (joining, normal, leaving, left), changed only by the member
// itself and spread as gossip does — epidemically, each node hearing a change
// a random while after some node it can reach knew it, so a node cut off from
// everyone who knows keeps its stale view until the partition heals. Each
// view gives its node the rings it routes by (ring/ for both), so nodes
// disagree about a change exactly as long as gossip leaves them to.
// Liveness is not modelled here: the world's network is the perfect failure
// detector (world.ts), as for every other part of the simulation.

import type { MemberStatus } from '../../src/membership/state.js';
import type { MemoryNetwork } from '../../src/peer/memory-transport.js';
import { Ring } from '../../src/ring/index.js';
import type { VirtualTime } from './virtual-time.js';

/** A node hears a change this long (at most) after a node it can reach knew it: a few gossip rounds. */
export const gossipDelayMsMax = 600;
/** How often a node cut off from everyone who knows a change looks again. */
const gossipRetryMs = 100;

interface Known {
  readonly status: MemberStatus;
  readonly version: number;
}

export class SimMembership {
  /** What each member last said of itself. */
  private readonly truth = new Map<string, Known>();
  /** Each node's view: member → what it has heard. */
  private readonly views = new Map<string, Map<string, Known>>();
  private readonly rings = new Map<string, { ring: Ring; future: Ring }>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private version = 0;

  constructor(
    private readonly time: VirtualTime,
    private readonly network: MemoryNetwork,
    private readonly tokens: ReadonlyMap<string, readonly bigint[]>,
    private readonly addressOf: (id: string) => string,
    private readonly isRunning: (id: string) => boolean,
    private readonly random: () => number,
    private readonly n: number,
  ) {
    for (const id of tokens.keys()) this.views.set(id, new Map());
  }

  /** Members known from the start (a formed cluster): every view holds them at once. */
  seed(id: string, status: MemberStatus): void {
    const known = { status, version: ++this.version };
    this.truth.set(id, known);
    for (const view of this.views.values()) view.set(id, known);
    this.rings.clear();
  }

  /** What the member itself last said, or undefined before it ever started. */
  statusOf(id: string): MemberStatus | undefined {
    return this.truth.get(id)?.status;
  }

  /** What `viewer` has heard of `id`. */
  viewOf(viewer: string, id: string): MemberStatus | undefined {
    return this.views.get(viewer)!.get(id)?.status;
  }

  /** The member changes its own status: its view at once, the others' as gossip reaches them. */
  set(id: string, status: MemberStatus): void {
    const known = { status, version: ++this.version };
    this.truth.set(id, known);
    this.apply(id, id, known);
    for (const other of this.views.keys()) if (other !== id) this.spread(other, id, known);
  }

  /** A node (re)starting hears the cluster's state at once, as a restarted node's first gossip exchange brings it. */
  restarted(id: string): void {
    for (const [member, known] of this.truth) this.apply(id, member, known);
  }

  /** The ring `viewer` serves by now (normal and leaving members), and the one after the changes it knows of. */
  ringsOf(viewer: string): { ring: Ring; future: Ring } {
    let rings = this.rings.get(viewer);
    if (rings === undefined) {
      const view = this.views.get(viewer)!;
      const members = (owns: (s: MemberStatus) => boolean) =>
        [...view].filter(([, k]) => owns(k.status)).map(([id]) => ({ id, tokens: this.tokens.get(id)! }));
      const ring = Ring.build(members((s) => s === 'normal' || s === 'leaving'), this.n);
      const changing = [...view.values()].some((k) => k.status === 'joining' || k.status === 'leaving');
      rings = { ring, future: changing ? Ring.build(members((s) => s === 'normal' || s === 'joining'), this.n) : ring };
      this.rings.set(viewer, rings);
    }
    return rings;
  }

  /** Members `viewer` knows to be joining or leaving, other than itself. */
  changing(viewer: string): { id: string; status: MemberStatus }[] {
    return [...this.views.get(viewer)!].filter(([id, k]) => id !== viewer && (k.status === 'joining' || k.status === 'leaving'))
      .map(([id, k]) => ({ id, status: k.status }));
  }

  /** Running members other than `id` that `id` can reach and that have not heard its current status. */
  notYetSeenBy(id: string): string[] {
    const mine = this.truth.get(id);
    return [...this.views.keys()].filter((other) =>
      other !== id && this.isRunning(other) && this.network.reachable(this.addressOf(id), this.addressOf(other)) &&
      this.views.get(other)!.get(id)?.version !== mine?.version);
  }

  onChange(viewer: string, listener: () => void): () => void {
    let set = this.listeners.get(viewer);
    if (set === undefined) this.listeners.set(viewer, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private spread(viewer: string, id: string, known: Known): void {
    this.time.setTimeout(() => {
      const current = this.views.get(viewer)!.get(id);
      if (current !== undefined && current.version >= known.version) return;
      // Gossip reaches a node only from a running node that knows, over a link that works.
      const source = [...this.views.keys()].some((other) =>
        other !== viewer && this.isRunning(other) && (this.views.get(other)!.get(id)?.version ?? 0) >= known.version &&
        this.network.reachable(this.addressOf(other), this.addressOf(viewer)));
      // A node that is not running hears everything when it starts again (restarted).
      if (!this.isRunning(viewer)) return;
      if (source) this.apply(viewer, id, known);
      else this.time.setTimeout(() => this.spread(viewer, id, known), gossipRetryMs);
    }, Math.floor(this.random() * gossipDelayMsMax));
  }

  private apply(viewer: string, id: string, known: Known): void {
    const view = this.views.get(viewer)!;
    const current = view.get(id);
    if (current !== undefined && current.version >= known.version) return;
    view.set(id, known);
    this.rings.delete(viewer);
    for (const listener of this.listeners.get(viewer) ?? []) listener();
  }
}
