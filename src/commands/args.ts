// Argument parsing as Redis does it (util.c string2ll): strict decimal
// integers with no sign but '-', no leading zeros, no spaces, in range.

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
  if (arg[i] === 0x30 && length > i + 1) return null;
  let value = 0;
  for (; i < length; i++) {
    const d = arg[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  if (!Number.isSafeInteger(value)) return null;
  return negative ? (value === 0 ? 0 : -value) : value;
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
