// Who listens to what on this node: channel and glob-pattern subscriptions,
// both ways round — subscribers by channel or pattern, so a PUBLISH finds its
// receivers, and channels and patterns by subscriber, so UNSUBSCRIBE without
// arguments and a closing connection let go of everything. Pure bookkeeping
// over opaque subscriber objects (a connection, in practice): no I/O, no
// replies, so every rule is tested on its own (test/unit/pubsub-registry).
//
// As Redis (pubsub.c): a subscriber holds a channel or pattern at most once
// (subscribing again changes nothing), its count is channels plus patterns,
// a channel delivers to its subscribers and then to every pattern that
// matches it (a subscriber holding both gets the message twice), and NUMPAT
// counts distinct patterns, not subscriptions. Names are bytes: a Buffer is
// keyed by its latin1 string, which maps each byte to one char and back.

import { globMatch } from '../commands/glob.js';

/** One receiver of a published message: by channel (pattern undefined) or by the pattern that matched. */
export interface Receiver<S> {
  readonly subscriber: S;
  readonly pattern: Buffer | undefined;
}

/** A subscribe or unsubscribe step: the name it was about and the subscriber's count after it. */
export interface SubscriptionStep {
  readonly name: Buffer;
  /** Channels plus patterns the subscriber holds after the step, as Redis's replies show. */
  readonly count: number;
}

/** A channel or pattern and who holds it; gone once no one does. */
interface Subscribed<S> {
  readonly name: Buffer;
  readonly subscribers: Set<S>;
}

interface Held {
  readonly channels: Map<string, Buffer>;
  readonly patterns: Map<string, Buffer>;
}

function keyOf(name: Buffer): string {
  return name.toString('latin1');
}

export class SubscriptionRegistry<S> {
  private readonly byChannel = new Map<string, Subscribed<S>>();
  private readonly byPattern = new Map<string, Subscribed<S>>();
  private readonly held = new Map<S, Held>();

  /** Channels with at least one subscriber (INFO pubsub_channels). */
  get channelCount(): number {
    return this.byChannel.size;
  }

  /** Distinct patterns with at least one subscriber (INFO pubsub_patterns, PUBSUB NUMPAT). */
  get patternCount(): number {
    return this.byPattern.size;
  }

  /** Subscribers holding at least one channel or pattern. */
  get subscriberCount(): number {
    return this.held.size;
  }

  /** Channels plus patterns `subscriber` holds. */
  countOf(subscriber: S): number {
    const held = this.held.get(subscriber);
    return held === undefined ? 0 : held.channels.size + held.patterns.size;
  }

  channelCountOf(subscriber: S): number {
    return this.held.get(subscriber)?.channels.size ?? 0;
  }

  patternCountOf(subscriber: S): number {
    return this.held.get(subscriber)?.patterns.size ?? 0;
  }

  subscribe(subscriber: S, channel: Buffer): SubscriptionStep {
    const key = keyOf(channel);
    const held = this.holding(subscriber);
    if (!held.channels.has(key)) {
      held.channels.set(key, channel);
      add(this.byChannel, key, channel, subscriber);
    }
    return { name: channel, count: held.channels.size + held.patterns.size };
  }

  psubscribe(subscriber: S, pattern: Buffer): SubscriptionStep {
    const key = keyOf(pattern);
    const held = this.holding(subscriber);
    if (!held.patterns.has(key)) {
      held.patterns.set(key, pattern);
      add(this.byPattern, key, pattern, subscriber);
    }
    return { name: pattern, count: held.channels.size + held.patterns.size };
  }

  unsubscribe(subscriber: S, channel: Buffer): SubscriptionStep {
    const key = keyOf(channel);
    const held = this.held.get(subscriber);
    if (held?.channels.delete(key) === true) {
      remove(this.byChannel, key, subscriber);
      this.forgetIfEmpty(subscriber, held);
    }
    return { name: channel, count: this.countOf(subscriber) };
  }

  punsubscribe(subscriber: S, pattern: Buffer): SubscriptionStep {
    const key = keyOf(pattern);
    const held = this.held.get(subscriber);
    if (held?.patterns.delete(key) === true) {
      remove(this.byPattern, key, subscriber);
      this.forgetIfEmpty(subscriber, held);
    }
    return { name: pattern, count: this.countOf(subscriber) };
  }

  /** The channels `subscriber` holds, in the order it subscribed. */
  channelsOf(subscriber: S): Buffer[] {
    return [...(this.held.get(subscriber)?.channels.values() ?? [])];
  }

  /** The patterns `subscriber` holds, in the order it subscribed. */
  patternsOf(subscriber: S): Buffer[] {
    return [...(this.held.get(subscriber)?.patterns.values() ?? [])];
  }

  /** Drops every subscription of `subscriber` (its connection closed). */
  drop(subscriber: S): void {
    for (const channel of this.channelsOf(subscriber)) this.unsubscribe(subscriber, channel);
    for (const pattern of this.patternsOf(subscriber)) this.punsubscribe(subscriber, pattern);
  }

  /** Who gets a message published on `channel`: its subscribers, then each matching pattern's. */
  receivers(channel: Buffer): Receiver<S>[] {
    const out: Receiver<S>[] = [];
    const direct = this.byChannel.get(keyOf(channel));
    if (direct !== undefined) for (const subscriber of direct.subscribers) out.push({ subscriber, pattern: undefined });
    for (const { name: pattern, subscribers } of this.byPattern.values()) {
      if (!globMatch(pattern, channel)) continue;
      for (const subscriber of subscribers) out.push({ subscriber, pattern });
    }
    return out;
  }

  /** Active channels matching `pattern` (all without one), as PUBSUB CHANNELS lists them. */
  channels(pattern: Buffer | undefined): Buffer[] {
    const out: Buffer[] = [];
    for (const { name } of this.byChannel.values()) if (pattern === undefined || globMatch(pattern, name)) out.push(name);
    return out;
  }

  /** Subscribers of `channel` by name, patterns not counted (PUBSUB NUMSUB). */
  numsub(channel: Buffer): number {
    return this.byChannel.get(keyOf(channel))?.subscribers.size ?? 0;
  }

  /** The distinct patterns subscribed to, in the order they first were. */
  patterns(): Buffer[] {
    return [...this.byPattern.values()].map((entry) => entry.name);
  }

  private holding(subscriber: S): Held {
    let held = this.held.get(subscriber);
    if (held === undefined) this.held.set(subscriber, (held = { channels: new Map(), patterns: new Map() }));
    return held;
  }

  private forgetIfEmpty(subscriber: S, held: Held): void {
    if (held.channels.size === 0 && held.patterns.size === 0) this.held.delete(subscriber);
  }
}

function add<S>(index: Map<string, Subscribed<S>>, key: string, name: Buffer, subscriber: S): void {
  let entry = index.get(key);
  if (entry === undefined) index.set(key, (entry = { name, subscribers: new Set() }));
  entry.subscribers.add(subscriber);
}

function remove<S>(index: Map<string, Subscribed<S>>, key: string, subscriber: S): void {
  const entry = index.get(key)!;
  entry.subscribers.delete(subscriber);
  if (entry.subscribers.size === 0) index.delete(key);
}
