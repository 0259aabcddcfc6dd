import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from '../infra/redis';
import { RateLimited } from '../errors';

/** A fixed-window limiter stored in Redis, so the limit holds across every instance. */
export function redisLimiter(redis: Redis, keyPrefix: string, points: number, durationSec: number) {
  return new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: durationSec });
}

/**
 * Consumes one point of `key` (a user id, an IP) from a service: 429 with Retry-After past the limit;
 * Redis unreachable goes up as it is (503). The same rule as the middlewares below, for limits a
 * service checks itself (after validation, before the work).
 */
export async function consumePoint(limiter: RateLimiterRedis, key: string | number): Promise<void> {
  try {
    await limiter.consume(String(key));
  } catch (err) {
    if (err instanceof RateLimiterRes) throw RateLimited(err.msBeforeNext / 1000);
    throw err;
  }
}

/** Consumes one point per request for the client IP; 429 with Retry-After past the limit. */
export function limitPerIp(limiter: RateLimiterRedis): RequestHandler {
  return async (req, _res, next) => {
    await consumePoint(limiter, req.ip ?? 'unknown'); // Redis unreachable → 503 via the error middleware
    next();
  };
}

/**
 * Consumes one point per request for the signed-in user (mount after authentication); 429 with
 * Retry-After past the limit. The limit holds across instances.
 */
export function limitPerUser(limiter: RateLimiterRedis): RequestHandler {
  return async (req, res, next) => {
    await consumePoint(limiter, res.locals.user?.id ?? req.ip ?? 'unknown');
    next();
  };
}
