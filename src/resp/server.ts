// The RESP listener: accepts clients, gives each a session and a
// Connection, and shuts down the way Redis clients expect — stop accepting,
// let the commands in flight reply, then close.

import net from 'node:net';
import tls from 'node:tls';
import { rateSampleIntervalMs } from '../commands/command-stats.js';
import { sampleRates, type ClientRegistry, type ServerServices, type Session } from '../commands/types.js';
import { Connection } from './connection.js';
import { protocolLimits, type ProtocolLimits } from './limits.js';

/** How long shutdown waits for commands in flight before closing their sockets. */
export const shutdownGraceMs = 5_000;
/** After our FIN, how long a client gets to close its side before we cut it. */
export const clientLingerMs = 500;
/**
 * A refused client (over maxclients) gets its error line, then this long to
 * close before we cut it: a client that never closes must not keep a
 * descriptor that maxclients does not count.
 */
export const refusedClientLingerMs = 1_000;

/**
 * Where to listen and the protocol limits to start with. maxclients and the
 * password are read from the node's configuration (ServerServices.config) at
 * each accept, so CONFIG SET changes them for the next client.
 */
export interface RespServerOptions {
  readonly host: string;
  readonly port: number;
  readonly limits: ProtocolLimits;
  /** A second listener speaking TLS (Redis's tls-port), its clients served exactly as the plain port's. */
  readonly tls?: {
    readonly port: number;
    readonly options: tls.TlsOptions;
    /**
     * Redis's tls-auth-clients optional: a client may show no certificate,
     * but one it shows must be signed by the CA. TLS itself lets an
     * unverified certificate through when verification is not required, so
     * the listener checks it.
     */
    readonly refuseUnverifiedCertificates?: boolean;
  };
}

export class RespServer implements ClientRegistry {
  private readonly server: net.Server;
  private readonly tlsServer: tls.Server | undefined;
  /** TLS handshakes that failed (a client without an accepted certificate, a plain client on the TLS port). */
  tlsHandshakeFailures = 0;
  private readonly connections = new Set<Connection>();
  private nextClientId = 1;
  totalConnections = 0;
  rejectedConnections = 0;
  private services: ServerServices | undefined;
  /** Samples INFO's instantaneous rates every rateSampleIntervalMs while listening, as Redis's serverCron does. */
  private rateSampler: NodeJS.Timeout | undefined;
  /**
   * The limits every connection's parser reads, one object for all of them:
   * setBulkBytesMax (CONFIG SET proto-max-bulk-len) changes it in place, so
   * the next request header on any connection meets the new limit.
   */
  private readonly limits: { -readonly [K in keyof ProtocolLimits]: ProtocolLimits[K] };

  constructor(private readonly options: RespServerOptions) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.tlsServer = options.tls === undefined ? undefined : tls.createServer({ ...options.tls.options, noDelay: true }, (socket) => this.acceptTls(socket));
    this.limits = { ...options.limits };
  }

  /** The largest bulk argument from now on, for every connection; checked against the other limits first. */
  setBulkBytesMax(bytes: number): void {
    const next = protocolLimits({ ...this.limits, bulkBytesMax: bytes });
    this.limits.bulkBytesMax = next.bulkBytesMax;
  }

  /** CONFIG RESETSTAT: the connection counters INFO shows start again from zero. */
  resetStats(): void {
    this.totalConnections = 0;
    this.rejectedConnections = 0;
  }

  get connectedClients(): number {
    return this.connections.size;
  }

  *sessions(): Iterable<Session> {
    for (const c of this.connections) yield c.session;
  }

  async listen(services: ServerServices): Promise<void> {
    this.services = services;
    await listenOn(this.server, this.options.port, this.options.host);
    this.server.on('error', (err) => services.logger.error({ err }, 'RESP listener error'));
    const tlsServer = this.tlsServer;
    if (tlsServer !== undefined) {
      try {
        await listenOn(tlsServer, this.options.tls!.port, this.options.host);
      } catch (err) {
        this.server.close();
        throw err;
      }
      tlsServer.on('error', (err) => services.logger.error({ err }, 'RESP TLS listener error'));
      // A refused handshake concerns one client, and a scanner can cause many: counted, logged at debug only.
      tlsServer.on('tlsClientError', (err, socket) => {
        this.tlsHandshakeFailures++;
        services.logger.debug({ err, client: `${socket.remoteAddress}:${socket.remotePort}` }, 'TLS client handshake failed');
      });
    }
    this.rateSampler = setInterval(() => sampleRates(services.stats, performance.now()), rateSampleIntervalMs);
    this.rateSampler.unref();
  }

  address(): net.AddressInfo {
    return this.server.address() as net.AddressInfo;
  }

  /** The TLS listener's address; undefined without one. */
  tlsAddress(): net.AddressInfo | undefined {
    return this.tlsServer?.address() as net.AddressInfo | undefined;
  }

  /**
   * Stops accepting, lets in-flight commands reply (waiting at most
   * shutdownGraceMs, and no longer than they take), sends each client FIN,
   * and cuts the clients that have not closed their side clientLingerMs later.
   * Every wait is bounded, so close() returns within about
   * shutdownGraceMs + 2 * clientLingerMs whatever the clients do.
   */
  async close(): Promise<void> {
    clearInterval(this.rateSampler);
    const servers = this.tlsServer === undefined ? [this.server] : [this.server, this.tlsServer];
    const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    const quiet = Promise.all([...this.connections].map((c) => c.quiesce()));
    if (!(await settlesWithin(quiet, shutdownGraceMs))) {
      this.services?.logger.warn({ clients: this.connections.size }, `commands still in flight after ${shutdownGraceMs} ms; closing their clients`);
    }
    for (const c of this.connections) {
      c.flush();
      c.end();
    }
    if (await settlesWithin(closed, clientLingerMs)) return;
    for (const c of this.connections) c.destroy();
    // A destroyed socket reports 'close' within a turn or two; the bound is only a backstop.
    await settlesWithin(closed, clientLingerMs);
  }

  private acceptTls(socket: tls.TLSSocket): void {
    if (this.options.tls?.refuseUnverifiedCertificates === true && !socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
      this.tlsHandshakeFailures++;
      this.services?.logger.debug({ client: `${socket.remoteAddress}:${socket.remotePort}`, reason: socket.authorizationError }, 'TLS client certificate refused');
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.accept(socket);
  }

  private accept(socket: net.Socket): void {
    const services = this.services!;
    this.totalConnections++;
    if (this.connections.size >= services.config.maxClients) {
      this.rejectedConnections++;
      refuse(socket, services);
      return;
    }
    const now = Date.now();
    const session: Session = {
      id: this.nextClientId++,
      protocol: 2,
      // As Redis: a client that connects while no password is set never needs one, even if one is set later.
      authenticated: services.config.requirepass === undefined,
      name: '',
      libName: '',
      libVersion: '',
      r: undefined,
      w: undefined,
      strict: false,
      remoteAddress: `${socket.remoteAddress}:${socket.remotePort}`,
      localAddress: `${socket.localAddress}:${socket.localPort}`,
      createdAtMs: now,
      lastCommandAtMs: now,
      lastCommand: 'NULL',
      closeAfterReply: false,
      transaction: undefined,
      subscribedChannels: 0,
      subscribedPatterns: 0,
    };
    const connection = new Connection(socket, session, services, this.limits, {
      closed: (c) => this.connections.delete(c),
    });
    this.connections.add(connection);
  }
}

/**
 * Tells an over-the-limit client why and closes. Every socket needs an 'error'
 * listener: a refused client that resets (ECONNRESET) would otherwise emit an
 * unhandled 'error' and take the whole process down.
 */
function refuse(socket: net.Socket, services: ServerServices): void {
  socket.on('error', (err) => services.logger.debug({ err }, 'refused client socket error'));
  const linger = setTimeout(destroyRefused, refusedClientLingerMs, socket);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.end('-ERR max number of clients reached\r\n');
}

function destroyRefused(socket: net.Socket): void {
  socket.destroy();
}

function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
