// Ring tests: preference lists checked against a naive O(T) walk written
// here, balance and movement at the default V on seeded tokens, and the
// sloppy-quorum annotation against a naive model.

import test from 'ava';
import fc from 'fast-check';
import {
  Ring,
  annotatedPreferenceList,
  annotatedPreferenceListForToken,
  generateTokens,
  keyToken,
  splitmix64,
  tokenSpace,
  vnodesDefault,
  type AnnotatedNode,
  type RingMember,
} from '../../src/ring/index.js';

const propertyRuns = { seed: 1, numRuns: 200 };

// --- naive models -----------------------------------------------------------

interface Entry {
  token: bigint;
  id: string;
}

function sortedEntries(members: readonly RingMember[]): Entry[] {
  const entries = members.flatMap((m) => m.tokens.map((token) => ({ token, id: m.id })));
  return entries.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every distinct node, clockwise from the first token ≥ `token`. */
function naiveWalk(members: readonly RingMember[], token: bigint): string[] {
  const entries = sortedEntries(members);
  const found = entries.findIndex((e) => e.token >= token);
  const start = found < 0 ? 0 : found;
  const order: string[] = [];
  for (let step = 0; step < entries.length; step++) {
    const { id } = entries[(start + step) % entries.length]!;
    if (!order.includes(id)) order.push(id);
  }
  return order;
}

function naivePreferenceList(members: readonly RingMember[], n: number, token: bigint): string[] {
  return naiveWalk(members, token).slice(0, n);
}

function naiveAnnotated(members: readonly RingMember[], n: number, token: bigint, up: ReadonlySet<string>): AnnotatedNode[] {
  const order = naiveWalk(members, token);
  const primaries = order.slice(0, n);
  const spares = order.slice(n).filter((id) => up.has(id));
  const down = primaries.filter((id) => !up.has(id));
  const result: AnnotatedNode[] = primaries.filter((id) => up.has(id)).map((node) => ({ node, role: 'primary' }));
  down.slice(0, spares.length).forEach((id, i) => result.push({ node: spares[i]!, role: 'fallback', for: id }));
  return result;
}

function naiveOwnership(members: readonly RingMember[]): Map<string, number> {
  const entries = sortedEntries(members);
  const shares = new Map<string, number>(members.filter((m) => m.tokens.length > 0).map((m) => [m.id, 0]));
  entries.forEach((e, i) => {
    const prev = i === 0 ? entries[entries.length - 1]!.token - tokenSpace : entries[i - 1]!.token;
    shares.set(e.id, shares.get(e.id)! + Number(e.token - prev) / Number(tokenSpace));
  });
  return shares;
}

// --- generators -------------------------------------------------------------

/** Full-range tokens, plus a tiny range so identical tokens and wrap-around occur. */
const tokenArb = fc.oneof(fc.bigInt({ min: 0n, max: tokenSpace - 1n }), fc.bigInt({ min: 0n, max: 8n }), fc.constant(tokenSpace - 1n));

const membersArb: fc.Arbitrary<RingMember[]> = fc
  .uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,6}$/), { minLength: 0, maxLength: 8 })
  .chain((ids) =>
    fc.tuple(...ids.map((id) => fc.array(tokenArb, { minLength: 1, maxLength: 12 }).map((tokens) => ({ id, tokens })))),
  );

const keyArb = fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes));
const nArb = fc.integer({ min: 1, max: 5 });

function seededMembers(ids: readonly string[], vnodes: number, seed: bigint): RingMember[] {
  const random = splitmix64(seed);
  return ids.map((id) => ({ id, tokens: generateTokens(id, vnodes, random) }));
}

// --- tokens -----------------------------------------------------------------

test('tokens › keyToken is xxhash64 read big-endian (spec vectors)', (t) => {
  t.is(keyToken(Buffer.alloc(0)), 0xef46db3751d8e999n);
  t.is(keyToken(Buffer.from('a')), 0xd24ec4f1a98c6e5bn);
});

test('tokens › generateTokens gives V distinct sorted tokens, deterministic when seeded', (t) => {
  const tokens = generateTokens('a', 256, splitmix64(7n));
  t.is(new Set(tokens).size, 256);
  t.deepEqual(tokens, [...tokens].sort((a, b) => (a < b ? -1 : 1)));
  t.deepEqual(generateTokens('a', 256, splitmix64(7n)), tokens);
  t.notDeepEqual(generateTokens('a', 256), generateTokens('a', 256));
});

test('tokens › generateTokens skips repeats and refuses a stuck source', (t) => {
  const values = [5n, 5n, 3n, 5n, 9n];
  t.deepEqual(generateTokens('a', 3, () => values.shift()!), [3n, 5n, 9n]);
  t.throws(() => generateTokens('a', 2, () => 1n));
  t.throws(() => generateTokens('a', 1, () => tokenSpace));
});

// --- preference lists -------------------------------------------------------

test('ring › preference list equals the naive walk', (t) => {
  fc.assert(
    fc.property(membersArb, nArb, keyArb, (members, n, key) => {
      const expected = naivePreferenceList(members, n, keyToken(key));
      return JSON.stringify(Ring.build(members, n).preferenceList(key)) === JSON.stringify(expected);
    }),
    propertyRuns,
  );
  t.pass();
});

test('ring › preference list by token equals the naive walk, at and around tokens', (t) => {
  fc.assert(
    fc.property(membersArb, nArb, tokenArb, (members, n, token) => {
      const ring = Ring.build(members, n);
      return [token, 0n, tokenSpace - 1n].every(
        (probe) => JSON.stringify(ring.preferenceListForToken(probe)) === JSON.stringify(naivePreferenceList(members, n, probe)),
      );
    }),
    propertyRuns,
  );
  t.pass();
});

test('ring › preference list has min(n, members) distinct nodes and is deterministic', (t) => {
  fc.assert(
    fc.property(membersArb, nArb, keyArb, (members, n, key) => {
      const list = Ring.build(members, n).preferenceList(key);
      const again = Ring.build(members, n).preferenceList(key);
      return (
        list.length === Math.min(n, members.length) &&
        new Set(list).size === list.length &&
        Object.isFrozen(list) &&
        JSON.stringify(list) === JSON.stringify(again)
      );
    }),
    propertyRuns,
  );
  t.pass();
});

test('ring › build is independent of member and token order', (t) => {
  fc.assert(
    fc.property(membersArb, nArb, fc.array(keyArb, { maxLength: 10 }), (members, n, keys) => {
      const shuffled = [...members].reverse().map((m) => ({ id: m.id, tokens: [...m.tokens].reverse() }));
      const a = Ring.build(members, n);
      const b = Ring.build(shuffled, n);
      return (
        JSON.stringify(a.members) === JSON.stringify(b.members) &&
        keys.every((key) => JSON.stringify(a.preferenceList(key)) === JSON.stringify(b.preferenceList(key))) &&
        JSON.stringify([...a.ownership()]) === JSON.stringify([...b.ownership()])
      );
    }),
    propertyRuns,
  );
  t.pass();
});

test('ring › ownership equals the naive arcs and sums to 1; effective shares are ≤ 1 and sum to min(n, members)', (t) => {
  fc.assert(
    fc.property(membersArb, nArb, (members, n) => {
      const ring = Ring.build(members, n);
      const shares = ring.ownership();
      const naive = naiveOwnership(members);
      const effective = [...ring.effectiveOwnership().values()];
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
      return (
        [...naive].every(([id, share]) => close(shares.get(id)!, share)) &&
        shares.size === naive.size &&
        (members.length === 0 || close(sum([...shares.values()]), 1)) &&
        effective.every((share) => share <= 1 + 1e-9) &&
        close(sum(effective), Math.min(n, members.length))
      );
    }),
    propertyRuns,
  );
  t.pass();
});

test('ring › zero members give empty lists', (t) => {
  const ring = Ring.build([], 3);
  t.deepEqual(ring.preferenceList(Buffer.from('k')), []);
  t.deepEqual(ring.preferenceListForToken(0n), []);
  t.is(ring.tokenCount, 0);
  t.is(ring.ownership().size, 0);
  t.deepEqual(annotatedPreferenceList(ring, Buffer.from('k'), new Set(['a'])), []);
});

test('ring › identical tokens: the lower id comes first and owns the arc', (t) => {
  const ring = Ring.build([{ id: 'b', tokens: [5n] }, { id: 'a', tokens: [5n] }], 2);
  t.deepEqual(ring.preferenceList(Buffer.from('anything')), ['a', 'b']);
  t.deepEqual([...ring.ownership()], [['a', 1], ['b', 0]]);
  t.deepEqual([...ring.effectiveOwnership()], [['a', 1], ['b', 1]]);
});

test('ring › members without tokens are not on the ring; duplicate ids are refused', (t) => {
  const ring = Ring.build([{ id: 'a', tokens: [1n] }, { id: 'z', tokens: [] }], 3);
  t.deepEqual(ring.members, ['a']);
  t.deepEqual(ring.preferenceList(Buffer.from('k')), ['a']);
  t.throws(() => Ring.build([{ id: 'a', tokens: [1n] }, { id: 'a', tokens: [2n] }], 3));
  t.throws(() => Ring.build([{ id: 'a', tokens: [tokenSpace] }], 3));
  t.throws(() => Ring.build([{ id: 'a', tokens: [1n] }], 0));
});

// --- balance and movement at the default V ---------------------------------

const fiveIds = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];

test(`ring › 5 nodes at V=${vnodesDefault}: every primary share within ±10% of 1/5`, (t) => {
  for (const seed of [1n, 2n, 3n]) {
    const shares = Ring.build(seededMembers(fiveIds, vnodesDefault, seed), 3).ownership();
    for (const [id, share] of shares) t.true(Math.abs(share * 5 - 1) <= 0.1, `seed ${seed}: ${id} owns ${share}`);
  }
});

test(`ring › 4→5 nodes at V=${vnodesDefault}: about 1/5 of keys change primary, all to the new node`, (t) => {
  const five = seededMembers(fiveIds, vnodesDefault, 11n);
  const before = Ring.build(five.slice(0, 4), 3);
  const after = Ring.build(five, 3);
  const sampled = 100_000;
  let moved = 0;
  let movedElsewhere = 0;
  for (let i = 0; i < sampled; i++) {
    const key = Buffer.from(`key:${i}`);
    const from = before.preferenceList(key)[0];
    const to = after.preferenceList(key)[0];
    if (from === to) continue;
    moved++;
    if (to !== 'node-e') movedElsewhere++;
  }
  const fraction = moved / sampled;
  t.true(fraction >= 0.85 / 5 && fraction <= 1.15 / 5, `moved ${fraction}`);
  t.is(movedElsewhere, 0);
  t.true(Math.abs(fraction - after.ownership().get('node-e')!) < 0.01, 'sampled movement matches the new node’s share');
});

// --- annotated preference list ---------------------------------------------

/** Five nodes at tokens 10..50: a@10 b@20 c@30 d@40 e@50. */
const lettered = Ring.build(['a', 'b', 'c', 'd', 'e'].map((id, i) => ({ id, tokens: [BigInt(10 * (i + 1))] })), 3);
const allUp = new Set(['a', 'b', 'c', 'd', 'e']);
const without = (...down: string[]) => new Set([...allUp].filter((id) => !down.includes(id)));

test('apl › all up: the primaries, as in the preference list', (t) => {
  t.deepEqual(annotatedPreferenceListForToken(lettered, 15n, allUp), [
    { node: 'b', role: 'primary' },
    { node: 'c', role: 'primary' },
    { node: 'd', role: 'primary' },
  ]);
});

test('apl › a down primary is replaced by the next up node beyond the first n', (t) => {
  t.deepEqual(annotatedPreferenceListForToken(lettered, 15n, without('c')), [
    { node: 'b', role: 'primary' },
    { node: 'd', role: 'primary' },
    { node: 'e', role: 'fallback', for: 'c' },
  ]);
});

test('apl › fallbacks are assigned to down primaries in ring order, skipping down spares', (t) => {
  t.deepEqual(annotatedPreferenceListForToken(lettered, 15n, without('b', 'c')), [
    { node: 'd', role: 'primary' },
    { node: 'e', role: 'fallback', for: 'b' },
    { node: 'a', role: 'fallback', for: 'c' },
  ]);
  t.deepEqual(annotatedPreferenceListForToken(lettered, 15n, without('b', 'e')), [
    { node: 'c', role: 'primary' },
    { node: 'd', role: 'primary' },
    { node: 'a', role: 'fallback', for: 'b' },
  ]);
});

test('apl › fewer entries when too few nodes are up; wraps past the top token', (t) => {
  t.deepEqual(annotatedPreferenceListForToken(lettered, 15n, without('b', 'c', 'e')), [
    { node: 'd', role: 'primary' },
    { node: 'a', role: 'fallback', for: 'b' },
  ]);
  t.deepEqual(annotatedPreferenceListForToken(lettered, 45n, without('e', 'a')), [
    { node: 'b', role: 'primary' },
    { node: 'c', role: 'fallback', for: 'e' },
    { node: 'd', role: 'fallback', for: 'a' },
  ]);
  t.deepEqual(annotatedPreferenceListForToken(lettered, 15n, new Set()), []);
});

test('apl › equals the naive model; all up equals the preference list', (t) => {
  const upArb = fc.array(fc.boolean(), { minLength: 8, maxLength: 8 });
  fc.assert(
    fc.property(membersArb, nArb, keyArb, upArb, (members, n, key, flags) => {
      const ring = Ring.build(members, n);
      const up = new Set(members.filter((_, i) => flags[i]).map((m) => m.id));
      const everyone = new Set(members.map((m) => m.id));
      const annotated = annotatedPreferenceList(ring, key, up);
      const primaries = annotatedPreferenceList(ring, key, everyone);
      return (
        JSON.stringify(annotated) === JSON.stringify(naiveAnnotated(members, n, keyToken(key), up)) &&
        JSON.stringify(primaries.map((e) => e.node)) === JSON.stringify(ring.preferenceList(key)) &&
        primaries.every((e) => e.role === 'primary')
      );
    }),
    propertyRuns,
  );
  t.pass();
});
