import test from 'ava';
import { parseInteger, parseLongLong } from '../../src/commands/args.js';
import { rangeOf } from '../../src/commands/strings.js';

test('args › strict integers as Redis string2ll', (t) => {
  const ok: [string, number][] = [['0', 0], ['1', 1], ['-1', -1], ['123456789', 123456789], ['9007199254740991', 9007199254740991]];
  for (const [text, value] of ok) t.is(parseInteger(Buffer.from(text)), value, text);
  for (const bad of ['', '-', '-0', '+1', '01', ' 1', '1 ', '1.0', 'abc', '9007199254740993', '-0x1', '1e3']) {
    t.is(parseInteger(Buffer.from(bad)), null, bad);
  }
});

test('args › long long arguments keep C long long\'s whole range, exactly', (t) => {
  t.is(parseLongLong(Buffer.from('9223372036854775807')), 9223372036854775807n);
  t.is(parseLongLong(Buffer.from('-9223372036854775808')), -9223372036854775808n);
  for (const bad of ['9223372036854775808', '-9223372036854775809', '-0', '00', '+1', '1 ', '']) t.is(parseLongLong(Buffer.from(bad)), null, bad);
});

test('args › GETRANGE index arithmetic matches Redis', (t) => {
  t.deepEqual(rangeOf(11, 0, 4), [0, 5]);
  t.deepEqual(rangeOf(11, -5, -1), [6, 11]);
  t.deepEqual(rangeOf(11, 0, -1), [0, 11]);
  t.deepEqual(rangeOf(11, 5, 100), [5, 11]);
  t.is(rangeOf(11, 5, 3), null);
  t.is(rangeOf(0, 0, -1), null);
  t.is(rangeOf(11, -1, -5), null);
});
