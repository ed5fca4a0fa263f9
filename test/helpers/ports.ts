// Free TCP ports for test and benchmark processes. A port is drawn at
// random below the kernel's ephemeral range (32768-60999 here), claimed for
// every process on the machine, checked free by listening on it, then closed
// and handed to a child process. Below that range no outgoing connection's
// local port and no other program's port 0 can land on it between the check
// and the child's bind.
//
// The claim is a marker file per port, made with O_EXCL in a directory all
// test processes share, and kept: test files run in separate processes (two
// at a time), and a port one file's node held must not go to another file's
// node while the first file may still restart its own there. A fresh-clone
// run of .ci/run lost a test so: a node killed on purpose left its peer port
// free, another file's node took it, and the first cluster, dialling its dead
// member's address, gossiped with the other cluster (same node ids) and never
// converged. A marker older than `markerStaleMs` is taken over: no test file runs that
// long. A port another process holds anyway is refused at start
// (cluster.ts waitForPing checks the pid that answers).
// Deliberately free of ava, so benchmarks can use it too.
import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const handedOut = new Set<number>();

/** The range drawn from: above the well-known and registered services most machines run, below the ephemeral range. */
const portLow = 20_000;
const portHigh = 32_000;

// Enough attempts to skip ports in use, claimed or already handed out.
const freePortAttemptsMax = 500;

const markerDir = path.join(os.tmpdir(), 'ringkv-test-ports');
/** A claim this old is stale: longer than any test file runs (ava's timeout is 120 s a test). */
const markerStaleMs = 20 * 60_000;

/** Claims `port` for this process against every other on the machine; false when another holds a fresh claim. */
function claim(port: number): boolean {
  const file = path.join(markerDir, String(port));
  if (create(file)) return true;
  try {
    if (Date.now() - statSync(file).mtimeMs < markerStaleMs) return false;
    unlinkSync(file);
  } catch {
    return false; // taken over by another process meanwhile
  }
  return create(file);
}

function create(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function listenOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that was free a moment ago and that no test process on this machine was given lately. */
export async function freePort(): Promise<number> {
  mkdirSync(markerDir, { recursive: true });
  for (let attempt = 0; attempt < freePortAttemptsMax; attempt++) {
    const port = portLow + Math.floor(Math.random() * (portHigh - portLow));
    if (handedOut.has(port) || !claim(port) || !(await listenOnce(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`freePort: no new port after ${freePortAttemptsMax} attempts (claims in ${markerDir})`);
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
