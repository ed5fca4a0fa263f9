// What a membership change moves (ring/changes.ts), checked against the rings
// themselves: the spans tile the token space, each span's lists are the
// rings' lists at every token in it, a joining node gains exactly the spans
// whose new list holds it, every displaced replica is named as a source, and
// the plan's shares add up. Property-based over random small rings.

import test from 'ava';
import fc from 'fast-check';
import { gainedSpans, lostSpans, planChange, Ring, spanChanges, tokenSpace, type RingMember } from '../../src/ring/index.js';

const propertyRuns = { seed: 7, numRuns: 150 };

const memberArb = (id: string) => fc.uniqueArray(fc.bigInt({ min: 0n, max: tokenSpace - 1n }), { minLength: 1, maxLength: 6 }).map((tokens): RingMember => ({ id, tokens }));
const ringsArb = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  members: fc.integer({ min: 1, max: 5 }).chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => memberArb(`m${i}`)))),
  joiner: memberArb('joiner'),
});

test('spans tile the token space in order, and each carries both rings\' lists at its ends', (t) => {
  fc.assert(fc.property(ringsArb, ({ n, members, joiner }) => {
    const before = Ring.build(members, n);
    const after = Ring.build([...members, joiner], n);
    const spans = [...spanChanges(before, after)];
    if (spans[0]!.first !== 0n || spans[spans.length - 1]!.last !== tokenSpace - 1n) return false;
    for (let i = 1; i < spans.length; i++) if (spans[i]!.first !== spans[i - 1]!.last + 1n) return false;
    return spans.every((s) =>
      [s.first, s.last].every((token) =>
        before.preferenceListForToken(token).join() === s.before.join() && after.preferenceListForToken(token).join() === s.after.join()));
  }), propertyRuns);
  t.pass();
});

test('a joining node gains exactly the spans whose new list holds it, streamed from every replica it displaces', (t) => {
  fc.assert(fc.property(ringsArb, ({ n, members, joiner }) => {
    const before = Ring.build(members, n);
    const after = Ring.build([...members, joiner], n);
    const gained = gainedSpans(before, after, 'joiner');
    const expected = [...spanChanges(before, after)].filter((s) => s.after.includes('joiner'));
    if (gained.length !== expected.length) return false;
    return gained.every((g, i) => {
      const displaced = expected[i]!.before.filter((id) => !expected[i]!.after.includes(id));
      const sources = displaced.length > 0 ? displaced : expected[i]!.before;
      return g.first === expected[i]!.first && g.last === expected[i]!.last && g.sources.join() === sources.join();
    });
  }), propertyRuns);
  t.pass();
});

test('after a join, the new list of every gained span holds every replica of the old list but the displaced ones', (t) => {
  // Why streaming from the displaced replicas suffices: everyone else already holds what they acknowledged.
  fc.assert(fc.property(ringsArb, ({ n, members, joiner }) => {
    const before = Ring.build(members, n);
    const after = Ring.build([...members, joiner], n);
    return gainedSpans(before, after, 'joiner').every((g) => {
      const list = after.preferenceListForToken(g.last);
      return g.before.every((id) => g.sources.includes(id) || list.includes(id));
    });
  }), propertyRuns);
  t.pass();
});

test('a leaving node loses exactly the spans it held, each to the nodes the new list adds', (t) => {
  fc.assert(fc.property(ringsArb, ({ n, members, joiner }) => {
    const before = Ring.build([...members, joiner], n);
    const after = Ring.build(members, n);
    const lost = lostSpans(before, after, 'joiner');
    const expected = [...spanChanges(before, after)].filter((s) => s.before.includes('joiner'));
    return lost.length === expected.length && lost.every((l, i) =>
      l.to.join() === expected[i]!.after.filter((id) => !expected[i]!.before.includes(id)).join());
  }), propertyRuns);
  t.pass();
});

test('the plan\'s shares add up: each list\'s size before and after, and what the joiner receives', (t) => {
  fc.assert(fc.property(ringsArb, ({ n, members, joiner }) => {
    const before = Ring.build(members, n);
    const after = Ring.build([...members, joiner], n);
    const plan = planChange(before, after);
    const sum = (pick: (o: { before: number; after: number }) => number) => [...plan.ownership.values()].reduce((s, o) => s + pick(o), 0);
    const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
    const received = plan.flows.filter((f) => f.to === 'joiner').reduce((s, f) => s + f.fraction, 0);
    return close(sum((o) => o.before), Math.min(n, members.length)) && close(sum((o) => o.after), Math.min(n, members.length + 1)) &&
      close(received, plan.ownership.get('joiner')!.after) && plan.changedFraction <= 1 + 1e-9;
  }), propertyRuns);
  t.pass();
});

test('no change moves nothing', (t) => {
  const members: RingMember[] = [{ id: 'a', tokens: [1n, 1000n] }, { id: 'b', tokens: [500n] }];
  const ring = Ring.build(members, 2);
  const plan = planChange(ring, ring);
  t.is(plan.changedFraction, 0);
  t.deepEqual(plan.flows, []);
  t.deepEqual(gainedSpans(ring, ring, 'a'), []);
});
