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
