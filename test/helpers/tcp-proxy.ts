// A TCP proxy in the test's process, between a ringkv node and a server it
// talks to (the old Redis of --read-through), that the test can hold: while
// held, what the node sends is kept back (the server never sees it) until
// release, so a test decides when a request reaches the server instead of
// racing a timer; close() makes the server unreachable.

import net from 'node:net';

const host = '127.0.0.1';

export class HoldingProxy {
  private held = false;
  private readonly queued: { upstream: net.Socket; chunk: Buffer }[] = [];
  private readonly sockets = new Set<net.Socket>();
  private waiters: (() => void)[] = [];
  /** Chunks kept back since the proxy started (each request the node sent while held). */
  heldChunks = 0;

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(upstreamPort: number): Promise<HoldingProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const proxy = new HoldingProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.connect(client, upstreamPort));
    return proxy;
  }

  private connect(client: net.Socket, upstreamPort: number): void {
    const upstream = net.connect(upstreamPort, host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('data', (chunk: Buffer) => {
      if (!this.held) {
        upstream.write(chunk);
        return;
      }
      this.queued.push({ upstream, chunk });
      this.heldChunks++;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  hold(): void {
    this.held = true;
  }

  /** Resolves once `count` chunks in all have been kept back (counting from the proxy's start). */
  async heldAtLeast(count: number): Promise<void> {
    while (this.heldChunks < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Sends on what was kept back, in order, and stops holding. */
  release(): void {
    this.held = false;
    for (const { upstream, chunk } of this.queued.splice(0)) upstream.write(chunk);
  }

  /** The server becomes unreachable: no new connection, the open ones closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
