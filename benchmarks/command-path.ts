// CPU per command through the whole node minus the network: RESP bytes in,
// parser, dispatch, coordinator (N=1), storage with group commit, reply
// encoding, out — over a fake socket, so the figure is JavaScript work, not
// system calls or the benchmark client. Beside the CPU per command, each
// pipelined batch's latency (its bytes handed to the connection → its last
// reply written, so the wait behind the other connections' batches and the
// group commit included) goes into an HdrHistogram (latency.ts).
// `node dist/benchmarks/command-path.js [SET|GET|INCR|SADD|HSET ...]` (default: SET GET SET GET)

import { ringOfOneCluster } from '../src/commands/ring-of-one.js';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import pino from 'pino';
import { MemoryActor } from '../src/storage/actor.js';
import { PubSub } from '../src/pubsub/broker.js';
import { buildCommandTable } from '../src/commands/table.js';
import { serverStatsFresh, type ServerServices, type Session } from '../src/commands/types.js';
import { resolveConfig } from '../src/cli/config.js';
import { RuntimeConfig } from '../src/cli/runtime-config.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { Connection } from '../src/resp/connection.js';
import { protocolLimits } from '../src/resp/limits.js';
import { LevelStorage } from '../src/storage/level-storage.js';
import { formatLatency, LatencyRecorder } from './latency.js';

const pipeline = 16;
const connections = 50;
const commandsPerRun = 400_000;
const keySpace = 100_000;

class FakeSocket extends EventEmitter {
  writableLength = 0;
  replies = 0;
  onReplies: (() => void) | undefined;
  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
  write(chunk: Buffer): boolean {
    this.replies += countReplies(chunk);
    this.onReplies?.();
    return true;
  }
}

/**
 * Counts the +status, :integer, -error and $bulk replies in a chunk (the only
 * shapes these commands produce), byte by byte: this is the client's work, which the figure
 * is meant to leave out, so it is kept to a minimum.
 */
/** Error replies seen: a run with any measured something other than its command. */
let errorReplies = 0;

function countReplies(chunk: Buffer): number {
  let count = 0;
  let p = 0;
  while (p < chunk.length) {
    if (chunk[p] === 0x24 /* $ */) {
      let length = 0;
      let q = p + 1;
      const negative = chunk[q] === 0x2d; /* - */
      if (negative) q++;
      while (chunk[q] !== 13) length = length * 10 + chunk[q++]! - 48;
      p = negative ? q + 2 : q + 2 + length + 2;
    } else {
      if (chunk[p] === 0x2d /* - */) errorReplies++;
      while (chunk[p] !== 10) p++;
      p++;
    }
    count++;
  }
  return count;
}

/**
 * The commands a run may send, as redis-benchmark's tests of the same name
 * send them: SET, GET and INCR on a key of the key space; SADD and HSET add
 * a member (a field) of the key space to one key, which grows through the
 * run (issue 12's types against SET, without the network or the client).
 */
const shapes = {
  SET: (n: string) => ['SET', `key:${n}`, 'xxx'],
  GET: (n: string) => ['GET', `key:${n}`],
  INCR: (n: string) => ['INCR', `counter:${n}`],
  SADD: (n: string) => ['SADD', 'myset', `element:${n}`],
  HSET: (n: string) => ['HSET', 'myhash', `element:${n}`, 'xxx'],
} as const;
type Command = keyof typeof shapes;

function request(command: Command, n: string): Buffer {
  const args = shapes[command](n);
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-cmdpath-'));
const storage = await LevelStorage.open(dir);
// One members array, as membership's ring() hands out: an array per call would be the benchmark's cost, not the node's.
const members = ['n1'];
const view = { selfId: 'n1', preferenceList: () => members, isUp: () => true, fallbacks: () => [], peerAddress: () => '', memberIds: () => members, replicationFactor: () => 1, joined: () => true };
const logger = pino({ level: 'silent' });
const coordinator = new Coordinator(storage, view, undefined, {
  requestTimeoutMs: 1000, siblingsMax: 100, siblingsWarn: 25, tombstoneGraceMs: 86_400_000,
  actor: new MemoryActor('n1#bench'), readRepairsInFlightMax: 100, logger,
});
const config = resolveConfig(['--port', '0'], {});
const services: ServerServices = {
  coordinator,
  config,
  stats: serverStatsFresh(Date.now()),
  clients: { sessions: () => [], connectedClients: 0, totalConnections: 0, rejectedConnections: 0, resetStats: () => undefined },
  cluster: ringOfOneCluster,
  logger,
  commands: buildCommandTable(),
  pubsub: new PubSub(undefined, logger),
  runtimeConfig: new RuntimeConfig({
    config,
    selfId: 'n1',
    logger,
    retuneCoordinator: (changes) => coordinator.retune(changes),
    setLatencyTracking: () => undefined,
    setBulkBytesMax: () => undefined,
  }),
};

/**
 * Every batch a run sends, built before the clock starts so the figure holds
 * no client work: request i is for key (i * 7919) % keySpace, which repeats
 * every keySpace requests (7919 is prime to it), so keySpace / pipeline
 * batches serve a whole run. The parser never writes into a chunk, so a
 * batch can be sent again.
 */
function batchesOf(command: Command): Buffer[] {
  const batches: Buffer[] = [];
  for (let next = 0; next < keySpace;) {
    const parts: Buffer[] = [];
    for (let i = 0; i < pipeline; i++) parts.push(request(command, String((next++ * 7919) % keySpace).padStart(12, '0')));
    batches.push(Buffer.concat(parts));
  }
  return batches;
}

/** Wall-clock and process CPU (every thread: LevelDB's writes too) per command, in µs, and each batch's latency. */
async function run(command: Command): Promise<{ wallUs: number; cpuUs: number; latency: LatencyRecorder }> {
  const latency = new LatencyRecorder();
  const batches = batchesOf(command);
  let next = 0;
  const batch = (): Buffer => batches[next++ % batches.length]!;
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: connections }, (_, c) => new Promise<void>((resolve) => {
    const socket = new FakeSocket();
    const session: Session = {
      id: c, protocol: 2, authenticated: true, name: '', libName: '', libVersion: '', r: undefined, w: undefined, strict: false,
      remoteAddress: 'bench', localAddress: 'bench', createdAtMs: 0, lastCommandAtMs: 0, lastCommand: '', closeAfterReply: false, transaction: undefined,
      subscribedChannels: 0, subscribedPatterns: 0,
    };
    new Connection(socket as unknown as Socket, session, services, protocolLimits(), { closed: () => undefined });
    let sent = 0;
    let batchSentAt = 0n;
    const perConnection = commandsPerRun / connections;
    const send = (): void => {
      sent += pipeline;
      // In a later turn, as from a real socket: never inside the write that
      // answered the last batch, which made the connection's code re-enter
      // itself (slots piled up, the stack deepened per batch).
      setImmediate(() => {
        batchSentAt = process.hrtime.bigint();
        socket.emit('data', batch());
      });
    };
    socket.onReplies = () => {
      if (socket.replies < sent) return;
      latency.recordSince(batchSentAt);
      if (sent >= perConnection) return resolve();
      send();
    };
    send();
  })));
  const cpu = process.cpuUsage(cpuBefore);
  return { wallUs: Number(process.hrtime.bigint() - started) / commandsPerRun / 1000, cpuUs: (cpu.user + cpu.system) / commandsPerRun, latency };
}

const commands = process.argv.slice(2).length > 0 ? process.argv.slice(2).map((c) => c.toUpperCase()) : ['SET', 'GET', 'SET', 'GET'];
const unknown = commands.filter((c) => !(c in shapes));
if (unknown.length > 0) throw new Error(`command-path runs ${Object.keys(shapes).join(', ')}; not ${unknown.join(', ')}`);
for (const command of commands as Command[]) {
  const { wallUs, cpuUs, latency } = await run(command);
  if (errorReplies > 0) throw new Error(`${command}: ${errorReplies} error replies`);
  // The machine is shared: wall-clock time stretches with others' load, CPU time much less; the load says how far to trust either.
  const load = os.loadavg()[0]!.toFixed(2);
  console.log(`${command} -P ${pipeline} x${connections}: ${wallUs.toFixed(2)} µs/command, ${(1000 / wallUs).toFixed(0)}k commands/s, CPU ${cpuUs.toFixed(2)} µs/command (load ${load}); a batch of ${pipeline} in → its replies out: ${formatLatency(latency.summary(), 'batches')}`);
}
await storage.close();
rmSync(dir, { recursive: true, force: true });
