// Argument parsing as Redis does it (util.c string2ll): strict decimal
// integers with no sign but '-', no leading zeros ("-0" included), no
// spaces, in range. Most arguments fit a number (±2^53); where Redis's full
// long long range shows in replies or errors (expiry times, BITFIELD), the
// bigint form keeps it exact.

import { parseStrictInteger } from '../crdt/decimal.js';
import { CommandError } from './types.js';

export const notInteger = 'ERR value is not an integer or out of range';
export const syntaxError = 'ERR syntax error';

/** Parses a strict decimal integer; null when malformed or beyond ±2^53. The counters' codec reads its run totals with the same rule (crdt/decimal.ts). */
export const parseInteger = parseStrictInteger;

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
