import IORedis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * The client every module is given: one Redis server, or a Redis Cluster (REDIS_CLUSTER_NODES, or a
 * `redis+cluster://host:port,host:port` REDIS_URL). Both speak the same commands; what differs is that
 * a cluster only runs a multi-key command, a MULTI, a pipeline or a Lua script when every key it
 * touches lives in one hash slot. Keys that are used together are therefore named with `slotTag`.
 */
export type Redis = IORedis | Cluster;

const CLUSTER_SCHEME = 'redis+cluster:';

/** A REDIS_URL that names a cluster, from REDIS_CLUSTER_NODES (`host:port,host:port`). */
export function clusterUrl(nodes: string): string {
  return `redis+cluster://${nodes.replace(/\s+/g, '')}`;
}

/** The Redis of a CLI's environment: REDIS_CLUSTER_NODES wins over REDIS_URL, as in the server's config. */
export function redisUrlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  return env.REDIS_CLUSTER_NODES ? clusterUrl(env.REDIS_CLUSTER_NODES) : env.REDIS_URL || undefined;
}

export interface ClusterTarget {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
}

/** The seed nodes (and credentials) of a `redis+cluster://` URL, or null for a one-server URL. */
export function parseClusterUrl(url: string): ClusterTarget | null {
  if (!url.startsWith(`${CLUSTER_SCHEME}//`)) return null;
  const rest = url.slice(CLUSTER_SCHEME.length + 2).replace(/\/.*$/, '');
  const at = rest.lastIndexOf('@');
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const hosts = at >= 0 ? rest.slice(at + 1) : rest;
  const nodes = hosts.split(',').map((hp) => {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(hp);
    if (!m) throw new Error(`redis cluster node "${hp}" is not host:port`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  });
  if (!nodes.length || !hosts) throw new Error('a redis cluster URL names at least one host:port');
  const [user, pass] = auth ? auth.split(':') : [];
  return {
    nodes,
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(pass ? { password: decodeURIComponent(pass) } : {}),
  };
}

export function isCluster(redis: Redis): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}

/**
 * Options of one server connection that belong to the cluster client itself when the target is a
 * cluster (the rest go to every node connection).
 */
const CLUSTER_LEVEL = ['lazyConnect', 'enableOfflineQueue', 'enableReadyCheck', 'keyPrefix', 'scripts'] as const;

/**
 * Opens a client on REDIS_URL (one server or a cluster) with these per-connection options. On a
 * cluster, `retryStrategy` becomes the cluster's reconnect strategy and commands that meet a failover
 * (a node gone, CLUSTERDOWN, TRYAGAIN) are retried once the slot map has been refreshed.
 */
export function openRedis(url: string, options: RedisOptions = {}, cluster: Partial<ClusterOptions> = {}): Redis {
  const target = parseClusterUrl(url);
  if (!target) return new IORedis(url, options);
  const nodeOptions: RedisOptions = { ...options };
  const clusterOptions: ClusterOptions = {};
  for (const k of CLUSTER_LEVEL) {
    if (k in nodeOptions) {
      (clusterOptions as Record<string, unknown>)[k] = nodeOptions[k];
      delete nodeOptions[k];
    }
  }
  const strategy = nodeOptions.retryStrategy;
  delete nodeOptions.retryStrategy;
  return new Cluster(target.nodes, {
    ...clusterOptions,
    clusterRetryStrategy: strategy ?? ((times) => Math.min(100 + times * 200, 2000)),
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2000,
    ...cluster,
    redisOptions: {
      ...nodeOptions,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
    },
  });
}

/**
 * A Redis client for request paths: commands fail at once while the connection is down (no offline
 * queue), so a request answers 503 instead of hanging; ioredis keeps reconnecting in the background.
 */
export function createRedis(url: string, overrides: RedisOptions = {}): Redis {
  return openRedis(url, {
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
  if (isCluster(client) && (client.status === 'disconnecting' || client.status === 'close')) {
    // A cluster client still closing after disconnect(): its node connections end one by one and
    // may still report in; connect again only once it has wholly ended.
    await new Promise((resolve) => client.once('end', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (client.status === 'wait' || client.status === 'end') {
    await client.connect();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
}

/**
 * A key name part that keeps every key built from it in one hash slot: `{name}` on a cluster (Redis
 * hashes only what is between the braces), `name` unchanged on one server, whose key names stay
 * what they always were.
 */
export function slotTag(redis: Redis | boolean, name: string): string {
  return (typeof redis === 'boolean' ? redis : isCluster(redis)) ? `{${name}}` : name;
}

/**
 * GET of several keys that need not share a slot: one MGET on a single server; on a cluster, one GET
 * per key sent together (ioredis writes them in one go to each node).
 */
export async function getMany(redis: Redis, keys: string[]): Promise<Array<string | null>> {
  if (!keys.length) return [];
  if (!isCluster(redis)) return redis.mget(...keys);
  return Promise.all(keys.map((k) => redis.get(k)));
}

/**
 * Runs per-key batches of commands: one pipeline for all of them on a single server; on a cluster,
 * one pipeline per key (a pipeline there must stay within one slot), sent in parallel.
 */
export async function pipelinePerKey(
  redis: Redis,
  keys: Iterable<string>,
  add: (pipe: ReturnType<Redis['pipeline']>, key: string) => void,
): Promise<void> {
  const list = [...keys];
  if (!list.length) return;
  if (!isCluster(redis)) {
    const pipe = redis.pipeline();
    for (const key of list) add(pipe, key);
    await throwFirst(await pipe.exec());
    return;
  }
  await Promise.all(
    list.map(async (key) => {
      const pipe = redis.pipeline();
      add(pipe, key);
      await throwFirst(await pipe.exec());
    }),
  );
}

async function throwFirst(results: Array<[Error | null, unknown]> | null): Promise<void> {
  const failed = results?.find(([err]) => err);
  if (failed) throw failed[0];
}

/**
 * The namespace of pub/sub channels. Redis keeps keys per database but pub/sub is one space for the
 * whole server: two deployments on one Redis that differ only by the database index of REDIS_URL
 * would hear each other's channels. Channels therefore carry the index as well as the prefix (a
 * cluster has database 0 only).
 */
export function channelNamespace(redisUrl: string, redisPrefix: string): string {
  if (parseClusterUrl(redisUrl)) return `${redisPrefix}db0:`;
  const index = Number(new URL(redisUrl).pathname.replace(/^\//, '') || 0);
  return `${redisPrefix}db${Number.isInteger(index) ? index : 0}:`;
}

const defined = new WeakMap<Redis, Set<string>>();

/**
 * A Lua script registered once per client (ioredis `defineCommand`): the first call on a connection
 * loads it with EVAL, every later one sends only its SHA (EVALSHA), and a Redis that forgot it
 * (restart, SCRIPT FLUSH) gets it again on NOSCRIPT. `name` must be unique per script in the app.
 *
 * Every key a script touches must be passed as one of its `numberOfKeys` KEYS (never built or read
 * inside the script), and on a cluster all of them must share a hash slot (`slotTag`).
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
