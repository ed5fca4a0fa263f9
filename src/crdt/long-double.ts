// Redis's INCRBYFLOAT arithmetic, exactly: Redis parses both operands with
// strtold into an x86-64 long double (80-bit extended: a 64-bit significand,
// exponents down to 2^-16445 with subnormals, up to 2^16384), adds them in
// that precision, and prints the sum with "%.17Lf", trailing zeros (and a
// trailing point) removed (util.c string2ld, ld2string LD_STR_HUMAN). A
// double would give other digits ("0.1 + 0.2" is "0.3" in Redis, not
// "0.30000000000000004"), so this emulates the extended format with bigints:
// a finite value is sign · m · 2^e with m < 2^64, every operation rounds
// correctly, half to even, as glibc and the x87 do. Pure and exact; used only
// on INCRBYFLOAT's path, where a bigint or two per call is cheap.

import { type Decimal, decimalOf, formatDecimal } from './decimal.js';

/** A finite extended-precision value: m · 2^e (m carries the sign), or an infinity. */
export type Extended = { readonly m: bigint; readonly e: number } | { readonly infinity: 1 | -1 };

const significandBits = 64;
/** The least exponent of m · 2^e: the smallest subnormal is 2^-16445 (LDBL_TRUE_MIN). */
const exponentMin = -16445;
/** Values at or above 2^16384 overflow (LDBL_MAX is (2^64 - 1) · 2^16320). */
const exponentLimit = 16384;
/** Redis's MAX_LONG_DOUBLE_CHARS: string2ld refuses a string this long or longer. */
export const longDoubleCharsMax = 5 * 1024;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * The extended value nearest to num/den (den > 0), ties to even; an
 * infinity past the largest finite value. `zero` of a non-zero ratio is an
 * underflow (strtold's ERANGE to zero).
 */
export function roundRatio(num: bigint, den: bigint): Extended {
  if (num === 0n) return { m: 0n, e: 0 };
  const negative = num < 0n;
  const a = negative ? -num : num;
  let e = bitLength(a) - bitLength(den) - significandBits;
  if (e < exponentMin) e = exponentMin;
  let [q, r, d] = divideScaled(a, den, e);
  if (q >= 1n << BigInt(significandBits)) {
    e++;
    [q, r, d] = divideScaled(a, den, e);
  } else if (q < 1n << BigInt(significandBits - 1) && e > exponentMin) {
    e--;
    [q, r, d] = divideScaled(a, den, e);
  }
  // Round half to even on the remainder r/d.
  const twice = 2n * r;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q++;
  if (q === 1n << BigInt(significandBits)) {
    q >>= 1n;
    e++;
  }
  if (e + significandBits > exponentLimit) return { infinity: negative ? -1 : 1 };
  return { m: negative ? -q : q, e };
}

/** floor(a / den / 2^e) with its remainder, as [q, r, divisor]. */
function divideScaled(a: bigint, den: bigint, e: number): [bigint, bigint, bigint] {
  const num = e < 0 ? a << BigInt(-e) : a;
  const d = e > 0 ? den << BigInt(e) : den;
  return [num / d, num % d, d];
}

/** The exact rational of a finite value, as num/den with den a power of two. */
function ratioOf(x: { m: bigint; e: number }): [bigint, bigint] {
  return x.e >= 0 ? [x.m << BigInt(x.e), 1n] : [x.m, 1n << BigInt(-x.e)];
}

/** x + y in extended precision; undefined for NaN (inf + -inf). */
export function add(x: Extended, y: Extended): Extended | undefined {
  if ('infinity' in x) return 'infinity' in y && y.infinity !== x.infinity ? undefined : x;
  if ('infinity' in y) return y;
  const [xn, xd] = ratioOf(x);
  const [yn, yd] = ratioOf(y);
  const den = xd > yd ? xd : yd;
  return roundRatio(xn * (den / xd) + yn * (den / yd), den);
}

/** The extended value nearest to an exact decimal. */
export function fromDecimal(d: Decimal): Extended {
  return roundRatio(d.m, 10n ** BigInt(d.e));
}

/** The exact decimal of a finite value (every binary fraction is a finite decimal). */
export function toDecimal(x: { m: bigint; e: number }): Decimal {
  if (x.e >= 0) return decimalOf(x.m << BigInt(x.e), 0);
  return decimalOf(x.m * 5n ** BigInt(-x.e), -x.e);
}

const fractionDigits = 17;

/**
 * "%.17Lf" with trailing zeros and point removed, as ld2string
 * LD_STR_HUMAN; a result that rounds to zero prints "0" whatever its sign,
 * as Redis 7 answers (`SET k -1e-20`, `INCRBYFLOAT k 0` gives "0"). The
 * exact decimal it shows is returned beside the text.
 */
export function formatHuman(x: { m: bigint; e: number }): { text: string; value: Decimal } {
  const negative = x.m < 0n;
  const m = negative ? -x.m : x.m;
  const scale = 10n ** BigInt(fractionDigits);
  let scaled: bigint;
  if (x.e >= 0) scaled = (m << BigInt(x.e)) * scale;
  else {
    const shift = BigInt(-x.e);
    const num = m * scale;
    scaled = num >> shift;
    const r = num - (scaled << shift);
    const half = 1n << (shift - 1n);
    if (r > half || (r === half && (scaled & 1n) === 1n)) scaled++;
  }
  const value = decimalOf(negative ? -scaled : scaled, fractionDigits);
  return { text: formatDecimal(value), value };
}

/**
 * strtold as string2ld accepts it: no leading space, the whole string
 * consumed (an embedded NUL too: string2ld checks the length), no NaN, no overflow to
 * infinity and no underflow to zero; "inf" and "infinity" are accepted (the
 * sum then fails as infinite). Decimal and C99 hex forms. Undefined when
 * Redis says "value is not a valid float".
 */
export function parseLongDouble(bytes: Buffer): Extended | undefined {
  if (bytes.length === 0 || bytes.length >= longDoubleCharsMax) return undefined;
  const text = bytes.toString('latin1');
  const match = /^([+-]?)(?:(inf(?:inity)?)|0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?|([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?)$/i.exec(text);
  if (match === null) return undefined;
  const sign = match[1] === '-' ? -1n : 1n;
  if (match[2] !== undefined) return { infinity: sign < 0n ? -1 : 1 };
  let num: bigint;
  let den = 1n;
  if (text.slice(match[1]!.length, match[1]!.length + 2).toLowerCase() === '0x') {
    const whole = match[3] ?? '';
    const frac = match[4] ?? '';
    // strtold reads "0x" with no digits as the number 0 followed by "x…": not the whole string.
    if (whole.length + frac.length === 0) return undefined;
    const exp = match[5] === undefined ? 0 : boundedExponent(match[5]);
    num = BigInt(`0x${whole}${frac}`);
    const binaryExp = exp - 4 * frac.length;
    if (binaryExp >= 0) num <<= BigInt(binaryExp);
    else den = 1n << BigInt(-binaryExp);
  } else {
    const whole = match[6] ?? '';
    const frac = match[7] ?? '';
    if (whole.length + frac.length === 0) return undefined;
    const exp = match[8] === undefined ? 0 : boundedExponent(match[8]);
    num = BigInt(`${whole}${frac}` || '0');
    const decimalExp = exp - frac.length;
    if (num !== 0n && decimalExp > 2 * exponentLimit) return undefined;
    if (num !== 0n && decimalExp < -2 * exponentLimit) return undefined;
    if (decimalExp >= 0) num *= 10n ** BigInt(decimalExp);
    else den = 10n ** BigInt(-decimalExp);
  }
  if (num === 0n) return { m: 0n, e: 0 };
  const value = roundRatio(sign * num, den);
  if ('infinity' in value) return undefined;
  if (value.m === 0n) return undefined;
  return value;
}

/**
 * An exponent as strtold sees it, clamped far beyond any finite extended
 * value (so a huge exponent cannot make a huge bigint): the clamped value
 * overflows or underflows just as the real one does.
 */
function boundedExponent(text: string): number {
  const n = Number(text);
  const limit = 4 * exponentLimit;
  return n > limit ? limit : n < -limit ? -limit : n;
}

/**
 * INCRBYFLOAT's sum: the value's and the increment's extended values added
 * and printed as Redis prints them, with the exact decimal of that text;
 * 'nan-or-infinity' when Redis refuses the result.
 */
export function incrByFloat(value: Extended, increment: Extended): { text: string; value: Decimal } | 'nan-or-infinity' {
  const sum = add(value, increment);
  if (sum === undefined || 'infinity' in sum) return 'nan-or-infinity';
  return formatHuman(sum);
}
