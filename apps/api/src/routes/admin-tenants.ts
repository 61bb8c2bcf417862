import { Router } from 'express';
import { z } from 'zod';
import { getTenant, insertTenant, listTenants } from '@agents/db';
import type { Db, Tenant } from '@agents/db';
import { ApiError } from '../errors';
import { serverId, tenantId } from '../schemas';
import { parseOrThrow } from '../validation';

export const DEFAULT_LIMITS = { concurrency: 4, requests_per_minute: 600, monthly_tool_calls: 100_000, max_iterations: 10 };
export const DEFAULT_PLAN = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };

const limits = z.strictObject({
  concurrency: z.number().int().min(1).max(1000).optional(),
  requests_per_minute: z.number().int().min(1).max(1_000_000).optional(),
  monthly_tool_calls: z.number().int().min(0).max(1_000_000_000).optional(),
  max_iterations: z.number().int().min(1).max(100).optional(),
});
const money = z.number().min(0).max(1_000_000);
const plan = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  base_fee: money.optional(),
  price_per_tool_call: money.optional(),
  price_per_1k_tokens: money.optional(),
  included_tool_calls: z.number().int().min(0).optional(),
});

export const createTenantBody = z.strictObject({
  id: tenantId,
  name: z.string().min(1).max(200).optional(),
  servers: z.array(serverId).min(1).max(32),
  limits: limits.optional(),
  plan: plan.optional(),
  instructions: z.string().max(20_000).optional(),
  webhook_url: z.string().url().max(2048).optional(),
});

export function presentTenant(t: Tenant) {
  return {
    id: t.id,
    name: t.name,
    servers: t.servers,
    limits: t.limits,
    plan: t.plan,
    instructions: t.instructions,
    webhook_url: t.webhook_url,
    automations: t.automations,
    disabled: t.disabled,
    created_at: t.created_at.toISOString(),
    updated_at: t.updated_at.toISOString(),
  };
}

export interface AdminTenantDeps {
  db: Db;
  knownServer(id: string): boolean;
  /** Applies the tenant's concurrency cap to its queue (BullMQ global concurrency). */
  applyConcurrency(tenantId: string, concurrency: number): Promise<void>;
}

export function adminTenantRoutes(deps: AdminTenantDeps): Router {
  const r = Router();
  r.post('/', async (req, res) => {
    const b = parseOrThrow(createTenantBody, req.body ?? {}, 'body');
    const unknown = b.servers.filter((s) => !deps.knownServer(s));
    if (unknown.length) {
      throw new ApiError('validation_failed', 'The request body is invalid.', unknown.map((s) => ({ path: 'body.servers', message: `unknown server "${s}"` })));
    }
    const tenant = await insertTenant(deps.db, {
      id: b.id,
      name: b.name ?? b.id,
      servers: [...new Set(b.servers)],
      limits: { ...DEFAULT_LIMITS, ...b.limits },
      plan: { ...DEFAULT_PLAN, ...b.plan },
      instructions: b.instructions ?? null,
      webhook_url: b.webhook_url ?? null,
    });
    if (!tenant) throw new ApiError('tenant_exists', `A tenant with id "${b.id}" already exists.`);
    await deps.applyConcurrency(tenant.id, tenant.limits.concurrency);
    res.status(201).json(presentTenant(tenant));
  });
  r.get('/', async (_req, res) => {
    res.json({ data: (await listTenants(deps.db)).map(presentTenant), has_more: false });
  });
  r.get('/:id', async (req, res) => {
    const id = tenantId.safeParse(req.params.id);
    const t = id.success ? await getTenant(deps.db, id.data) : undefined;
    if (!t) throw new ApiError('tenant_not_found', 'No such tenant.');
    res.json(presentTenant(t));
  });
  return r;
}
