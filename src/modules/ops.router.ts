import { Router, type RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { Sequelize } from 'sequelize';
import type { Redis } from '../infra/redis';
import type { Metrics } from '../infra/metrics';
import { serversFor } from '../http/asyncapi';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/** What `GET /` points to. */
const INDEX = {
  name: 'Pawmate API',
  app: '/app',
  docs: '/docs',
  openapi: '/openapi.json',
  asyncapi: '/asyncapi.json',
  api: '/api/v1',
  health: '/healthz',
};

const INDEX_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pawmate API</title></head>
<body>
<h1>Pawmate API</h1>
<ul>
<li><a href="/app">/app</a>: the web client</li>
<li><a href="/docs">/docs</a>: the HTTP API (Swagger UI, Try-it-out)</li>
<li><a href="/openapi.json">/openapi.json</a>: OpenAPI 3.1</li>
<li><a href="/asyncapi.json">/asyncapi.json</a>: Socket.io events and the notification stream (AsyncAPI 3)</li>
</ul>
</body></html>
`;

const HEALTHZ = /^\/healthz\/?$/i;

/**
 * Liveness answers before logging and metrics: orchestrators probe it every few seconds. A plain
 * middleware, not a Router: every other request passes through it, and a Router's walk costs more
 * than this comparison.
 */
export function liveness(): RequestHandler {
  return (req, res, next) => {
    // As a Router route would match it: a trailing slash allowed, any case.
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !HEALTHZ.test(req.path)) return next();
    res.json({ status: 'ok' });
  };
}

/** Operations endpoints outside /api/v1: health, readiness, metrics and the API document. */
export function opsRouter(deps: {
  sequelize: Sequelize;
  redis: Redis;
  metrics: Metrics;
  openapi: () => object;
  asyncapi: () => object;
}): Router {
  const router = Router();
  router.get('/readyz', async (_req, res) => {
    const [db, redis] = await Promise.allSettled([
      withTimeout(deps.sequelize.query('SELECT 1'), 1500),
      withTimeout(deps.redis.ping(), 1500),
    ]);
    const checks = {
      mysql: db.status === 'fulfilled' ? 'ok' : 'down',
      redis: redis.status === 'fulfilled' ? 'ok' : 'down',
    };
    const ready = checks.mysql === 'ok' && checks.redis === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  router.get('/openapi.json', (_req, res) => {
    res.json(deps.openapi());
  });
  router.get('/asyncapi.json', (req, res) => {
    // Servers name the host this client reached us by, so the document is right from any host.
    const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(req.get('host') ?? '') ? req.get('host')! : 'localhost';
    res.json({ ...deps.asyncapi(), servers: serversFor(host, req.secure) });
  });
  router.get('/', (_req, res) => {
    // Where a person or a tool that opens the bare address goes next.
    res.format({
      html: () => res.type('html').send(INDEX_HTML),
      default: () => res.json(INDEX),
    });
  });
  router.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      customSiteTitle: 'Pawmate API',
      // Tags start folded: Swagger UI 5 renders nothing past the first tags when it must draw every
      // operation of this document at once (seen in Chromium); a tag opens with its operations.
      swaggerOptions: { url: '/openapi.json', docExpansion: 'none', filter: true, persistAuthorization: true },
    }),
  );
  return router;
}
