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

/**
 * The namespace of pub/sub channels. Redis keeps keys per database but pub/sub is one space for the
 * whole server: two deployments on one Redis that differ only by the database index of REDIS_URL
 * would hear each other's channels. Channels therefore carry the index as well as the prefix.
 */
export function channelNamespace(redisUrl: string, redisPrefix: string): string {
  const index = Number(new URL(redisUrl).pathname.replace(/^\//, '') || 0);
  return `${redisPrefix}db${Number.isInteger(index) ? index : 0}:`;
}

const defined = new WeakMap<Redis, Set<string>>();

/**
 * A Lua script registered once per client (ioredis `defineCommand`): the first call on a connection
 * loads it with EVAL, every later one sends only its SHA (EVALSHA), and a Redis that forgot it
 * (restart, SCRIPT FLUSH) gets it again on NOSCRIPT. `name` must be unique per script in the app.
 */
export function luaScript(
  redis: Redis,
  name: string,
  numberOfKeys: number,
  lua: string,
): (...keysThenArgs: Array<string | number>) => Promise<unknown> {
  let names = defined.get(redis);
  if (!names) defined.set(redis, (names = new Set()));
  if (!names.has(name)) {
    redis.defineCommand(name, { numberOfKeys, lua });
    names.add(name);
  }
  const command = (redis as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name];
  return (...args) => command.apply(redis, args);
}
