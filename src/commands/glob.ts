// Redis's glob matching (util.c stringmatchlen) over bytes: * ? [abc] [^a]
// [a-z] and \ escapes. Iterative with backtracking to the last star, so a
// hostile pattern costs O(pattern × string), not exponential time.

export function globMatch(pattern: Buffer, subject: Buffer, nocase = false): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = -1;
  while (s < subject.length) {
    if (p < pattern.length) {
      const c = pattern[p]!;
      if (c === 0x2a) {
        while (p + 1 < pattern.length && pattern[p + 1] === 0x2a) p++;
        starP = p++;
        starS = s;
        continue;
      }
      const step = matchOne(pattern, p, subject[s]!, nocase);
      if (step > 0) {
        p += step;
        s++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP + 1;
    s = ++starS;
  }
  while (p < pattern.length && pattern[p] === 0x2a) p++;
  return p === pattern.length;
}

function fold(b: number, nocase: boolean): number {
  return nocase && b >= 0x41 && b <= 0x5a ? b + 32 : b;
}

/** Length of the pattern element at p when it matches byte b, 0 when it does not. */
function matchOne(pattern: Buffer, p: number, b: number, nocase: boolean): number {
  const c = pattern[p]!;
  if (c === 0x3f) return 1;
  if (c === 0x5c && p + 1 < pattern.length) return fold(pattern[p + 1]!, nocase) === fold(b, nocase) ? 2 : 0;
  if (c === 0x5b) return matchClass(pattern, p, b, nocase);
  return fold(c, nocase) === fold(b, nocase) ? 1 : 0;
}

function matchClass(pattern: Buffer, start: number, b: number, nocase: boolean): number {
  let p = start + 1;
  const negate = pattern[p] === 0x5e;
  if (negate) p++;
  let matched = false;
  const x = fold(b, nocase);
  while (p < pattern.length && pattern[p] !== 0x5d) {
    if (pattern[p] === 0x5c && p + 1 < pattern.length) {
      if (fold(pattern[p + 1]!, nocase) === x) matched = true;
      p += 2;
    } else if (p + 2 < pattern.length && pattern[p + 1] === 0x2d && pattern[p + 2] !== 0x5d) {
      let lo = fold(pattern[p]!, nocase);
      let hi = fold(pattern[p + 2]!, nocase);
      if (lo > hi) [lo, hi] = [hi, lo];
      if (x >= lo && x <= hi) matched = true;
      p += 3;
    } else {
      if (fold(pattern[p]!, nocase) === x) matched = true;
      p++;
    }
  }
  // An unterminated class runs to the end of the pattern, as in Redis.
  const end = p < pattern.length ? p + 1 : p;
  return matched !== negate ? end - start : 0;
}
