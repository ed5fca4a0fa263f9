// net-ping ships no types; this covers the part ringkv uses (membership/icmp-pinger.ts).
declare module 'net-ping' {
  import type { EventEmitter } from 'node:events';
  interface SessionOptions {
    networkProtocol?: number;
    /** Per echo, ms. */
    timeout?: number;
    retries?: number;
    packetSize?: number;
    ttl?: number;
    sessionId?: number;
  }
  interface Session extends EventEmitter {
    pingHost(target: string, callback: (error: Error | null, target: string, sent?: Date, rcvd?: Date) => void): this;
    close(): this;
  }
  export const NetworkProtocol: { readonly IPv4: number; readonly IPv6: number };
  export function createSession(options?: SessionOptions): Session;
}
