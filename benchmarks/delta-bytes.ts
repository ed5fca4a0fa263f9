// Bytes on the wire per write to a large collection, whole-record replication
// against delta replication (coordinator/delta.ts; issue 12 item 7). A
// three-node cluster, N=3 W=3, over the in-memory transport with the real
// coordinator, replica service and peer codecs (test/helpers/sim.ts): every
// peer request and reply is counted as its payload plus the TCP transport's
// frame header (peer/frame.ts frameHeaderBytes), for one-member SADD, HSET,
// ZADD and RPUSH writes to a collection of 10k and 100k members, first with
// deltas off (the whole record to each replica, as before), then with the
// named limits. Also the coordinator's wall time per write (one process, so
// it includes both replicas' work).
//
// Run: npm run bench:deltas            (sizes 10000,100000; ~1 min)
//      node dist/benchmarks/delta-bytes.js 10000 20   (sizes, writes per cell)

import type { DeltaLimits } from '../src/coordinator/delta.js';
import type { Mutation } from '../src/coordinator/versioning.js';
import { encodeHashOperation } from '../src/crdt/hash-operations.js';
import { encodeListOperation } from '../src/crdt/list-operation.js';
import { encodeSetOperation } from '../src/crdt/set-operations.js';
import { encodeZsetOperation } from '../src/crdt/zset-operation.js';
import { frameHeaderBytes } from '../src/peer/frame.js';
import type { PeerMessage } from '../src/peer/transport.js';
import { SimCluster } from '../test/helpers/sim.js';

const sizes = (process.argv[2] ?? '10000,100000').split(',').map(Number);
const writesPerCell = Number(process.argv[3] ?? 20);
const before: DeltaLimits = { recordBytesMin: Infinity, wholeToDeltaBytesMin: Infinity };

const b = (s: string) => Buffer.from(s);
const plainZadd = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };

interface Command {
  readonly name: string;
  /** One operation that fills the collection with `n` members. */
  fill(n: number): Mutation;
  /** The i-th one-member write. */
  write(i: number): Mutation;
}

const member = (i: number) => b(`member:${i}`);
const many = (n: number) => Array.from({ length: n }, (_, i) => member(i));

const commands: Command[] = [
  {
    name: 'SADD',
    fill: (n) => ({ kind: 'operate', type: 'set', operation: encodeSetOperation({ kind: 'add', members: many(n) }) }),
    write: (i) => ({ kind: 'operate', type: 'set', operation: encodeSetOperation({ kind: 'add', members: [b(`new:${i}`)] }) }),
  },
  {
    name: 'HSET',
    fill: (n) => ({ kind: 'operate', type: 'hash', operation: encodeHashOperation({ kind: 'set', pairs: many(n).map((m) => [m, b('value')] as const) }) }),
    write: (i) => ({ kind: 'operate', type: 'hash', operation: encodeHashOperation({ kind: 'set', pairs: [[b(`new:${i}`), b('value')]] }) }),
  },
  {
    name: 'ZADD',
    fill: (n) => ({ kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'add', flags: plainZadd, pairs: many(n).map((m, i) => [i, m] as const) }) }),
    write: (i) => ({ kind: 'operate', type: 'zset', operation: encodeZsetOperation({ kind: 'add', flags: plainZadd, pairs: [[-i, b(`new:${i}`)]] }) }),
  },
  {
    name: 'RPUSH',
    fill: (n) => ({ kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'push', end: 'tail', values: many(n), onlyIfExists: false }) }),
    write: (i) => ({ kind: 'operate', type: 'list', operation: encodeListOperation({ kind: 'push', end: 'tail', values: [b(`new:${i}`)], onlyIfExists: false }) }),
  },
];

/** Counts every peer message's bytes (payload + frame header), requests and replies, on every node of `sim`. */
function countBytes(sim: SimCluster): { bytes: number } {
  const counter = { bytes: 0 };
  for (const node of sim.nodes) {
    const transport = node.transport;
    const request = transport.request.bind(transport);
    transport.request = (address: string, message: PeerMessage, timeoutMs: number, expectedNodeId?: string) => {
      counter.bytes += frameHeaderBytes + message.payload.length;
      return request(address, message, timeoutMs, expectedNodeId).then((reply) => {
        counter.bytes += frameHeaderBytes + reply.payload.length;
        return reply;
      });
    };
  }
  return counter;
}

interface Cell { bytesPerWrite: number; msPerWrite: number; recordBytes: number; deltas: number }

async function measure(command: Command, n: number, deltas: DeltaLimits | undefined): Promise<Cell> {
  // A long peer timeout: a 100k-member fill, or a whole 100k record folded, takes seconds on a loaded box.
  const sim = await SimCluster.start({ nodes: 3, n: 3, seed: 1, requestTimeoutMs: 60_000, ...(deltas === undefined ? {} : { deltas }) });
  try {
    const key = b(`${command.name}-${n}`);
    const coordinator = sim.node(sim.replicasOf(key)[0]!).coordinator;
    await coordinator.put(key, command.fill(n), { w: 3 });
    const counter = countBytes(sim);
    const started = process.hrtime.bigint();
    for (let i = 0; i < writesPerCell; i++) await coordinator.put(key, command.write(i), { w: 3 });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const record = coordinator.storage.get(key, undefined);
    return {
      bytesPerWrite: counter.bytes / writesPerCell,
      msPerWrite: ms / writesPerCell,
      recordBytes: record.reduce((sum, s) => sum + s.value.length, 0),
      deltas: coordinator.stats.deltasSent,
    };
  } finally {
    await sim.stop();
  }
}

function human(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}

console.log(`bytes on the wire per one-member write, 3 nodes N=3 W=3, ${writesPerCell} writes per cell (payload + ${frameHeaderBytes}-byte frame header, requests and replies)`);
console.log('| command | members | state | whole record: bytes/write | ms/write | delta: bytes/write | ms/write | ratio |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const n of sizes) {
  for (const command of commands) {
    const whole = await measure(command, n, before);
    const delta = await measure(command, n, undefined);
    if (delta.deltas !== 2 * writesPerCell) console.log(`  (note: ${delta.deltas} deltas sent for ${writesPerCell} writes)`);
    console.log(`| ${command.name} | ${n} | ${human(whole.recordBytes)} | ${human(whole.bytesPerWrite)} | ${whole.msPerWrite.toFixed(1)} | ${human(delta.bytesPerWrite)} | ${delta.msPerWrite.toFixed(1)} | ${(whole.bytesPerWrite / delta.bytesPerWrite).toFixed(0)}x |`);
  }
}
