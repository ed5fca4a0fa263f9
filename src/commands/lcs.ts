// LCS: the longest common subsequence of two keys' values, Redis 7's
// dynamic program (t_string.c lcsCommand) ported as it is, so ties between
// equally long subsequences are broken the same way and IDX lists the same
// ranges. Its table is (|a|+1)·(|b|+1) 32-bit cells and runs in the event
// loop, so, as Redis does, a table larger than proto-max-bulk-len bytes is
// refused. The two keys are read one after the other, each at R (not a
// snapshot of both).

import { MapReply, type Reply } from '../resp/reply.js';
import { longLongArg, syntaxError, upper } from './args.js';
import { readValue, stringOrUndefined } from './data.js';
import { CommandError, type CommandContext } from './types.js';

export interface LcsMatch {
  /** Inclusive ranges in a and in b, and the match's length. */
  readonly a: [number, number];
  readonly b: [number, number];
  readonly length: number;
}

export interface LcsResult {
  readonly length: number;
  readonly sequence: Buffer;
  /** Matches from the end of the strings backwards, as Redis lists them. */
  readonly matches: LcsMatch[];
}

/** The table's cell count, for the memory check before it is built. */
export function lcsTableBytes(a: Buffer, b: Buffer): number {
  return (a.length + 1) * (b.length + 1) * 4;
}

export function lcs(a: Buffer, b: Buffer): LcsResult {
  const alen = a.length;
  const blen = b.length;
  const width = blen + 1;
  const table = new Uint32Array((alen + 1) * width);
  for (let i = 1; i <= alen; i++) {
    for (let j = 1; j <= blen; j++) {
      if (a[i - 1] === b[j - 1]) table[i * width + j] = table[(i - 1) * width + j - 1]! + 1;
      else table[i * width + j] = Math.max(table[(i - 1) * width + j]!, table[i * width + j - 1]!);
    }
  }
  const length = table[alen * width + blen]!;
  const sequence = Buffer.alloc(length);
  const matches: LcsMatch[] = [];
  // Walk back from the end, growing a range while matches stay contiguous.
  let idx = length;
  let i = alen;
  let j = blen;
  let aStart = -1;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      sequence[idx - 1] = a[i - 1]!;
      if (aStart === -1) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (table[(i - 1) * width + j]! > table[i * width + j - 1]!) i--;
      else j--;
      if (aStart !== -1) emit = true;
    }
    if (emit) {
      matches.push({ a: [aStart, aEnd], b: [bStart, bEnd], length: aEnd - aStart + 1 });
      aStart = -1;
    }
  }
  return { length, sequence, matches };
}

interface LcsOptions {
  idx: boolean;
  len: boolean;
  withMatchLen: boolean;
  minMatchLen: bigint;
}

function parseOptions(args: Buffer[]): LcsOptions {
  const options: LcsOptions = { idx: false, len: false, withMatchLen: false, minMatchLen: 0n };
  for (let j = 3; j < args.length; j++) {
    const option = upper(args[j]!);
    if (option === 'IDX') options.idx = true;
    else if (option === 'LEN') options.len = true;
    else if (option === 'WITHMATCHLEN') options.withMatchLen = true;
    else if (option === 'MINMATCHLEN' && j + 1 < args.length) {
      const min = longLongArg(args[++j]!);
      options.minMatchLen = min < 0n ? 0n : min;
    } else throw new CommandError(syntaxError);
  }
  if (options.idx && options.len) throw new CommandError('ERR If you want both the length and indexes, please just use IDX.');
  return options;
}

export async function lcsCommand(ctx: CommandContext, args: Buffer[]): Promise<Reply> {
  // Redis reads both keys before it parses the options.
  const a = stringOrUndefined(await readValue(ctx, args[1]!)) ?? Buffer.alloc(0);
  const b = stringOrUndefined(await readValue(ctx, args[2]!)) ?? Buffer.alloc(0);
  const options = parseOptions(args);
  if (lcsTableBytes(a, b) > ctx.server.config.protoMaxBulkLen) {
    throw new CommandError('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  const result = lcs(a, b);
  if (options.len) return result.length;
  if (!options.idx) return result.sequence;
  const matches = result.matches
    .filter((m) => options.minMatchLen === 0n || BigInt(m.length) >= options.minMatchLen)
    .map((m): Reply => (options.withMatchLen ? [[...m.a], [...m.b], m.length] : [[...m.a], [...m.b]]));
  return new MapReply([['matches', matches], ['len', result.length]]);
}
