// When a subscriber that does not read its messages is cut off: Redis's
// `client-output-buffer-limit` (networking.c checkClientOutputBufferLimits),
// pure. A publisher must never wait for a slow subscriber, so a subscriber's
// unsent output grows as messages arrive; bounded, it is closed instead —
// at once past the hard limit, or when it has stayed past the soft limit
// for the soft seconds. A limit of 0 is off, as in Redis.
//
// The option's text is Redis's: classes (normal, replica — also spelled
// slave — and pubsub) each followed by hard, soft and soft-seconds, memory
// values in Redis's units. ringkv keeps all three classes so that a tool
// setting the whole line succeeds, and enforces the pubsub class: a normal
// client is never cut off (its connection stops reading requests instead,
// resp/connection.ts), and ringkv has no Redis replicas.

/** One class's limits: bytes, bytes, seconds. */
export interface OutputLimit {
  readonly hardBytes: number;
  readonly softBytes: number;
  readonly softSeconds: number;
}

export interface OutputLimits {
  readonly normal: OutputLimit;
  readonly replica: OutputLimit;
  readonly pubsub: OutputLimit;
}

/**
 * Redis's defaults: a normal client unlimited; a replica 256 MB, or 64 MB for
 * a minute; a subscriber 32 MB at once, or 8 MB sustained for a minute — room
 * for a burst, never for a reader that has stopped.
 */
export const outputLimitsDefault: OutputLimits = {
  normal: { hardBytes: 0, softBytes: 0, softSeconds: 0 },
  replica: { hardBytes: 256 * 1024 * 1024, softBytes: 64 * 1024 * 1024, softSeconds: 60 },
  pubsub: { hardBytes: 32 * 1024 * 1024, softBytes: 8 * 1024 * 1024, softSeconds: 60 },
};

/** The option's value as CONFIG GET shows it (Redis's spelling: replica as `slave`, bytes in full). */
export function formatOutputLimits(limits: OutputLimits): string {
  const one = (l: OutputLimit) => `${l.hardBytes} ${l.softBytes} ${l.softSeconds}`;
  return `normal ${one(limits.normal)} slave ${one(limits.replica)} pubsub ${one(limits.pubsub)}`;
}

export const outputLimitsDefaultText = formatOutputLimits(outputLimitsDefault);

/**
 * `text` applied over `base`: only the classes it names change, later ones
 * winning (Redis's CONFIG SET). Returns the new limits, or Redis's reason
 * (the words after "… - ") when the text is malformed; an empty text changes
 * nothing.
 */
export function parseOutputLimits(text: string, base: OutputLimits): OutputLimits | string {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  if (words.length % 4 !== 0) return 'Wrong number of arguments in buffer limit configuration.';
  const next: { -readonly [K in keyof OutputLimits]: OutputLimit } = { ...base };
  for (let i = 0; i < words.length; i += 4) {
    const kind = classOf(words[i]!.toLowerCase());
    if (kind === undefined) return 'Invalid client class specified in buffer limit configuration.';
    const hardBytes = memoryBytes(words[i + 1]!);
    const softBytes = memoryBytes(words[i + 2]!);
    const softSeconds = /^\d+$/.test(words[i + 3]!) ? Number(words[i + 3]) : undefined;
    if (hardBytes === undefined || softBytes === undefined || softSeconds === undefined || !Number.isSafeInteger(softSeconds)) {
      return 'Error in hard, soft or soft_seconds setting in buffer limit configuration.';
    }
    next[kind] = { hardBytes, softBytes, softSeconds };
  }
  return next;
}

function classOf(word: string): keyof OutputLimits | undefined {
  if (word === 'normal' || word === 'pubsub') return word;
  if (word === 'replica' || word === 'slave') return 'replica';
  return undefined;
}

/** Redis's memtoull: digits with an optional unit b k kb m mb g gb (k = 1000, kb = 1024), any case. */
function memoryBytes(word: string): number | undefined {
  const match = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(word);
  if (match === null) return undefined;
  const unit = (match[2] ?? 'b').toLowerCase();
  const multiplier = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[unit]!;
  const bytes = Number(match[1]) * multiplier;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

let lastText = outputLimitsDefaultText;
let lastLimits = outputLimitsDefault;

/** The limits a (valid, already checked) option text means; the last one is kept, so reading it per message costs a string compare. */
export function outputLimitsOf(text: string): OutputLimits {
  if (text === lastText) return lastLimits;
  const parsed = parseOutputLimits(text, outputLimitsDefault);
  if (typeof parsed === 'string') throw new Error(`unchecked client-output-buffer-limit '${text}': ${parsed}`);
  lastText = text;
  lastLimits = parsed;
  return parsed;
}

/** What a check of a client's pending output decides, and when it went over the soft limit (undefined: it is not over). */
export interface OutputVerdict {
  readonly close: 'hard' | 'soft' | undefined;
  readonly softSinceMs: number | undefined;
}

/**
 * Redis's check, made as output is added: past the hard limit the client is
 * closed; past the soft limit a clock starts, and the client is closed once
 * a check finds it still past the limit more than `softSeconds` later; under the soft
 * limit the clock stops. Past the hard limit or at the soft limit counts
 * (>=), and the soft seconds must have passed in full (>), as in Redis.
 */
export function judgeOutput(limit: OutputLimit, pendingBytes: number, softSinceMs: number | undefined, nowMs: number): OutputVerdict {
  if (limit.hardBytes > 0 && pendingBytes >= limit.hardBytes) return { close: 'hard', softSinceMs };
  if (limit.softBytes === 0 || pendingBytes < limit.softBytes) return { close: undefined, softSinceMs: undefined };
  if (softSinceMs === undefined) return { close: undefined, softSinceMs: nowMs };
  return { close: nowMs - softSinceMs > limit.softSeconds * 1000 ? 'soft' : undefined, softSinceMs };
}
