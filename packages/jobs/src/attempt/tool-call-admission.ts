import { countExecutedToolCalls } from '@agents/db';
import type { Db, TenantCache } from '@agents/db';
import { createToolCallQuota } from '@agents/queue';
import type { RedisConnection } from '@agents/queue';
import type { BeforeExecute } from '@agents/runtime';

export interface ToolCallAdmissionOptions {
  db: Db;
  redis: RedisConnection;
  redisPrefix: string;
  /** Tenant config, cached per process and invalidated on every change: a PATCH of the limit applies at once. */
  tenants: Pick<TenantCache, 'get'>;
}

/**
 * The runtime's beforeExecute hook for the monthly tool-call quota: reserves one call of the
 * session's (tenant, environment) month before the call goes out, or throws QuotaExceededError
 * (the job then stops with quota_exceeded and no call is made).
 */
export function createToolCallAdmission(opts: ToolCallAdmissionOptions): BeforeExecute {
  const quota = createToolCallQuota({
    redis: opts.redis,
    redisPrefix: opts.redisPrefix,
    countExecuted: (tid, env, from, to) => countExecutedToolCalls(opts.db, tid, env, from, to),
  });

  async function limitOf(tenantId: string): Promise<number> {
    // A tenant that is gone has no allowance; its job is stopped by the attempt anyway.
    return (await opts.tenants.get(tenantId))?.limits.monthly_tool_calls ?? 0;
  }

  return async (call) => {
    await quota.reserve(call.tenantId, call.environment, await limitOf(call.tenantId));
  };
}
