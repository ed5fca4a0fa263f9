// Splitting an inline request ("SET k \"a b\"\r\n", typed into telnet) into
// arguments exactly as Redis does, so a line means the same here as there.
// A byte-for-byte port of sdssplitargs (Redis sds.c): blanks separate
// arguments; "double quotes" understand \n \r \t \b \a \xHH and \<any>;
// 'single quotes' understand only \'; a closing quote must be followed by a
// blank or the end of the line. Redis reads the line as a C string, so a NUL
// byte ends it: everything after a NUL is ignored.

import { Buffer } from 'node:buffer';

const NUL = 0;
const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;
const BACKSLASH = 92;
const LOWER_X = 120;

/**
 * The arguments of line[from, to), or null when quotes are unbalanced.
 * The arguments are views of one freshly allocated buffer, never of `line`.
 */
export function splitInlineArgs(line: Buffer, from: number, to: number): Buffer[] | null {
  const out = Buffer.allocUnsafe(to - from);
  const args: Buffer[] = [];
  const cursor = { line, to, at: from, out, written: 0 };
  for (;;) {
    while (isSpace(byteAt(cursor, cursor.at))) cursor.at++;
    if (byteAt(cursor, cursor.at) === NUL) return args;
    const start = cursor.written;
    if (!readToken(cursor)) return null;
    args.push(out.subarray(start, cursor.written));
  }
}

interface Cursor {
  readonly line: Buffer;
  readonly to: number;
  at: number;
  readonly out: Buffer;
  written: number;
}

// The C string's view of the line: past its end there is only the terminator.
function byteAt(cursor: Cursor, index: number): number {
  return index < cursor.to ? cursor.line[index]! : NUL;
}

// C isspace() in the "C" locale: space, \t, \n, \v, \f, \r.
function isSpace(byte: number): boolean {
  return byte === SPACE || (byte >= TAB && byte <= CR);
}

/** Reads one token at cursor.at into cursor.out; false on unbalanced quotes. */
function readToken(cursor: Cursor): boolean {
  let quote = NUL;
  for (;;) {
    const byte = byteAt(cursor, cursor.at);
    if (quote === DOUBLE_QUOTE) {
      if (byte === NUL) return false;
      if (byte === DOUBLE_QUOTE) return closeQuote(cursor);
      if (byte === BACKSLASH) readEscape(cursor);
      else emit(cursor, byte, 1);
    } else if (quote === SINGLE_QUOTE) {
      if (byte === NUL) return false;
      if (byte === SINGLE_QUOTE) return closeQuote(cursor);
      if (byte === BACKSLASH && byteAt(cursor, cursor.at + 1) === SINGLE_QUOTE) emit(cursor, SINGLE_QUOTE, 2);
      else emit(cursor, byte, 1);
    } else if (byte === SPACE || byte === LF || byte === CR || byte === TAB || byte === NUL) {
      // Unlike the blanks skipped between tokens, \v and \f do not end a token.
      if (byte !== NUL) cursor.at++;
      return true;
    } else if (byte === DOUBLE_QUOTE || byte === SINGLE_QUOTE) {
      quote = byte;
      cursor.at++;
    } else {
      emit(cursor, byte, 1);
    }
  }
}

function emit(cursor: Cursor, byte: number, consumed: number): void {
  cursor.out[cursor.written++] = byte;
  cursor.at += consumed;
}

// A closing quote must be followed by a blank or the end ("a"b is an error).
function closeQuote(cursor: Cursor): boolean {
  const after = byteAt(cursor, cursor.at + 1);
  if (after !== NUL && !isSpace(after)) return false;
  cursor.at++;
  return true;
}

/** At a backslash inside double quotes. */
function readEscape(cursor: Cursor): void {
  const next = byteAt(cursor, cursor.at + 1);
  if (next === LOWER_X) {
    const high = hexValue(byteAt(cursor, cursor.at + 2));
    const low = hexValue(byteAt(cursor, cursor.at + 3));
    if (high >= 0 && low >= 0) return emit(cursor, high * 16 + low, 4);
  }
  // A backslash before the end stays literal; the missing quote then fails.
  if (next === NUL) return emit(cursor, BACKSLASH, 1);
  emit(cursor, escapedByte(next), 2);
}

function escapedByte(byte: number): number {
  switch (byte) {
    case 0x6e: return LF; // n
    case 0x72: return CR; // r
    case 0x74: return TAB; // t
    case 0x62: return 8; // b
    case 0x61: return 7; // a
    default: return byte;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}
