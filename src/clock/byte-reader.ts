// The one bounds-checked cursor behind the binary codecs (records, causal
// contexts, replica messages): every read past the end, and every malformed
// varint or UTF-8 string, fails with the caller's own error type — never a
// RangeError, and never a lossy decode — so bytes from a disk, a client or a
// peer can only ever yield a value or that codec's typed error.

export class ByteReader {
  offset: number;

  constructor(
    private readonly buf: Buffer,
    start: number,
    readonly end: number,
    /** Makes the codec's error for a flaw: RecordCodecError, ContextError, CodecError. */
    private readonly fail: (message: string) => Error,
  ) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.end) throw this.fail('truncated');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  /** A view of the next `length` bytes (no copy). */
  bytes(length: number): Buffer {
    this.need(length);
    const v = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return v;
  }

  /** The next `length` bytes as UTF-8, refusing anything a lossless round trip would not give back. */
  utf8(length: number, what: string): string {
    const bytes = this.bytes(length);
    const text = bytes.toString('utf8');
    if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(bytes)) throw this.fail(`${what} is not UTF-8`);
    return text;
  }

  /**
   * An actor id of `length` UTF-8 bytes, as utf8() reads it, but without
   * decoding one a recent read already did: records, clocks and counter
   * states name the same few node ids over and over, and decoding one
   * (~60 ns, a string each time) was most of what reading it cost.
   */
  actorId(length: number, what: string): string {
    if (length > actorIdBytesMax) return this.utf8(length, what);
    this.need(length);
    const at = this.offset;
    for (let s = 0; s < recentActorIds.length; s++) {
      const slot = recentActorIds[s]!;
      if (slot.length === length && sameBytes(slot.bytes, this.buf, at, length)) {
        this.offset += length;
        return slot.id;
      }
    }
    const id = this.utf8(length, what);
    // Round-robin over the slots: a cluster's few ids stay; a stream of new ones just takes turns.
    const slot = recentActorIds[nextActorSlot]!;
    nextActorSlot = (nextActorSlot + 1) % recentActorIds.length;
    this.buf.copy(slot.bytes, 0, at, at + length);
    slot.length = length;
    slot.id = id;
    return id;
  }

  /** Unsigned LEB128, minimal, at most `bytesMax` bytes, a safe integer. Arithmetic, not bit operators: values pass 32 bits. */
  varint(bytesMax: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < bytesMax; i++) {
      const byte = this.u8();
      value += (byte & 127) * scale;
      if (byte < 128) {
        if (byte === 0 && i > 0) throw this.fail('varint not minimal');
        if (!Number.isSafeInteger(value)) throw this.fail('varint too large');
        return value;
      }
      scale *= 128;
    }
    throw this.fail('varint too long');
  }
}

/**
 * Ids actorId() decoded last, each in its own fixed buffer (an actor id is
 * at most 255 bytes in every codec that reads one): a hit allocates nothing.
 * Four covers a node's own id, a 3-node cluster's and a fallback's.
 */
const recentActorIdsMax = 4;
const actorIdBytesMax = 255;
const recentActorIds: { bytes: Buffer; length: number; id: string }[] = Array.from({ length: recentActorIdsMax }, () => ({ bytes: Buffer.alloc(actorIdBytesMax), length: -1, id: '' }));
let nextActorSlot = 0;

function sameBytes(kept: Buffer, buf: Buffer, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (kept[i] !== buf[at + i]) return false;
  return true;
}
