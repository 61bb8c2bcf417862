import type { NextFunction, Request, Response } from 'express';
import type { Environment, Tenant } from '@agents/db';
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

/** A spent quota, with what the refusal message and metric need. */
class QuotaRefusal {
  constructor(
    readonly tenantId: string,
    readonly environment: Environment,
    readonly limit: number,
  ) {}
}

/**
 * Admission checks of a job submission: the tenant's rate limit (`rateCheck`, which counts the
 * request and sets the RateLimit headers), then its monthly tool-call quota for the job's
 * environment: once spent, new jobs are refused with 429 quota_exceeded (nothing is written). The
 * environment is the key's, or for the operator the body's `environment` (default live), as the
 * job route decides it; a body value the route will reject anyway is left to its validation.
 *
 * Both Redis reads are issued at once (each batched with concurrent requests') instead of one
 * after the other; the answer is the sequential one: a rate-limited request is refused as such
 * (its quota outcome, a read, is dropped and not counted as a refusal); otherwise the quota decides.
 */
export function jobAdmission(deps: QuotaGuardDeps & { rateCheck(req: Request, res: Response): Promise<void> }) {
  // Concurrent submissions read their counters together: one Redis round trip per batch.
  const checkBatched = createMicroBatcher<{ tenantId: string; environment: Environment; limit: number }, void>({
    async run(items) {
      const used = await deps.quota.usedMany(items);
      return items.map((it, i) =>
        used[i]! >= it.limit ? { status: 'rejected', reason: new QuotaRefusal(it.tenantId, it.environment, it.limit) } : { status: 'fulfilled', value: undefined },
      );
    },
    maxBatch: 256,
    maxInFlight: 2,
    windowMs: 2,
  });

  async function quotaCheck(req: Request, res: Response): Promise<void> {
    const tenant = await deps.tenantOf(req, res);
    const p = principalOf(res);
    const requested = (req.body as { environment?: unknown } | undefined)?.environment;
    let environment: Environment;
    if (p.kind === 'tenant') environment = p.environment;
    else if (requested === undefined) environment = 'live';
    else if (requested === 'test' || requested === 'live') environment = requested;
    else return;
    await checkBatched({ tenantId: tenant.id, environment, limit: tenant.limits.monthly_tool_calls });
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    const quota = quotaCheck(req, res).then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    await deps.rateCheck(req, res);
    const outcome = await quota;
    if (outcome) {
      const { err } = outcome;
      if (!(err instanceof QuotaRefusal)) throw err;
      deps.onRefusal?.(err.tenantId, 'quota_exceeded');
      throw new ApiError('quota_exceeded', `The monthly tool-call quota (${err.limit}) of this tenant's ${err.environment} environment is spent.`);
    }
    next();
  };
}
