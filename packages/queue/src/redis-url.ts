import type { RedisOptions } from 'ioredis';

/** A `--queue` value that is not a Redis URL. */
export class QueueUrlError extends Error {
  constructor(url: string, problem: string) {
    super(`--queue ${redactUrl(url)}: ${problem}; give redis://[:password@]host[:port][/db] or rediss://… (TLS)`);
    this.name = 'QueueUrlError';
  }
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  // Up to the last '@': a password may hold '@' or '/' (base64).
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@]*)$/i.exec(url);
  if (!parts) return url;
  const [, scheme, userinfo, rest] = parts;
  const colon = userinfo.indexOf(':');
  return `${scheme}${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***'}@${rest}`;
}

/** ioredis options from `redis://` or `rediss://` (TLS); user, password and database number as the URL gives them. */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueUrlError(url, 'not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new QueueUrlError(url, `the scheme is ${parsed.protocol.replace(/:$/, '')}, not redis or rediss`);
  if (parsed.hostname === '') throw new QueueUrlError(url, 'no host');
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new QueueUrlError(url, `'${db}' is not a database number`);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== '' ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: parsed.hostname } } : {}),
  };
}
