import { readEnvFileInDevelopment } from './env-file';
import http from 'node:http';
import net, { type Socket } from 'node:net';
import { ConfigError, loadConfig } from './config';
import { createApp } from './app';
import { openInfrastructure } from './bootstrap';
import { createLogger } from './infra/logger';
import { createAppServer } from './http/app-server';

/** The only entry point: config → pools → app → listen, and a bounded graceful shutdown. */
// Development convenience: a .env file (development only); real deployments set the environment.
readEnvFileInDevelopment();

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const infra = await openInfrastructure(config, logger);
  const pawmate = createApp({ ...infra, config });
  // Node checks request/header timeouts every 30 s by default; check every second so the limits below hold.
  const server = createAppServer(pawmate.app, { connectionsCheckingInterval: 1000 });
  // Slow-body and idle limits (slowloris): a request must arrive within 30 s, headers within 10 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  pawmate.attach(server);

  const sockets = new Set<Socket>();
  // One listener for every socket (`this`): a closure per socket would live as long as its connection.
  function forgetSocket(this: Socket) {
    sockets.delete(this);
  }
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', forgetSocket);
  });

  await new Promise<void>((resolve) => server.listen(config.port, resolve));
  await pawmate.start();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, docs: `${config.publicUrl}/docs` }, 'pawmate listening');
  // Lets a parent process (benchmarks, load tests) wait for readiness without parsing logs.
  process.send?.({ ready: true, port });

  let stopping = false;
  // While draining, every answer tells keep-alive clients to go away, so busy connections end too.
  server.prependListener('request', (_req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
  });
  // A stray rejection (a library's dropped promise, typically while connections close) is logged, not
  // allowed to kill an instance that is serving or draining.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      logger.warn('drain timeout reached; closing remaining connections');
      for (const s of sockets) s.destroy();
    }, config.shutdownTimeoutMs);
    force.unref();
    // Stop accepting, without resetting a request that reached us before the signal:
    // - connections the kernel completed before the signal wait in its accept queue; closing the
    //   listener now would reset them, so it stays open until a turn of the loop accepts none;
    // - a connection accepted in the same turn as the signal, or an idle keep-alive one whose next
    //   request sits unread in the kernel, counts as idle to Node (http.Server#close and
    //   closeIdleConnections would destroy it), so idle ones close only once that has been read.
    // Busy connections close after their response (Connection: close).
    const closed = drainAcceptQueue(server).then(async () => {
      const listenerClosed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      await readWhatArrived();
      server.closeIdleConnections();
      await listenerClosed;
    });
    await pawmate.stop();
    await closed;
    await infra.close();
    logger.info('shutdown complete');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * Resolves after at least one full poll phase of the event loop that starts later than now + a
 * short settle time: a timer runs before the poll phase of its turn, setImmediate after it, so every
 * socket that was readable by then has been read and its request parsed (and is no longer idle).
 */
function readWhatArrived(settleMs = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(() => setImmediate(resolve), settleMs));
}

/** Keeps accepting until a settle period brings no new connection (at most `maxMs`). */
async function drainAcceptQueue(server: http.Server, maxMs = 1000): Promise<void> {
  let accepted = 0;
  const count = () => accepted++;
  server.on('connection', count);
  const until = performance.now() + maxMs;
  for (let seen = -1; seen !== accepted && performance.now() < until;) {
    seen = accepted;
    await readWhatArrived();
  }
  server.off('connection', count);
}

main().catch((err) => {
  createLogger('error').fatal({ err }, 'failed to start');
  process.exit(1);
});
