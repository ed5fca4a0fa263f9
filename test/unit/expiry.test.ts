// Expiry arguments as Redis 7 judges them (each case checked against
// redis-server 7.0): which amounts are "not an integer", which are an
// "invalid expire time", and which are accepted however large.
import test from 'ava';
import { CommandError } from '../../src/commands/types.js';
import { commandExpiry, msReply, optionExpiry, secondsReply } from '../../src/commands/expiry.js';
import { expireFlags } from '../../src/commands/keys.js';

const now = 1_800_000_000_000;
const notInteger = 'ERR value is not an integer or out of range';
const invalid = (command: string) => `ERR invalid expire time in '${command}' command`;

function outcome(run: () => number): number | string {
  try {
    return run();
  } catch (err) {
    if (err instanceof CommandError) return err.message;
    throw err;
  }
}

test('expiry › SET/GETEX EX|PX|EXAT|PXAT amounts', (t) => {
  const cases: [Parameters<typeof optionExpiry>[0], string, number | string][] = [
    ['EX', '9999999999999', now + 9999999999999000],
    ['EX', '99999999999999', now + 99999999999999000],
    ['EX', '9223372036854775', invalid('set')], // × 1000 + now passes LLONG_MAX
    ['EX', '9223372036854776', invalid('set')], // above LLONG_MAX / 1000
    ['EX', '9223372036854775807', invalid('set')],
    ['EX', '9223372036854775808', notInteger], // beyond long long
    ['EX', '0', invalid('set')],
    ['EX', '-1', invalid('set')],
    ['EX', '-0', notInteger],
    ['EX', '010', notInteger],
    ['EX', '+5', notInteger],
    ['PX', '9223372036854775807', invalid('set')],
    ['EXAT', '9223372036854775', 9223372036854775000],
    ['PXAT', '9223372036854775807', 2 ** 63],
    ['PXAT', '1', 1],
  ];
  for (const [option, amount, expected] of cases) {
    t.is(outcome(() => optionExpiry(option, Buffer.from(amount), now, 'set')), expected, `${option} ${amount}`);
  }
});

test('expiry › EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT amounts', (t) => {
  const cases: [string, 1 | 1000, boolean, string, number | string][] = [
    ['expire', 1000, false, '99999999999999', now + 99999999999999000],
    ['expire', 1000, false, '9223372036854775', invalid('expire')],
    ['expire', 1000, false, '-9223372036854775', now - 9223372036854775000],
    ['expire', 1000, false, '-9223372036854776', invalid('expire')],
    ['expire', 1000, false, '9223372036854775808', notInteger],
    ['pexpire', 1, false, '9223372036854775807', invalid('pexpire')],
    ['pexpire', 1, false, '-9223372036854775808', now - 2 ** 63],
    ['expireat', 1000, true, '9223372036854775', 9223372036854775000],
    ['expireat', 1000, true, '9223372036854775807', invalid('expireat')],
    ['pexpireat', 1, true, '9223372036854775807', 2 ** 63],
    ['expire', 1000, false, '-10', now - 10000],
  ];
  for (const [command, unit, absolute, amount, expected] of cases) {
    t.is(outcome(() => commandExpiry(Buffer.from(amount), unit, absolute, now, command)), expected, `${command} ${amount}`);
  }
});

test('expiry › EXPIRE options: only NX with another, and GT with LT, conflict; an unknown option is named', (t) => {
  const flags = (...options: string[]) => {
    try {
      return expireFlags(['EXPIRE', 'k', '10', ...options].map((a) => Buffer.from(a)), 3);
    } catch (err) {
      return (err as Error).message;
    }
  };
  t.deepEqual(flags('XX', 'LT'), { nx: false, xx: true, gt: false, lt: true });
  t.deepEqual(flags('xx', 'gt'), { nx: false, xx: true, gt: true, lt: false });
  t.deepEqual(flags('NX', 'NX'), { nx: true, xx: false, gt: false, lt: false });
  t.is(flags('NX', 'XX'), 'ERR NX and XX, GT or LT options at the same time are not compatible');
  t.is(flags('GT', 'LT', 'NX'), 'ERR NX and XX, GT or LT options at the same time are not compatible');
  t.is(flags('GT', 'LT'), 'ERR GT and LT options at the same time are not compatible');
  t.is(flags('NX', 'XX', 'foo'), 'ERR Unsupported option foo');
});

test('expiry › replies of times past 2^53 are exact int64 integers, clamped at LLONG_MAX', (t) => {
  t.is(msReply(2 ** 63), 9223372036854775807n);
  t.is(secondsReply(2 ** 63), 9223372036854776n);
  t.is(msReply(1_800_000_000_123), 1_800_000_000_123);
  t.is(secondsReply(1499), 1);
  t.is(secondsReply(1500), 2);
});
