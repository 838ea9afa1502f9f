import IORedis, { type RedisOptions } from 'ioredis';
import { redactUrl, redisOptions } from './redis-url';

/** Redis could not be reached or refused us; says where and why, without the password. */
export class QueueConnectionError extends Error {
  constructor(url: string, reason: string) {
    super(`cannot use Redis at ${redactUrl(url)}: ${reason}`);
    this.name = 'QueueConnectionError';
  }
}

/**
 * Checks that Redis answers at `url`, within `timeoutMs`, and returns the options BullMQ's own connections use. A
 * refused connection, a wrong password or a host that does not answer is an error at once, not a hang. A worker's
 * commands wait for Redis to come back (`forWorker`); enqueue's and status's fail after a few tries.
 */
export async function checkedConnection(url: string, o: { forWorker?: boolean; timeoutMs?: number } = {}): Promise<RedisOptions> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const options = redisOptions(url);
  const probe = new IORedis({
    ...options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null,
  });
  // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than connect()'s rejection ("Connection is closed").
  let socketError: Error | undefined;
  probe.on('error', (e: Error) => { socketError = e; });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    await Promise.race([probe.connect().then(() => probe.ping()), timeout]);
  } catch (e) {
    const message = socketError?.message ?? (e as Error).message;
    const reason = /WRONGPASS|NOAUTH|invalid password/i.test(message)
      ? `it refused the user or password (${message})`
      : message.includes('ECONNREFUSED') ? `${message} (is redis-server running there?)` : message;
    throw new QueueConnectionError(url, reason);
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
  return { ...options, maxRetriesPerRequest: o.forWorker ? null : 3 };
}
