// The metrics endpoint: GET /metrics answers the registry's Prometheus text
// on a port of its own (--metrics-port), apart from the RESP port so that a
// scrape never competes with clients for a connection slot and a firewall
// can open it to the monitoring network alone. Anything else is a 404 (405
// for another method on /metrics). Bounded: a scrape is one small request
// and the body is built per request; connections past
// metricsConnectionsMax are refused, and close() ends every connection, so
// shutdown never waits on an idle keep-alive scraper.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** Scrapers at once: a Prometheus pair and a person with curl, many times over. */
export const metricsConnectionsMax = 64;
/** A scraper that sends nothing for this long is dropped (Prometheus's default scrape timeout is 10 s). */
const requestTimeoutMs = 10_000;

export class MetricsServer {
  private readonly server: Server;

  constructor(private readonly registry: Registry, private readonly logger: Logger) {
    this.server = createServer((request, response) => void this.answer(request, response));
    this.server.maxConnections = metricsConnectionsMax;
    this.server.requestTimeout = requestTimeoutMs;
    this.server.headersTimeout = requestTimeoutMs;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => this.logger.error({ err }, 'metrics listener error'));
        resolve();
      });
    });
  }

  address(): { host: string; port: number } {
    const info = this.server.address() as AddressInfo;
    return { host: info.address, port: info.port };
  }

  /** Stops listening and ends every connection, idle or mid-scrape. */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = (request.url ?? '/').split('?')[0];
    if (url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    try {
      const body = await this.registry.metrics();
      response.writeHead(200, { 'content-type': this.registry.contentType }).end(request.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.logger.error({ err }, 'metrics scrape failed');
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics scrape failed\n');
    }
  }
}
