// A 64-bit hash of a sequence of 32-bit words, in two int32 lanes: MurmurHash3_x86_128
// (Appleby) cut down to two lanes, for the record and tree-node hashes of anti-entropy.
// Math.imul keeps every step in int32, so hashing allocates nothing (no bigint, no
// float, no Buffer) and runs on every write without feeding the GC.
//
// Why this shape: for a fixed input word each absorb step and the finish are bijections
// of the (h1, h2) state, and for a fixed state the step is a bijection of the input word.
// So two word sequences of the same length that differ in exactly one word always hash
// differently, not merely with odds 1 - 2^-64 (a one-word change to a key's digest
// changes its record hash, guaranteed).
//
// The state is module-level (one hash at a time: callers run synchronously and never
// nest) so that callers need no scratch objects. It lives in an Int32Array rather than
// module-level `let`s because that measured faster in V8 (~30 vs ~40 ns for a 4-word hash).

/** [h1, h2, words absorbed]. */
const state = new Int32Array(3);

/** Starts a hash; distinct seeds keep distinct uses (dot, record, tree node) apart. */
export function mixStart(seed: number): void {
  state[0] = seed;
  state[1] = seed ^ 0x9e3779b9;
  state[2] = 0;
}

/** Absorbs one 32-bit word (any int; only its low 32 bits count). */
export function mixWord(k: number): void {
  let h1 = state[0]!;
  let h2 = state[1]!;
  let k1 = Math.imul(k, 0x239b961b);
  k1 = Math.imul((k1 << 15) | (k1 >>> 17), 0xab0e9789);
  h1 ^= k1;
  h1 = (h1 << 19) | (h1 >>> 13);
  h1 = (h1 + h2) | 0;
  h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

  let k2 = Math.imul(k, 0x38b34ae5);
  k2 = Math.imul((k2 << 16) | (k2 >>> 16), 0xa1e38b93);
  h2 ^= k2;
  h2 = (h2 << 17) | (h2 >>> 15);
  h2 = (h2 + h1) | 0;
  h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
  state[0] = h1;
  state[1] = h2;
  state[2]++;
}

/** Ends the hash: writes hi to out[at] and lo to out[at + 1] as uint32. */
export function mixFinish(out: Uint32Array, at: number): void {
  let a = state[0]! ^ state[2]!;
  let b = state[1]! ^ state[2]!;
  a = (a + b) | 0;
  b = (b + a) | 0;
  a = fmix32(a);
  b = fmix32(b);
  a = (a + b) | 0;
  b = (b + a) | 0;
  out[at] = a;
  out[at + 1] = b;
}

/** MurmurHash3's finalizer: a bijection that spreads every input bit over the word (avalanche). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
