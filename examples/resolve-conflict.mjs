// How an ioredis user meets and resolves a conflict (siblings) in ringkv.
//
//   npm start                              # a 3-node cluster on 7001-7003, in another terminal
//   node examples/resolve-conflict.mjs     # or: node examples/resolve-conflict.mjs 7001
//
// Two writers that did not see each other's write leave two siblings. To make
// that happen on a healthy cluster the example plays a client with a stale
// context (what a partitioned client would hold): both writes supersede the
// same old version, neither covers the other. Then it reads every sibling,
// merges them (a shopping cart: the union of items) and writes the merge with
// the causal context, which supersedes both.

import { Redis } from 'ioredis';

const port = Number(process.argv[2] ?? 7001);
const redis = new Redis({ port });
const key = `cart:${process.pid}`;

try {
  await redis.set(key, JSON.stringify(['milk']));
  const [base] = await redis.call('SIBLINGS', key, 'WITHVCLOCK'); // both writers start from this version

  // Writer A and writer B each add an item to the cart they read.
  await redis.call('SET', key, JSON.stringify(['milk', 'eggs']), 'VCLOCK', base);
  await redis.call('SET', key, JSON.stringify(['milk', 'bread']), 'VCLOCK', base);

  // Resolve: read every sibling and the context that covers exactly them in
  // ONE read (a separate VCLOCK could cover a write you were never shown),
  // merge, and write back with that context, which supersedes them all.
  const [context, siblings] = await redis.call('SIBLINGS', key, 'WITHVCLOCK');
  console.log('GET returns one of them:', await redis.get(key));
  console.log('SIBLINGS:', siblings);
  const merged = [...new Set(siblings.flatMap((s) => JSON.parse(s)))].sort();
  await redis.call('SET', key, JSON.stringify(merged), 'VCLOCK', context);

  console.log('after resolving, SIBLINGS:', await redis.call('SIBLINGS', key));
  await redis.del(key);
} finally {
  redis.disconnect();
}
