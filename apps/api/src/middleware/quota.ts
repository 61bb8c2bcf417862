import type { NextFunction, Request, Response } from 'express';
import type { Environment, Tenant } from '@agents/db';
import { QuotaExceededError } from '@agents/queue';
import type { ToolCallQuota } from '@agents/queue';
import { ApiError } from '../errors';
import { createMicroBatcher } from '../micro-batch';
import { principalOf } from './auth';

export interface QuotaGuardDeps {
  quota: ToolCallQuota;
  tenantOf(req: Request, res: Response): Promise<Tenant>;
  /** Counts a refusal (the ops metrics counter), if wired. */
  onRefusal?(tenantId: string, reason: 'quota_exceeded'): void;
}

/**
 * Admission check for job submission: once the tenant's monthly tool-call quota for the job's
 * environment is spent, new jobs are refused with 429 quota_exceeded (nothing is written). The
 * environment is the key's, or for the operator the body's `environment` (default live), as the
 * job route decides it; a body value the route will reject anyway is left to its validation.
 */
export function quotaGuard(deps: QuotaGuardDeps) {
  // Concurrent submissions read their counters together: one Redis round trip per batch.
  const check = createMicroBatcher<{ tenantId: string; environment: Environment; limit: number }, void>({
    async run(items) {
      const used = await deps.quota.usedMany(items);
      return items.map((it, i) =>
        used[i]! >= it.limit ? { status: 'rejected', reason: new QuotaExceededError(it.limit) } : { status: 'fulfilled', value: undefined },
      );
    },
    maxBatch: 256,
    maxInFlight: 2,
    windowMs: 2,
  });
  return async (req: Request, res: Response, next: NextFunction) => {
    const tenant = await deps.tenantOf(req, res);
    const p = principalOf(res);
    const requested = (req.body as { environment?: unknown } | undefined)?.environment;
    let environment: Environment;
    if (p.kind === 'tenant') environment = p.environment;
    else if (requested === undefined) environment = 'live';
    else if (requested === 'test' || requested === 'live') environment = requested;
    else return next();
    try {
      await check({ tenantId: tenant.id, environment, limit: tenant.limits.monthly_tool_calls });
    } catch (err) {
      if (err instanceof QuotaExceededError) {
        deps.onRefusal?.(tenant.id, 'quota_exceeded');
        throw new ApiError('quota_exceeded', `The monthly tool-call quota (${err.limit}) of this tenant's ${environment} environment is spent.`);
      }
      throw err;
    }
    next();
  };
}
