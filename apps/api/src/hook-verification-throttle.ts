import type { RedisConnection } from '@agents/queue';
import { defineScript } from '@agents/queue';

export interface HookVerificationThrottleOptions {
  redis: RedisConnection;
  redisPrefix: string;
  /** Failed verifications one (tenant path, source address) may make per window; 20 by default. */
  maxFailures?: number;
  /** The window, in seconds, from the first failure; 300 by default. */
  windowS?: number;
}

export interface HookVerificationThrottle {
  /** Seconds until this (tenant, address) may try again, or 0 when it is not throttled. */
  retryAfterS(tenantPath: string, address: string): Promise<number>;
  /** Counts one failed verification. */
  recordFailure(tenantPath: string, address: string): Promise<void>;
}

/** Adds one to a fixed window of ARGV[1] seconds that starts with its first failure. */
const RECORD_FAILURE = `
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
`;
/** {failures in the window, ms until it ends} (0 failures when there is no window). */
const READ_FAILURES = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
return {n, redis.call('PTTL', KEYS[1])}
`;
const RECORD = 'agentsHookFailureRecord';
const READ = 'agentsHookFailureRead';

/**
 * Throttles guessing on the public /hooks endpoints (issue 19 item 9): each failed verification
 * costs the guesser a slot of a per-(tenant path, source address) Redis counter; past the limit the
 * endpoint answers 429 before any Postgres read or decryption, for one Redis round trip. Keyed by
 * the tenant id as written in the path, whether or not that tenant exists, so the throttle itself
 * reveals nothing; and by source address, so a guesser elsewhere does not block the provider's
 * valid deliveries. Valid deliveries never count.
 */
export function createHookVerificationThrottle(opts: HookVerificationThrottleOptions): HookVerificationThrottle {
  const max = opts.maxFailures ?? 20;
  const windowS = opts.windowS ?? 300;
  defineScript(opts.redis, RECORD, RECORD_FAILURE);
  defineScript(opts.redis, READ, READ_FAILURES);
  const run = opts.redis as unknown as Record<string, (...args: string[]) => Promise<unknown>>;
  // The path segment is attacker-chosen: bounded, so a key never grows past ~200 bytes.
  const keyOf = (tenantPath: string, address: string) => `${opts.redisPrefix}:hookfail:${tenantPath.slice(0, 64)}:${address.slice(0, 64)}`;

  return {
    async retryAfterS(tenantPath, address) {
      const [n, pttl] = (await run[READ]!(keyOf(tenantPath, address))) as [number, number];
      if (Number(n) < max) return 0;
      return Math.max(1, Math.ceil(Number(pttl) / 1000));
    },
    async recordFailure(tenantPath, address) {
      await run[RECORD]!(keyOf(tenantPath, address), String(windowS));
    },
  };
}
