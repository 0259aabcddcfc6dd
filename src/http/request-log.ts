import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../infra/logger';
import { scrubUrl } from '../infra/logger';

/**
 * One log line per finished request (debug for 2xx/3xx, info for 4xx, error for 5xx) and `req.log`, a
 * logger carrying the request id, for whatever runs inside the request.
 *
 * It replaces pino-http, which built a child logger, serializers and listeners on every request even
 * when the line it would write was below the level (production logs at info and above, so every
 * successful request paid for a debug line nobody saw): about a sixth of a cheap request's CPU in the
 * profile (docs/BENCHMARKS.md, "Request path"). Here the child logger is made only when used (through one getter on the app's request prototype), and the
 * line is built only when its level is enabled. The fields are the ones pino-http wrote.
 */
export function requestLog(logger: Logger): RequestHandler {
  const prototypes = new WeakSet<object>();
  // One 'finish' listener for every response (`this` is the response): a closure per request would
  // be kept as long as the request, an SSE stream's whole life.
  function completed(this: TimedResponse) {
    const { req, statusCode } = this;
    const level = statusCode >= 500 ? 'error' : statusCode >= 400 ? 'info' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    (req as unknown as { log: Logger }).log[level](
      {
        req: { id: this.locals.requestId as string, method: req.method, url: scrubUrl(req.originalUrl) },
        res: { statusCode },
        responseTime: Math.round(performance.now() - (this[STARTED] ?? 0)),
      },
      'request completed',
    );
  }
  return (req, res, next) => {
    // One getter on the app's request prototype instead of a closure and a property per request:
    // the per-request version gave every request (and every long-lived SSE stream) its own shape and
    // about a kilobyte of heap.
    const proto = Object.getPrototypeOf(req) as object;
    if (!prototypes.has(proto)) {
      defineLogGetter(proto, logger);
      prototypes.add(proto);
    }
    (res as TimedResponse)[STARTED] = performance.now();
    res.on('finish', completed);
    next();
  };
}

const STARTED = Symbol('requestStarted');
type TimedResponse = Response & { [STARTED]?: number };

/** The request's child logger, made on first use and kept on the request. */
const CHILD = Symbol('requestLogChild');

function defineLogGetter(proto: object, logger: Logger): void {
  Object.defineProperty(proto, 'log', {
    configurable: true,
    enumerable: false,
    get(this: Request & { [CHILD]?: Logger }) {
      return (this[CHILD] ??= logger.child({ reqId: this.res?.locals.requestId as string }));
    },
  });
}
