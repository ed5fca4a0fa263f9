// A RESP listener of a node of one, in the test's own process: real sockets
// and the real connection, command table and coordinator, over in-memory
// storage. For what a spawned node cannot show: protocol limits chosen by the
// test (a 1 MiB query buffer instead of sending 1 GiB), and the server's own
// counters read directly, with no INFO traffic of ours mixed into them.

import { ringOfOneCluster } from '../../src/commands/ring-of-one.js';
import net from 'node:net';
import { pino } from 'pino';
import { resolveConfig } from '../../src/cli/config.js';
import { RuntimeConfig } from '../../src/cli/runtime-config.js';
import { PubSub } from '../../src/pubsub/broker.js';
import { buildCommandTable } from '../../src/commands/table.js';
import { serverStatsFresh, type ServerServices, type ServerStats } from '../../src/commands/types.js';
import type { ClusterView } from '../../src/coordinator/cluster-view.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import type { ProtocolLimits } from '../../src/resp/limits.js';
import { RespServer } from '../../src/resp/server.js';
import { MemoryActor } from '../../src/storage/actor.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

const host = '127.0.0.1';
const selfId = 'n1';
// The first write after a peer's close is usually taken by our kernel (the reset comes back after it); the next one fails.
const afterEndIntervalMs = 20;

export interface InProcessServer {
  readonly port: number;
  readonly stats: ServerStats;
  readonly storage: MemoryStorage;
  close(): Promise<void>;
}

export async function startRespServer(limits: ProtocolLimits): Promise<InProcessServer> {
  const storage = new MemoryStorage();
  const view: ClusterView = {
    selfId,
    preferenceList: () => [selfId],
    fallbacks: () => [],
    isUp: () => true,
    peerAddress: () => '',
    memberIds: () => [selfId],
    replicationFactor: () => 1,
    joined: () => true,
  };
  const logger = pino({ level: 'silent' });
  const coordinator = new Coordinator(storage, view, undefined, {
    requestTimeoutMs: 1000,
    siblingsMax: 100,
    siblingsWarn: 25,
    tombstoneGraceMs: 86_400_000,
    actor: new MemoryActor(`${selfId}#test`),
    readRepairsInFlightMax: 100,
    logger,
  });
  const resp = new RespServer({ host, port: 0, limits });
  const stats = serverStatsFresh(Date.now());
  const config = resolveConfig(['--port', '0', '--maxclients', '100'], {});
  const services: ServerServices = {
    coordinator,
    config,
    stats,
    clients: resp,
    cluster: ringOfOneCluster,
    logger,
    commands: buildCommandTable(),
    pubsub: new PubSub(undefined, logger),
    runtimeConfig: new RuntimeConfig({
      config,
      selfId,
      logger,
      retuneCoordinator: (changes) => coordinator.retune(changes),
      setLatencyTracking: (latency) => stats.commands.setLatencyTracking(latency),
      setBulkBytesMax: (bytes) => resp.setBulkBytesMax(bytes),
    }),
  };
  await resp.listen(services);
  return {
    port: resp.address().port,
    stats,
    storage,
    close: async () => {
      await resp.close();
      await storage.close();
    },
  };
}

/** A connected raw socket; errors are recorded on it, never thrown. */
export function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Connects, writes `bytes`, and collects what the server sends until it
 * closes the connection (or `waitMs` passes). From the server's FIN on,
 * `afterEnd` is written every afterEndIntervalMs: a server that closed
 * outright answers with a reset, so the next write fails (EPIPE), as with
 * Redis; one that only half-closed takes it all in silently.
 */
export function exchange(port: number, bytes: Buffer | string, options: { waitMs?: number; afterEnd?: string } = {}): Promise<{ reply: string; closed: boolean; error: string | undefined }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host, allowHalfOpen: true });
    let reply = '';
    let error: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed: false, error });
    }, options.waitMs ?? 5000);
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code));
    let writer: NodeJS.Timeout | undefined;
    socket.on('end', () => {
      const afterEnd = options.afterEnd;
      if (afterEnd === undefined) return void socket.end();
      socket.write(afterEnd);
      writer = setInterval(() => socket.write(afterEnd), afterEndIntervalMs);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      clearInterval(writer);
      resolve({ reply, closed: true, error });
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

/** A command in RESP multibulk form, as client libraries send it. */
export function multibulk(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}
