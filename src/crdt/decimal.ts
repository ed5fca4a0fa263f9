// Exact decimals for the counter (counter.ts): a value is n · 10^-scale with
// a bigint n, so sums are exact, associative and commutative — a counter's
// value is the same whatever order its replicas merged its parts in. Every
// number a counter meets is a finite decimal: integers, the strings a
// counter starts from, and INCRBYFLOAT's printed results (long-double.ts).

/** n · 10^-scale, normalized: scale ≥ 0, and n is not a multiple of 10 when scale > 0. */
export interface Decimal {
  readonly n: bigint;
  readonly scale: number;
}

export const zero: Decimal = { n: 0n, scale: 0 };

export function decimalOf(n: bigint, scale: number): Decimal {
  if (n === 0n) return zero;
  while (scale > 0 && n % 10n === 0n) {
    n /= 10n;
    scale--;
  }
  return { n, scale };
}

export function integer(n: bigint): Decimal {
  return { n, scale: 0 };
}

function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  if (a.scale === b.scale) return [a.n, b.n, a.scale];
  if (a.scale > b.scale) return [a.n, b.n * 10n ** BigInt(a.scale - b.scale), a.scale];
  return [a.n * 10n ** BigInt(b.scale - a.scale), b.n, b.scale];
}

export function plus(a: Decimal, b: Decimal): Decimal {
  if (b.n === 0n) return a;
  if (a.n === 0n) return b;
  const [x, y, scale] = aligned(a, b);
  return decimalOf(x + y, scale);
}

export function minus(a: Decimal, b: Decimal): Decimal {
  return plus(a, { n: -b.n, scale: b.scale });
}

export function equal(a: Decimal, b: Decimal): boolean {
  return a.n === b.n && a.scale === b.scale;
}

export function compare(a: Decimal, b: Decimal): number {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The plain text: "-12.5", "0", never an exponent or trailing zeros. */
export function decimalText(d: Decimal): string {
  if (d.scale === 0) return d.n.toString();
  const negative = d.n < 0n;
  const digits = (negative ? -d.n : d.n).toString().padStart(d.scale + 1, '0');
  const point = digits.length - d.scale;
  return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
}

const canonical = /^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/;

/** Reads decimalText's output back; undefined for anything else (a different spelling of the same number included). */
export function parseDecimalText(text: string): Decimal | undefined {
  if (!canonical.test(text) || text === '-0') return undefined;
  const point = text.indexOf('.');
  if (point === -1) return integer(BigInt(text));
  const scale = text.length - point - 1;
  return decimalOf(BigInt(text.slice(0, point) + text.slice(point + 1)), scale);
}
