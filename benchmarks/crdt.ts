// Costs of the convergent types at collection sizes the issue names (100k
// members): one-at-a-time operations, encode/decode, a merge of a small delta
// into a large state, and the first ordered read. Run: node dist/benchmarks/crdt.js
import * as set from '../src/crdt/set.js';
import * as hash from '../src/crdt/hash.js';
import * as zset from '../src/crdt/zset.js';
import * as list from '../src/crdt/list.js';

const n = Number(process.argv[2] ?? 100_000);
const actor = 'node-1#abcdefgh';

function time<T>(label: string, f: () => T): T {
  const start = process.hrtime.bigint();
  const out = f();
  console.log(`${label.padEnd(44)} ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1).padStart(8)} ms`);
  return out;
}

const member = (i: number): Buffer => Buffer.from(`member:${i}`);

let s = set.emptySet();
time(`set: ${n} SADDs one at a time`, () => { for (let i = 0; i < n; i++) s = set.add(s, [member(i)], { actor, counter: 2 * i + 1 }).state; });
const sb = time('set: encode', () => set.encode(s));
console.log(`${'set: encoded bytes'.padEnd(44)} ${String(sb.length).padStart(8)}`);
const sd = time('set: decode', () => set.decode(sb));
time('set: members (sort)', () => set.members(sd).length);
const sdelta = set.add(set.cloneSet(sd), [member(-1)], { actor, counter: 10 * n }).delta;
time('set: merge a one-member delta', () => set.merge(sd, sdelta));

let h = hash.emptyHash();
time(`hash: ${n} HSETs one at a time`, () => { for (let i = 0; i < n; i++) h = hash.setFields(h, [[member(i), Buffer.from('1')]], { actor, counter: i + 1 }).state; });
time(`hash: ${n / 10} HINCRBYs`, () => { for (let i = 0; i < n / 10; i++) h = hash.incrementField(h, member(i), { m: 1n, e: 0 }, { actor, counter: n + i + 1 }).state; });
const hb = time('hash: encode', () => hash.encode(h));
time('hash: decode', () => hash.decode(hb));

let z = zset.emptyZset();
time(`zset: ${n} ZADDs one at a time`, () => { for (let i = 0; i < n; i++) z = zset.addScores(z, [[member(i), (i * 7919) % n]], { actor, counter: i + 1 }).state; });
time('zset: first ordered read (sort)', () => zset.ordered(z).length);
time(`zset: ${n} ZRANKs`, () => { for (let i = 0; i < n; i++) zset.rank(z, member(i)); });
const zb = time('zset: encode', () => zset.encode(z));
time('zset: decode', () => zset.decode(zb));
time(`zset: ${n / 10} ZPOPMINs`, () => { for (let i = 0; i < n / 10; i++) z = zset.removeMembers(z, [zset.memberBytes(zset.ordered(z)[0]!.key)]).state; });

let l = list.emptyList();
time(`list: ${n} LPUSHes one at a time`, () => { for (let i = 0; i < n; i++) l = list.insert(l, 0, [member(i)], { actor, counter: i + 1 }).state; });
time(`list: ${n} RPUSHes one at a time`, () => { for (let i = 0; i < n; i++) l = list.insert(l, list.length(l), [member(i)], { actor, counter: n + i + 1 }).state; });
time('list: LRANGE 0 599', () => list.slice(l, 0, 600).length);
const lb = time('list: encode', () => list.encode(l));
const ld = time('list: decode', () => list.decode(lb));
time('list: first read after decode (sort)', () => list.length(ld));
time(`list: ${n} RPOPs`, () => { for (let i = 0; i < n; i++) l = list.popEnd(l, 'tail', 1).state; });
