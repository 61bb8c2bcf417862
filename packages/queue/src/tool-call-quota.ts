import type { RedisConnection } from './redis';
import { tenantBullPrefix } from './names';
import { defineScript } from './redis';
import { pipelineByNode } from './pipeline-by-node';

export type QuotaEnvironment = 'test' | 'live';

/** Thrown when a tenant's monthly tool-call allowance is spent; the API maps it to 429 quota_exceeded. */
export class QuotaExceededError extends Error {
  readonly code = 'quota_exceeded';
  constructor(readonly limit: number) {
    super(`The monthly tool-call quota (${limit}) is spent.`);
    this.name = 'QuotaExceededError';
  }
}

export interface ToolCallQuotaOptions {
  redis: RedisConnection;
  redisPrefix: string;
  /**
   * Exact count of executed (not denied) tool calls of (tenant, environment) in [from, to), from
   * Postgres. Used only to seed a month's counter when Redis does not have it (first call of the
   * month, or Redis lost its data).
   */
  countExecuted(tenantId: string, environment: QuotaEnvironment, from: Date, to: Date): Promise<number>;
  /** Clock; tests pin the month with it. */
  now?: () => Date;
}

export interface ToolCallQuota {
  /**
   * Takes one call from the month's allowance, or throws QuotaExceededError without taking it.
   * Atomic across processes: N concurrent reservations against an allowance of L grant exactly
   * min(N, L - used).
   */
  reserve(tenantId: string, environment: QuotaEnvironment, limit: number): Promise<void>;
  /** Throws QuotaExceededError when nothing is left (admission check; takes nothing). */
  check(tenantId: string, environment: QuotaEnvironment, limit: number): Promise<void>;
  /** Calls counted this month. */
  used(tenantId: string, environment: QuotaEnvironment): Promise<number>;
  /** `used` for many (tenant, environment) pairs in one Redis round trip (the API batches admission checks). */
  usedMany(pairs: { tenantId: string; environment: QuotaEnvironment }[]): Promise<number[]>;
}

/** -1: counter missing (seed it); 0: spent; 1: reserved. */
const RESERVE = `
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
if tonumber(v) >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
return 1
`;
/**
 * RESERVE as an ioredis command: every tool call runs it, and a defined command sends the body
 * once per connection, then EVALSHA (again the body if Redis answers NOSCRIPT, e.g. after a
 * restart), instead of EVAL with the full text each time.
 */
const COMMAND = 'agentsToolCallReserve';
type WithReserve = { [COMMAND]: (key: string, limit: string) => Promise<unknown> };

/** Calendar month (UTC) containing `at`: [start, end). */
export function monthOf(at: Date): { start: Date; end: Date; label: string } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { start, end, label: start.toISOString().slice(0, 7) };
}

/**
 * Monthly tool-call quota (`limits.monthly_tool_calls`) per (tenant, environment): test and live
 * keys have separate allowances, as they have separate usage. The hot path is one Redis round trip
 * (a counter per tenant-month, reserved before each call), O(1) whatever the month's volume.
 *
 * Exactness: the counter equals the month's executed tool calls (usage_events rows of kind
 * tool_call that were not denied) except (a) a call reserved by a worker that crashed before
 * calling counts once without a row, and a retried in-flight call (same idempotency key, one row)
 * counts twice: both err towards refusing, by at most one call per crash; (b) when the counter is
 * seeded from Postgres, calls in flight at that moment (at most the tenant's concurrency) are not
 * yet in the table and are missed once. The counter expires 3 days after its month ends.
 */
export function createToolCallQuota(opts: ToolCallQuotaOptions): ToolCallQuota {
  const now = opts.now ?? (() => new Date());
  // Several quotas (API, worker) may share one connection: defined once on it.
  defineScript(opts.redis, COMMAND, RESERVE);
  const redis = opts.redis as RedisConnection & WithReserve;

  function keyOf(tenantId: string, environment: QuotaEnvironment, label: string): string {
    // Same hash tag as the tenant's queue keys (one Redis Cluster slot per tenant).
    return `${tenantBullPrefix(opts.redisPrefix, tenantId)}:quota:${environment}:${label}`;
  }

  async function seeded(tenantId: string, environment: QuotaEnvironment): Promise<{ key: string; value: number }> {
    const month = monthOf(now());
    const key = keyOf(tenantId, environment, month.label);
    const current = await opts.redis.get(key);
    if (current !== null) return { key, value: Number(current) };
    const count = await opts.countExecuted(tenantId, environment, month.start, month.end);
    // NX: when several processes seed at once, the first wins and the others read it.
    await opts.redis.set(key, String(count), 'PXAT', month.end.getTime() + 3 * 24 * 3600_000, 'NX');
    return { key, value: Number((await opts.redis.get(key)) ?? count) };
  }

  return {
    async reserve(tenantId, environment, limit) {
      for (let i = 0; i < 3; i++) {
        const key = keyOf(tenantId, environment, monthOf(now()).label);
        const r = Number(await redis[COMMAND](key, String(limit)));
        if (r === 1) return;
        if (r === 0) throw new QuotaExceededError(limit);
        await seeded(tenantId, environment);
      }
      throw new Error('quota counter could not be seeded');
    },
    async check(tenantId, environment, limit) {
      const { value } = await seeded(tenantId, environment);
      if (value >= limit) throw new QuotaExceededError(limit);
    },
    async used(tenantId, environment) {
      return (await seeded(tenantId, environment)).value;
    },
    async usedMany(pairs) {
      const label = monthOf(now()).label;
      const keys = pairs.map((p) => keyOf(p.tenantId, p.environment, label));
      const distinct = [...new Set(keys)];
      // One pipeline (per Cluster node: the keys carry their tenants' hash tags).
      const replies = await pipelineByNode(
        opts.redis,
        distinct,
        (k) => k,
        (pipeline, k) => pipeline.get(k),
      );
      const values = new Map<string, number>();
      await Promise.all(
        distinct.map(async (k, i) => {
          const [err, v] = replies[i] ?? [new Error('no reply')];
          if (err) throw err;
          if (v !== null && v !== undefined) return void values.set(k, Number(v));
          // Not seeded this month yet: the one-pair path seeds it from Postgres.
          const p = pairs[keys.indexOf(k)]!;
          values.set(k, (await seeded(p.tenantId, p.environment)).value);
        }),
      );
      return keys.map((k) => values.get(k)!);
    },
  };
}
