// What INFO commandstats, errorstats and latencystats count, as Redis 7
// counts it: calls, failed and rejected calls, error prefixes (the first word
// when a space ends it within 32 bytes, ERR otherwise; at most 128, then
// ERRORSTATS_DISABLED until CONFIG RESETSTAT), latency percentiles, and the
// instantaneous rates' 16-sample mean.

import test from 'ava';
import { CommandStats, errorPrefixesMax, InstantaneousRate, parsePercentiles } from '../../src/commands/command-stats.js';
import { buildCommandTable } from '../../src/commands/table.js';
import type { CommandSpec } from '../../src/commands/types.js';
import { ErrorReply } from '../../src/resp/reply.js';

const table = buildCommandTable();
const spec = (name: string): CommandSpec => table.get(name)!;

test('calls, failed calls and rejected calls per command, and Redis\'s totals', (t) => {
  const stats = new CommandStats(undefined);
  stats.called(spec('get'), 'v', 0.002);
  stats.called(spec('get'), null, 0.004);
  stats.called(spec('set'), new ErrorReply("ERR invalid expire time in 'set' command"), 0.01);
  stats.rejected(spec('set'), new ErrorReply("ERR wrong number of arguments for 'set' command"));
  stats.rejected(undefined, new ErrorReply("ERR unknown command 'foo', with args beginning with: "));
  t.deepEqual(stats.commandLines(), [
    ['cmdstat_get', 'calls=2,usec=6,usec_per_call=3.00,rejected_calls=0,failed_calls=0'],
    ['cmdstat_set', 'calls=1,usec=10,usec_per_call=10.00,rejected_calls=1,failed_calls=1'],
  ]);
  t.deepEqual(stats.errorLines(), [['errorstat_ERR', 'count=3']]);
  t.is(stats.commandsProcessed, 3);
  t.is(stats.errorReplies, 3);
});

test('an error\'s prefix is its first word when a space ends it within 32 bytes, ERR otherwise; INFO-unsafe characters become _', (t) => {
  const stats = new CommandStats(undefined);
  for (const message of ['NOQUORUM 1 of 2 replicas answered', 'WRONGTYPE Operation', `${'X'.repeat(40)} too long`, 'NOSPACE', 'A:B c']) {
    stats.errorReplied(message);
  }
  t.deepEqual(stats.errorLines(), [['errorstat_NOQUORUM', 'count=1'], ['errorstat_WRONGTYPE', 'count=1'], ['errorstat_ERR', 'count=2'], ['errorstat_A_B', 'count=1']]);
});

test('past 128 prefixes errorstats shows only ERRORSTATS_DISABLED until reset; total_error_replies goes on', (t) => {
  const warnings: unknown[] = [];
  const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as import('pino').Logger;
  const stats = new CommandStats(logger);
  for (let i = 0; i < errorPrefixesMax; i++) stats.errorReplied(`P${i} x`);
  t.is(stats.errorLines().length, errorPrefixesMax);
  stats.errorReplied('P0 again');
  t.is(stats.errorLines().length, errorPrefixesMax, 'a known prefix still counts');
  stats.errorReplied('ONEMORE x');
  stats.errorReplied('P1 x');
  t.deepEqual(stats.errorLines(), [['errorstat_ERRORSTATS_DISABLED', 'count=1']]);
  t.is(stats.errorReplies, errorPrefixesMax + 3);
  t.is(warnings.length, 1, 'logged once, as Redis logs it');
  stats.reset();
  stats.errorReplied('ERR x');
  t.deepEqual(stats.errorLines(), [['errorstat_ERR', 'count=1']]);
  t.is(stats.errorReplies, 1);
});

test('latencystats: each percentile in microseconds with three decimals; off shows nothing', (t) => {
  const stats = new CommandStats(undefined);
  for (let i = 1; i <= 100; i++) stats.called(spec('get'), 'v', i / 1000);
  const [[name, value]] = stats.latencyLines() as [[string, string]];
  t.is(name, 'latency_percentiles_usec_get');
  t.regex(value, /^p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$/);
  const p50 = Number(/p50=([\d.]+)/.exec(value)![1]);
  t.true(p50 >= 49 && p50 <= 51.5, `p50 ${p50}`);
  stats.setLatencyTracking({ tracking: true, percentiles: [99.99, 0.5, 100] });
  t.regex(stats.latencyLines()[0]![1], /^p99\.99=[\d.]+,p0\.5=[\d.]+,p100=[\d.]+$/);
  stats.setLatencyTracking({ tracking: false, percentiles: [50] });
  t.deepEqual(stats.latencyLines(), []);
});

test('latency-tracking-info-percentiles is read as Redis reads it', (t) => {
  t.deepEqual(parsePercentiles('50 99 99.9'), [50, 99, 99.9]);
  t.deepEqual(parsePercentiles('  50.0   1e1 '), [50, 10]);
  t.deepEqual(parsePercentiles(''), []);
  t.is(parsePercentiles('50 abc'), 'Invalid latency-tracking-info-percentiles parameters');
  t.is(parsePercentiles('50 101'), 'latency-tracking-info-percentiles parameters should sit between [0.0,100.0]');
  t.is(parsePercentiles('-1'), 'latency-tracking-info-percentiles parameters should sit between [0.0,100.0]');
});

test('an instantaneous rate is the mean of the last 16 samples, per second', (t) => {
  const rate = new InstantaneousRate();
  rate.sample(0, 0);
  t.is(rate.perSecond(), 0);
  for (let i = 1; i <= 16; i++) rate.sample(i * 100, i * 100);
  t.is(rate.perSecond(), 1000);
  for (let i = 17; i <= 24; i++) rate.sample(1600, i * 100);
  t.is(rate.perSecond(), 500, 'half the window idle');
  rate.reset();
  t.is(rate.perSecond(), 0);
});
