// A Bloom filter over the keys a LevelDB store may hold, so a write or a read
// of a key the store has never held skips LevelDB's read. classic-level opens
// LevelDB without a filter policy, so a miss searches every level; a node that
// receives a stream of keys it does not hold (a joiner, a new heir) paid that
// search for every record (getSync was 16% of a streaming joiner's profile).
// LevelDB's own answer is the same (its FilterPolicy, Bloom, 10 bits per key).
//
// The filter answers "may hold" (possibly a false positive, then the store
// reads as before) or "does not hold" (never wrong): every key on disk at open
// and every key given to update() since is added, and nothing is ever removed
// (a deleted key just stays a false positive until the next open).
//
// Scalable (Almeida et al., "Scalable Bloom Filters", 2007): layers of doubling
// capacity, each ~1% false positives when full, so it needs no count up front
// and costs little on a small node; an absent key is a false positive in any
// layer, so a node of 250 k keys (2 layers) reads ~1.5% of its misses from
// LevelDB, one of 10 M (7 layers) ~5%. Past keyFilterBytesMax it stops growing
// and answers "may hold" for everything: reads then go to LevelDB as without
// it — slower, never wrong.
//
// Keys are probed by their token (xxhash64, already computed for the storage
// key): its two 32-bit halves drive the probes by double hashing (Kirsch and
// Mitzenmacher, "Less Hashing, Same Performance", 2006). Keys that share a
// token share their bits: a false positive, nothing worse.

import assert from 'node:assert/strict';

/** Bits per key at a layer's capacity: with keyFilterProbes probes, ~0.8% false positives (LevelDB's default is 10 too). */
export const keyFilterBitsPerKey = 10;
/** Probes per key: the optimum for 10 bits per key is 10·ln 2 ≈ 7. */
export const keyFilterProbes = 7;
/** The first layer's capacity: 128 Ki keys in 160 KiB, so a small node (or a test's) pays little. */
export const keyFilterFirstLayerKeys = 128 * 1024;
/**
 * The filter's memory at most: 32 MiB, half the default record cache, covers
 * ~25 M keys at 10 bits each (layers of 128 Ki·2^i keys). A node holding more
 * saturates it and reads absent keys from LevelDB as it would without it.
 */
export const keyFilterBytesMax = 32 * 1024 * 1024;

interface Layer {
  readonly words: Uint32Array;
  readonly bits: number;
  readonly capacity: number;
  count: number;
}

export class KeyFilter {
  private layers: Layer[] = [];
  private bytes = 0;
  private saturated = false;

  constructor(
    private readonly firstLayerKeys = keyFilterFirstLayerKeys,
    private readonly bytesMax = keyFilterBytesMax,
  ) {
    assert(firstLayerKeys > 0 && bytesMax > 0);
    this.reset();
  }

  /** Adds a key by its 8-byte token at `offset` in `digest`. */
  add(digest: Buffer, offset = 0): void {
    if (this.saturated) return;
    let layer = this.layers[this.layers.length - 1]!;
    if (layer.count >= layer.capacity) {
      const next = this.openLayer(layer.capacity * 2);
      if (next === undefined) {
        // Out of room: from now on every key "may" be held, so none added later is ever answered "absent".
        this.saturated = true;
        return;
      }
      layer = next;
    }
    const h1 = digest.readUInt32BE(offset);
    const h2 = (digest.readUInt32BE(offset + 4) | 1) >>> 0;
    const { words, bits } = layer;
    for (let i = 0; i < keyFilterProbes; i++) {
      const bit = (h1 + i * h2) % bits;
      words[bit >>> 5]! |= 1 << (bit & 31);
    }
    layer.count++;
  }

  /** False only when the key (by its token) was never added since the last reset. */
  mayHold(digest: Buffer, offset = 0): boolean {
    if (this.saturated) return true;
    const h1 = digest.readUInt32BE(offset);
    const h2 = (digest.readUInt32BE(offset + 4) | 1) >>> 0;
    for (const { words, bits, count } of this.layers) {
      if (count === 0) continue;
      let all = true;
      for (let i = 0; i < keyFilterProbes; i++) {
        const bit = (h1 + i * h2) % bits;
        if ((words[bit >>> 5]! & (1 << (bit & 31))) === 0) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  }

  /** Forgets every key (the store was cleared). */
  reset(): void {
    this.layers = [];
    this.bytes = 0;
    this.saturated = false;
    const first = this.openLayer(this.firstLayerKeys);
    if (first === undefined) this.saturated = true;
  }

  /** Memory held and whether the filter has stopped growing (INFO, tests). */
  usage(): { bytes: number; layers: number; saturated: boolean } {
    return { bytes: this.bytes, layers: this.layers.length, saturated: this.saturated };
  }

  private openLayer(capacity: number): Layer | undefined {
    const words = Math.ceil((capacity * keyFilterBitsPerKey) / 32);
    if (this.bytes + words * 4 > this.bytesMax) return undefined;
    const layer: Layer = { words: new Uint32Array(words), bits: words * 32, capacity, count: 0 };
    this.layers.push(layer);
    this.bytes += words * 4;
    return layer;
  }
}
