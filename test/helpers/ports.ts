// Free TCP ports for test and benchmark processes. A port is drawn at
// random below the kernel's ephemeral range (32768-60999 here), checked free
// by listening on it, then closed and handed to a child process. Below that
// range no outgoing connection's local port and no other program's port 0
// can land on it between the check and the child's bind. A port another
// test file's node holds is refused at start (cluster.ts waitForPing checks
// the pid that answers). Remembering every port handed out stops two nodes
// started by one process from being given the same port while neither has
// bound it yet; test files run in separate processes, and two of them
// drawing the same port within that moment is a chance in thousands.
// Deliberately free of ava, so benchmarks can use it too.
import net from 'node:net';

const handedOut = new Set<number>();

/** The range drawn from: above the well-known and registered services most machines run, below the ephemeral range. */
const portLow = 20_000;
const portHigh = 32_000;

// Enough attempts to skip ports in use or already handed out.
const freePortAttemptsMax = 200;

function listenOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that was free a moment ago and never returned before in this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < freePortAttemptsMax; attempt++) {
    const port = portLow + Math.floor(Math.random() * (portHigh - portLow));
    if (handedOut.has(port) || !(await listenOnce(port))) continue;
    handedOut.add(port);
    return port;
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
