import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { createRedelivery, getDelivery, getJobById, listDeliveries, listDeliveryAttempts } from '@agents/db';
import type { Db, Environment, Tenant, WebhookAttempt, WebhookDelivery } from '@agents/db';
import { ApiError } from '../errors';
import { principalOf } from '../middleware/auth';
import { jobId } from '../schemas';
import { parseOrThrow } from '../validation';
import { jobEventTarget } from '@agents/webhooks';

export interface WebhookDeliveryRoutesDeps {
  db: Db;
  /** Loads the tenant named in the path, already checked against the caller (404 tenant_not_found otherwise). */
  tenantOf(req: Request, res: Response): Promise<Tenant>;
}

export const deliveryId = z.string().regex(/^whd_[0-9a-z]{26}$/, 'must be a delivery id (whd_...)');

export const listDeliveriesQuery = z.strictObject({
  job_id: jobId.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: deliveryId.optional(),
});

/** The delivery object of API.md "Webhook deliveries" (plus job_id and last_error, which say what and why). */
export function presentDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    event_id: d.event_id,
    event_type: d.event_type,
    job_id: d.job_id,
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    next_attempt_at: d.next_attempt_at ? d.next_attempt_at.toISOString() : null,
    created_at: d.created_at.toISOString(),
  };
}

function presentAttempt(a: WebhookAttempt) {
  return { n: a.n, status_code: a.status_code, error: a.error, duration_ms: a.duration_ms, attempted_at: a.attempted_at.toISOString() };
}

/** The environment a caller sees: a tenant key only its own; the operator both (undefined). */
function visibleEnvironment(res: Response): Environment | undefined {
  const p = principalOf(res);
  return p.kind === 'tenant' ? p.environment : undefined;
}

/**
 * `/v1/tenants/{tid}/webhook-deliveries`: the delivery log (newest first, `?job_id=`), one
 * delivery with its attempt log, and manual redelivery (a new delivery of the same event with
 * its own attempts and retry schedule, sent by the workers; 202).
 */
export function webhookDeliveryRoutes(deps: WebhookDeliveryRoutesDeps): Router {
  const r = Router({ mergeParams: true });
  const { db } = deps;

  async function findVisible(req: Request, res: Response, tenant: Tenant): Promise<WebhookDelivery> {
    const id = deliveryId.safeParse(req.params.delivery_id);
    if (!id.success) throw new ApiError('not_found', 'No such webhook delivery.');
    const d = await getDelivery(db, tenant.id, id.data);
    const env = visibleEnvironment(res);
    if (!d || (env && d.environment !== env)) throw new ApiError('not_found', 'No such webhook delivery.');
    return d;
  }

  r.get('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const q = parseOrThrow(listDeliveriesQuery, req.query, 'query');
    const { data, hasMore } = await listDeliveries(db, {
      tenantId: tenant.id,
      environment: visibleEnvironment(res),
      jobId: q.job_id,
      limit: q.limit,
      startingAfter: q.starting_after,
    });
    res.json({ data: data.map(presentDelivery), has_more: hasMore });
  });

  r.get('/:delivery_id', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const d = await findVisible(req, res, tenant);
    res.json({ ...presentDelivery(d), attempt_log: (await listDeliveryAttempts(db, d.id)).map(presentAttempt) });
  });

  r.post('/:delivery_id/redeliver', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const original = await findVisible(req, res, tenant);
    // Where the event would go today (the tenant's URL may have changed); an event with no target
    // today (the job opted out, the tenant's URL was removed) goes where it went before.
    const job = original.job_id ? await getJobById(db, original.job_id) : undefined;
    const url = jobEventTarget(job ?? { callback_url: null }, tenant) ?? original.url;
    const created = await createRedelivery(db, original, url);
    res.status(202).json(presentDelivery(created));
  });

  return r;
}
