// Limits the configuration enforces on behalf of the layers below it: the
// tombstone grace has a floor (a zero grace reaps a delete before it reaches
// the other replicas), and on a replicated node the largest value is what a
// peer frame can carry, whatever proto-max-bulk-len asks for.

import test from 'ava';
import { ConfigError, resolveConfig } from '../../src/cli/config.js';
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
