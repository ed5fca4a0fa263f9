// The checker on hand-made histories: each anomaly it must report, next to
// the nearest legitimate history it must accept, so neither a blind checker
// nor a trigger-happy one passes.
import test from 'ava';
import { check } from './checker.js';
import type { History, Op, SeenVersion, ViolationKind } from './history.js';

let nextIndex = 0;

function op(fields: Partial<Op> & Pick<Op, 'kind' | 'invokeMs' | 'completeMs'>): Op {
  return { index: nextIndex++, client: 0, node: 'a', key: 'k', outcome: 'ok', ...fields };
}

const versions = (values: readonly (string | SeenVersion)[]): SeenVersion[] => values.map((v) => (typeof v === 'string' ? { value: v } : v));

/** A plain SET of `value` at W (2 unless told), acknowledged unless told. */
function set(value: string, invokeMs: number, completeMs: number, extra: Partial<Op> = {}): Op {
  return op({ kind: 'set', value, w: 2, invokeMs, completeMs, ...extra });
}

/** A read at R (2 unless told) that saw `seen`. */
function read(seen: readonly (string | SeenVersion)[], invokeMs: number, completeMs: number, extra: Partial<Op> = {}): Op {
  return op({ kind: 'read', r: 2, invokeMs, completeMs, read: { atMs: completeMs, versions: versions(seen) }, ...extra });
}

/** A DEL whose read (at R) saw `seen`, then tombstoned it at W. */
function del(seen: readonly (string | SeenVersion)[], invokeMs: number, completeMs: number, extra: Partial<Op> = {}): Op {
  return op({ kind: 'del', r: 2, w: 2, invokeMs, readCompleteMs: invokeMs + 1, completeMs, read: { atMs: invokeMs + 1, versions: versions(seen) }, ...extra });
}

/** A final read at R=3 in round `round` through `node`. */
function final(seen: readonly (string | SeenVersion)[], atMs: number, node = 'a', round = 1): Op {
  return op({ kind: 'read', r: 3, node, invokeMs: atMs, completeMs: atMs + 1, read: { atMs: atMs + 1, versions: versions(seen) }, finalRound: round });
}

function register(ops: Op[], extra: Partial<History> = {}): History {
  return { workload: 'register', n: 3, maxDelayMs: 0, ops, wipes: [], faults: [], finalRounds: ops.some((o) => o.finalRound !== undefined) ? 1 : 0, ...extra };
}

function kinds(history: History): ViolationKind[] {
  return check(history).map((v) => v.kind).sort();
}

test('checker › an acknowledged SET missing from the final reads is a lost write', (t) => {
  const violations = check(register([set('v1', 0, 10), final([], 100)]));
  t.deepEqual(violations.map((v) => v.kind), ['lost-write']);
  t.regex(violations[0]!.message, /v1/);
});

test('checker › a value may be gone when a DEL concurrent with or after it could have removed it', (t) => {
  t.deepEqual(kinds(register([set('v1', 0, 10), del(['v1'], 5, 20), final([], 100)])), []);
  t.deepEqual(kinds(register([set('v1', 0, 10), del(['v1'], 15, 20, { outcome: 'info' }), final([], 100)])), [], 'even an indeterminate DEL');
});

test('checker › a later SET that is live accounts for an earlier one; an earlier SET does not', (t) => {
  t.deepEqual(kinds(register([set('v1', 0, 10), set('v2', 20, 30), final(['v2'], 100)])), []);
  // v2 completed before v1 began: it cannot have superseded v1 (the clock-counter-reuse pattern).
  t.deepEqual(kinds(register([set('v2', 0, 10), set('v1', 20, 30), final(['v2'], 100)])), ['lost-write']);
});

test('checker › an indeterminate SET that shows nowhere does not excuse a missing value', (t) => {
  t.deepEqual(kinds(register([set('v1', 0, 10), set('v2', 5, 15, { outcome: 'info' }), final([], 100)])), ['lost-write']);
  t.deepEqual(kinds(register([set('v1', 0, 10), set('v2', 5, 15, { outcome: 'info' }), final(['v2'], 100)])), [], 'it does once it shows');
  t.deepEqual(kinds(register([set('v1', 0, 10), set('v2', 5, 15, { outcome: 'fail' }), final(['v2'], 100)])), ['lost-write', 'unknown-value'], 'a write known not to have happened never excuses, and its value must not show');
});

test('checker › a value past its expiry may be gone; one not yet expired may not', (t) => {
  t.deepEqual(kinds(register([set('v1', 0, 10, { expiresAt: 50 }), final([], 100)])), []);
  t.deepEqual(kinds(register([set('v1', 0, 10, { expiresAt: 500 }), final([], 100)])), ['lost-write']);
  // A successor that expired also accounts for the value it superseded.
  t.deepEqual(kinds(register([set('v1', 0, 10), set('v2', 20, 30, { expiresAt: 60 }), final([], 100)])), []);
});

test('checker › a wipe may take the only acknowledged copy of a W=1 write, not of a W=2 one', (t) => {
  const wipes = [{ node: 'b', fromMs: 40, toMs: 50 }];
  t.deepEqual(kinds(register([set('v1', 0, 10, { w: 1 }), final([], 100)], { wipes })), []);
  t.deepEqual(kinds(register([set('v1', 0, 10, { w: 2 }), final([], 100)], { wipes })), ['lost-write']);
  t.deepEqual(kinds(register([set('v1', 60, 70, { w: 1 }), final([], 100)], { wipes })), ['lost-write'], 'a write after the wipe is not excused');
});

test('checker › read-your-quorum: a read at R after a write at W with R + W > N sees it', (t) => {
  t.deepEqual(kinds(register([set('v1', 0, 10), read([], 20, 25)])), ['stale-read']);
  t.deepEqual(kinds(register([set('v1', 0, 10), read(['v1'], 20, 25)])), []);
  t.deepEqual(kinds(register([set('v1', 0, 10), read([], 20, 25, { r: 1 })])), [], 'R=1 with W=2 need not meet');
  t.deepEqual(kinds(register([set('v1', 0, 10), read([], 5, 25)])), [], 'a read begun before the write completed may miss it');
  t.deepEqual(kinds(register([set('v1', 0, 10), set('v2', 12, 30, { outcome: 'info' }), read(['v2'], 20, 25)])), [], 'or show a possible successor');
});

test('checker › a value deleted by an acknowledged DEL that read it must not come back', (t) => {
  const history = register([set('v1', 0, 10), del(['v1'], 20, 30), read(['v1'], 40, 50)]);
  const violations = check(history);
  t.deepEqual(violations.map((v) => v.kind), ['resurrected']);
  t.deepEqual(violations[0]!.ops, [history.ops[0]!.index, history.ops[1]!.index, history.ops[2]!.index]);
  t.deepEqual(kinds(register([set('v1', 0, 10), del(['v1'], 20, 30), read(['v1'], 40, 50, { r: 1 })])), [], 'a read at R=1 need not meet a DEL at W=2');
  t.deepEqual(kinds(register([set('v1', 0, 10), del(['v1'], 20, 30, { outcome: 'info' }), read(['v1'], 40, 50)])), [], 'an indeterminate DEL may not have happened');
  t.deepEqual(kinds(register([set('v1', 0, 10), del(['v1'], 20, 30), read(['v1'], 25, 50)])), [], 'a read begun before the DEL completed may see the value');
});

test('checker › a DEL also covers what was acknowledged before it began at a quorum its read met, even if its read missed it', (t) => {
  t.deepEqual(kinds(register([set('v1', 0, 10), del([], 20, 30), read(['v1'], 40, 50)])), ['resurrected', 'stale-read']);
  t.deepEqual(kinds(register([set('v1', 0, 10, { w: 1 }), del([], 20, 30), read(['v1'], 40, 50)])), [], 'W=1 and R=2 need not meet');
});

test('checker › a value that may still be minted when the DEL begins (delivery delay) is not covered', (t) => {
  // v1 completed at 10; with deliveries up to 40 ms, a duplicate of its request may mint it again until 50.
  t.deepEqual(kinds(register([set('v1', 0, 10), del(['v1'], 30, 35), read(['v1'], 60, 70)], { maxDelayMs: 40 })), []);
  t.deepEqual(kinds(register([set('v1', 0, 10), del(['v1'], 60, 65), read(['v1'], 80, 90)], { maxDelayMs: 40 })), ['resurrected']);
});

test('checker › a context SET with an expiry in the past supersedes what it read (SET k v PXAT 1)', (t) => {
  const pxat = op({ kind: 'set-ctx', value: 'v2', expiresAt: 1, r: 2, w: 2, invokeMs: 20, readCompleteMs: 21, completeMs: 30, read: { atMs: 21, versions: versions(['v1']) } });
  t.deepEqual(kinds(register([set('v1', 0, 10), pxat, read(['v1'], 40, 50)])), ['resurrected']);
  t.deepEqual(kinds(register([set('v1', 0, 10), { ...pxat, index: nextIndex++ }, read([{ value: 'v2', expiresAt: 1 }], 40, 50)])), [], 'the expired new value, not live, is fine');
});

test('checker › values nobody wrote are reported', (t) => {
  t.deepEqual(kinds(register([set('v1', 0, 10), read(['v1', 'v99'], 20, 30)])), ['unknown-value']);
  t.deepEqual(kinds(register([set('v1', 0, 10), read(['v1', { value: '', deleted: true }], 20, 30)])), [], 'a tombstone has no value to check');
});

test('checker › the last round of final reads must agree and succeed through every node', (t) => {
  const agree = register([set('v1', 0, 10), final(['v1'], 100, 'a', 1), final(['v1'], 100, 'b', 1)]);
  t.deepEqual(kinds(agree), []);
  const differ = register([set('v1', 0, 10), set('v2', 5, 15), final(['v1', 'v2'], 100, 'a', 1), final(['v1'], 100, 'b', 1)]);
  t.deepEqual(kinds(differ), ['diverged']);
  const failed = register([set('v1', 0, 10), final(['v1'], 100, 'a', 1), op({ kind: 'read', r: 3, node: 'b', invokeMs: 100, completeMs: 101, finalRound: 1, outcome: 'fail', error: 'NOQUORUM' })]);
  t.deepEqual(kinds(failed), ['final-read-failed']);
  const earlier = register([set('v1', 0, 10), final([], 100, 'a', 1), final(['v1'], 200, 'a', 2)], { finalRounds: 2 });
  t.deepEqual(kinds(earlier), ['stale-read'], 'an earlier round is judged as any read; only the last as the end state');
});

function setHistory(ops: Op[], extra: Partial<History> = {}): History {
  return { ...register(ops, extra), workload: 'set' };
}

function add(element: string, union: string, invokeMs: number, completeMs: number, extra: Partial<Op> = {}): Op {
  return op({ kind: 'add', value: element, written: union, r: 2, w: 2, invokeMs, readCompleteMs: invokeMs + 1, completeMs, read: { atMs: invokeMs + 1, versions: [] }, ...extra });
}

test('checker › set: an acknowledged element missing from a later read or the end state is reported', (t) => {
  t.deepEqual(kinds(setHistory([add('e1', 'e1', 0, 10), read(['e2'], 20, 30)])), ['stale-read', 'unknown-value']);
  t.deepEqual(kinds(setHistory([add('e1', 'e1', 0, 10), add('e2', 'e2', 5, 15), final(['e2'], 100)])), ['lost-write']);
});

test('checker › set: elements count across siblings; indeterminate adds may be missing', (t) => {
  t.deepEqual(kinds(setHistory([add('e1', 'e1', 0, 10), add('e2', 'e2', 0, 10), final(['e1', 'e2'], 100)])), []);
  t.deepEqual(kinds(setHistory([add('e1', 'e1', 0, 10), add('e2', 'e1,e2', 0, 10), final(['e1,e2'], 100)])), []);
  t.deepEqual(kinds(setHistory([add('e1', 'e1', 0, 10), add('e2', 'e1,e2', 5, 15, { outcome: 'info' }), final(['e1'], 100)])), []);
  t.deepEqual(kinds(setHistory([add('e1', 'e1', 0, 10, { w: 1 }), read([], 20, 30)])), [], 'W=1 and R=2 need not meet');
});

test('checker › with anti-entropy, every replica of a key holds the same live versions after the quiet period', (t) => {
  const same = { key: 'k0', replicas: [{ node: 'a', live: ['a#1:3'] }, { node: 'b', live: ['a#1:3'] }, { node: 'c', live: ['a#1:3'] }] };
  t.deepEqual(kinds(register([set('v1', 0, 10)], { replicaStates: [same] })), []);
  const behind = { key: 'k0', replicas: [{ node: 'a', live: ['a#1:3'] }, { node: 'b', live: ['a#1:3'] }, { node: 'c', live: [] }] };
  t.deepEqual(kinds(register([set('v1', 0, 10)], { replicaStates: [behind] })), ['replicas-diverged']);
  const sibling = { key: 'k0', replicas: [{ node: 'a', live: ['a#1:3', 'b#1:2'] }, { node: 'b', live: ['a#1:3'] }] };
  t.deepEqual(kinds(register([set('v1', 0, 10)], { replicaStates: [sibling] })), ['replicas-diverged']);
});

test('checker › with sloppy quorums, an expired hint of the key counts as a lost copy, like a wiped disk', (t) => {
  const ops = [set('v1', 0, 10), final([], 1_000, 'a', 1)];
  const wiped = { wipes: [{ node: 'b', fromMs: 20, toMs: 500 }], sloppy: true };
  t.deepEqual(kinds(register(ops, wiped)), ['lost-write'], 'one copy lost: W=2 and R=3 still meet');
  t.deepEqual(kinds(register(ops, { ...wiped, hintsExpiredKeys: ['k'] })), [], 'a wipe and an expired hint: the write may be gone');
  t.deepEqual(kinds(register(ops, { sloppy: true, hintsExpiredKeys: ['k'] })), ['lost-write'], 'an expired hint alone leaves a copy');
});

// --- counter workload ---------------------------------------------------------

function incr(amount: number, invokeMs: number, completeMs: number, extra: Partial<Op> = {}): Op {
  return op({ kind: 'incr', amount, w: 2, invokeMs, completeMs, ...extra });
}

function counterRead(value: string, invokeMs: number, completeMs: number, extra: Partial<Op> = {}): Op {
  return op({ kind: 'read', r: 2, invokeMs, completeMs, read: { atMs: completeMs, versions: [], counter: value }, ...extra });
}

function counterFinal(value: string, atMs: number, node = 'a'): Op {
  return op({ kind: 'read', r: 3, node, invokeMs: atMs, completeMs: atMs + 1, read: { atMs: atMs + 1, versions: [], counter: value }, finalRound: 1 });
}

function counters(ops: Op[]): History {
  return { workload: 'counter', n: 3, maxDelayMs: 0, ops, wipes: [], faults: [], finalRounds: ops.some((o) => o.finalRound !== undefined) ? 1 : 0 };
}

test('checker › counter: the final value lies between the acknowledged increments and all that may have happened', (t) => {
  const ops = () => [incr(2, 0, 10), incr(3, 5, 20, { outcome: 'info' }), incr(4, 30, 40)];
  t.deepEqual(kinds(counters([...ops(), counterFinal('6', 100), counterFinal('6', 100, 'b')])), [], 'the indeterminate one did not land');
  t.deepEqual(kinds(counters([...ops(), counterFinal('9', 100), counterFinal('9', 100, 'b')])), [], 'it did');
  t.deepEqual(kinds(counters([...ops(), counterFinal('5', 100), counterFinal('5', 100, 'b')])), ['lost-write', 'lost-write'], 'an acknowledged increment is missing');
  t.deepEqual(kinds(counters([...ops(), counterFinal('11', 100), counterFinal('11', 100, 'b')])), ['counter-out-of-bounds', 'counter-out-of-bounds'], 'one was counted twice');
  t.deepEqual(kinds(counters([...ops(), counterFinal('6', 100), counterFinal('9', 100, 'b')])), ['diverged']);
});

test('checker › counter: a read meeting an acknowledged increment shows it; one that may miss it need not', (t) => {
  t.deepEqual(kinds(counters([incr(2, 0, 10), counterRead('0', 20, 30)])), ['stale-read']);
  t.deepEqual(kinds(counters([incr(2, 0, 10, { w: 1 }), counterRead('0', 20, 30)])), [], 'R + W = N: the read may miss it');
  t.deepEqual(kinds(counters([incr(2, 0, 10), counterRead('2', 5, 30)])), [], 'concurrent with the read, and shown');
});

// --- orset and hash workloads -------------------------------------------------

function collectionFinal(elements: string, atMs: number, node = 'a', counter?: string): Op {
  const read = counter === undefined ? { atMs: atMs + 1, versions: [], elements } : { atMs: atMs + 1, versions: [], elements, counter };
  return op({ kind: 'read', r: 3, node, invokeMs: atMs, completeMs: atMs + 1, read, finalRound: 1 });
}

function collections(workload: 'orset' | 'hash' | 'zset' | 'list', ops: Op[]): History {
  return { workload, n: 3, maxDelayMs: 0, ops, wipes: [], faults: [], finalRounds: ops.some((o) => o.finalRound !== undefined) ? 1 : 0 };
}

test('checker › orset: an acknowledged SADD is in every read that meets it unless an SREM of it may have seen it; nothing appears from nowhere', (t) => {
  const sadd = (value: string, at: number, extra: Partial<Op> = {}) => op({ kind: 'sadd', value, w: 2, invokeMs: at, completeMs: at + 5, ...extra });
  const srem = (value: string, at: number, extra: Partial<Op> = {}) => op({ kind: 'srem', value, w: 2, invokeMs: at, completeMs: at + 5, ...extra });
  const adds = [sadd('e0', 0, { index: 0 }), sadd('e1', 10, { index: 1 })];
  t.deepEqual(kinds(collections('orset', [...adds, collectionFinal('e0,e1', 100), collectionFinal('e0,e1', 100, 'b')])), []);
  t.deepEqual(kinds(collections('orset', [...adds, collectionFinal('e0', 100), collectionFinal('e0', 100, 'b')])), ['lost-write'], 'reported once per add');
  t.deepEqual(kinds(collections('orset', [...adds, srem('e1', 20, { index: 2 }), collectionFinal('e0', 100), collectionFinal('e0', 100, 'b')])), [], 'removed by an SREM that saw it');
  t.deepEqual(kinds(collections('orset', [...adds, srem('e1', -50, { index: 2 }), collectionFinal('e0', 100), collectionFinal('e0', 100, 'b')])), ['lost-write'], 'an SREM that ended before the add began cannot remove it');
  t.deepEqual(kinds(collections('orset', [...adds, collectionFinal('e0,e1,e9', 100), collectionFinal('e0,e1', 100, 'b')])).sort(), ['diverged', 'unknown-value']);
});

test('checker › hash: fields like the orset, and the field n like the counter: all acknowledged increments, none twice', (t) => {
  const ops = [
    op({ kind: 'hset', value: 'f0', w: 2, invokeMs: 0, completeMs: 5, index: 0 }),
    op({ kind: 'hincr', amount: 3, w: 2, invokeMs: 0, completeMs: 5, index: 1 }),
    op({ kind: 'hincr', amount: 4, w: 2, invokeMs: 10, completeMs: 15, index: 2 }),
  ];
  t.deepEqual(kinds(collections('hash', [...ops, collectionFinal('f0', 100, 'a', '7'), collectionFinal('f0', 100, 'b', '7')])), []);
  t.deepEqual(kinds(collections('hash', [...ops, collectionFinal('f0', 100, 'a', '3'), collectionFinal('f0', 100, 'b', '3')])), ['lost-write', 'lost-write']);
  t.deepEqual(kinds(collections('hash', [...ops, collectionFinal('f0', 100, 'a', '10'), collectionFinal('f0', 100, 'b', '10')])), ['counter-out-of-bounds', 'counter-out-of-bounds']);
  t.deepEqual(kinds(collections('hash', [...ops, collectionFinal('', 100, 'a', '7'), collectionFinal('', 100, 'b', '7')])), ['lost-write']);
});

test('checker › an element an acknowledged removal took away never shows in a read that meets it; one it did not take may', (t) => {
  const zadd = op({ kind: 'zadd', value: 'e0', w: 2, invokeMs: 0, completeMs: 5, index: 0 });
  const zrem = (removed: string[], extra: Partial<Op> = {}) => op({ kind: 'zrem', value: 'e0', removed, w: 2, invokeMs: 10, completeMs: 15, index: 1, ...extra });
  t.deepEqual(kinds(collections('zset', [zadd, zrem(['e0']), collectionFinal('', 100, 'a', ''), collectionFinal('', 100, 'b', '')])), []);
  t.deepEqual(kinds(collections('zset', [zadd, zrem(['e0']), collectionFinal('e0', 100, 'a', ''), collectionFinal('e0', 100, 'b', '')])), ['resurrected']);
  t.deepEqual(kinds(collections('zset', [zadd, zrem([]), collectionFinal('e0', 100, 'a', ''), collectionFinal('e0', 100, 'b', '')])), [], 'a ZREM that counted nothing took nothing');
  t.deepEqual(kinds(collections('zset', [zadd, zrem([]), collectionFinal('', 100, 'a', ''), collectionFinal('', 100, 'b', '')])), ['lost-write'], 'nor may it excuse the member missing');
  const readOne = op({ kind: 'read', r: 1, invokeMs: 50, completeMs: 51, read: { atMs: 51, versions: [], elements: 'e0', counter: '' } });
  t.deepEqual(kinds(collections('zset', [zadd, zrem(['e0'], { w: 1 }), readOne])), [], 'an R=1 read need not meet a W=1 removal');
  t.deepEqual(kinds(collections('zset', [zadd, zrem(['e0'], { w: 3 }), readOne])), ['resurrected'], 'it must meet a W=3 one');
});

test('checker › list: a pop excuses only what it returned; an indeterminate pop may have taken anything; an element twice is reported', (t) => {
  const push = (value: string, at: number, index: number) => op({ kind: 'rpush', value, w: 2, invokeMs: at, completeMs: at + 5, index });
  const ops = [push('e0', 0, 0), push('e1', 10, 1)];
  const pop = (removed: string[] | undefined, outcome: Op['outcome'] = 'ok') => op({ kind: 'lpop', w: 2, invokeMs: 20, completeMs: 25, index: 2, outcome, ...(removed === undefined ? {} : { removed }) });
  t.deepEqual(kinds(collections('list', [...ops, pop(['e0']), collectionFinal('e1', 100), collectionFinal('e1', 100, 'b')])), []);
  t.deepEqual(kinds(collections('list', [...ops, pop(['e0']), collectionFinal('e0', 100), collectionFinal('e0', 100, 'b')])), ['lost-write', 'resurrected'], 'e1 missing and e0 back');
  t.deepEqual(kinds(collections('list', [...ops, pop(undefined, 'info'), collectionFinal('e0', 100), collectionFinal('e0', 100, 'b')])), [], 'an indeterminate pop may have taken e1');
  t.deepEqual(kinds(collections('list', [...ops, collectionFinal('e0,e1,e0', 100), collectionFinal('e0,e1,e0', 100, 'b')])), ['duplicated', 'duplicated']);
  t.deepEqual(kinds(collections('list', [...ops, collectionFinal('e0,e1', 100), collectionFinal('e1,e0', 100, 'b')])), ['diverged'], 'the order is part of what must agree');
});
