import type { Server as HttpServer } from 'node:http';
import type Joi from 'joi';
import { Server, type Socket } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '../logger';
import { channelNamespace, isCluster, openRedis, type Redis } from '../redis';

/**
 * The Socket.io event maps of the one server every module shares. Empty here: the module that owns
 * an event declares it next to its handler (declaration merging), so `socket.on`, `emit` and
 * `socket.data` are checked at compile time while infra imports nothing from the modules:
 *
 *   declare module '../../infra/realtime/socket' {
 *     interface ClientToServerEvents { 'room:join': ClientEvent<{ roomId: number }> }
 *     interface ServerToClientEvents { 'message:new': (message: ChatMessage) => void }
 *   }
 */
/* eslint-disable @typescript-eslint/no-empty-object-type -- filled by declaration merging */
export interface ClientToServerEvents {}
export interface ServerToClientEvents {}
/** What the server keeps per socket (`socket.data`), e.g. the authenticated user. */
export interface SocketData {}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** Every client event is answered through its acknowledgement (a missing ack is tolerated). */
export type AckReply =
  | { ok: true; [k: string]: unknown }
  | { ok: false; code: string; message: string; errors?: unknown[]; retryAfterSec?: number };

/** A client → server event: one payload, then the acknowledgement callback. */
export type ClientEvent<P> = (payload: P, ack?: (reply: AckReply) => void) => void;

/** The payload type of a client event. */
export type ClientPayload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];

/** The payload type of a server event. */
export type ServerPayload<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];

/**
 * The documentation of the events (served as /asyncapi.json). The payload schema of a client event
 * is the one its handler validates with, so the document cannot drift from what the server accepts.
 */
export interface ClientEventDoc {
  summary: string;
  /** The joi schema `handle` validates the payload with. */
  payload: Joi.ObjectSchema;
  /** What a successful acknowledgement carries besides `ok: true`. */
  ack?: Joi.ObjectSchema;
  /** The `code`s a failed acknowledgement may carry besides VALIDATION_FAILED and RATE_LIMITED. */
  errors?: string[];
}

export interface ServerEventDoc {
  summary: string;
  payload: Joi.Schema;
}

/**
 * Docs of the events, keyed by the event maps (a misspelt or removed event does not compile). The
 * keys are optional because tests declare events of their own; test/asyncapi.test.ts lists the
 * events the document must have.
 */
export interface SocketEventDocs {
  client: { [E in keyof ClientToServerEvents]?: ClientEventDoc };
  server: { [E in keyof ServerToClientEvents]?: ServerEventDoc };
}

/** One module's share of SocketEventDocs (its own events). */
export type ModuleSocketDocs = SocketEventDocs;

export type AppServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface SocketServerOptions {
  redisUrl: string;
  /** config.redisPrefix: the adapter's channels live under it and the database index (channelNamespace). */
  redisPrefix: string;
  corsOrigins: Array<string | RegExp>;
  logger: Logger;
  /** Largest accepted packet; bigger ones close the connection (engine.io's rule). */
  maxPayloadBytes?: number;
}

export interface SocketServer {
  io: AppServer;
  close(): Promise<void>;
}

/** What the adapter sends on its subscriber connection. */
const SUBSCRIPTIONS = ['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe'];

/**
 * The adapter sends these commands without awaiting them: its publishes, its SUBSCRIBEs when it
 * starts, its UNSUBSCRIBEs in `close` right before we disconnect. A rejected one (Redis unreachable,
 * or the connection closed before its reply: every UNSUBSCRIBE still in flight when `close`
 * disconnects fails with "Connection is closed") would otherwise be an unhandled rejection, so each
 * one's failure is logged here instead: as a warning while serving, as debug once closing, where a
 * lost UNSUBSCRIBE means nothing (the connection goes anyway).
 */
function catchUnawaited(client: Redis, names: readonly string[], logger: Logger, closing: () => boolean): void {
  const methods = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of names) {
    const send = methods[name].bind(client);
    methods[name] = (...args: unknown[]) => {
      const p = send(...args);
      p.catch((err: Error) =>
        logger[closing() ? 'debug' : 'warn']({ err: err.message, command: name }, 'socket.io adapter command failed'),
      );
      return p;
    };
  }
}

/**
 * One Socket.io server per app instance on path /socket.io, with the Redis adapter so that an emit
 * to a room reaches its sockets on every instance.
 *
 * Deployment: the WebSocket transport works behind any load balancer, with no sticky sessions.
 * HTTP long-polling (the client's default first transport) sends several requests per session and
 * needs sticky sessions when more than one instance runs; clients that cannot guarantee them should
 * connect with `transports: ['websocket']`.
 *
 * The adapter speaks RESP2 through ioredis 5 (PSUBSCRIBE on `<prefix>db<n>:socket.io#/#*`); it is tested
 * with two instances in src/modules/chat/chat.test.ts.
 *
 * On a Redis Cluster it is the sharded adapter instead (Redis 7 SSUBSCRIBE/SPUBLISH): classic pub/sub
 * there is forwarded to every node of the cluster, so each chat line would cost every shard; a
 * sharded channel lives on the one shard its name hashes to. "dynamic" mode gives each room its own
 * channel, so rooms spread over the shards and an instance hears only the rooms it has sockets in.
 * ioredis keeps one subscriber per master (`shardedSubscribers`) and moves a channel when its slot
 * moves (failover). Tested on a real cluster by `npm run test:cluster`.
 */
export function createSocketServer(server: HttpServer, opts: SocketServerOptions): SocketServer {
  const pub = openRedis(opts.redisUrl, { maxRetriesPerRequest: 2 });
  const sub = openRedis(opts.redisUrl, { maxRetriesPerRequest: null }, { shardedSubscribers: true });
  let closing = false;
  catchUnawaited(pub, ['publish', 'spublish'], opts.logger, () => closing);
  catchUnawaited(sub, SUBSCRIPTIONS, opts.logger, () => closing);
  pub.on('error', (err) => opts.logger.debug({ err: err.message }, 'socket.io adapter pub error'));
  sub.on('error', (err) => opts.logger.debug({ err: err.message }, 'socket.io adapter sub error'));

  const io: AppServer = new Server(server, {
    path: '/socket.io',
    serveClient: false,
    maxHttpBufferSize: opts.maxPayloadBytes ?? 32 * 1024,
    cors: { origin: opts.corsOrigins.length ? opts.corsOrigins : false },
    adapter: isCluster(pub)
      ? createShardedAdapter(pub, sub, {
          channelPrefix: `${channelNamespace(opts.redisUrl, opts.redisPrefix)}socket.io`,
          subscriptionMode: 'dynamic',
        })
      : createAdapter(pub, sub, {
          key: `${channelNamespace(opts.redisUrl, opts.redisPrefix)}socket.io`,
          publishOnSpecificResponseChannel: true,
        }),
  });

  return {
    io,
    async close() {
      // Like io.close() but without closing the HTTP server, which belongs to the caller.
      closing = true;
      for (const socket of io.of('/').sockets.values()) socket.disconnect(true);
      await Promise.resolve(io.of('/').adapter.close());
      io.engine.close();
      pub.disconnect();
      sub.disconnect();
    },
  };
}
