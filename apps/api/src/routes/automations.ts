import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { updateTenant } from '@agents/db';
import type { Automation, Db, Tenant, TenantCache } from '@agents/db';
import type { Catalog } from '@agents/runtime';
import { validateAutomations } from '../automation-validation';
import { ApiError } from '../errors';
import { parseOrThrow } from '../validation';
import { automations } from './admin-tenants';

const putBody = z.strictObject({ automations });

export interface AutomationRoutesDeps {
  db: Db;
  catalog: Pick<Catalog, 'get'>;
  tenants: TenantCache;
  tenantOf(req: Request, res: Response): Promise<Tenant>;
}

/**
 * `GET|PUT /v1/tenants/{tid}/automations`: the tenant's own automations (API.md "Inbound provider
 * webhooks and automations"). PUT replaces the whole list, validated against the tenant's servers
 * and the catalog; every process sees the change within the tenant cache's invalidation.
 */
export function automationRoutes(deps: AutomationRoutesDeps): Router {
  const r = Router({ mergeParams: true });

  r.get('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    res.json({ automations: tenant.automations });
  });

  r.put('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const body = parseOrThrow(putBody, req.body ?? {}, 'body');
    const list = body.automations as Automation[];
    const problems = validateAutomations({ catalog: deps.catalog }, list, tenant.servers);
    if (problems.length) throw new ApiError('validation_failed', 'The request body is invalid.', problems);
    const updated = await updateTenant(deps.db, tenant.id, { automations: list });
    if (!updated) throw new ApiError('tenant_not_found', 'No such tenant.');
    await deps.tenants.invalidate(updated.id);
    res.json({ automations: updated.automations });
  });

  return r;
}
