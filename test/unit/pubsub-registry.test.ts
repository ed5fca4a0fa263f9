// The subscription registry as pure logic: Redis's rules one by one, then a
// property test against a naive model (a list of (subscriber, kind, name)
// triples) over random subscribe/unsubscribe/drop sequences.

import test from 'ava';
import fc from 'fast-check';
import { globMatch } from '../../src/commands/glob.js';
import { SubscriptionRegistry } from '../../src/pubsub/registry.js';

const b = (s: string) => Buffer.from(s);
const names = (list: readonly Buffer[]) => list.map((n) => n.toString());

test('registry › a channel subscribed twice is held once; the count is channels plus patterns', (t) => {
  const r = new SubscriptionRegistry<string>();
  t.deepEqual(r.subscribe('a', b('news')), { name: b('news'), count: 1 });
  t.is(r.subscribe('a', b('news')).count, 1);
  t.is(r.psubscribe('a', b('news.*')).count, 2);
  t.is(r.psubscribe('a', b('news.*')).count, 2);
  t.is(r.subscribe('a', b('other')).count, 3);
  t.is(r.channelCountOf('a'), 2);
  t.is(r.patternCountOf('a'), 1);
  t.is(r.channelCount, 2);
  t.is(r.patternCount, 1);
  t.is(r.subscriberCount, 1);
});

test('registry › unsubscribing what is not held changes nothing and reports the count', (t) => {
  const r = new SubscriptionRegistry<string>();
  t.deepEqual(r.unsubscribe('a', b('x')), { name: b('x'), count: 0 });
  r.psubscribe('a', b('p*'));
  t.is(r.unsubscribe('a', b('x')).count, 1);
  t.is(r.punsubscribe('a', b('q*')).count, 1);
  t.is(r.punsubscribe('a', b('p*')).count, 0);
  t.is(r.subscriberCount, 0);
  t.is(r.patternCount, 0);
});

test('registry › receivers: the channel\'s subscribers, then each matching pattern\'s, a subscriber holding both twice', (t) => {
  const r = new SubscriptionRegistry<string>();
  r.subscribe('a', b('news.x'));
  r.psubscribe('a', b('news.*'));
  r.psubscribe('b', b('n*'));
  r.psubscribe('c', b('sport.*'));
  r.subscribe('d', b('news.y'));
  const got = r.receivers(b('news.x')).map((x) => `${x.subscriber}:${x.pattern?.toString() ?? '-'}`);
  t.deepEqual(got, ['a:-', 'a:news.*', 'b:n*']);
  t.deepEqual(r.receivers(b('nothing-here')).map((x) => x.subscriber), ['b']);
  t.deepEqual(r.receivers(b('zzz')), []);
});

test('registry › names are bytes: binary channels and patterns match exactly', (t) => {
  const r = new SubscriptionRegistry<string>();
  const channel = Buffer.from([0x00, 0xff, 0x80, 0x0a]);
  r.subscribe('a', channel);
  r.psubscribe('b', Buffer.from([0x00, 0x2a])); // "\0*"
  t.deepEqual(r.receivers(Buffer.from(channel)).map((x) => x.subscriber), ['a', 'b']);
  t.true(r.channels(undefined)[0]!.equals(channel));
  t.is(r.numsub(Buffer.from([0x00, 0xff, 0x80, 0x0a])), 1);
  t.is(r.numsub(Buffer.from([0x00, 0xff, 0x80])), 0);
});

test('registry › channels (with a pattern), numsub and patterns answer as PUBSUB does', (t) => {
  const r = new SubscriptionRegistry<string>();
  r.subscribe('a', b('news.x'));
  r.subscribe('b', b('news.x'));
  r.subscribe('b', b('sport'));
  r.psubscribe('a', b('p*'));
  r.psubscribe('b', b('p*'));
  r.psubscribe('b', b('q*'));
  t.deepEqual(names(r.channels(undefined)), ['news.x', 'sport']);
  t.deepEqual(names(r.channels(b('news.*'))), ['news.x']);
  t.is(r.numsub(b('news.x')), 2);
  t.is(r.numsub(b('p*')), 0, 'patterns are not counted by NUMSUB');
  t.deepEqual(names(r.patterns()), ['p*', 'q*']);
  t.is(r.patternCount, 2, 'NUMPAT counts distinct patterns, not subscriptions');
});

test('registry › channelsOf and patternsOf list in subscription order; drop lets go of everything', (t) => {
  const r = new SubscriptionRegistry<string>();
  for (const c of ['c', 'a', 'b']) r.subscribe('s', b(c));
  r.psubscribe('s', b('z*'));
  r.subscribe('other', b('a'));
  t.deepEqual(names(r.channelsOf('s')), ['c', 'a', 'b']);
  t.deepEqual(names(r.patternsOf('s')), ['z*']);
  r.drop('s');
  t.is(r.countOf('s'), 0);
  t.deepEqual(names(r.channels(undefined)), ['a']);
  t.is(r.patternCount, 0);
  t.deepEqual(r.receivers(b('zebra')), []);
  t.deepEqual(r.receivers(b('a')).map((x) => x.subscriber), ['other']);
});

type Op =
  | { op: 'subscribe' | 'unsubscribe' | 'psubscribe' | 'punsubscribe'; who: number; name: string }
  | { op: 'drop'; who: number };

const nameArb = fc.constantFrom('a', 'ab', 'b', 'ba', 'a*', '*b', '?', '[ab]', 'x');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe') as fc.Arbitrary<'subscribe'>, who: fc.integer({ min: 0, max: 3 }), name: nameArb }),
  fc.record({ op: fc.constant('drop') as fc.Arbitrary<'drop'>, who: fc.integer({ min: 0, max: 3 }) }),
);

test('registry › agrees with a naive model on counts, receivers, channels and patterns', (t) => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
    const r = new SubscriptionRegistry<number>();
    let model: { who: number; kind: 'c' | 'p'; name: string }[] = [];
    const held = (who: number, kind: 'c' | 'p', name: string) => model.some((m) => m.who === who && m.kind === kind && m.name === name);
    const count = (who: number) => model.filter((m) => m.who === who).length;
    for (const o of ops) {
      if (o.op === 'drop') {
        r.drop(o.who);
        model = model.filter((m) => m.who !== o.who);
        continue;
      }
      const kind = o.op === 'subscribe' || o.op === 'unsubscribe' ? 'c' : 'p';
      const adding = o.op === 'subscribe' || o.op === 'psubscribe';
      if (adding && !held(o.who, kind, o.name)) model.push({ who: o.who, kind, name: o.name });
      if (!adding) model = model.filter((m) => !(m.who === o.who && m.kind === kind && m.name === o.name));
      const step = r[o.op](o.who, b(o.name));
      if (step.count !== count(o.who)) return false;
    }
    for (const who of [0, 1, 2, 3]) if (r.countOf(who) !== count(who)) return false;
    const channels = new Set(model.filter((m) => m.kind === 'c').map((m) => m.name));
    const patterns = new Set(model.filter((m) => m.kind === 'p').map((m) => m.name));
    if (r.channelCount !== channels.size || r.patternCount !== patterns.size) return false;
    if (names(r.channels(undefined)).sort().join() !== [...channels].sort().join()) return false;
    for (const channel of ['a', 'ab', 'b', 'ba', 'x', 'zz']) {
      const want = model
        .filter((m) => (m.kind === 'c' ? m.name === channel : globMatch(b(m.name), b(channel))))
        .map((m) => `${m.who}:${m.kind === 'p' ? m.name : '-'}`).sort();
      const got = r.receivers(b(channel)).map((x) => `${x.subscriber}:${x.pattern?.toString() ?? '-'}`).sort();
      if (want.join() !== got.join()) return false;
      if (r.numsub(b(channel)) !== model.filter((m) => m.kind === 'c' && m.name === channel).length) return false;
    }
    return true;
  }), { numRuns: 300 });
  t.pass();
});
