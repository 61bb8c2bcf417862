import { countExecutedToolCalls, getTenant } from '@agents/db';
import type { Db } from '@agents/db';
import { createToolCallQuota } from '@agents/queue';
import type { Redis } from 'ioredis';
import type { BeforeExecute } from '@agents/runtime';

export interface ToolCallAdmissionOptions {
  db: Db;
  redis: Redis;
  redisPrefix: string;
  /** How long a tenant's quota limit is reused before re-reading it (ms); a PATCH applies within this. Default 5 000. */
  limitTtlMs?: number;
}

/**
 * The runtime's beforeExecute hook for the monthly tool-call quota: reserves one call of the
 * session's (tenant, environment) month before the call goes out, or throws QuotaExceededError
 * (the job then stops with quota_exceeded and no call is made).
 */
export function createToolCallAdmission(opts: ToolCallAdmissionOptions): BeforeExecute {
  const ttl = opts.limitTtlMs ?? 5_000;
  const quota = createToolCallQuota({
    redis: opts.redis,
    redisPrefix: opts.redisPrefix,
    countExecuted: (tid, env, from, to) => countExecutedToolCalls(opts.db, tid, env, from, to),
  });
  const limits = new Map<string, { limit: number; at: number }>();

  async function limitOf(tenantId: string): Promise<number> {
    const hit = limits.get(tenantId);
    if (hit && Date.now() - hit.at < ttl) return hit.limit;
    const tenant = await getTenant(opts.db, tenantId);
    // A tenant that is gone has no allowance; its job is stopped by the processor anyway.
    const limit = tenant?.limits.monthly_tool_calls ?? 0;
    limits.set(tenantId, { limit, at: Date.now() });
    if (limits.size > 10_000) limits.delete(limits.keys().next().value!);
    return limit;
  }

  return async (call) => {
    await quota.reserve(call.tenantId, call.environment, await limitOf(call.tenantId));
  };
}
