import type { Logger } from '../logger';
import { channelNamespace, isCluster, openRedis, parseClusterUrl, type Redis } from '../redis';

/**
 * Every bus channel and the message it carries. The code that owns a channel declares it next to
 * its constant (`declare module '…/infra/realtime/bus' { interface BusChannels { [NAME]: Message } }`),
 * so `publish` and `subscribe` are checked at compile time; logins-revoked is declared here.
 */
export interface BusChannels {
  [LOGINS_REVOKED]: LoginsRevokedMessage;
}

export type Channel = keyof BusChannels & string;

/**
 * Families of per-key channels (one channel per user, say) and the message each carries, declared
 * like BusChannels. An instance subscribes to a key's channel only while it holds something of that
 * key (`KeyedChannels.join`), so it hears only what its own clients need.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface BusKeyedChannels {}

export type KeyedChannel = keyof BusKeyedChannels & string;

/** One subscribed key channel: how many local holders it has, and when Redis confirmed it. */
interface KeyedEntry {
  family: KeyedChannels<never>;
  key: number;
  refs: number;
  ready: Promise<void>;
}

/** How long `join` keeps retrying a subscription Redis refused (a cluster whose subscribers are starting). */
const JOIN_RETRY_MS = 200;
const JOIN_ATTEMPTS = 15;

export type BusHandler<M = never> = (message: M) => void;

/**
 * Redis pub/sub for one instance: ONE subscriber connection, fanned out in memory to local handlers
 * (never a Redis connection per client). Channels are namespaced by the deployment's Redis prefix and
 * database index (pub/sub ignores the index, see channelNamespace).
 * Subscriptions are re-established by ioredis after a reconnect (autoResubscribe).
 *
 * Two kinds of channel. A plain channel (`subscribe`/`publish`) reaches every instance: for rare,
 * instance-wide messages (revoked logins). A keyed channel (`keyed`/`publishKeyed`, one channel per
 * user) reaches only the instances that joined that key: per-user traffic (notifications) then costs
 * an instance what its own clients need, whatever the number of instances.
 *
 * On a Redis Cluster plain channels keep classic SUBSCRIBE/PUBLISH: ioredis subscribes through one
 * node and moves the subscriptions to another when that node fails, and the cluster forwards every
 * PUBLISH to every node, which is fine for their few, small messages. Keyed channels use sharded
 * pub/sub there (Redis 7 SSUBSCRIBE/SPUBLISH): a channel lives on the one shard its name hashes to,
 * so per-user traffic spreads over the shards instead of costing every node; ioredis keeps one
 * sharded subscriber per master and moves a channel when its slot moves. On one server keyed
 * channels are classic channels (any Redis version).
 */
export class EventBus {
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Set<BusHandler<unknown>>>();
  /** Subscribed key channels by full channel name. */
  private readonly keyedEntries = new Map<string, KeyedEntry>();
  private readonly sharded: boolean;
  /** Messages received, plain and keyed (what an instance pays for pub/sub; read by the benchmark). */
  received = 0;
  private readonly reconnectHandlers = new Set<() => void>();
  private readonly namespace: string;
  private closed = false;

  constructor(
    redisUrl: string,
    prefix: string,
    private readonly pub: Redis,
    private readonly logger: Logger,
  ) {
    this.namespace = channelNamespace(redisUrl, prefix);
    this.sharded = parseClusterUrl(redisUrl) !== null;
    this.sub = openRedis(
      redisUrl,
      {
        lazyConnect: true,
        maxRetriesPerRequest: null,
        autoResubscribe: true,
        connectionName: `${prefix}bus`,
      },
      this.sharded ? { shardedSubscribers: true } : {},
    );
    this.sub.on('error', (err) => logger.debug({ err: err.message }, 'bus subscriber error'));
    // A message published while the subscriber was away is lost for good: tell those who must
    // reconcile (revocations) each time it is back.
    let connectedBefore = false;
    this.sub.on('ready', () => {
      if (connectedBefore) for (const fn of this.reconnectHandlers) fn();
      connectedBefore = true;
    });
    const onMessage = (channel: string, raw: string) => {
      this.received++;
      const set = this.handlers.get(channel);
      const entry = set ? undefined : this.keyedEntries.get(channel);
      if (!set && !entry) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch {
        return;
      }
      if (entry) {
        try {
          entry.family.deliver(entry.key, message as never);
        } catch (err) {
          this.logger.error({ err, channel }, 'bus handler failed');
        }
        return;
      }
      for (const h of set!) {
        try {
          h(message);
        } catch (err) {
          this.logger.error({ err, channel }, 'bus handler failed');
        }
      }
    };
    this.sub.on('message', onMessage);
    this.sub.on('smessage', onMessage);
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

  /**
   * A family of per-key channels whose messages go to `handler` with their key. Nothing is
   * subscribed until a key is joined.
   */
  keyed<K extends KeyedChannel>(
    name: K,
    handler: (key: number, message: BusKeyedChannels[K]) => void,
  ): KeyedChannels<K> {
    return new KeyedChannels(this, name, handler);
  }

  /**
   * Publishes each message on its key's channel, reaching only the instances that joined that key:
   * one pipeline on one server; on a cluster one SPUBLISH per key (each to the shard that owns its
   * slot), sent together. Throws when Redis is down: call it from the outbox. Answers how many
   * subscriptions each message reached (Redis's count; 0: no instance had joined that key).
   */
  async publishKeyed<K extends KeyedChannel>(
    name: K,
    messages: Array<[key: number, message: BusKeyedChannels[K]]>,
  ): Promise<number[]> {
    if (!messages.length) return [];
    if (isCluster(this.pub)) {
      return Promise.all(
        messages.map(async ([key, m]) =>
          Number(await this.pub.spublish(this.keyedChannel(name, key), JSON.stringify(m))),
        ),
      );
    }
    const pipe = this.pub.pipeline();
    for (const [key, m] of messages) pipe.publish(this.keyedChannel(name, key), JSON.stringify(m));
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    return results.map(([, receivers]) => Number(receivers));
  }

  keyedChannel(name: string, key: number): string {
    return `${this.namespace}bus:${name}:${key}`;
  }

  /** Key channels this instance is subscribed to (tests, metrics). */
  get keyedCount(): number {
    return this.keyedEntries.size;
  }

  /** Key channels of one family this instance is subscribed to (other families, e.g. chat's, left out). */
  keyedCountOf(name: KeyedChannel): number {
    let n = 0;
    for (const entry of this.keyedEntries.values()) if (entry.family.name === name) n++;
    return n;
  }

  /** @internal KeyedChannels.join: one Redis subscription per channel, however many local holders. */
  joinKey(family: KeyedChannels<never>, key: number): Promise<void> {
    const channel = this.keyedChannel(family.name, key);
    const existing = this.keyedEntries.get(channel);
    if (existing) {
      existing.refs++;
      return existing.ready;
    }
    const entry: KeyedEntry = { family, key, refs: 1, ready: Promise.resolve() };
    this.keyedEntries.set(channel, entry);
    entry.ready = this.subscribeKey(channel, entry);
    return entry.ready;
  }

  /** @internal KeyedChannels.leave: the last holder's leave unsubscribes. */
  leaveKey(family: KeyedChannels<never>, key: number): void {
    const channel = this.keyedChannel(family.name, key);
    const entry = this.keyedEntries.get(channel);
    if (!entry || --entry.refs > 0) return;
    this.keyedEntries.delete(channel);
    const off = this.sharded ? this.sub.sunsubscribe(channel) : this.sub.unsubscribe(channel);
    void off.catch(() => undefined);
  }

  /** Resolves once Redis confirmed the subscription; retries a refusal (a cluster whose subscribers are starting). */
  private async subscribeKey(channel: string, entry: KeyedEntry): Promise<void> {
    await this.connect();
    for (let attempt = 1; ; attempt++) {
      try {
        await (this.sharded ? this.sub.ssubscribe(channel) : this.sub.subscribe(channel));
        return;
      } catch (err) {
        if (this.keyedEntries.get(channel) !== entry) return; // left meanwhile
        if (attempt >= JOIN_ATTEMPTS) {
          this.logger.warn({ err: (err as Error).message, channel }, 'bus key subscription failed');
          return;
        }
        await new Promise((r) => setTimeout(r, JOIN_RETRY_MS));
      }
    }
  }

  /** Idempotent: ioredis answers a second disconnect of an ended client with a 2 s timer that keeps the process up. */
  async close(): Promise<void> {
    this.handlers.clear();
    this.keyedEntries.clear();
    if (this.closed) return;
    this.closed = true;
    this.sub.disconnect();
  }
}

/**
 * The per-key channels of one family on one instance, refcounted: the first `join` of a key
 * subscribes (and resolves once Redis confirmed it, so a caller may then read what it missed before
 * and lose nothing after), the last `leave` unsubscribes.
 */
export class KeyedChannels<K extends KeyedChannel> {
  constructor(
    private readonly bus: EventBus,
    readonly name: K,
    private readonly handler: (key: number, message: BusKeyedChannels[K]) => void,
  ) {}

  join(key: number): Promise<void> {
    return this.bus.joinKey(this as unknown as KeyedChannels<never>, key);
  }

  leave(key: number): void {
    this.bus.leaveKey(this as unknown as KeyedChannels<never>, key);
  }

  /** @internal called by the bus for each message on one of this family's channels. */
  deliver(key: number, message: BusKeyedChannels[K]): void {
    this.handler(key, message);
  }
}

/** Channel on which revoked logins are announced, so sockets and streams of those logins close at once. */
export const LOGINS_REVOKED = 'logins-revoked';
export interface LoginsRevokedMessage {
  sessionIds: number[];
  userId: number;
}
