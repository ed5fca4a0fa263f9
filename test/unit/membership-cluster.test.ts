// Five Membership instances gossiping over the in-memory transport: they agree
// on the members and on the ring within a few seconds, notice a stopped node
// within downAfterMs (keeping it on the ring), and take back a restarted one.
import test from 'ava';
import { pino } from 'pino';
import type { Transport } from '../../src/peer/transport.js';
import { MemoryNetwork, MemoryTransport } from '../../src/peer/memory-transport.js';
import { Membership } from '../../src/membership/membership.js';
import { generateTokens, splitmix64 } from '../../src/ring/index.js';

const logger = pino({ level: 'silent' });
const gossipIntervalMs = 40;
const downAfterMs = 600;
const requestTimeoutMs = 200;
const convergeTimeoutMs = 4_000;
const pollMs = 20;
const nodeCount = 5;

interface Node {
  membership: Membership;
  transport: Transport;
}

function seededRandom(seed: number): () => number {
  const next = splitmix64(BigInt(seed));
  return () => Number(next() >> 11n) / 2 ** 53;
}

const address = (i: number) => `10.0.0.${i}:17000`;
const idOf = (i: number) => `n${i}`;
const tokensOf = (i: number) => generateTokens(idOf(i), 32, splitmix64(BigInt(i)));
// Every node gets the same seed list, its own address included where it is a seed.
const seeds = [address(1), address(2)];

type Timing = { gossipIntervalMs?: number; downAfterMs?: number; requestTimeoutMs?: number };
const fast: Timing = { gossipIntervalMs, downAfterMs, requestTimeoutMs };

async function startNode(network: MemoryNetwork, i: number, generation: number, timing: Timing = fast): Promise<Node> {
  const transport = new MemoryTransport({ network, nodeId: idOf(i), address: address(i) });
  const membership = new Membership({
    self: { id: idOf(i), host: `10.0.0.${i}`, respPort: 7000, peerPort: 17000, tokens: tokensOf(i) },
    generation, seeds, transport, n: 3, logger,
    ...timing, random: seededRandom(i * 1000 + generation),
  });
  transport.setHandler((from, msg) => membership.handleMessage(from, msg));
  await transport.listen();
  membership.start();
  return { membership, transport };
}

async function stopNode(node: Node): Promise<void> {
  await node.membership.stop();
  await node.transport.close();
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return Date.now() - started;
}

const sampleKeys = Array.from({ length: 200 }, (_, i) => Buffer.from(`key-${i}`));

function ringsAgree(nodes: readonly Node[]): boolean {
  const [first, ...rest] = nodes.map((n) => n.membership.ring());
  return rest.every((ring) => sampleKeys.every((k) => ring.preferenceList(k).join() === first!.preferenceList(k).join()));
}

function allSeeAllUp(nodes: readonly Node[], ids: readonly string[]): boolean {
  return nodes.every((n) => {
    const view = n.membership.members();
    return view.length === ids.length && view.every((m, i) => m.id === ids[i] && m.up);
  });
}

test.serial('cluster › five nodes converge, see a stopped node down, and a restarted one up again', async (t) => {
  const network = new MemoryNetwork({ seed: 7 });
  const ids = Array.from({ length: nodeCount }, (_, i) => idOf(i + 1));
  const nodes: Node[] = [];
  for (let i = 1; i <= nodeCount; i++) nodes.push(await startNode(network, i, 1_000 + i));
  try {
    const convergedMs = await waitFor('convergence', () => allSeeAllUp(nodes, ids) && ringsAgree(nodes), convergeTimeoutMs);
    t.log(`converged in ${convergedMs} ms`);
    t.deepEqual(nodes[0]!.membership.ring().members, ids);
    t.is(nodes[0]!.membership.ring().preferenceList(sampleKeys[0]!).length, 3);
    t.is(nodes[2]!.membership.peerAddress('n5'), address(5));

    let changes = 0;
    const unsubscribe = nodes[0]!.membership.onChange(() => { changes++; });
    const victim = nodes.pop()!;
    await stopNode(victim);
    const survivors = nodes;
    const downMs = await waitFor('n5 down everywhere', () => survivors.every((n) => !n.membership.isUp('n5')), downAfterMs + 1_000);
    t.log(`n5 seen down after ${downMs} ms`);
    t.true(changes >= 1, 'the liveness change was announced');
    unsubscribe();
    for (const n of survivors) {
      t.false(n.membership.upSet().has('n5'));
      t.true(n.membership.ring().members.includes('n5'), 'a down node stays on the ring');
      t.is(n.membership.members().length, nodeCount);
    }

    const restarted = await startNode(network, 5, 2_000);
    nodes.push(restarted);
    await waitFor('restarted n5 up everywhere', () => allSeeAllUp(nodes, ids) && ringsAgree(nodes), convergeTimeoutMs);
    for (const n of nodes) {
      t.is(n.membership.members().find((m) => m.id === 'n5')?.generation, 2_000);
    }
  } finally {
    await Promise.all(nodes.map(stopNode));
  }
});

test.serial('cluster › converges through loss and delay, and heals a partition', async (t) => {
  const network = new MemoryNetwork({ seed: 11, dropRate: 0.1, delayMsMin: 1, delayMsMax: 8 });
  const ids = Array.from({ length: nodeCount }, (_, i) => idOf(i + 1));
  const nodes: Node[] = [];
  for (let i = 1; i <= nodeCount; i++) nodes.push(await startNode(network, i, 1_000 + i));
  try {
    await waitFor('convergence under loss', () => allSeeAllUp(nodes, ids) && ringsAgree(nodes), convergeTimeoutMs);
    const left = [address(1), address(2)];
    const right = [address(3), address(4), address(5)];
    network.partition(left, right);
    await waitFor('each side sees the other down', () =>
      nodes.slice(0, 2).every((n) => !n.membership.isUp('n3') && !n.membership.isUp('n5'))
      && nodes.slice(2).every((n) => !n.membership.isUp('n1') && !n.membership.isUp('n2')), downAfterMs + 2_000);
    t.true(nodes[3]!.membership.isUp('n5'), 'a side keeps its own members up');
    t.true(ringsAgree(nodes), 'a partition changes liveness, not the ring');
    network.heal();
    const healMs = await waitFor('partition healed', () => allSeeAllUp(nodes, ids), convergeTimeoutMs);
    t.log(`healed in ${healMs} ms`);
  } finally {
    await Promise.all(nodes.map(stopNode));
  }
});

test.serial('cluster › with the default intervals five nodes converge within a few seconds', async (t) => {
  const network = new MemoryNetwork({ seed: 9, delayMsMin: 0, delayMsMax: 2 });
  const ids = Array.from({ length: nodeCount }, (_, i) => idOf(i + 1));
  const nodes: Node[] = [];
  for (let i = 1; i <= nodeCount; i++) nodes.push(await startNode(network, i, 1_000 + i, {}));
  try {
    const ms = await waitFor('convergence at default timing', () => allSeeAllUp(nodes, ids) && ringsAgree(nodes), 5_000);
    t.log(`converged in ${ms} ms at the default 500 ms interval`);
    t.pass();
  } finally {
    await Promise.all(nodes.map(stopNode));
  }
});

test.serial('cluster › a lone node is a cluster of one and stop leaves no timers', async (t) => {
  const network = new MemoryNetwork({ seed: 8 });
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const node = await startNode(network, 1, 1);
  await new Promise((resolve) => setTimeout(resolve, gossipIntervalMs * 3));
  t.deepEqual([...node.membership.upSet()], ['n1']);
  t.deepEqual(node.membership.ring().members, ['n1']);
  const view = node.membership.members();
  t.is(view.length, 1);
  t.true(view[0]!.up);
  t.is(view[0]!.vnodes, 32);
  await stopNode(node);
  t.is(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
});

test.serial('cluster › a dead member removed on one node leaves the ring everywhere, stays out when started again on its old disk, and the refusals are clear', async (t) => {
  const network = new MemoryNetwork({ seed: 11 });
  const ids = Array.from({ length: nodeCount }, (_, i) => idOf(i + 1));
  const nodes: Node[] = [];
  for (let i = 1; i <= nodeCount; i++) nodes.push(await startNode(network, i, 1_000 + i));
  try {
    await waitFor('convergence', () => allSeeAllUp(nodes, ids) && ringsAgree(nodes), convergeTimeoutMs);
    const first = nodes[0]!.membership;
    t.throws(() => first.remove('n5'), { code: 'REMOVE_UP' }, 'a live member is not removed');
    t.throws(() => first.remove('n1'), { code: 'REMOVE_SELF' });
    t.throws(() => first.remove('n9'), { code: 'REMOVE_UNKNOWN' });
    const victim = nodes.pop()!;
    await stopNode(victim);
    await waitFor('n5 down everywhere', () => nodes.every((n) => !n.membership.isUp('n5')), downAfterMs + 1_000);
    first.remove('n5');
    t.throws(() => first.remove('n5'), { code: 'REMOVE_LEFT' });
    const goneMs = await waitFor('n5 off every ring', () => nodes.every((n) => !n.membership.ring().members.includes('n5')), convergeTimeoutMs);
    t.log(`the removal reached every node in ${goneMs} ms`);
    t.true(ringsAgree(nodes));
    for (const n of nodes) {
      t.is(n.membership.members().find((m) => m.id === 'n5')?.status, 'left', 'listed as left');
      t.false(n.membership.isUp('n5'));
    }
    // N=3 with 4 members: removing two more would leave fewer than N.
    const n4 = nodes.pop()!;
    await stopNode(n4);
    await waitFor('n4 down everywhere', () => nodes.every((n) => !n.membership.isUp('n4')), downAfterMs + 1_000);
    first.remove('n4');
    const n3 = nodes.pop()!;
    await stopNode(n3);
    await waitFor('n3 down everywhere', () => nodes.every((n) => !n.membership.isUp('n3')), downAfterMs + 1_000);
    t.throws(() => first.remove('n3'), { code: 'REMOVE_TOO_FEW' });
    nodes.push(await startNode(network, 3, 2_003));

    // n5 started again on its old disk (its old id, a new generation): it hears it left, and stays out.
    const returned = await startNode(network, 5, 3_000);
    nodes.push(returned);
    await waitFor('n5 learns it was removed', () => returned.membership.removed(), convergeTimeoutMs);
    t.false(returned.membership.joined(), 'a removed node serves no one');
    await new Promise((resolve) => setTimeout(resolve, 10 * gossipIntervalMs));
    for (const n of nodes.filter((x) => x !== returned)) {
      t.false(n.membership.ring().members.includes('n5'), 'its new life does not bring it back');
      t.is(n.membership.members().find((m) => m.id === 'n5')?.status, 'left');
    }
  } finally {
    await Promise.all(nodes.map(stopNode));
  }
});
