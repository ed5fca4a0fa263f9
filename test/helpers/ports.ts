// Free TCP ports for test and benchmark processes. The kernel picks a free
// port when we listen on port 0; we read it and close, then hand it to a child
// process. Remembering every port handed out stops two nodes started by one
// process from being given the same port while neither has bound it yet.
// Deliberately free of ava, so benchmarks can use it too.
import net from 'node:net';

const handedOut = new Set<number>();

// Enough attempts to skip ports we already handed out; the kernel cycles
// through tens of thousands, so a repeat streak this long means trouble.
const freePortAttemptsMax = 50;

function listenOnceOnZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** A port on 127.0.0.1 that was free a moment ago and never returned before in this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < freePortAttemptsMax; attempt++) {
    const port = await listenOnceOnZero();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no new port after ${freePortAttemptsMax} attempts`);
}

export interface PortPair {
  /** the RESP (client) port */
  port: number;
  /** the peer-protocol port */
  peerPort: number;
}

/** Two distinct free ports: one for RESP clients, one for the peer protocol. */
export async function freePortPair(): Promise<PortPair> {
  const port = await freePort();
  const peerPort = await freePort();
  return { port, peerPort };
}
