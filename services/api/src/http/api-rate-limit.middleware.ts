import type { Logger } from '@outbound/config';
import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
// rate-limiter-flexible rather than our own Lua: its Redis counter (one atomic script per
// request: SET NX with expiry, INCRBY, PTTL) is used in production by many, it handles ioredis'
// script caching, refuses at once when the connection is not ready, and has a timeout wrapper,
// which is what "fail open" needs.
import { RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { getPrincipal } from '../auth/principal.ts';
import { AppError } from '../errors/app-error.ts';

export interface ApiRateLimitOptions {
  /** The API's Redis connection (the producer's: no offline queue, so an outage fails fast). */
  redis: Redis;
  /** Counters live under `<prefix>:api-rate-limit:`; API processes sharing it share limits. */
  prefix: string;
  /** Requests each API key may make per window. */
  requests: number;
  windowSeconds: number;
  logger: Logger;
  /** How long Redis has to answer before the request is let through; 250 ms by default. */
  timeoutMs?: number;
}

/** The draft-ietf-httpapi-ratelimit-headers fields sent (the separate-field form, draft 06). */
export const RATE_LIMIT_HEADERS = {
  limit: 'RateLimit-Limit',
  remaining: 'RateLimit-Remaining',
  reset: 'RateLimit-Reset',
} as const;

/**
 * A fixed-window request limit per API key, counted in Redis so it holds across API replicas.
 * Runs after authentication. Every limited answer carries `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the window resets); past the limit
 * the request fails with 429 `rate_limited` and `Retry-After`.
 *
 * Fails open: when Redis errors or is slower than `timeoutMs`, the request goes through
 * unlimited (Postgres, not Redis, decides whether a write is accepted), and the first failure
 * of an outage and the recovery are logged.
 */
export function apiRateLimit(options: ApiRateLimitOptions): RequestHandler {
  const limiter = new RLWrapperTimeouts({
    limiter: new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: `${options.prefix}:api-rate-limit`,
      points: options.requests,
      duration: options.windowSeconds,
      rejectIfRedisNotReady: true,
    }),
    timeoutMs: options.timeoutMs ?? 250,
  });
  let failingSince: number | undefined;

  return async (_req, res, next) => {
    const { apiKeyId } = getPrincipal(res);
    let counted: RateLimiterRes;
    try {
      counted = await limiter.consume(apiKeyId);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        if (failingSince === undefined) {
          failingSince = Date.now();
          options.logger.warn(
            { err: rejection },
            'API rate limit unavailable (Redis): letting requests through unlimited',
          );
        }
        next();
        return;
      }
      const retryAfter = secondsUntil(rejection);
      setHeaders(res, options.requests, rejection);
      res.setHeader('Retry-After', String(retryAfter));
      throw AppError.of(
        'rate_limited',
        `Rate limit of ${options.requests} requests per ${options.windowSeconds} s for this API ` +
          `key reached; retry in ${retryAfter} s`,
        {
          limit: options.requests,
          window_seconds: options.windowSeconds,
          retry_after_seconds: retryAfter,
        },
      );
    }
    if (failingSince !== undefined) {
      options.logger.info(
        { unavailable_ms: Date.now() - failingSince },
        'API rate limit available again',
      );
      failingSince = undefined;
    }
    setHeaders(res, options.requests, counted);
    next();
  };
}

function setHeaders(res: Response, limit: number, counted: RateLimiterRes): void {
  res.setHeader(RATE_LIMIT_HEADERS.limit, String(limit));
  res.setHeader(RATE_LIMIT_HEADERS.remaining, String(counted.remainingPoints));
  res.setHeader(RATE_LIMIT_HEADERS.reset, String(secondsUntil(counted)));
}

/** Whole seconds until the window resets, at least 1 (a client must wait, not spin). */
function secondsUntil(counted: RateLimiterRes): number {
  return Math.max(1, Math.ceil(counted.msBeforeNext / 1_000));
}
