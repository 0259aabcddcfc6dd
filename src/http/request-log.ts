import type { RequestHandler } from 'express';
import type { Logger } from '../infra/logger';
import { scrubUrl } from '../infra/logger';

/**
 * One log line per finished request (debug for 2xx/3xx, info for 4xx, error for 5xx) and `req.log`, a
 * logger carrying the request id, for whatever runs inside the request.
 *
 * It replaces pino-http, which built a child logger, serializers and listeners on every request even
 * when the line it would write was below the level (production logs at info and above, so every
 * successful request paid for a debug line nobody saw): about a sixth of a cheap request's CPU in the
 * profile (docs/BENCHMARKS.md, "Request path"). Here the child logger is made only when used, and the
 * line is built only when its level is enabled. The fields are the ones pino-http wrote.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    let child: Logger | undefined;
    const log = () => (child ??= logger.child({ reqId: res.locals.requestId as string }));
    Object.defineProperty(req, 'log', { get: log, configurable: true, enumerable: false });
    res.once('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug';
      if (!logger.isLevelEnabled(level)) return;
      log()[level](
        {
          req: { id: res.locals.requestId as string, method: req.method, url: scrubUrl(req.originalUrl) },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        'request completed',
      );
    });
    next();
  };
}
