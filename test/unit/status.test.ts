// `ringkv status`'s parsing of what the asked node reports.
import test from 'ava';
import { hostReachById } from '../../src/cli/status.js';

test('status › the Host column reads each member\'s host= from the INFO member lines', (t) => {
  const info = [
    '# Cluster', 'host_probe:on',
    'member0:id=n1,address=127.0.0.1:7001,state=normal,liveness=up,phi=0.00,host=reachable,host_rtt_ms=0.05',
    'member1:id=n2,address=10.0.0.2:7001,state=normal,liveness=down,phi=inf,host=unreachable',
    // From a node before the probe: no host field, so no diagnosis ('?' in the column).
    'member2:id=n3,address=10.0.0.3:7001,state=normal,liveness=up,phi=0.31',
    'member3:id=n4,address=10.0.0.4:7001,state=normal,liveness=up,phi=0.31,host=bogus',
    '',
  ].join('\r\n');
  t.deepEqual([...hostReachById(info)], [['n1', 'reachable'], ['n2', 'unreachable']]);
});
