import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from '../infra/redis';
import { RateLimited } from '../errors';

/** A fixed-window limiter stored in Redis, so the limit holds across every instance. */
export function redisLimiter(redis: Redis, keyPrefix: string, points: number, durationSec: number) {
  return new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: durationSec });
}

/** Consumes one point per request for the client IP; 429 with Retry-After past the limit. */
export function limitPerIp(limiter: RateLimiterRedis): RequestHandler {
  return async (req, _res, next) => {
    try {
      await limiter.consume(req.ip ?? 'unknown');
    } catch (err) {
      if (err instanceof RateLimiterRes) throw RateLimited(err.msBeforeNext / 1000);
      throw err; // Redis unreachable → 503 via the error middleware
    }
    next();
  };
}

/**
 * Consumes one point per request for the signed-in user (mount after authentication); 429 with
 * Retry-After past the limit. The limit holds across instances.
 */
export function limitPerUser(limiter: RateLimiterRedis): RequestHandler {
  return async (req, res, next) => {
    try {
      await limiter.consume(String(res.locals.user?.id ?? req.ip ?? 'unknown'));
    } catch (err) {
      if (err instanceof RateLimiterRes) throw RateLimited(err.msBeforeNext / 1000);
      throw err;
    }
    next();
  };
}
