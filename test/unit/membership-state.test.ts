// Pure membership state: the merge rule is a join (commutative, associative,
// idempotent) so gossip converges whatever the order of exchanges; a restart's
// generation beats any heartbeat of an older life; one digest exchange each
// way leaves two views equal.
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import type { Digest, MemberState, StateMap } from '../../src/membership/state.js';
import {
  compareStamps, diff, digestsOf, leftAtMs, ownsTokens, removedState, ringPlacementChanged,
} from '../../src/membership/state.js';
import { answerWants, fromWire, toWire } from '../../src/membership/gossip.js';

const seed = 20240611;
const runs = { seed, numRuns: 300 };

// As in a real cluster, a state's content is a function of its stamp (the
// owner bumps the version on every change) and tokens of its generation.
const statuses = ['joining', 'normal', 'leaving'] as const;
const stateArb = (id: fc.Arbitrary<string>): fc.Arbitrary<MemberState> => fc.record({
  id,
  generation: fc.integer({ min: 1, max: 3 }),
  version: fc.integer({ min: 0, max: 4 }),
}).map(({ id: name, generation, version }) => ({
  id: name, generation, version,
  host: `10.0.${generation}.${version}`,
  respPort: 7000 + version,
  peerPort: 17000 + version,
  status: statuses[(generation + version) % 3]!,
  tokens: [BigInt(name.charCodeAt(0)) * 1000n + BigInt(generation)],
}));

// Free content, equal stamps included: the tie-break must still make merge a join.
const freeStateArb: fc.Arbitrary<MemberState> = fc.record({
  id: fc.constant('x'),
  host: fc.constantFrom('10.0.0.1', '10.0.0.2'),
  respPort: fc.constantFrom(7001, 7002),
  peerPort: fc.constantFrom(17001, 17002),
  tokens: fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 2 }),
  status: fc.constantFrom(...statuses),
  generation: fc.integer({ min: 1, max: 2 }),
  version: fc.integer({ min: 0, max: 2 }),
});

const idArb = fc.constantFrom('a', 'b', 'c', 'd');
const listArb = fc.array(stateArb(idArb), { maxLength: 8 });

// The model of what an exchange should achieve: per member, the newer state
// (membership.ts absorbs by the same stamps, one state at a time).
/**
 * The newer of two states of the same member. Equal stamps with different
 * content should not happen (the owner bumps on every change); if they do, a
 * canonical comparison picks one so merging stays commutative.
 */
function mergeState(a: MemberState, b: MemberState): MemberState {
  const order = compareStamps(a, b);
  if (order !== 0) return order > 0 ? a : b;
  const ka = canonicalKey(a);
  const kb = canonicalKey(b);
  return ka >= kb ? a : b;
}

function canonicalKey(s: MemberState): string {
  return `${s.status}|${s.host}|${s.respPort}|${s.peerPort}|${s.tokens.join(',')}`;
}

/** Merges remote states into a map, returning the new map and the ids whose state changed. */
function mergeStates(
  local: StateMap,
  remote: Iterable<MemberState>,
): { readonly states: Map<string, MemberState>; readonly changed: readonly string[] } {
  const states = new Map(local);
  const changed = new Set<string>();
  for (const incoming of remote) {
    const current = states.get(incoming.id);
    const winner = current === undefined ? incoming : mergeState(current, incoming);
    if (winner !== current) {
      states.set(incoming.id, winner);
      changed.add(incoming.id);
    }
  }
  return { states, changed: [...changed] };
}

function mapOf(states: readonly MemberState[]): Map<string, MemberState> {
  return mergeStates(new Map(), states).states;
}

function plain(m: StateMap): [string, MemberState][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

test('state › mergeState is commutative, associative and idempotent', (t) => {
  t.notThrows(() => fc.assert(fc.property(freeStateArb, freeStateArb, freeStateArb, (a, b, c) => {
    assert.deepEqual(mergeState(a, b), mergeState(b, a));
    assert.deepEqual(mergeState(mergeState(a, b), c), mergeState(a, mergeState(b, c)));
    assert.equal(mergeState(a, a), a);
  }), runs));
});

test('state › merging a map in any order gives the same map', (t) => {
  t.notThrows(() => fc.assert(fc.property(listArb, listArb, (xs, ys) => {
    const ab = mergeStates(mapOf(xs), ys).states;
    const ba = mergeStates(mapOf(ys), xs).states;
    assert.deepEqual(plain(ab), plain(ba));
    const again = mergeStates(ab, ys);
    assert.deepEqual(again.changed, []);
  }), runs));
});

test('state › a restart (new generation) beats a high version of the old life', (t) => {
  const old: MemberState = {
    id: 'n1', host: 'h', respPort: 1, peerPort: 2, tokens: [1n], status: 'normal', generation: 1000, version: 99_999,
  };
  const restarted: MemberState = { ...old, generation: 2000, version: 1 };
  t.is(mergeState(old, restarted), restarted);
  t.is(mergeState(restarted, old), restarted);
  t.true(compareStamps(restarted, old) > 0);
});

test('state › mergeStates reports exactly the ids that changed', (t) => {
  const a: MemberState = { id: 'a', host: 'h', respPort: 1, peerPort: 2, tokens: [], status: 'normal', generation: 1, version: 1 };
  const local = mapOf([a, { ...a, id: 'b' }]);
  const { states, changed } = mergeStates(local, [{ ...a, version: 2 }, { ...a, id: 'b', version: 0 }, { ...a, id: 'c' }]);
  t.deepEqual([...changed].sort(), ['a', 'c']);
  t.is(states.get('a')?.version, 2);
  t.is(states.get('b')?.version, 1);
  t.is(local.get('a')?.version, 1, 'the input map is not mutated');
});

// One SYN/ACK/push exchange, as membership.ts runs it, on pure maps.
function exchange(a: StateMap, b: StateMap): [StateMap, StateMap] {
  const fromB = diff(b, digestsOf(a));
  const aDigests = new Map(digestsOf(a).map((d) => [d.id, d.generation]));
  const ackStates = fromB.send.map((s) => fromWire(toWire(s, aDigests.get(s.id)), a.get(s.id))!);
  const a2 = mergeStates(a, ackStates).states;
  const push = answerWants(a2, fromB.request).map((w) => fromWire(w, b.get(w.id))!);
  const b2 = mergeStates(b, push).states;
  return [a2, b2];
}

test('state › one exchange leaves both views equal to their join', (t) => {
  t.notThrows(() => fc.assert(fc.property(listArb, listArb, (xs, ys) => {
    const [a, b] = exchange(mapOf(xs), mapOf(ys));
    const join = mergeStates(mapOf(xs), ys).states;
    assert.deepEqual(plain(a), plain(join));
    assert.deepEqual(plain(b), plain(join));
  }), runs));
});

test('state › diff sends what the peer lacks and requests what it has newer', (t) => {
  const s = (id: string, generation: number, version: number): MemberState => ({
    id, host: 'h', respPort: 1, peerPort: 2, tokens: [], status: 'normal', generation, version,
  });
  const local = mapOf([s('same', 1, 1), s('mineNewer', 1, 5), s('theirsNewer', 1, 5), s('onlyMine', 1, 1)]);
  const remote: Digest[] = [
    { id: 'same', generation: 1, version: 1 }, { id: 'mineNewer', generation: 1, version: 4 },
    { id: 'theirsNewer', generation: 2, version: 0 }, { id: 'onlyTheirs', generation: 1, version: 1 },
  ];
  const { send, request } = diff(local, remote);
  t.deepEqual(send.map((x) => x.id).sort(), ['mineNewer', 'onlyMine']);
  t.deepEqual(request, [{ id: 'theirsNewer', generation: 1, version: 5 }, { id: 'onlyTheirs', generation: 0, version: 0 }]);
});

test('state › ring placement changes only with ownership or tokens', (t) => {
  const a: MemberState = { id: 'a', host: 'h', respPort: 1, peerPort: 2, tokens: [1n, 2n], status: 'normal', generation: 1, version: 1 };
  t.true(ringPlacementChanged(undefined, a));
  t.false(ringPlacementChanged(a, { ...a, version: 2 }));
  t.false(ringPlacementChanged(a, { ...a, tokens: [1n, 2n], generation: 2 }));
  t.true(ringPlacementChanged(a, { ...a, tokens: [1n, 3n] }));
  t.true(ringPlacementChanged(a, { ...a, status: 'joining' }));
  t.false(ringPlacementChanged(undefined, { ...a, status: 'joining' }));
});

test('state › a removed member: its left state supersedes its life, owns nothing, and is sent to a later life of it instead of asked for', (t) => {
  const a: MemberState = { id: 'a', host: 'h', respPort: 1, peerPort: 2, tokens: [1n, 2n], status: 'normal', generation: 5, version: 40 };
  const left = removedState(a, 1_700_000_000_000);
  t.is(left.status, 'left');
  t.is(leftAtMs(left), 1_700_000_000_000);
  t.true(compareStamps(left, a) > 0, 'beats every heartbeat of that life');
  t.true(ringPlacementChanged(a, left), 'it leaves the ring');
  t.false(ownsTokens(left));
  const { send, request } = diff(mapOf([left]), [{ id: 'a', generation: 9, version: 1 }]);
  t.deepEqual(send.map((x) => x.status), ['left'], 'the later life hears it was removed');
  t.deepEqual(request, []);
});
