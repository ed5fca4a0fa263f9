// The bit arithmetic behind SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP and
// BITFIELD, pure: bytes in, numbers out. Bits are numbered from the most
// significant bit of byte 0, as Redis numbers them (bitops.c), and a string
// reads as zero bits past its end. BITFIELD's overflow rules are Redis's C
// code run in 64-bit two's complement (BigInt.asIntN/asUintN), quirks
// included, so `OVERFLOW SAT SET u8 0 -1` is 255 as in Redis.

export type BitRangeUnit = 'BYTE' | 'BIT';

/** Reads bit `offset` (0 past the end). */
export function getBit(bytes: Buffer, offset: number): 0 | 1 {
  const byte = Math.floor(offset / 8);
  if (byte >= bytes.length) return 0;
  return ((bytes[byte]! >> (7 - (offset % 8))) & 1) as 0 | 1;
}

/** Sets bit `offset` of `bytes` (which must be long enough) in place. */
export function setBit(bytes: Buffer, offset: number, on: 0 | 1): void {
  const byte = Math.floor(offset / 8);
  const mask = 1 << (7 - (offset % 8));
  bytes[byte] = on === 1 ? bytes[byte]! | mask : bytes[byte]! & ~mask;
}

/**
 * Redis's range arithmetic for BITCOUNT and BITPOS: negative indexes count
 * from the end, then both are clamped into [0, total-1], in bytes or bits.
 * Returns the range in bits, or null when empty.
 */
export function bitRange(length: number, start: bigint, end: bigint, unit: BitRangeUnit): [number, number] | null {
  const total = BigInt(unit === 'BIT' ? length * 8 : length);
  if (start < 0n) start += total;
  if (end < 0n) end += total;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= total) end = total - 1n;
  if (start > end) return null;
  return unit === 'BIT' ? [Number(start), Number(end)] : [Number(start) * 8, Number(end) * 8 + 7];
}

const popcount = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let v = i; v > 0; v >>= 1) n += v & 1;
  return n;
});

/** The set bits in [firstBit, lastBit] (both within the string). */
export function countBits(bytes: Buffer, firstBit: number, lastBit: number): number {
  let count = 0;
  let bit = firstBit;
  // Whole bytes in the middle by table, the partial edges bit by bit.
  while (bit <= lastBit && bit % 8 !== 0) count += getBit(bytes, bit++);
  while (bit + 7 <= lastBit) {
    count += popcount[bytes[bit / 8]!]!;
    bit += 8;
  }
  while (bit <= lastBit) count += getBit(bytes, bit++);
  return count;
}

/**
 * BITPOS over [firstBit, lastBit]: the first bit equal to `bit`, else -1 —
 * except that looking for a 0 with no end given finds the first bit past the
 * range's last byte (the string reads as zeros beyond it), as Redis does.
 */
export function findBit(bytes: Buffer, bit: 0 | 1, firstBit: number, lastBit: number, endGiven: boolean): number {
  let at = firstBit;
  const skip = bit === 1 ? 0x00 : 0xff;
  while (at <= lastBit) {
    if (at % 8 === 0 && at + 7 <= lastBit && bytes[at / 8] === skip) {
      at += 8;
      continue;
    }
    if (getBit(bytes, at) === bit) return at;
    at++;
  }
  if (bit === 1 || endGiven) return -1;
  return (Math.floor(lastBit / 8) + 1) * 8;
}

export type BitOperation = 'AND' | 'OR' | 'XOR' | 'NOT';

/** BITOP: the result as long as the longest source, shorter ones read as zeros; empty when every source is. */
export function bitOperation(operation: BitOperation, sources: readonly Buffer[]): Buffer {
  const length = Math.max(0, ...sources.map((s) => s.length));
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    let value = sources[0]![i] ?? 0;
    if (operation === 'NOT') value = ~value & 0xff;
    for (let j = 1; j < sources.length; j++) {
      const byte = sources[j]![i] ?? 0;
      if (operation === 'AND') value &= byte;
      else if (operation === 'OR') value |= byte;
      else value ^= byte;
    }
    out[i] = value;
  }
  return out;
}

// --- BITFIELD -----------------------------------------------------------------

export interface FieldType {
  readonly signed: boolean;
  readonly bits: number;
}

export type Overflow = 'WRAP' | 'SAT' | 'FAIL';

/** Reads an unsigned field of `bits` bits at bit `offset`, zeros past the end. */
export function getUnsignedField(bytes: Buffer, offset: number, bits: number): bigint {
  let value = 0n;
  for (let i = 0; i < bits; i++) value = (value << 1n) | BigInt(getBit(bytes, offset + i));
  return value;
}

export function getField(bytes: Buffer, offset: number, type: FieldType): bigint {
  const raw = getUnsignedField(bytes, offset, type.bits);
  return type.signed ? BigInt.asIntN(type.bits, raw) : raw;
}

/** Writes the low `bits` bits of `value` at bit `offset`; `bytes` must be long enough. */
export function setField(bytes: Buffer, offset: number, bits: number, value: bigint): void {
  const raw = BigInt.asUintN(bits, value);
  for (let i = 0; i < bits; i++) setBit(bytes, offset + i, Number((raw >> BigInt(bits - 1 - i)) & 1n) as 0 | 1);
}

const asInt64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const asUint64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** Result of adding `incr` to a field: the value to store, or null when OVERFLOW FAIL refuses it. */
export function fieldAdd(value: bigint, incr: bigint, type: FieldType, overflow: Overflow): bigint | null {
  return type.signed ? signedAdd(value, incr, type.bits, overflow) : unsignedAdd(value, incr, type.bits, overflow);
}

/** checkUnsignedBitfieldOverflow with value as uint64_t and incr as int64_t. */
function unsignedAdd(valueIn: bigint, incr: bigint, bits: number, overflow: Overflow): bigint | null {
  const value = asUint64(valueIn);
  const max = (1n << BigInt(bits)) - 1n;
  const maxIncr = asInt64(max - value);
  const minIncr = asInt64(-value);
  const wrap = (): bigint => asUint64(value + incr) & max;
  if (value > max || (incr > 0n && incr > maxIncr)) return overflow === 'FAIL' ? null : overflow === 'SAT' ? max : wrap();
  if (incr < 0n && incr < minIncr) return overflow === 'FAIL' ? null : overflow === 'SAT' ? 0n : wrap();
  return asUint64(value + incr);
}

/** checkSignedBitfieldOverflow with value and incr as int64_t. */
function signedAdd(value: bigint, incr: bigint, bits: number, overflow: Overflow): bigint | null {
  const max = bits === 64 ? (1n << 63n) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const min = -max - 1n;
  const maxIncr = asInt64(asUint64(max) - value);
  const minIncr = asInt64(min - value);
  const wrap = (): bigint => {
    let c = asUint64(value + incr);
    if (bits < 64) {
      const mask = asUint64(-1n << BigInt(bits));
      c = (c & (1n << BigInt(bits - 1))) !== 0n ? c | mask : c & ~mask & ((1n << 64n) - 1n);
    }
    return asInt64(c);
  };
  if (value > max || (bits !== 64 && incr > maxIncr) || (value >= 0n && incr > 0n && incr > maxIncr)) {
    return overflow === 'FAIL' ? null : overflow === 'SAT' ? max : wrap();
  }
  if (value < min || (bits !== 64 && incr < minIncr) || (value < 0n && incr < 0n && incr < minIncr)) {
    return overflow === 'FAIL' ? null : overflow === 'SAT' ? min : wrap();
  }
  return value + incr;
}
