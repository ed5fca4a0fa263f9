// Limits the configuration enforces on behalf of the layers below it: the
// tombstone grace has a floor (a zero grace reaps a delete before it reaches
// the other replicas), and on a replicated node the largest value is what a
// peer frame can carry, whatever proto-max-bulk-len asks for.

import test from 'ava';
import { ConfigError, resolveConfig } from '../../src/cli/config.js';
import { replicatedValueBytesMax } from '../../src/coordinator/coordinator.js';
import { tombstoneGraceMsMin } from '../../src/coordinator/limits.js';

test('config › tombstone grace below the minimum is refused, naming the minimum', (t) => {
  for (const value of ['0', String(tombstoneGraceMsMin - 1)]) {
    const err = t.throws(() => resolveConfig(['--tombstone-grace-ms', value], {}), { instanceOf: ConfigError });
    t.regex(err!.message, new RegExp(`tombstone-grace-ms.*\\b${tombstoneGraceMsMin}\\b`), err!.message);
  }
  const fromEnv = t.throws(() => resolveConfig([], { RINGKV_TOMBSTONE_GRACE_MS: '10' }), { instanceOf: ConfigError });
  t.regex(fromEnv!.message, new RegExp(`\\b${tombstoneGraceMsMin}\\b`));
  t.is(resolveConfig(['--tombstone-grace-ms', String(tombstoneGraceMsMin)], {}).tombstoneGraceMs, tombstoneGraceMsMin);
});

test('config › with N > 1 the value limit is what a peer frame can carry', (t) => {
  const mib = 1024 * 1024;
  t.is(resolveConfig([], {}).protoMaxBulkLen, 512 * mib, 'a node of one keeps Redis\'s default');
  t.is(resolveConfig(['--seeds', '127.0.0.1:17001'], {}).protoMaxBulkLen, replicatedValueBytesMax);
  t.is(resolveConfig(['--n', '2', '--proto-max-bulk-len', String(1024 * mib)], {}).protoMaxBulkLen, replicatedValueBytesMax);
  t.is(resolveConfig(['--n', '3', '--proto-max-bulk-len', String(8 * mib)], {}).protoMaxBulkLen, 8 * mib);
  t.is(resolveConfig(['--n', '1', '--proto-max-bulk-len', String(1024 * mib)], {}).protoMaxBulkLen, 1024 * mib);
});
