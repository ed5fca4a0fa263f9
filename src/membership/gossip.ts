// The gossip wire format and the pure choice of whom to gossip with.
// Two message types only (Cassandra's SYN/ACK/ACK2 folded into SYN/ACK): a SYN
// carries the sender's complete digest list and optionally states; an ACK
// carries the states the SYN's sender lacks plus our digests for what we want.
// The sender answers the wants with a second SYN carrying those states (the
// receiver merges them before it compares digests, so that ACK is usually
// empty). Tokens are large (8 bytes × vnodes, 8 KiB at the default 1024) and
// fixed for a generation, so a state travels without them when the peer
// already knows that generation: a heartbeat costs ~60 bytes, not kilobytes.
// Payloads come from the network: they are validated and bounded here, and a
// bad one yields a reason, never a crash (TigerBeetle message_header.zig).

import type { Digest, MemberState, MemberStatus } from './state.js';
import { memberStatuses } from './state.js';
import assert from 'node:assert/strict';
import { vnodesMax } from '../ring/index.js';
import { frameBytesMax } from '../peer/frame.js';
import { isNodeId, nodeIdBytesMax } from './node-id.js';

export { isNodeId };

/** A cluster of thousands is the design point; a longer list is a bug or an attack. */
export const membersMax = 4096;
/** Tokens travel packed: 8 big-endian bytes each, at most the ring's vnodesMax. */
const tokenBytes = 8;
const tokensBytesMax = tokenBytes * vnodesMax;
/** Node ids are short names (`node-1a2b3c4d`, a hostname). */

/** The longest DNS name. */
export const hostBytesMax = 255;

/** A message's states stop at this size and the rest follow in later rounds (the
 * digests still show them stale): 4 MiB lets a joining node learn ~500 members
 * at 1024 vnodes per message while staying far below frameBytesMax. */
export const gossipStatesBytesMax = 4 * 1024 * 1024;
/** Generous msgpack size of a state's fields besides its tokens, and of a digest. */
const stateOverheadBytes = 64 + nodeIdBytesMax + hostBytesMax;
const digestBytesMax = 32 + nodeIdBytesMax;
assert(gossipStatesBytesMax + 2 * membersMax * digestBytesMax < frameBytesMax, 'a full gossip message must fit a frame');
assert(stateOverheadBytes + tokensBytesMax <= gossipStatesBytesMax, 'one state with every token must fit a message');

export interface WireState {
  readonly id: string;
  readonly host: string;
  readonly respPort: number;
  readonly peerPort: number;
  readonly status: MemberStatus;
  readonly generation: number;
  readonly version: number;
  /** Packed 64-bit big-endian tokens; absent when the peer already knows this generation's. */
  readonly tokens?: Uint8Array;
}

export interface GossipSyn {
  /** The sender's complete view: every member it knows. */
  readonly digests: readonly Digest[];
  readonly states: readonly WireState[];
}

export interface GossipAck {
  readonly states: readonly WireState[];
  /** The receiver's digests for members it wants (generation 0: never heard of). */
  readonly wants: readonly Digest[];
}

/** A state for a peer whose digest showed `peerGeneration` for this member. */
export function toWire(s: MemberState, peerGeneration: number | undefined): WireState {
  const base = {
    id: s.id, host: s.host, respPort: s.respPort, peerPort: s.peerPort,
    status: s.status, generation: s.generation, version: s.version,
  };
  if (peerGeneration === s.generation) return base;
  return { ...base, tokens: packTokens(s.tokens) };
}

/**
 * A wire state made whole. Without tokens it borrows them from the local
 * state of the same generation; if we have none, it is unusable (undefined)
 * and the next exchange asks for it again with generation 0.
 */
export function fromWire(w: WireState, local: MemberState | undefined): MemberState | undefined {
  let tokens: readonly bigint[];
  if (w.tokens !== undefined) tokens = unpackTokens(w.tokens);
  else if (local !== undefined && local.generation === w.generation) tokens = local.tokens;
  else return undefined;
  return {
    id: w.id, host: w.host, respPort: w.respPort, peerPort: w.peerPort,
    status: w.status, generation: w.generation, version: w.version, tokens,
  };
}

export function packTokens(tokens: readonly bigint[]): Buffer {
  const out = Buffer.allocUnsafe(tokens.length * tokenBytes);
  tokens.forEach((t, i) => out.writeBigUInt64BE(t, i * tokenBytes));
  return out;
}

export function unpackTokens(bytes: Uint8Array): bigint[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: bigint[] = [];
  for (let at = 0; at < view.length; at += tokenBytes) out.push(view.readBigUInt64BE(at));
  return out;
}

/** Answers an ACK's wants: every state of ours newer than what the peer has. */
export function answerWants(states: ReadonlyMap<string, MemberState>, wants: readonly Digest[]): WireState[] {
  const out: WireState[] = [];
  for (const want of wants) {
    const mine = states.get(want.id);
    if (mine === undefined) continue;
    const newer = mine.generation > want.generation
      || (mine.generation === want.generation && mine.version > want.version);
    if (newer) out.push(toWire(mine, want.generation));
  }
  return out;
}

/** The leading states that fit in gossipStatesBytesMax (at least the first). */
export function withinBudget(states: readonly WireState[], bytesMax = gossipStatesBytesMax): WireState[] {
  const out: WireState[] = [];
  let bytes = 0;
  for (const s of states) {
    bytes += stateOverheadBytes + (s.tokens?.length ?? 0);
    if (bytes > bytesMax && out.length > 0) break;
    out.push(s);
  }
  return out;
}

export function parseSyn(value: unknown): GossipSyn | string {
  if (!isRecord(value)) return 'syn is not a map';
  const digests = parseList(value.digests, 'digests', parseDigest);
  if (typeof digests === 'string') return digests;
  const states = parseList(value.states, 'states', parseWireState);
  if (typeof states === 'string') return states;
  return { digests, states };
}

export function parseAck(value: unknown): GossipAck | string {
  if (!isRecord(value)) return 'ack is not a map';
  const states = parseList(value.states, 'states', parseWireState);
  if (typeof states === 'string') return states;
  const wants = parseList(value.wants, 'wants', parseDigest);
  if (typeof wants === 'string') return wants;
  return { states, wants };
}

function parseList<T>(value: unknown, name: string, parse: (v: unknown) => T | string): T[] | string {
  if (!Array.isArray(value)) return `${name} is not a list`;
  if (value.length > membersMax) return `${name} has ${value.length} entries, over ${membersMax}`;
  const out: T[] = [];
  for (const item of value) {
    const parsed = parse(item);
    if (typeof parsed === 'string') return `${name}: ${parsed}`;
    out.push(parsed);
  }
  return out;
}

function parseDigest(v: unknown): Digest | string {
  if (!isRecord(v)) return 'digest is not a map';
  if (!isNodeId(v.id)) return 'bad member id';
  if (!isCount(v.generation) || !isCount(v.version)) return `bad stamp for ${v.id}`;
  return { id: v.id, generation: v.generation, version: v.version };
}

function parseWireState(v: unknown): WireState | string {
  const digest = parseDigest(v);
  if (typeof digest === 'string') return digest;
  const r = v as Record<string, unknown>;
  if (typeof r.host !== 'string' || r.host.length === 0 || r.host.length > hostBytesMax) return `bad host for ${digest.id}`;
  if (!isPort(r.respPort) || !isPort(r.peerPort)) return `bad port for ${digest.id}`;
  if (!memberStatuses.includes(r.status as MemberStatus)) return `bad status for ${digest.id}`;
  const state = { ...digest, host: r.host, respPort: r.respPort, peerPort: r.peerPort, status: r.status as MemberStatus };
  if (r.tokens === undefined || r.tokens === null) return state;
  if (!(r.tokens instanceof Uint8Array)) return `bad tokens for ${digest.id}`;
  if (r.tokens.length % tokenBytes !== 0 || r.tokens.length > tokensBytesMax) return `bad token bytes for ${digest.id}`;
  return { ...state, tokens: r.tokens };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}


function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

/**
 * Whom to gossip with this round (Cassandra Gossiper.doGossipToLiveMember /
 * maybeGossipToUnreachableMember / maybeGossipToSeed): one random live peer;
 * a down peer with probability down/(live+1), so a recovered node is noticed
 * without flooding dead ones; a seed while we see fewer live peers than seeds,
 * which both bootstraps a new node and heals a partitioned view.
 * Addresses only, self excluded by the caller; `random` in [0, 1).
 */
export function chooseTargets(input: {
  readonly live: readonly string[];
  readonly down: readonly string[];
  readonly seeds: readonly string[];
  readonly random: () => number;
}): string[] {
  const { live, down, seeds, random } = input;
  const targets = new Set<string>();
  if (live.length > 0) targets.add(pick(live, random));
  if (down.length > 0 && random() < down.length / (live.length + 1)) targets.add(pick(down, random));
  if (seeds.length > 0 && live.length < seeds.length) targets.add(pick(seeds, random));
  return [...targets];
}

function pick<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  return item === undefined ? items[0]! : item;
}
