// client-output-buffer-limit: Redis's option text (checked against
// redis-server 7.0.15's CONFIG SET/GET) and the hard/soft judgment.

import test from 'ava';
import {
  formatOutputLimits, judgeOutput, outputLimitsDefault, outputLimitsDefaultText, outputLimitsOf, parseOutputLimits,
} from '../../src/pubsub/output-limit.js';

test('output limit › the default reads as Redis 7 shows it', (t) => {
  t.is(outputLimitsDefaultText, 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
  t.deepEqual(outputLimitsDefault.pubsub, { hardBytes: 32 * 1024 * 1024, softBytes: 8 * 1024 * 1024, softSeconds: 60 });
});

test('output limit › only the classes named change, in Redis\'s units, later ones winning', (t) => {
  const one = parseOutputLimits('pubsub 1mb 512kb 10', outputLimitsDefault);
  t.is(formatOutputLimits(one as typeof outputLimitsDefault), 'normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10');
  const two = parseOutputLimits('replica 1 2 3 PUBSUB 1k 2K 7 pubsub 5 6 7', outputLimitsDefault);
  t.is(formatOutputLimits(two as typeof outputLimitsDefault), 'normal 0 0 0 slave 1 2 3 pubsub 5 6 7');
  t.is(formatOutputLimits(parseOutputLimits('slave 1g 1gb 0', outputLimitsDefault) as typeof outputLimitsDefault),
    'normal 0 0 0 slave 1000000000 1073741824 0 pubsub 33554432 8388608 60');
  t.deepEqual(parseOutputLimits('', outputLimitsDefault), outputLimitsDefault, 'an empty value changes nothing');
});

test('output limit › malformed values get Redis\'s reasons', (t) => {
  t.is(parseOutputLimits('pubsub 1mb 512kb', outputLimitsDefault), 'Wrong number of arguments in buffer limit configuration.');
  t.is(parseOutputLimits('foo 1 2 3', outputLimitsDefault), 'Invalid client class specified in buffer limit configuration.');
  for (const bad of ['pubsub x 2 3', 'pubsub 1 2 -3', 'pubsub -1 2 3', 'pubsub 1 2 3s', 'pubsub 1tb 2 3']) {
    t.is(parseOutputLimits(bad, outputLimitsDefault), 'Error in hard, soft or soft_seconds setting in buffer limit configuration.', bad);
  }
});

test('output limit › outputLimitsOf reads a checked text and refuses an unchecked one', (t) => {
  t.deepEqual(outputLimitsOf('normal 0 0 0 slave 1 2 3 pubsub 5 6 7').pubsub, { hardBytes: 5, softBytes: 6, softSeconds: 7 });
  t.deepEqual(outputLimitsOf(outputLimitsDefaultText), outputLimitsDefault);
  t.throws(() => outputLimitsOf('pubsub 1'));
});

const limit = { hardBytes: 1000, softBytes: 100, softSeconds: 2 };

test('output limit › at the hard limit a client is closed at once', (t) => {
  t.deepEqual(judgeOutput(limit, 999, undefined, 0), { close: undefined, softSinceMs: 0 });
  t.is(judgeOutput(limit, 1000, undefined, 0).close, 'hard');
});

test('output limit › past the soft limit a clock starts; closed only when still past it after more than the soft seconds', (t) => {
  let v = judgeOutput(limit, 99, undefined, 0);
  t.deepEqual(v, { close: undefined, softSinceMs: undefined });
  v = judgeOutput(limit, 100, v.softSinceMs, 1_000);
  t.deepEqual(v, { close: undefined, softSinceMs: 1_000 });
  v = judgeOutput(limit, 500, v.softSinceMs, 3_000);
  t.is(v.close, undefined, 'exactly the soft seconds is not yet more than them');
  t.is(judgeOutput(limit, 500, v.softSinceMs, 3_001).close, 'soft');
  const under = judgeOutput(limit, 50, v.softSinceMs, 2_500);
  t.deepEqual(under, { close: undefined, softSinceMs: undefined }, 'going under stops the clock');
  t.is(judgeOutput(limit, 500, under.softSinceMs, 10_000).close, undefined, 'a new excursion starts a new clock');
});

test('output limit › a limit of 0 is off', (t) => {
  const off = { hardBytes: 0, softBytes: 0, softSeconds: 0 };
  t.deepEqual(judgeOutput(off, 1e12, undefined, 0), { close: undefined, softSinceMs: undefined });
  const softOnly = { hardBytes: 0, softBytes: 10, softSeconds: 0 };
  const first = judgeOutput(softOnly, 1e12, undefined, 0);
  t.is(first.close, undefined);
  t.is(judgeOutput(softOnly, 1e12, first.softSinceMs, 1).close, 'soft');
});
