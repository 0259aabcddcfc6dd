import type { Server as HttpServer } from 'node:http';
import Redis from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '../logger';
import { channelNamespace } from '../redis';

export interface SocketServerOptions {
  redisUrl: string;
  /** config.redisPrefix: the adapter's channels live under it and the database index (channelNamespace). */
  redisPrefix: string;
  corsOrigins: string[];
  logger: Logger;
  /** Largest accepted packet; bigger ones close the connection (engine.io's rule). */
  maxPayloadBytes?: number;
}

export interface SocketServer {
  io: Server;
  close(): Promise<void>;
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
 */
export function createSocketServer(server: HttpServer, opts: SocketServerOptions): SocketServer {
  // The adapter fires publishes without awaiting them: a rejected one must not become an
  // unhandled rejection (which would stop the process) when Redis blips.
  const pub = new Redis(opts.redisUrl, { maxRetriesPerRequest: 2 });
  const sub = pub.duplicate({ maxRetriesPerRequest: null });
  const publish = pub.publish.bind(pub) as (...args: unknown[]) => Promise<number>;
  (pub as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (...args: unknown[]) => {
    const p = publish(...args);
    p.catch((err: Error) => opts.logger.warn({ err: err.message }, 'socket.io adapter publish failed'));
    return p;
  };
  pub.on('error', (err) => opts.logger.debug({ err: err.message }, 'socket.io adapter pub error'));
  sub.on('error', (err) => opts.logger.debug({ err: err.message }, 'socket.io adapter sub error'));

  const io = new Server(server, {
    path: '/socket.io',
    serveClient: false,
    maxHttpBufferSize: opts.maxPayloadBytes ?? 32 * 1024,
    cors: { origin: opts.corsOrigins.length ? opts.corsOrigins : false },
    adapter: createAdapter(pub, sub, {
      key: `${channelNamespace(opts.redisUrl, opts.redisPrefix)}socket.io`,
      publishOnSpecificResponseChannel: true,
    }),
  });

  return {
    io,
    async close() {
      // Like io.close() but without closing the HTTP server, which belongs to the caller.
      for (const socket of io.of('/').sockets.values()) socket.disconnect(true);
      await Promise.resolve(io.of('/').adapter.close());
      io.engine.close();
      pub.disconnect();
      sub.disconnect();
    },
  };
}
