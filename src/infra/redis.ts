import Redis, { type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * A Redis client for request paths: commands fail at once while the connection is down (no offline
 * queue), so a request answers 503 instead of hanging; ioredis keeps reconnecting in the background.
 */
export function createRedis(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...overrides,
  });
}

/** Connects a lazy client and waits until it is ready (or throws). */
export async function connectRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'wait' || client.status === 'end') await client.connect();
  else
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', reject);
    });
}
