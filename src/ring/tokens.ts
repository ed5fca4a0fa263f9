// Tokens: positions on a 64-bit hash ring. A key's token is xxhash64 of its
// bytes; a node owns V random tokens (virtual nodes), persisted on its disk and
// carried by gossip, so every member computes the same ring from the members'
// own token lists with no agreement round (Dynamo 2007 §4.2 strategy 1,
// Cassandra's num_tokens).
//
// Ownership: a node's PRIMARY ownership is the fraction of the 2^64 token space
// for which it is first in the preference list, i.e. the sum of the arcs
// (previous token, own token]. Effective ownership counts every arc on which
// the node is one of the n replicas (see ring.ts).
//
// Choosing V (`node dist/benchmarks/ring-bench.js --balance`: 1000 random
// 5-node clusters per V, crypto-random tokens; "moved" is the share of the
// token space whose primary changes when the 5th node joins 4, which is
// exactly the new node's primary share):
//
//     V     5 nodes: some node outside ±10% of 1/5 (worst)   moved > 1.15/5   moved mean, max
//     64    84.7%  (±44.0%)                                   9.0%            0.200, 0.281
//     128   60.9%  (±29.1%)                                   3.2%            0.201, 0.254
//     256   32.6%  (±23.8%)                                   0.7%            0.199, 0.239
//     512    4.4%  (±21.5%)                                   0.0%            0.200, 0.224
//     1024   0.0%  (±9.9%)                                    0.0%            0.200, 0.217
//     2048   0.0%  (±7.5%)                                    0.0%            0.200, 0.213
//
// A node's share is Beta(V, (S-1)V), relative spread sqrt((S-1)/(S·V)): for
// S=5, 3.9% at V=512 (measured 3.92%; its ±21.5% worst is a rare outlier) and
// 2.8% at V=1024, so halving the imbalance costs 4x the tokens. At V=1024, ±10% is 3.6σ: a
// 5-node cluster misses it about 2 times in 1000 by that estimate; a second
// run of 4000 clusters measured 0.1% (worst ±11.5%). A join's movement at
// V=1024 stayed at or under 1.10/5 (0.220) in all 5000 trials. V=2048 buys
// little more for twice the cost; V=512 misses ±10% in 1 cluster in 20.
//
// The cost of V: each node gossips 8·V bytes of tokens (8 KiB at V=1024; 800
// KiB of ring state for 100 nodes — so gossip should send a member's tokens only
// when the peer's copy is stale, never every round), and every member rebuilds a ring of
// S·V tokens on each change (5 nodes: 5120 tokens, ~5 ms; 100 nodes: 102k
// tokens, ~200 ms on a loaded 2-core box). V in the thousands per node is
// the ceiling of what a join's gossip and a rebuild should carry.
//
// Dynamo's strategy 3 (Q equal partitions, Q/S per node) measures perfectly:
// with Q=1024 every node of 5 is within 0.4% of 1/5 (204 or 205 partitions)
// and a join moves 0.199, the minimum, whatever the luck of the draw. But which node holds which partition is a decision some
// claimant must make and publish (riak_core's claim + ring gossip): with
// members joining by gossip and no central claimant, two nodes joining at once
// would claim the same partitions. Random tokens need no agreement — the ring
// is a pure function of each member's own persisted tokens — and we pay for
// that with V=1024 tokens per node instead of ~200 partitions per node.

import { randomBytes } from 'node:crypto';
import assert from 'node:assert';
import xxhash from 'xxhash-addon';

const { XXHash64 } = xxhash;

/** Number of distinct tokens: the ring is [0, 2^64). */
export const tokenSpace = 1n << 64n;

/** Default tokens per node; chosen by the measurements above. */
export const vnodesDefault = 1024;

/** Upper bound on V: 8·V bytes of gossip per node stays under 512 KiB. */
export const vnodesMax = 65_536;

/** Retries for one token when the source keeps returning taken values; a
 * 64-bit random source repeats within one node with probability ~V²/2^65. */
const tokenRetriesMax = 64;

/** The key's position on the ring: xxhash64 (seed 0) of its bytes. The addon
 * returns the canonical big-endian digest, so reading it big-endian gives the
 * integer the xxHash spec defines (XXH64("") = 0xef46db3751d8e999). */
export function keyToken(key: Buffer): bigint {
  return XXHash64.hash(key).readBigUInt64BE(0);
}

/**
 * The key's token as 8 big-endian bytes: the one routing hash (the ring
 * places keys by it, storage orders records by it). Callers on the hot path
 * read it as two 32-bit halves to avoid allocating a bigint.
 */
export function tokenOf(key: Buffer): Buffer {
  return XXHash64.hash(key);
}

/** A uniformly random 64-bit token from the OS CSPRNG. */
export function randomToken(): bigint {
  return randomBytes(8).readBigUInt64BE(0);
}

/**
 * V distinct tokens for a new node, sorted ascending. Called once, when a node
 * first starts; the node persists them and gossips them from then on. The
 * node id is not mixed in: tokens must be independent of it so that a node
 * replacing another with a similar id still lands uniformly.
 */
export function generateTokens(nodeId: string, count: number, random: () => bigint = randomToken): bigint[] {
  assert(nodeId.length > 0, 'node id must be non-empty');
  assert(Number.isInteger(count) && count >= 1 && count <= vnodesMax, `token count ${count} out of range`);
  const tokens = new Set<bigint>();
  while (tokens.size < count) {
    tokens.add(freshToken(tokens, random));
  }
  return [...tokens].sort(compareBigint);
}

function freshToken(taken: ReadonlySet<bigint>, random: () => bigint): bigint {
  for (let attempt = 0; attempt < tokenRetriesMax; attempt++) {
    const token = random();
    assert(token >= 0n && token < tokenSpace, `token source returned ${token}, outside [0, 2^64)`);
    if (!taken.has(token)) return token;
  }
  assert.fail(`token source repeated itself ${tokenRetriesMax} times`);
}

/**
 * A deterministic 64-bit generator (SplitMix64, Steele et al. 2014) for tests,
 * simulations and benchmarks that need reproducible tokens.
 */
export function splitmix64(seed: bigint): () => bigint {
  let state = BigInt.asUintN(64, seed);
  return () => {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  };
}

export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
