// A node serves quorum reads and writes only once it has heard its cluster:
// before that its ring holds only itself, and a W=2 write "acknowledged" by
// its one copy would be a lie (the data-safety issue's failure 3: 119
// acknowledged writes lost in the 0.6 s between a node's "ready" and its
// first gossip reply).
import test from 'ava';
import { Redis } from 'ioredis';
import { startNode, eventually, type RingkvNode } from '../helpers/cluster.js';
import { freePortPair } from '../helpers/ports.js';

test('join gate › a node whose seeds do not answer refuses reads and writes with LOADING, then serves once a seed is up', async (t) => {
  const seedPorts = await freePortPair();
  const lonely = await startNode({ id: 'lonely', seeds: [`127.0.0.1:${seedPorts.peerPort}`], n: 3, r: 2, w: 2 });
  let seed: RingkvNode | undefined;
  t.teardown(async () => {
    await lonely.cleanup();
    await seed?.cleanup();
  });
  const client = new Redis({ port: lonely.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
  t.teardown(() => client.disconnect());
  await client.connect();
  t.is(await client.ping(), 'PONG', 'connection commands are served');
  t.regex(await client.info('persistence'), /^loading:1/m);
  await t.throwsAsync(client.set('k', 'v'), { message: /^LOADING / });
  await t.throwsAsync(client.get('k'), { message: /^LOADING / });
  t.is((await lonely.cli('SET', 'k', 'v')).trim(), 'LOADING this node has not joined its cluster yet');

  seed = await startNode({ id: 'seed', port: seedPorts.port, peerPort: seedPorts.peerPort, seeds: [`127.0.0.1:${lonely.peerPort}`], n: 3, r: 2, w: 2 });
  const joined = await eventually(async () => /^loading:0/m.test(await client.info('persistence')), 15_000);
  if (!joined) t.log(lonely.output.tail(40), seed.output.tail(40));
  t.true(joined, 'joined once the seed answered');
  // Two members, N=3: W=2 is met by both, never by one copy.
  t.is(await client.set('k', 'v'), 'OK');
  t.is(await client.get('k'), 'v');
});
