// The gossip wire format survives msgpack, carries tokens only when the peer
// lacks that generation, and refuses malformed payloads with a reason; the
// target choice follows Cassandra's live / down / seed rule.
import test from 'ava';
import { decodeControl, encodeControl } from '../../src/peer/codec.js';
import type { MemberState } from '../../src/membership/state.js';
import {
  answerWants, chooseTargets, fromWire, membersMax, parseAck, parseSyn, toWire, withinBudget,
} from '../../src/membership/gossip.js';

const state: MemberState = {
  id: 'node-1', host: '127.0.0.1', respPort: 7001, peerPort: 17001,
  tokens: [0n, 42n, (1n << 64n) - 1n], status: 'normal', generation: 1_700_000_000_000, version: 7,
};

test('gossip › a state with tokens round-trips through msgpack', (t) => {
  const bytes = encodeControl({ digests: [{ id: 'node-1', generation: 5, version: 1 }], states: [toWire(state, undefined)] });
  const syn = parseSyn(decodeControl(bytes));
  if (typeof syn === 'string') return t.fail(syn);
  t.deepEqual(syn.digests, [{ id: 'node-1', generation: 5, version: 1 }]);
  t.deepEqual(fromWire(syn.states[0]!, undefined), state);
});

test('gossip › tokens are left out when the peer knows the generation, and borrowed back', (t) => {
  const wire = toWire({ ...state, version: 8 }, state.generation);
  t.is(wire.tokens, undefined);
  t.deepEqual(fromWire(wire, state), { ...state, version: 8 });
  t.is(fromWire(wire, undefined), undefined, 'unusable without a local state of that generation');
  t.is(fromWire(wire, { ...state, generation: state.generation - 1 }), undefined);
  const ack = parseAck(decodeControl(encodeControl({ states: [wire], wants: [] })));
  if (typeof ack === 'string') return t.fail(ack);
  t.is(ack.states[0]!.tokens, undefined);
});

test('gossip › answerWants sends only newer states, with tokens for unknown generations', (t) => {
  const states = new Map([[state.id, state]]);
  t.deepEqual(answerWants(states, [{ id: state.id, generation: state.generation, version: 7 }]), []);
  const same = answerWants(states, [{ id: state.id, generation: state.generation, version: 3 }]);
  t.is(same.length, 1);
  t.is(same[0]!.tokens, undefined);
  const unknown = answerWants(states, [{ id: state.id, generation: 0, version: 0 }, { id: 'other', generation: 0, version: 0 }]);
  t.is(unknown.length, 1);
  t.is(unknown[0]!.tokens?.length, 24);
});

test('gossip › malformed payloads yield a reason', (t) => {
  const good = toWire(state, undefined);
  const cases: [string, unknown][] = [
    ['not a map', 7],
    ['digests missing', { states: [] }],
    ['bad id', { digests: [{ id: '', generation: 1, version: 1 }], states: [] }],
    ['id with spaces', { digests: [{ id: 'a b', generation: 1, version: 1 }], states: [] }],
    ['negative version', { digests: [{ id: 'a', generation: 1, version: -1 }], states: [] }],
    ['fractional generation', { digests: [{ id: 'a', generation: 1.5, version: 1 }], states: [] }],
    ['bad port', { digests: [], states: [{ ...good, peerPort: 70000 }] }],
    ['bad status', { digests: [], states: [{ ...good, status: 'dead' }] }],
    ['ragged tokens', { digests: [], states: [{ ...good, tokens: Buffer.alloc(9) }] }],
    ['tokens as strings', { digests: [], states: [{ ...good, tokens: ['1'] }] }],
    ['too many digests', { digests: Array.from({ length: membersMax + 1 }, (_, i) => ({ id: `n${i}`, generation: 1, version: 1 })), states: [] }],
  ];
  for (const [name, value] of cases) {
    t.is(typeof parseSyn(decodeControl(encodeControl(value))), 'string', name);
  }
  t.is(typeof parseAck({ states: [], wants: 'x' }), 'string');
});

test('gossip › targets: one live peer, a seed while few are live, down peers sometimes', (t) => {
  const zero = () => 0;
  const high = () => 0.99;
  t.deepEqual(chooseTargets({ live: [], down: [], seeds: ['s:1'], random: zero }), ['s:1']);
  t.deepEqual(chooseTargets({ live: ['a:1', 'b:1'], down: [], seeds: ['s:1'], random: zero }), ['a:1']);
  t.deepEqual(chooseTargets({ live: ['a:1'], down: [], seeds: ['a:1', 's:1'], random: zero }), ['a:1']);
  t.deepEqual(chooseTargets({ live: ['a:1'], down: ['d:1'], seeds: [], random: zero }), ['a:1', 'd:1']);
  t.deepEqual(chooseTargets({ live: ['a:1', 'b:1'], down: ['d:1'], seeds: [], random: high }), ['b:1']);
  t.deepEqual(chooseTargets({ live: [], down: [], seeds: [], random: zero }), []);
});

test('gossip › a message carries states up to its byte budget, the rest wait for later rounds', (t) => {
  const big = { ...toWire(state, undefined), tokens: Buffer.alloc(8 * 1000) };
  const small = toWire(state, state.generation);
  t.is(withinBudget([big, big, big], 20_000).length, 2);
  t.is(withinBudget([big], 100).length, 1, 'one state always goes, so catching up never stalls');
  t.is(withinBudget([small, small, small], 100_000).length, 3);
});
