// Exact decimal numbers for the counters: INCR's (counter.ts) and a hash
// field's (HINCRBY, HINCRBYFLOAT). A counter is a sum of per-actor contributions added in
// whatever grouping a merge gives; binary doubles would make that sum
// depend on the grouping (0.1 + 0.2 + 0.3 ≠ 0.1 + (0.2 + 0.3)), while
// decimal sums are exact, so every replica shows the same digits. Redis keeps
// the field as text, reads it with strtold, adds in long double and prints
// the result with 17 digits after the point, trimmed; rounding exact sums to
// 17 fraction digits gives the same text for every value whose integer part
// and fraction fit a long double's ~19 significant digits, which covers
// integers (exact, as bigints, so HINCRBY's 64-bit range is exact) and
// ordinary decimals. Beyond that (1e20 + 1, or fractions below 1e-17 summed)
// the exact answer can differ from Redis's rounded one.

/** value = m / 10^e; normalized: e ≥ 0 and, when e > 0, m is not a multiple of 10. */
export interface Decimal {
  readonly m: bigint;
  readonly e: number;
}

/**
 * Exponents beyond ±400 are refused: a double cannot hold more (1.8e308 is
 * its largest value), and an unbounded exponent would let one argument ask
 * for a bigint of any size.
 */
export const decimalExponentMax = 400;
/** Redis prints HINCRBYFLOAT's result with %.17Lf: 17 digits after the point. */
export const fractionDigitsShown = 17;

export const decimalZero: Decimal = { m: 0n, e: 0 };

const decimalText = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export function decimalOfInteger(n: bigint | number): Decimal {
  return { m: BigInt(n), e: 0 };
}

/** m / 10^e, normalized. */
export function decimalOf(m: bigint, e: number): Decimal {
  return normalize(m, e);
}

/** Parses a plain decimal number (optional sign, digits, point, exponent); undefined for anything else. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = decimalText.exec(text);
  if (match === null) return undefined;
  const [, sign, whole = '', fraction = '', exponent] = match;
  if (whole.length === 0 && fraction.length === 0) return undefined;
  const exp = exponent === undefined ? 0 : Number(exponent);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > decimalExponentMax) return undefined;
  if (whole.length + fraction.length > 2 * decimalExponentMax) return undefined;
  let m = BigInt((whole || '0') + fraction);
  if (sign === '-') m = -m;
  let e = fraction.length - exp;
  if (e < 0) {
    m *= 10n ** BigInt(-e);
    e = 0;
  }
  return normalize(m, e);
}

export function parseDecimalBytes(bytes: Buffer): Decimal | undefined {
  if (bytes.length > 2 * decimalExponentMax + 8) return undefined;
  return parseDecimal(bytes.toString('latin1'));
}

export function addDecimals(a: Decimal, b: Decimal): Decimal {
  if (a.e === b.e) return normalize(a.m + b.m, a.e);
  if (a.e < b.e) return normalize(a.m * 10n ** BigInt(b.e - a.e) + b.m, b.e);
  return normalize(a.m + b.m * 10n ** BigInt(a.e - b.e), a.e);
}

export function subtractDecimals(a: Decimal, b: Decimal): Decimal {
  return addDecimals(a, { m: -b.m, e: b.e });
}

export function decimalEquals(a: Decimal, b: Decimal): boolean {
  return a.m === b.m && a.e === b.e;
}

export function compareDecimals(a: Decimal, b: Decimal): number {
  const e = Math.max(a.e, b.e);
  const x = a.m * 10n ** BigInt(e - a.e);
  const y = b.m * 10n ** BigInt(e - b.e);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Rounded to `fractionDigitsShown` digits after the point, halves away from zero. */
export function roundShown(d: Decimal): Decimal {
  if (d.e <= fractionDigitsShown) return d;
  const scale = 10n ** BigInt(d.e - fractionDigitsShown);
  const negative = d.m < 0n;
  const abs = negative ? -d.m : d.m;
  let q = abs / scale;
  if ((abs % scale) * 2n >= scale) q += 1n;
  return normalize(negative ? -q : q, fractionDigitsShown);
}

/** Plain text, no exponent, no trailing zeros; "0" for zero. Integers print as integers. */
export function formatDecimal(d: Decimal): string {
  if (d.e === 0) return d.m.toString();
  const negative = d.m < 0n;
  const digits = (negative ? -d.m : d.m).toString().padStart(d.e + 1, '0');
  const point = digits.length - d.e;
  return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
}

const canonicalText = /^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/;

/** Reads formatDecimal's output back; undefined for anything else (another spelling of the same number included). */
export function parseCanonicalDecimal(text: string): Decimal | undefined {
  if (!canonicalText.test(text) || text === '-0') return undefined;
  const point = text.indexOf('.');
  if (point === -1) return decimalOfInteger(BigInt(text));
  return normalize(BigInt(text.slice(0, point) + text.slice(point + 1)), text.length - point - 1);
}

/**
 * A strict decimal integer as Redis reads one (util.c string2ll: no sign
 * but '-', no leading zero, no "-0", no space); null when malformed or
 * beyond ±2^53. Canonical decimal text for an integer is exactly this, so
 * it also reads a counter's run totals (parseCanonicalDecimalBytes).
 */
export function parseStrictInteger(arg: Buffer): number | null {
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

/**
 * parseCanonicalDecimal of latin1 bytes. An integer below 2^53 (every INCR
 * counter's run total in practice) is read straight from the bytes, without
 * the string and the pattern the general path needs.
 */
export function parseCanonicalDecimalBytes(bytes: Buffer): Decimal | undefined {
  const integer = parseStrictInteger(bytes);
  if (integer !== null) return integer === 0 ? decimalZero : { m: BigInt(integer), e: 0 };
  return parseCanonicalDecimal(bytes.toString('latin1'));
}

/** True when `d` is a whole number. */
export function isInteger(d: Decimal): boolean {
  return d.e === 0;
}

function normalize(m: bigint, e: number): Decimal {
  if (m === 0n) return decimalZero;
  while (e > 0 && m % 10n === 0n) {
    m /= 10n;
    e--;
  }
  return { m, e };
}
