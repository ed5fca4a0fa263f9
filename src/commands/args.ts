// Argument parsing as Redis does it (util.c string2ll): strict decimal
// integers with no sign but '-', no leading zeros ("-0" included), no
// spaces, in range. Most arguments fit a number (±2^53); where Redis's full
// long long range shows in replies or errors (expiry times, BITFIELD), the
// bigint form keeps it exact.

import { CommandError } from './types.js';

export const notInteger = 'ERR value is not an integer or out of range';
export const syntaxError = 'ERR syntax error';

/** Parses a strict decimal integer; null when malformed or beyond ±2^53. */
export function parseInteger(arg: Buffer): number | null {
  const length = arg.length;
  if (length === 0 || length > 20) return null;
  let i = 0;
  let negative = false;
  if (arg[0] === 0x2d) {
    negative = true;
    i = 1;
    if (length === 1) return null;
  }
  // "0" alone; never "-0" or "007" (string2ll).
  if (arg[i] === 0x30 && (length > i + 1 || negative)) return null;
  let value = 0;
  for (; i < length; i++) {
    const d = arg[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  if (!Number.isSafeInteger(value)) return null;
  return negative ? (value === 0 ? 0 : -value) : value;
}

export const int64Max = (1n << 63n) - 1n;
export const int64Min = -(1n << 63n);

/** Parses a strict decimal integer in C long long's range (string2ll); null when malformed or out of range. */
export function parseLongLong(arg: Buffer): bigint | null {
  const text = arg.toString('latin1');
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(text)) return null;
  const value = BigInt(text);
  return value > int64Max || value < int64Min ? null : value;
}

/** A long long argument or Redis's "not an integer" error. */
export function longLongArg(arg: Buffer, message = notInteger): bigint {
  const value = parseLongLong(arg);
  if (value === null) throw new CommandError(message);
  return value;
}

/** A bigint reply as a number when exact, so the common case keeps the encoder's fast path. */
export function integerReply(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

export function integerArg(arg: Buffer): number {
  const value = parseInteger(arg);
  if (value === null) throw new CommandError(notInteger);
  return value;
}

export function upper(arg: Buffer): string {
  return arg.toString('latin1').toUpperCase();
}

export function text(arg: Buffer): string {
  return arg.toString('utf8');
}
