import type { RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per app instance (tests run two instances in one process). Process metrics are
 * collected once per process, on the first registry that asks.
 */
let defaultMetricsRegistry: Registry | null = null;

const STARTED = Symbol('metricsStarted');
type TimedResponse = Response & { [STARTED]?: number };

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly outboxFailures: Counter<'topic'>;

  constructor() {
    if (!defaultMetricsRegistry) {
      defaultMetricsRegistry = this.registry;
      collectDefaultMetrics({ register: this.registry, prefix: 'pawmate_' });
    }
    this.httpDuration = new Histogram({
      name: 'pawmate_http_request_duration_seconds',
      help: 'HTTP request duration by route template',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.outboxFailures = new Counter({
      name: 'pawmate_outbox_failures_total',
      help: 'Outbox handler failures (each is retried later)',
      labelNames: ['topic'],
      registers: [this.registry],
    });
  }

  /** A gauge read at scrape time (open sockets, SSE streams, queue depth …). */
  gauge(name: string, help: string, collect: () => number | Promise<number>, labelNames: string[] = []) {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        try {
          this.set(await collect());
        } catch {
          // A backing service down must not break the whole scrape.
        }
      },
    });
  }

  /** Observes every response under its route template (`/api/v1/users/:id`), never the raw URL. */
  middleware(): RequestHandler {
    const histogram = this.httpDuration;
    // One 'finish' listener for every response (`this` is the response): a closure (and a timer
    // closure) per request would be kept as long as the request, an SSE stream's whole life.
    function observe(this: TimedResponse) {
      const { req } = this;
      const route =
        (this.locals.routeTemplate as string | undefined) ?? (req.route?.path ? String(req.route.path) : 'unmatched');
      const seconds = (performance.now() - (this[STARTED] ?? 0)) / 1000;
      histogram.observe({ method: req.method, route, status: String(this.statusCode) }, seconds);
    }
    return (_req, res, next) => {
      (res as TimedResponse)[STARTED] = performance.now();
      res.on('finish', observe);
      next();
    };
  }
}
