// A node's durable identity: its id and ring tokens, chosen on first start and
// kept in `<dataDir>/identity.json`, so a restarted node comes back as the same
// member owning the same ranges (its data on disk still matches). Each start
// also takes a new generation — the start time in ms, kept strictly above the
// last one used even if the clock stepped back — so peers can tell a restart
// from a stale heartbeat (Cassandra SystemKeyspace.incrementAndGetGeneration).
// The file is replaced atomically (tmp + fsync + rename + fsync dir): a crash
// leaves the old identity or the new one, never half of one.
// It also keeps where the node is in its life on the ring (joining, normal,
// leaving, left), so a restart resumes a join or a leave, and a node that
// left stays out.

import { existsSync } from 'node:fs';
import { open, mkdir, readFile, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { generateTokens } from '../ring/index.js';
import { isNodeId, nodeIdBytesMax } from './node-id.js';
import { memberStatuses, type MemberStatus } from './state.js';

export const identityFileName = 'identity.json';

export interface Identity {
  readonly nodeId: string;
  /** Sorted ring tokens; persisted as decimal strings. */
  readonly tokens: readonly bigint[];
  /** When the identity was first created (ISO 8601). */
  readonly createdAt: string;
  /** This start's generation: ms since the epoch, above every earlier start's. */
  readonly generation: number;
  /** Where the node is on the ring (saveStatus); a node created before statuses were kept is normal. */
  readonly status: MemberStatus;
}

export type IdentityErrorCode =
  | 'IDENTITY_CONFLICT'   // the configuration disagrees with the stored identity
  | 'IDENTITY_CORRUPT'    // identity.json exists but cannot be read as one
  | 'IDENTITY_INVALID';   // a configured node id that cannot be used

export class IdentityError extends Error {
  constructor(readonly code: IdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IdentityError';
  }
}

export interface IdentityOptions {
  readonly dataDir: string;
  /** From `--node-id`; generated (`node-<8 hex>`) when absent on first start. */
  readonly nodeId?: string | undefined;
  readonly vnodes: number;
  readonly nowMs?: number;
  /** Token source, for reproducible tests. */
  readonly randomToken?: () => bigint;
  /** The status of a node created now: `joining` when it will stream its ranges from a cluster first. Normal by default. */
  readonly newStatus?: MemberStatus;
  /** The tokens of a node created now, instead of random ones: a dead member's (`--replace`). */
  readonly newTokens?: readonly bigint[];
}

interface StoredIdentity {
  readonly nodeId: string;
  readonly tokens: readonly string[];
  readonly createdAt: string;
  /** The generation of the latest start. */
  readonly generation: number;
  readonly status?: MemberStatus;
}

/** Loads the identity from the data dir, creating it on first start, and records this start's generation. */
/** Whether the data directory already holds an identity (a node that has started before). */
export function identityExists(dataDir: string): boolean {
  return existsSync(join(dataDir, identityFileName));
}

export async function loadIdentity(options: IdentityOptions): Promise<Identity> {
  const nowMs = options.nowMs ?? Date.now();
  if (options.nodeId !== undefined && !isNodeId(options.nodeId)) {
    throw new IdentityError('IDENTITY_INVALID', `node id ${JSON.stringify(options.nodeId)} must be 1-${nodeIdBytesMax} characters of letters, digits, '.', '_' or '-'`);
  }
  await mkdir(options.dataDir, { recursive: true });
  const path = join(options.dataDir, identityFileName);
  const stored = await readStored(path);
  const base = stored === undefined ? createStored(options, nowMs) : checkStored(stored, options, path);
  const generation = Math.max(nowMs, (stored?.generation ?? 0) + 1);
  const status = base.status ?? 'normal';
  await writeAtomically(path, JSON.stringify({ ...base, generation, status }, null, 2) + '\n');
  return { nodeId: base.nodeId, tokens: base.tokens.map((t) => BigInt(t)), createdAt: base.createdAt, generation, status };
}

/** Records a new status in the identity file (atomically, durably) before the node gossips it. */
export async function saveStatus(dataDir: string, status: MemberStatus): Promise<void> {
  const path = join(dataDir, identityFileName);
  const stored = await readStored(path);
  if (stored === undefined) throw new IdentityError('IDENTITY_CORRUPT', `${path} is missing`);
  await writeAtomically(path, JSON.stringify({ ...stored, status }, null, 2) + '\n');
}

function createStored(options: IdentityOptions, nowMs: number): StoredIdentity {
  const nodeId = options.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  const tokens = options.newTokens ?? generateTokens(nodeId, options.vnodes, options.randomToken);
  return { nodeId, tokens: tokens.map(String), createdAt: new Date(nowMs).toISOString(), generation: 0, status: options.newStatus ?? 'normal' };
}

function checkStored(stored: StoredIdentity, options: IdentityOptions, path: string): StoredIdentity {
  if (options.nodeId !== undefined && options.nodeId !== stored.nodeId) {
    throw new IdentityError('IDENTITY_CONFLICT',
      `--node-id ${options.nodeId} differs from ${stored.nodeId} stored in ${path}; use a fresh --data dir for a new node`);
  }
  if (stored.tokens.length !== options.vnodes) {
    throw new IdentityError('IDENTITY_CONFLICT',
      `--vnodes ${options.vnodes} differs from the ${stored.tokens.length} tokens stored in ${path}; tokens cannot change in place`);
  }
  return stored;
}

async function readStored(path: string): Promise<StoredIdentity | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IdentityError('IDENTITY_CORRUPT', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new IdentityError('IDENTITY_CORRUPT', `${path} is not valid JSON`, { cause: err });
  }
  const reason = storedProblem(value);
  if (reason !== undefined) throw new IdentityError('IDENTITY_CORRUPT', `${path}: ${reason}`);
  return value as StoredIdentity;
}

function storedProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const r = v as Record<string, unknown>;
  if (!isNodeId(r.nodeId)) return 'bad nodeId';
  if (!Array.isArray(r.tokens) || r.tokens.length === 0) return 'bad tokens';
  if (!r.tokens.every((t) => typeof t === 'string' && /^\d{1,20}$/.test(t) && BigInt(t) < 1n << 64n)) return 'bad token';
  if (typeof r.createdAt !== 'string') return 'bad createdAt';
  if (!Number.isSafeInteger(r.generation) || (r.generation as number) < 0) return 'bad generation';
  if (r.status !== undefined && !(memberStatuses as readonly unknown[]).includes(r.status)) return 'bad status';
  return undefined;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(join(path, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
