// The bridge from command handlers to the coordinator: quorum reads and
// versioned writes with this connection's consistency, and the live view of a
// record that Redis semantics are defined on (one value, or none).

import { causalContext, live, winner } from '../clock/siblings.js';
import type { Sibling, Siblings, VClock } from '../clock/types.js';
import type { PutResult } from '../coordinator/coordinator.js';
import type { Mutation } from '../coordinator/versioning.js';
import type { CommandContext } from './types.js';

export interface KeyState {
  /** Every version the read met, tombstones included. */
  readonly versions: Siblings;
  /** The live value GET returns, if any. */
  readonly current: Sibling | undefined;
  /** What a write superseding everything read must carry. */
  readonly context: VClock;
  readonly now: number;
}

export function readQuorum(ctx: CommandContext): number {
  return ctx.session.r ?? ctx.server.config.r;
}

export function writeQuorum(ctx: CommandContext): number {
  return ctx.session.w ?? ctx.server.config.w;
}

export async function readKey(ctx: CommandContext, key: Buffer): Promise<KeyState> {
  const coordinator = ctx.server.coordinator;
  const versions = await coordinator.get(key, readQuorum(ctx), ctx.session.strict);
  const now = coordinator.now();
  return { versions, current: winner(live(versions, now)), context: causalContext(versions), now };
}

/**
 * The live value GET would return, without the context (no clock merge).
 * Synchronous when the read is (a single-replica key): the GET hot path.
 */
export function readValue(ctx: CommandContext, key: Buffer): Sibling | undefined | Promise<Sibling | undefined> {
  const coordinator = ctx.server.coordinator;
  const versions = coordinator.get(key, readQuorum(ctx), ctx.session.strict);
  if (versions instanceof Promise) return versions.then((v) => winner(live(v, coordinator.now())));
  return winner(live(versions, coordinator.now()));
}

export function writeKey(ctx: CommandContext, key: Buffer, mutation: Mutation, context?: VClock): Promise<PutResult> {
  const strict = ctx.session.strict;
  const options = context === undefined ? { w: writeQuorum(ctx), strict } : { w: writeQuorum(ctx), context, strict };
  return ctx.server.coordinator.put(key, mutation, options);
}

/** A value version keeping `expiresAt` only when set. */
export function valueMutation(value: Buffer, expiresAt: number | undefined): Mutation {
  return expiresAt === undefined ? { kind: 'value', value } : { kind: 'value', value, expiresAt };
}

export const deleteMutation: Mutation = { kind: 'delete' };
