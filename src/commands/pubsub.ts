// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB with
// Redis 7's replies (pubsub.c), over the node's Pub/Sub (pubsub/broker.ts),
// which delivers across the cluster. A (un)subscribe answers one
// confirmation per channel or pattern — a push in RESP3, an array in RESP2 —
// carrying the connection's count of subscriptions after it; the connection
// (resp/connection.ts) keeps a RESP2 subscriber to the commands Redis allows
// it and delivers the messages.
//
// Sharded Pub/Sub (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH) is refused: its point
// is to keep a channel's traffic on the shard that owns its slot, and ringkv
// has no shards — every node hears every channel, so SUBSCRIBE and PUBLISH
// already do what a client would use it for. PUBSUB SHARDCHANNELS and
// SHARDNUMSUB answer truthfully that there are none.

import { PushReply, ReplySequence, type Reply } from '../resp/reply.js';
import { upper } from './args.js';
import { helpReply } from './object.js';
import { CommandError, type CommandContext } from './types.js';
import type { SubscriptionStep } from '../pubsub/registry.js';

type Kind = 'subscribe' | 'unsubscribe' | 'psubscribe' | 'punsubscribe';

function confirmation(kind: Kind, step: SubscriptionStep): PushReply {
  return new PushReply([kind, step.name, step.count]);
}

/** The session's counts follow the registry, for CLIENT LIST and the RESP2 subscribed context. */
function syncSession(ctx: CommandContext): void {
  const registry = ctx.server.pubsub.registry;
  ctx.session.subscribedChannels = registry.channelCountOf(ctx.subscriber);
  ctx.session.subscribedPatterns = registry.patternCountOf(ctx.subscriber);
}

function subscribe(ctx: CommandContext, args: Buffer[]): Reply {
  const registry = ctx.server.pubsub.registry;
  const replies = args.slice(1).map((channel) => confirmation('subscribe', registry.subscribe(ctx.subscriber, channel)));
  syncSession(ctx);
  return new ReplySequence(replies);
}

function psubscribe(ctx: CommandContext, args: Buffer[]): Reply {
  const registry = ctx.server.pubsub.registry;
  const replies = args.slice(1).map((pattern) => confirmation('psubscribe', registry.psubscribe(ctx.subscriber, pattern)));
  syncSession(ctx);
  return new ReplySequence(replies);
}

/**
 * Without arguments: every channel held, one confirmation each — or, holding
 * none, one confirmation with a nil name, as Redis answers. Unsubscribing a
 * channel not held is confirmed too, with the count unchanged.
 */
function unsubscribe(ctx: CommandContext, args: Buffer[]): Reply {
  const registry = ctx.server.pubsub.registry;
  const channels = args.length > 1 ? args.slice(1) : registry.channelsOf(ctx.subscriber);
  const replies = channels.map((channel) => confirmation('unsubscribe', registry.unsubscribe(ctx.subscriber, channel)));
  if (replies.length === 0) replies.push(new PushReply(['unsubscribe', null, registry.countOf(ctx.subscriber)]));
  syncSession(ctx);
  return new ReplySequence(replies);
}

function punsubscribe(ctx: CommandContext, args: Buffer[]): Reply {
  const registry = ctx.server.pubsub.registry;
  const patterns = args.length > 1 ? args.slice(1) : registry.patternsOf(ctx.subscriber);
  const replies = patterns.map((pattern) => confirmation('punsubscribe', registry.punsubscribe(ctx.subscriber, pattern)));
  if (replies.length === 0) replies.push(new PushReply(['punsubscribe', null, registry.countOf(ctx.subscriber)]));
  syncSession(ctx);
  return new ReplySequence(replies);
}

/** Drops every subscription of the connection without confirmations (RESET, as Redis's). */
export function unsubscribeAll(ctx: CommandContext): void {
  ctx.server.pubsub.registry.drop(ctx.subscriber);
  syncSession(ctx);
}

function publish(ctx: CommandContext, args: Buffer[]): Reply | Promise<Reply> {
  return ctx.server.pubsub.publish(args[1]!, args[2]!);
}

/** Redis 7's PUBSUB HELP, word for word. */
const pubsubHelp = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

async function pubsub(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const sub = upper(args[1]!);
  const service = ctx.server.pubsub;
  const exactly = (n: number) => {
    if (args.length !== n) throw new CommandError(`ERR wrong number of arguments for 'pubsub|${sub.toLowerCase()}' command`);
  };
  // As Redis: CHANNELS takes at most one pattern, and says so in its older words.
  const atMostPattern = () => {
    if (args.length > 3) throw new CommandError(`ERR unknown subcommand or wrong number of arguments for '${args[1]!.toString('utf8')}'. Try PUBSUB HELP.`);
  };
  switch (sub) {
    case 'CHANNELS':
      atMostPattern();
      return service.channels(args[2]);
    case 'NUMSUB': {
      const channels = args.slice(2);
      const counts = await service.numsub(channels);
      return channels.flatMap((channel, i) => [channel, counts[i]!]);
    }
    case 'NUMPAT':
      exactly(2);
      return service.numpat();
    case 'SHARDCHANNELS':
      atMostPattern();
      return [];
    case 'SHARDNUMSUB':
      return args.slice(2).flatMap((channel) => [channel, 0]);
    case 'HELP':
      exactly(2);
      return helpReply(pubsubHelp);
    default:
      throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try PUBSUB HELP.`);
  }
}

function sharded(name: string): () => Reply {
  return () => {
    throw new CommandError(`ERR ${name} is not supported: ringkv has no shards, and every node hears every channel; use ${name === 'SPUBLISH' ? 'PUBLISH' : name.slice(1)}, which reaches subscribers on every node`);
  };
}

export const pubsubCommands = {
  subscribe, unsubscribe, psubscribe, punsubscribe, publish, pubsub,
  ssubscribe: sharded('SSUBSCRIBE'), sunsubscribe: sharded('SUNSUBSCRIBE'), spublish: sharded('SPUBLISH'),
};
