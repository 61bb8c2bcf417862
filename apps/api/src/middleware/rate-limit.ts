import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Tenant } from '@agents/db';
import { ApiError } from '../errors';

export interface RateLimitDeps {
  redis: Redis;
  redisPrefix: string;
  /** Resolves the path tenant for this caller (404 for unknown/other tenants, so nothing is counted for them). */
  tenantOf(req: Request, res: Response): Promise<Tenant>;
  /** Counts a refusal (the ops metrics counter), if wired. */
  onRefusal?(tenantId: string, reason: 'rate_limited'): void;
}

/** The window `limits.requests_per_minute` is counted over, in seconds. */
const WINDOW_S = 60;

/**
 * Per-tenant request rate limit on tenant routes (`limits.requests_per_minute`, API.md), counted
 * in Redis so every API process shares one budget per tenant (fixed 60 s window from the first
 * request, rate-limiter-flexible). Every answer carries RateLimit-Limit / -Remaining / -Reset
 * (seconds until the window resets); a refusal is 429 rate_limited with Retry-After (seconds).
 * Keyed by the path tenant id after authentication and the tenant check, so unauthenticated
 * callers and other tenants' keys cannot spend a tenant's budget.
 */
export function rateLimit(deps: RateLimitDeps) {
  // One limiter per distinct limit value; they share the key space, so a PATCHed limit applies to
  // the points already counted in the current window.
  const limiters = new Map<number, RateLimiterRedis>();
  function limiterFor(points: number): RateLimiterRedis {
    let l = limiters.get(points);
    if (!l) {
      l = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${deps.redisPrefix}:rl`, points, duration: WINDOW_S });
      limiters.set(points, l);
    }
    return l;
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    const tenant = await deps.tenantOf(req, res);
    const limit = tenant.limits.requests_per_minute;
    let outcome: RateLimiterRes;
    let allowed = true;
    try {
      outcome = await limiterFor(limit).consume(tenant.id, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      outcome = err;
      allowed = false;
    }
    const resetS = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
    res.setHeader('RateLimit-Limit', String(limit));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, outcome.remainingPoints)));
    res.setHeader('RateLimit-Reset', String(resetS));
    if (!allowed) {
      deps.onRefusal?.(tenant.id, 'rate_limited');
      throw new ApiError('rate_limited', `Rate limit of ${limit} requests per minute exceeded; retry in ${resetS} s.`, undefined, {
        'Retry-After': String(resetS),
      });
    }
    next();
  };
}
