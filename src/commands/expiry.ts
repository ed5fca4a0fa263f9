// Expiry arithmetic as Redis 7 does it, in C long long (int64) with its
// overflow checks, so the same arguments are accepted or refused with the
// same error (checked against redis-server 7.0 by the differential test):
//  - SET/GETEX EX|PX|EXAT|PXAT (t_string.c getExpireMillisecondsOrReply):
//    the amount must be > 0; seconds above LLONG_MAX/1000, or a relative
//    time whose sum with now passes LLONG_MAX, are "invalid expire time".
//  - EXPIRE family (expire.c expireGenericCommand): any long long; seconds
//    outside ±LLONG_MAX/1000, or a sum with now past LLONG_MAX, are invalid;
//    a time at or before now deletes the key.
// A time is kept as a number of ms. Past 2^53 ms (the year 287,396) a double
// holds it only to within a few ms — far beyond any real expiry, and the
// README says so; replies of such times go out as exact int64 integers.

import { int64Max, integerReply, parseLongLong, notInteger } from './args.js';
import { CommandError } from './types.js';

export const expireUnitsMs = { EX: 1000n, PX: 1n, EXAT: 1000n, PXAT: 1n } as const;
export type ExpireOption = keyof typeof expireUnitsMs;

export function isExpireOption(option: string): option is ExpireOption {
  return option === 'EX' || option === 'PX' || option === 'EXAT' || option === 'PXAT';
}

function invalidExpireTime(command: string): CommandError {
  return new CommandError(`ERR invalid expire time in '${command}' command`);
}

/** SET/GETEX: the absolute expiry (ms) an EX/PX/EXAT/PXAT amount gives, or Redis's error. */
export function optionExpiry(option: ExpireOption, amount: Buffer, nowMs: number, command: string): number {
  const value = parseLongLong(amount);
  if (value === null) throw new CommandError(notInteger);
  const unit = expireUnitsMs[option];
  if (value <= 0n || (unit === 1000n && value > int64Max / 1000n)) throw invalidExpireTime(command);
  let at = value * unit;
  if (option === 'EX' || option === 'PX') at += BigInt(nowMs);
  // Redis adds in a long long and refuses what wrapped below zero.
  if (at > int64Max) throw invalidExpireTime(command);
  return Number(at);
}

/**
 * EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT: the absolute expiry (ms) for `amount`
 * (seconds when unitMs is 1000; relative to now unless absolute), or Redis's
 * error. May be at or before now: the key is then deleted.
 */
export function commandExpiry(amount: Buffer, unitMs: 1 | 1000, absolute: boolean, nowMs: number, command: string): number {
  let when = parseLongLong(amount);
  if (when === null) throw new CommandError(notInteger);
  if (unitMs === 1000) {
    // C's LLONG_MIN/1000 truncates toward zero, as bigint division does.
    if (when > int64Max / 1000n || when < -int64Max / 1000n) throw invalidExpireTime(command);
    when *= 1000n;
  }
  const base = absolute ? 0n : BigInt(nowMs);
  if (when > int64Max - base) throw invalidExpireTime(command);
  return Number(when + base);
}

/** An absolute expiry (ms) as an integer reply, clamped to int64 (a double near 2^63 rounds up to it). */
export function msReply(ms: number): number | bigint {
  if (Number.isSafeInteger(ms)) return ms;
  const exact = BigInt(Math.trunc(ms));
  return integerReply(exact > int64Max ? int64Max : exact);
}

/** Redis's seconds from ms: (ms + 500) / 1000 in integer arithmetic. */
export function secondsReply(ms: number): number | bigint {
  if (Number.isSafeInteger(ms) && ms + 500 <= Number.MAX_SAFE_INTEGER) return Math.floor((ms + 500) / 1000);
  const exact = BigInt(Math.trunc(ms));
  return integerReply(((exact > int64Max ? int64Max : exact) + 500n) / 1000n);
}
