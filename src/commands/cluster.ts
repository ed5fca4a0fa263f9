// ringkv's own commands (README "Conflicts" and "Redis compatibility"): the
// causal context and the siblings of a key, the connection's quorum sizes,
// and the ring.

import { msReply } from './expiry.js';
import { encodeContext } from '../clock/context.js';
import { ceiling, live, versionOrder } from '../clock/siblings.js';
import { tokenOf } from '../storage/keys.js';
import { MapReply, OK, type Reply } from '../resp/reply.js';
import { parseInteger, upper } from './args.js';
import { readKey } from './data.js';
import { typeEntry } from '../crdt/registry.js';
import type { Sibling } from '../clock/types.js';
import { CommandError, type CommandContext, type RepairReport } from './types.js';

async function vclock(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  const state = await readKey(ctx, key);
  if (state.current === undefined) return null;
  return encodeContext(key, state.context);
}

/**
 * SIBLINGS key [WITHVCLOCK] [WITHTYPES]. The values and the context come from
 * ONE quorum read: a context from a second read could cover a version
 * written between the two that the client was never shown, and a write
 * carrying it would silently supersede that version. Each sibling shows as
 * its value (a counter's as its digits); WITHTYPES makes each a pair
 * [type, value], the type as ringkv keeps it (string, counter, …).
 */
async function siblings(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const key = args[1]!;
  let withVclock = false;
  let withTypes = false;
  for (const option of args.slice(2).map(upper)) {
    if (option === 'WITHVCLOCK' && !withVclock) withVclock = true;
    else if (option === 'WITHTYPES' && !withTypes) withTypes = true;
    else throw new CommandError('ERR syntax error');
  }
  const state = await readKey(ctx, key);
  const shown = [...live(state.versions, state.now)].sort(versionOrder);
  const values: Reply[] = shown.map((s) => (withTypes ? [s.type ?? 'string', siblingShown(s)] : siblingShown(s)));
  if (!withVclock) return values;
  return [state.current === undefined ? null : encodeContext(key, state.context), values];
}

/** A sibling as SIBLINGS shows it: a string's bytes, a counter's digits, another type's encoded state. */
function siblingShown(sibling: Sibling): Buffer {
  if (sibling.type === undefined) return sibling.value;
  const entry = typeEntry(sibling.type);
  return entry.stringForm === undefined ? sibling.value : entry.stringForm(entry.convergent.decode(sibling.value));
}

function consistency(ctx: CommandContext, args: Buffer[]): Reply {
  const session = ctx.session;
  const n = ctx.server.config.n;
  if (args.length === 1) {
    return new MapReply([
      ['n', n],
      ['r', session.r ?? ctx.server.config.r],
      ['w', session.w ?? ctx.server.config.w],
      ['strict', session.strict ? 1 : 0],
    ]);
  }
  if (args.length === 2 && upper(args[1]!) === 'DEFAULT') {
    session.r = undefined;
    session.w = undefined;
    session.strict = false;
    return OK;
  }
  const strict = args.length === 4 && upper(args[3]!) === 'STRICT';
  if (args.length !== 3 && !strict) throw new CommandError('ERR syntax error, use CONSISTENCY, CONSISTENCY <r> <w> [STRICT] or CONSISTENCY DEFAULT');
  const r = parseInteger(args[1]!);
  const w = parseInteger(args[2]!);
  if (r === null || w === null || r < 1 || w < 1 || r > n || w > n) {
    throw new CommandError(`ERR R and W must be integers between 1 and N (${n})`);
  }
  session.r = r;
  session.w = w;
  session.strict = strict;
  return OK;
}

function ring(ctx: CommandContext, args: Buffer[]): Reply | Promise<Reply> {
  const sub = upper(args[1]!);
  const cluster = ctx.server.cluster;
  const arity = (n: number) => {
    if (args.length !== n) throw new CommandError(`ERR wrong number of arguments for 'ring|${sub.toLowerCase()}' command`);
  };
  switch (sub) {
    case 'MEMBERS':
      arity(2);
      return cluster.members().map((m) => new MapReply([
        ['id', m.id],
        ['address', `${m.host}:${m.respPort}`],
        ['peer_address', `${m.host}:${m.peerPort}`],
        ['state', m.state],
        ['liveness', m.liveness],
        ['phi', formatPhi(m.phi)],
        ['vnodes', m.vnodes],
        ['ownership', m.ownership.toFixed(4)],
      ]));
    case 'OWNERS':
      arity(3);
      return cluster.owners(args[2]!).map((o) => [o.id, o.state]);
    case 'LOCAL': {
      arity(3);
      const key = args[2]!;
      const stored = ctx.server.coordinator.storage.get(key, tokenOf(key));
      return stored.map((s) => new MapReply([
        ['type', s.type ?? 'string'],
        ['value', s.value],
        ['dot', `${s.dot.actor}:${s.dot.counter}`],
        ['past', s.past.map((e) => `${e.actor}:${e.counter}`).join(',')],
        ['context', encodeContext(key, ceiling(s))],
        ['timestamp', s.timestamp],
        ['expires_at', s.expiresAt === undefined ? -1 : msReply(s.expiresAt)],
        ['deleted', s.deleted ? 1 : 0],
      ]));
    }
    case 'REPAIR':
      return repair(ctx, args);
    case 'REMOVE': {
      arity(3);
      try {
        cluster.remove(args[2]!.toString('utf8'));
      } catch (err) {
        // The membership's refusals (REMOVE_*) are the operator's to read, as they are.
        if ((err as { code?: string }).code?.startsWith('REMOVE_') === true) throw new CommandError(`ERR ${(err as Error).message}`);
        throw err;
      }
      return OK;
    }
    case 'LEAVE':
      arity(2);
      return cluster.leave().then(() => OK, (err: unknown) => {
        // The membership's refusals are the operator's to read, as they are.
        const code = (err as { code?: string }).code ?? '';
        if (code.startsWith('LEAVE_') || code === 'CHANGE_BUSY' || code.startsWith('HANDOFF_')) throw new CommandError(`ERR ${(err as Error).message}`);
        throw err;
      });
    case 'TRANSFER': {
      arity(2);
      const t = cluster.transfer();
      return new MapReply([
        ['operation', t.operation ?? 'none'],
        ['phase', t.phase ?? 'none'],
        ['spans_total', t.spansTotal],
        ['spans_done', t.spansDone],
        ['records', t.records],
        ['bytes', t.bytes],
        ['elapsed_ms', t.operation === undefined ? 0 : (t.finishedAtMs ?? Date.now()) - t.startedAtMs],
        ['note', t.note ?? ''],
        ['rate_bytes_per_sec', Math.round(t.rateBytesPerSec)],
      ]);
    }
    case 'PLAN':
      return plan(ctx, args);
    default:
      throw new CommandError(`ERR unknown subcommand '${args[1]!.toString('utf8')}'. Try RING MEMBERS, RING OWNERS key, RING LOCAL key, RING REPAIR [STATUS], RING REMOVE id, RING LEAVE, RING TRANSFER or RING PLAN JOIN|LEAVE|REMOVE [id].`);
  }
}

/**
 * RING PLAN JOIN [vnodes] | LEAVE [id] | REMOVE id: what the change would
 * move, without doing it — the share of the token space whose replicas
 * change, each flow (from → to, share), each member's share before and after,
 * and estimates of keys and bytes from this node's own records. LEAVE
 * without an id is this node.
 */
async function plan(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const kind = args.length >= 3 ? upper(args[2]!) : '';
  const cluster = ctx.server.cluster;
  let change: { kind: 'join' | 'leave' | 'remove'; id: string; vnodes?: number };
  if (kind === 'JOIN' && args.length <= 4) {
    const vnodes = args.length === 4 ? parseInteger(args[3]!) : ctx.server.config.vnodes;
    if (vnodes === null || vnodes < 1 || vnodes > 4096) throw new CommandError('ERR vnodes must be an integer between 1 and 4096');
    change = { kind: 'join', id: `planned-${Date.now().toString(36)}`, vnodes };
  } else if (kind === 'LEAVE' && args.length <= 4) {
    change = { kind: 'leave', id: args.length === 4 ? args[3]!.toString('utf8') : ctx.server.coordinator.selfId };
  } else if (kind === 'REMOVE' && args.length === 4) {
    change = { kind: 'remove', id: args[3]!.toString('utf8') };
  } else {
    throw new CommandError('ERR syntax error, use RING PLAN JOIN [vnodes], RING PLAN LEAVE [id] or RING PLAN REMOVE id');
  }
  const members = cluster.members();
  if (change.kind !== 'join' && !members.some((m) => m.id === change.id && m.state !== 'left')) throw new CommandError(`ERR no member ${change.id} on the ring`);
  const { plan: p, localRecords, members: owners, recordBytesMean } = await cluster.plan(change);
  const n = ctx.server.config.n;
  // Each node stores about N/M of the keys: this node's count scaled up estimates the cluster's.
  const keysEstimate = owners === 0 ? 0 : Math.round((localRecords * owners) / Math.min(n, owners));
  const keysMoved = Math.round(keysEstimate * p.changedFraction);
  return new MapReply([
    ['change', `${change.kind} ${change.id}`],
    ['changed_share', p.changedFraction.toFixed(4)],
    ['keys_estimate', keysMoved],
    // Each key whose replicas change moves one copy per new replica (the flows sum the shares received).
    ['bytes_estimate', Math.round(keysEstimate * p.flows.reduce((sum, f) => sum + f.fraction, 0) * recordBytesMean)],
    ['flows', p.flows.map((f) => [f.from ?? '-', f.to, f.fraction.toFixed(4)])],
    ['ownership', [...p.ownership].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, o]) => [id, o.before.toFixed(4), o.after.toFixed(4)])],
  ]);
}

/**
 * RING REPAIR: anti-entropy now over every range this node holds; answers
 * once every range agrees with its replicas (the counts), or with an error
 * naming what could not be exchanged. RING REPAIR STATUS: the running (or
 * last) repair's counts, polled by `ringkv repair` for its progress bar.
 */
async function repair(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  const service = ctx.server.repair;
  if (args.length === 3 && upper(args[2]!) === 'STATUS') {
    const report = service?.progress();
    return report === undefined ? new MapReply([]) : repairReply(report);
  }
  if (args.length !== 2) throw new CommandError("ERR wrong number of arguments for 'ring|repair' command");
  if (service === undefined) throw new CommandError('ERR anti-entropy is off on this node (a ring of one has no other replicas)');
  const report = await service.repair();
  if (report.failures.length > 0) {
    throw new CommandError(`ERR repair incomplete: ${report.failures.length} of ${report.ranges} ranges not in sync (${report.failures.slice(0, 3).join('; ')})`);
  }
  return repairReply(report);
}

function repairReply(report: RepairReport): MapReply {
  return new MapReply([
    ['running', report.running ? 1 : 0],
    ['ranges', report.ranges],
    ['ranges_done', report.rangesDone],
    ['keys_compared', report.keysCompared],
    ['records_sent', report.recordsSent],
    ['records_received', report.recordsReceived],
    ['bytes', report.bytes],
    ['elapsed_ms', report.elapsedMs],
    ['failures', report.failures.length],
  ]);
}

/** Phi with 2 decimals; `inf` (Redis's spelling of an infinite float) for a member never heard first-hand. */
export function formatPhi(phi: number): string {
  return Number.isFinite(phi) ? phi.toFixed(2) : 'inf';
}

export const clusterCommands = { vclock, siblings, consistency, ring };
