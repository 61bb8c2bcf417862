import type { NextFunction, Request, Response } from 'express';
import type { RedisConnection } from '@agents/queue';
import { environmentScope } from '@agents/db';
import type { Tenant } from '@agents/db';
import { ApiError } from '../errors';
import { principalOf } from './auth';
import { createMicroBatcher, defineScript, pipelineByNode } from '@agents/queue';

export interface RateLimitDeps {
  redis: RedisConnection;
  redisPrefix: string;
  /** Resolves the path tenant for this caller (404 for unknown/other tenants, so nothing is counted for them). */
  tenantOf(req: Request, res: Response): Promise<Tenant>;
  /** Counts a refusal (the ops metrics counter), if wired. */
  onRefusal?(tenantId: string, reason: 'rate_limited'): void;
}

/** The window `limits.requests_per_minute` is counted over, in seconds. */
const WINDOW_S = 60;

/**
 * Adds ARGV[1] requests to a fixed window of ARGV[2] seconds that starts with its first request;
 * returns {count after adding, ms until the window resets}. The same script and key layout as
 * rate-limiter-flexible's RateLimiterRedis, which this replaces so a batch of requests is counted
 * in one pipelined round trip.
 */
const INCR_WINDOW = `
redis.call('SET', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local consumed = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {consumed, ttl}
`;
const COMMAND = 'agentsRateWindowIncr';

interface Counted {
  limit: number;
  /** This request's position in the window (1 = first). */
  consumed: number;
  msBeforeNext: number;
}

/**
 * Whose budget a request spends: a tenant or platform key the path tenant's budget of its own
 * environment (DESIGN.md 15: a test key's flood must not get the live key answered 429), the
 * operator one of its own, so operator tooling cannot exhaust a tenant's live budget either.
 */
function budgetOf(res: Response): 'test' | 'live' | 'operator' {
  return environmentScope(principalOf(res)) ?? 'operator';
}

/**
 * Per-tenant request rate limit on tenant routes (`limits.requests_per_minute`, API.md), counted
 * in Redis so every API process shares one budget per tenant and environment (fixed 60 s window
 * from the first request); each environment gets the whole limit. Every answer carries RateLimit-Limit / -Remaining / -Reset (seconds until the window
 * resets); a refusal is 429 rate_limited with Retry-After (seconds). Keyed by the path tenant id
 * after authentication and the tenant check, so unauthenticated callers and other tenants' keys
 * cannot spend a tenant's budget.
 *
 * Concurrent requests are counted together: one pipeline per batch with one INCRBY-by-k per budget,
 * each request then taking its own position k-th..1st from the end. A request is refused exactly
 * when it would have been counted one at a time (its position is past the limit; refused requests
 * count, as they always did).
 */
export function rateLimit(deps: RateLimitDeps) {
  defineScript(deps.redis, COMMAND, INCR_WINDOW);
  const keyOf = (bucket: string) => `${deps.redisPrefix}:rl:${bucket}`;

  const count = createMicroBatcher<{ bucket: string; limit: number }, Counted>({
    async run(items) {
      const byBucket = new Map<string, number[]>();
      items.forEach((it, i) => {
        const list = byBucket.get(it.bucket);
        if (list) list.push(i);
        else byBucket.set(it.bucket, [i]);
      });
      // One pipeline (on a Cluster, one per node serving the batch's budgets).
      const replies = await pipelineByNode(
        deps.redis,
        [...byBucket],
        ([bucket]) => keyOf(bucket),
        (pipeline, [bucket, idx]) =>
          void (pipeline as unknown as Record<string, (...args: string[]) => unknown>)[COMMAND]!(keyOf(bucket), String(idx.length), String(WINDOW_S)),
      );
      const out: PromiseSettledResult<Counted>[] = new Array(items.length);
      [...byBucket.values()].forEach((idx, t) => {
        const [err, reply] = replies[t] ?? [new Error('no reply from Redis')];
        idx.forEach((i, pos) => {
          if (err) return void (out[i] = { status: 'rejected', reason: err });
          const [total, ttl] = reply as [number, number];
          out[i] = { status: 'fulfilled', value: { limit: items[i]!.limit, consumed: Number(total) - idx.length + pos + 1, msBeforeNext: Number(ttl) } };
        });
      });
      return out;
    },
    maxBatch: 256,
    maxInFlight: 2,
    windowMs: 2,
  });

  /** Counts this request against `tenant`'s budget; sets the RateLimit headers; throws 429 rate_limited past the limit. */
  async function spend(res: Response, tenant: Tenant): Promise<void> {
    const limit = tenant.limits.requests_per_minute;
    const c = await count({ bucket: `${tenant.id}:${budgetOf(res)}`, limit });
    const resetS = Math.max(1, Math.ceil(c.msBeforeNext / 1000));
    res.setHeader('RateLimit-Limit', String(limit));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, limit - c.consumed)));
    res.setHeader('RateLimit-Reset', String(resetS));
    if (c.consumed > limit) {
      deps.onRefusal?.(tenant.id, 'rate_limited');
      throw new ApiError('rate_limited', `Rate limit of ${limit} requests per minute exceeded; retry in ${resetS} s.`, undefined, {
        'Retry-After': String(resetS),
      });
    }
  }

  return Object.assign(
    async (req: Request, res: Response, next: NextFunction) => {
      await spend(res, await deps.tenantOf(req, res));
      next();
    },
    // For routes whose tenant is not in the path (a session's): they name it once they know it.
    { spend },
  );
}
