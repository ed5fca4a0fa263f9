// Where `ringkv migrate` reads from: a Redis URL as redis-cli -u and the
// client libraries take it, redis://[user:pass@]host:port[/db], or
// rediss://… for TLS. Parsed into plain options (pure), so a bad URL is one
// line naming what is wrong before anything connects.

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  readonly tls: boolean;
}

export class EndpointError extends Error {
  readonly code = 'MIGRATE_BAD_URL';
  constructor(message: string) {
    super(message);
    this.name = 'EndpointError';
  }
}

/** Redis's default port, when the URL names none. */
const redisPortDefault = 6379;
/** Redis's `databases` is an int; a db index past it cannot exist. */
const dbMax = 2 ** 31 - 1;

export function parseRedisUrl(text: string): RedisEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EndpointError(`'${text}' is not a URL: write redis://[user:password@]host:port[/db]`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new EndpointError(`'${url.protocol}' is not redis: or rediss: (in '${redacted(text)}')`);
  }
  if (url.hostname === '') throw new EndpointError(`no host in '${redacted(text)}'`);
  const port = url.port === '' ? redisPortDefault : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) throw new EndpointError(`the path of '${redacted(text)}' must be a database number, got '${path}'`);
  const db = path === '' ? 0 : Number(path);
  if (db > dbMax) throw new EndpointError(`database ${path} is out of range`);
  if (url.search !== '' || url.hash !== '') throw new EndpointError(`'${redacted(text)}' has options ringkv migrate does not read (${url.search}${url.hash})`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host, port, db, tls: url.protocol === 'rediss:',
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  };
}

/** The URL with any password replaced, for logs, reports and the checkpoint. */
export function redacted(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return text.replace(/:[^:@/]*@/, ':***@');
  }
}

/** The endpoint as the checkpoint remembers it: enough to tell one source from another, no secret. */
export function endpointName(e: RedisEndpoint): string {
  return `${e.tls ? 'rediss' : 'redis'}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}/${e.db}`;
}
