// The DUMP/RESTORE payload: ringkv's own, since Redis's is its RDB
// serialization, which ringkv neither writes nor reads. Like Redis's, it
// carries one value, no key and no TTL, and ends with a CRC-64 (Jones, the
// one Redis uses) so a payload cut or changed in transit is refused rather
// than restored. Layout, integers big-endian:
//
//   6 bytes  "RINGKV"        magic: no Redis payload starts so (its first byte is an RDB type, 0-21)
//   u8       format version  1; a reader refuses a version it does not know
//   u8       value type      0 = string (the only type ringkv has)
//   u32      value length
//   bytes    value
//   u64      CRC-64/Jones of every byte before it
//
// WARNING: the layout is read by every later ringkv: only add new versions.
// A Redis payload (type byte, RDB body, u16 RDB version, CRC-64 little-endian)
// is recognised by its checksum so RESTORE can say why it refuses it.

const magic = Buffer.from('RINGKV', 'latin1');
const formatVersion = 1;
const typeString = 0;
const headerBytes = magic.length + 1 + 1 + 4;
const crcBytes = 8;
export const dumpOverheadBytes = headerBytes + crcBytes;

/**
 * CRC-64 as Redis computes it (crc64.c: Jones polynomial, reflected, init 0,
 * no final xor), table-driven on two 32-bit halves: a BigInt per byte would
 * cost ~0.3 s per MiB in the event loop.
 */
const crcTableLo = new Uint32Array(256);
const crcTableHi = new Uint32Array(256);
(() => {
  const polynomial = 0x95ac9329ac4bc9b5n; // 0xad93d23594c935a9 reflected
  for (let n = 0; n < 256; n++) {
    let crc = BigInt(n);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ polynomial : crc >> 1n;
    crcTableLo[n] = Number(crc & 0xffffffffn);
    crcTableHi[n] = Number(crc >> 32n);
  }
})();

export function crc64(bytes: Buffer): bigint {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < bytes.length; i++) {
    const index = (lo ^ bytes[i]!) & 0xff;
    lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ crcTableLo[index]!) >>> 0;
    hi = ((hi >>> 8) ^ crcTableHi[index]!) >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export function encodeDump(value: Buffer): Buffer {
  const out = Buffer.alloc(headerBytes + value.length + crcBytes);
  magic.copy(out, 0);
  let o = magic.length;
  o = out.writeUInt8(formatVersion, o);
  o = out.writeUInt8(typeString, o);
  o = out.writeUInt32BE(value.length, o);
  o += value.copy(out, o);
  out.writeBigUInt64BE(crc64(out.subarray(0, o)), o);
  return out;
}

export type DumpVerdict =
  | { readonly ok: true; readonly value: Buffer }
  | { readonly ok: false; readonly reason: 'redis' | 'corrupt' };

/** The value a payload carries, or why it cannot be restored. Never throws. */
export function decodeDump(payload: Buffer): DumpVerdict {
  if (payload.length >= dumpOverheadBytes && payload.subarray(0, magic.length).equals(magic)) {
    const body = payload.subarray(0, payload.length - crcBytes);
    const intact = payload.readBigUInt64BE(payload.length - crcBytes) === crc64(body);
    const version = payload[magic.length];
    const type = payload[magic.length + 1];
    const length = payload.readUInt32BE(magic.length + 2);
    if (intact && version === formatVersion && type === typeString && headerBytes + length === body.length) {
      return { ok: true, value: Buffer.from(payload.subarray(headerBytes, headerBytes + length)) };
    }
    return { ok: false, reason: 'corrupt' };
  }
  return { ok: false, reason: isRedisPayload(payload) ? 'redis' : 'corrupt' };
}

/** Redis's DUMP layout (cluster.c createDumpPayload): its footer's CRC-64, little-endian, matches. */
function isRedisPayload(payload: Buffer): boolean {
  if (payload.length < 1 + 2 + crcBytes) return false;
  const body = payload.subarray(0, payload.length - crcBytes);
  return payload.readBigUInt64LE(payload.length - crcBytes) === crc64(body);
}
