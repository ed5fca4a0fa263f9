// The ICMP edge of the host probe (host-probe.ts): echo requests through
// net-ping's raw sockets (the raw-socket native addon). A raw socket needs
// root or CAP_NET_RAW; without it, or without the addon, the probe is off,
// and openIcmpPinger says why instead of throwing: a diagnosis column is
// never worth a node that will not start.

import { lookup } from 'node:dns/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type * as NetPing from 'net-ping';
import { HostProbeError, type Pinger } from './host-probe.js';

/** A pinger, or why there is none. */
export type PingerOpening = { readonly pinger: Pinger } | { readonly off: string };

export interface IcmpPingerOptions {
  /** How long one echo waits for its reply (net-ping's session timeout; no retry: the next round is the retry). */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

type Family = 4 | 6;

// net-ping is CommonJS and loads a native addon: required lazily, so a missing build turns the probe off instead of failing the import.
const requireCjs = createRequire(import.meta.url);

/** Opens an IPv4 raw ICMP socket at once, so a missing privilege shows at startup (IPv6 opens on the first IPv6 host). */
export function openIcmpPinger(options: IcmpPingerOptions): PingerOpening {
  let netPing: typeof NetPing;
  try {
    netPing = requireCjs('net-ping') as typeof NetPing;
  } catch (err) {
    return { off: `net-ping cannot be loaded (${messageOf(err)})` };
  }
  const pinger = new IcmpPinger(netPing, options);
  try {
    pinger.session(4);
  } catch (err) {
    pinger.close();
    return { off: isPermissionError(err) ? 'raw sockets need root or CAP_NET_RAW' : `cannot open a raw ICMP socket (${messageOf(err)})` };
  }
  return { pinger };
}

class IcmpPinger implements Pinger {
  private readonly sessions = new Map<Family, NetPing.Session>();
  private closed = false;

  constructor(private readonly netPing: typeof NetPing, private readonly options: IcmpPingerOptions) {}

  async ping(host: string): Promise<number> {
    const address = net.isIP(host) !== 0 ? host : await resolve(host);
    if (this.closed) throw new HostProbeError('HOST_PROBE_FAILED', 'the pinger is closed');
    const family: Family = net.isIPv6(address) ? 6 : 4;
    let session: NetPing.Session;
    try {
      session = this.session(family);
    } catch (err) {
      throw new HostProbeError('HOST_PROBE_FAILED', `cannot open a raw ICMPv${family === 6 ? 6 : 4} socket (${messageOf(err)})`, { cause: err });
    }
    return new Promise<number>((resolvePing, rejectPing) => {
      const startedMs = performance.now();
      session.pingHost(address, (error) => {
        if (error === null) resolvePing(performance.now() - startedMs);
        else rejectPing(new HostProbeError('HOST_PROBE_NO_REPLY', `${host}: ${error.message}`, { cause: error }));
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  /** The family's session, opened on first use and again after its socket failed; throws when the socket cannot be opened. */
  session(family: Family): NetPing.Session {
    const existing = this.sessions.get(family);
    if (existing !== undefined) return existing;
    const session = this.netPing.createSession({
      networkProtocol: family === 6 ? this.netPing.NetworkProtocol.IPv6 : this.netPing.NetworkProtocol.IPv4,
      timeout: this.options.timeoutMs,
      retries: 0,
    });
    // A socket error closes the socket for good (raw-socket); forget the session so the next round opens a new one.
    session.on('error', (err: Error) => this.options.logger.warn({ err, family }, 'host probe socket failed'));
    session.on('close', () => {
      if (this.sessions.get(family) === session) this.sessions.delete(family);
    });
    this.sessions.set(family, session);
    return session;
  }
}

async function resolve(host: string): Promise<string> {
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new HostProbeError('HOST_PROBE_FAILED', `cannot resolve ${host} (${messageOf(err)})`, { cause: err });
  }
}

/** raw-socket throws a plain Error with the C library's text: "Operation not permitted" (EPERM) without CAP_NET_RAW. */
function isPermissionError(err: unknown): boolean {
  const text = `${(err as { code?: unknown })?.code ?? ''} ${messageOf(err)}`;
  return /EPERM|EACCES|not permitted|permission denied/i.test(text);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
