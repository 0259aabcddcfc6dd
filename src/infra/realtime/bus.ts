import type { Logger } from '../logger';
import { channelNamespace, openRedis, type Redis } from '../redis';

/**
 * Every bus channel and the message it carries. The code that owns a channel declares it next to
 * its constant (`declare module '…/infra/realtime/bus' { interface BusChannels { [NAME]: Message } }`),
 * so `publish` and `subscribe` are checked at compile time; logins-revoked is declared here.
 */
export interface BusChannels {
  [LOGINS_REVOKED]: LoginsRevokedMessage;
}

export type Channel = keyof BusChannels & string;

export type BusHandler<M = never> = (message: M) => void;

/**
 * Redis pub/sub for one instance: ONE subscriber connection, fanned out in memory to local handlers
 * (never a Redis connection per client). Channels are namespaced by the deployment's Redis prefix and
 * database index (pub/sub ignores the index, see channelNamespace).
 * Subscriptions are re-established by ioredis after a reconnect (autoResubscribe).
 *
 * On a Redis Cluster the bus keeps classic SUBSCRIBE/PUBLISH: ioredis subscribes through one node and
 * moves the subscriptions to another when that node fails, and the cluster forwards every PUBLISH to
 * every node. That broadcast costs each node every bus message, which is fine for the bus's few,
 * small messages; the Socket.io adapter, which carries every chat line, uses sharded pub/sub instead.
 */
export class EventBus {
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Set<BusHandler<unknown>>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private readonly namespace: string;

  constructor(
    redisUrl: string,
    prefix: string,
    private readonly pub: Redis,
    private readonly logger: Logger,
  ) {
    this.namespace = channelNamespace(redisUrl, prefix);
    this.sub = openRedis(redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
      connectionName: `${prefix}bus`,
    });
    this.sub.on('error', (err) => logger.debug({ err: err.message }, 'bus subscriber error'));
    // A message published while the subscriber was away is lost for good: tell those who must
    // reconcile (revocations) each time it is back.
    let connectedBefore = false;
    this.sub.on('ready', () => {
      if (connectedBefore) for (const fn of this.reconnectHandlers) fn();
      connectedBefore = true;
    });
    this.sub.on('message', (channel: string, raw: string) => {
      const set = this.handlers.get(channel);
      if (!set) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch {
        return;
      }
      for (const h of set) {
        try {
          h(message);
        } catch (err) {
          this.logger.error({ err, channel }, 'bus handler failed');
        }
      }
    });
  }

  channel(name: string): string {
    return `${this.namespace}bus:${name}`;
  }

  async connect(): Promise<void> {
    if (this.sub.status === 'wait') await this.sub.connect();
  }

  /** Subscribes a local handler; the Redis SUBSCRIBE happens once per channel. Returns an unsubscribe. */
  async subscribe<K extends Channel>(name: K, typed: BusHandler<BusChannels[K]>): Promise<() => void> {
    // Stored untyped: what arrives on a channel is what was published to it (checked at `publish`).
    const handler = typed as BusHandler<unknown>;
    const ch = this.channel(name);
    let set = this.handlers.get(ch);
    if (!set) {
      set = new Set();
      this.handlers.set(ch, set);
      await this.connect();
      await this.sub.subscribe(ch);
    }
    set.add(handler);
    return () => {
      set!.delete(handler);
      if (set!.size === 0) {
        this.handlers.delete(ch);
        void this.sub.unsubscribe(ch).catch(() => undefined);
      }
    };
  }

  /** Called after every reconnect of the subscriber (not the first connect). Returns an unsubscribe. */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  /** Publishes to every instance (including this one). Throws when Redis is down: call it from the outbox. */
  async publish<K extends Channel>(name: K, message: BusChannels[K]): Promise<void> {
    await this.pub.publish(this.channel(name), JSON.stringify(message));
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.sub.disconnect();
  }
}

/** Channel on which revoked logins are announced, so sockets and streams of those logins close at once. */
export const LOGINS_REVOKED = 'logins-revoked';
export interface LoginsRevokedMessage {
  sessionIds: number[];
  userId: number;
}
