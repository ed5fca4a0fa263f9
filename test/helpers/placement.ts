// Where keys are stored, as the nodes themselves say (RING LOCAL), against
// where the ring says they belong (RING OWNERS): the check behind "every key
// on exactly its N owners" after a membership change.
import type { Redis } from 'ioredis';
import type { RingkvNode } from './cluster.js';

/** For each key, the ids of the nodes whose storage holds it (RING LOCAL), in `nodes` order. */
export async function holders(nodes: readonly RingkvNode[], keys: readonly string[]): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>(keys.map((k) => [k, []]));
  await Promise.all(nodes.map(async (node) => {
    const client = node.client({ protocol: 2 });
    for (let at = 0; at < keys.length; at += 2000) {
      const slice = keys.slice(at, at + 2000);
      const p = client.pipeline();
      for (const key of slice) p.call('RING', 'LOCAL', key);
      const replies = (await p.exec())!;
      slice.forEach((key, i) => {
        const [err, reply] = replies[i]!;
        if (err === null && (reply as unknown[]).length > 0) byKey.get(key)!.push(node.id);
      });
    }
    client.disconnect();
  }));
  return byKey;
}

/** Keys not held by exactly their preference list (RING OWNERS on `asker`), with what is wrong. */
export async function misplaced(asker: Redis, nodes: readonly RingkvNode[], keys: readonly string[]): Promise<string[]> {
  const held = await holders(nodes, keys);
  const p = asker.pipeline();
  for (const key of keys) p.call('RING', 'OWNERS', key);
  const owners = (await p.exec())!;
  const wrong: string[] = [];
  keys.forEach((key, i) => {
    const want = ((owners[i]![1] as string[][]) ?? []).map(([id]) => id!).sort();
    const got = [...held.get(key)!].sort();
    if (want.join(',') !== got.join(',')) wrong.push(`${key}: on ${got.join(',')}, owners ${want.join(',')}`);
  });
  return wrong;
}

