import { Router } from 'express';
import { z } from 'zod';
import { getTenant, insertTenant, listAutomationsByEnvironment, listTenantsPage, setAutomations, updateTenant } from '@agents/db';
import type { Automation, AutomationsByEnvironment, Db, Environment, Tenant, TenantCache, WebhookSecretStore } from '@agents/db';
import { generateWebhookSecret } from '@agents/webhooks';
import { ApiError } from '../errors';
import { serverId, tenantId, workflowStep } from '../schemas';
import type { TenantKeys } from '../tenant-keys';
import { parseOrThrow } from '../validation';
import { adminApiKeyRoutes } from './admin-api-keys';

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
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  base_fee: money.optional(),
  price_per_tool_call: money.optional(),
  price_per_1k_tokens: money.optional(),
  included_tool_calls: z.number().int().min(0).optional(),
});

const tenantName = z.string().min(1).max(200);
const instructions = z.string().max(20_000);
const webhookUrl = z.string().url().max(2048);

export const automation = z.strictObject({
  on: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'an event type such as "payment.confirmed"'),
  steps: z.array(workflowStep).min(1).max(50),
});
export const automations = z.array(automation).max(50);
/** PATCH of the tenant: each environment's list (API.md); an absent environment is left alone. */
export const automationsByEnvironment = z.strictObject({ test: automations.optional(), live: automations.optional() });
const ENVIRONMENTS: readonly Environment[] = ['test', 'live'];

export const createTenantBody = z.strictObject({
  id: tenantId,
  name: tenantName.optional(),
  servers: z.array(serverId).min(1).max(32),
  limits: limits.optional(),
  plan: plan.optional(),
  instructions: instructions.optional(),
  webhook_url: webhookUrl.optional(),
});

/** Any subset; null clears instructions and webhook_url. limits and plan merge into the stored ones. */
export const patchTenantBody = z.strictObject({
  name: tenantName.optional(),
  servers: z.array(serverId).min(1).max(32).optional(),
  limits: limits.optional(),
  plan: plan.optional(),
  instructions: instructions.nullable().optional(),
  webhook_url: webhookUrl.nullable().optional(),
  automations: automationsByEnvironment.optional(),
  disabled: z.boolean().optional(),
});

export const listTenantsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: tenantId.optional(),
});

export function presentTenant(t: Tenant, automations: AutomationsByEnvironment = { test: [], live: [] }) {
  return {
    id: t.id,
    name: t.name,
    servers: t.servers,
    limits: t.limits,
    plan: t.plan,
    instructions: t.instructions,
    webhook_url: t.webhook_url,
    automations,
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
  /** Refuses webhook URLs the deployment does not allow (same rule as callback_url). */
  checkCallbackUrl(url: string): Promise<void>;
  tenants: TenantCache;
  webhookSecrets: WebhookSecretStore;
  tenantKeys: TenantKeys;
  /** Full automation check (events, catalog tools, template references); see automation-validation.ts. */
  validateAutomations?(list: Automation[], servers: string[]): { path: string; message: string }[];
}

function invalid(details: { path: string; message: string }[]): ApiError {
  return new ApiError('validation_failed', 'The request body is invalid.', details);
}

export function adminTenantRoutes(deps: AdminTenantDeps): Router {
  const r = Router();

  function checkServers(servers: string[]) {
    const unknown = servers.filter((s) => !deps.knownServer(s));
    if (unknown.length) throw invalid(unknown.map((s) => ({ path: 'body.servers', message: `unknown server "${s}"` })));
  }

  /** API.md: automation steps may only name the tenant's own servers. Paths are under `body.automations.<env>`. */
  function automationProblems(list: Automation[], servers: string[], env: Environment): { path: string; message: string }[] {
    const prefix = `body.automations.${env}`;
    if (deps.validateAutomations) {
      return deps.validateAutomations(list, servers).map((d) => ({ ...d, path: d.path.replace(/^body\.automations/, prefix) }));
    }
    return list.flatMap((a, i) =>
      a.steps
        .map((st, j) => ({ st, j }))
        .filter(({ st }) => !servers.includes(st.tool.split('/')[0]!))
        .map(({ st, j }) => ({ path: `${prefix}.${i}.steps.${j}.tool`, message: `"${st.tool}" is not on one of the tenant's servers` })),
    );
  }

  function checkAutomations(lists: Partial<AutomationsByEnvironment>, servers: string[]) {
    const details = ENVIRONMENTS.flatMap((env) => (lists[env] ? automationProblems(lists[env], servers, env) : []));
    if (details.length) throw invalid(details);
  }

  async function automationsOf(id: string): Promise<AutomationsByEnvironment> {
    return (await listAutomationsByEnvironment(deps.db, [id])).get(id)!;
  }

  /** Same SSRF rule as callback_url, reported against webhook_url. */
  async function checkWebhookUrl(url: string) {
    try {
      await deps.checkCallbackUrl(url);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'validation_failed') throw invalid((e.details ?? []).map((d) => ({ ...d, path: 'body.webhook_url' })));
      throw e;
    }
  }

  async function load(raw: unknown): Promise<Tenant> {
    const id = tenantId.safeParse(raw);
    const t = id.success ? await getTenant(deps.db, id.data) : undefined;
    if (!t) throw new ApiError('tenant_not_found', 'No such tenant.');
    return t;
  }

  r.post('/', async (req, res) => {
    const b = parseOrThrow(createTenantBody, req.body ?? {}, 'body');
    checkServers(b.servers);
    if (b.webhook_url) await checkWebhookUrl(b.webhook_url);
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
    // Shown in this response only; stored sealed with the tenant's data key.
    const webhookSecret = generateWebhookSecret();
    await deps.webhookSecrets.add(tenant.id, webhookSecret);
    await deps.applyConcurrency(tenant.id, tenant.limits.concurrency);
    // A lookup of this id before it existed may be cached as "absent".
    await deps.tenants.invalidate(tenant.id);
    res.status(201).json({ ...presentTenant(tenant), webhook_secret: webhookSecret });
  });

  r.get('/', async (req, res) => {
    const q = parseOrThrow(listTenantsQuery, req.query, 'query');
    const { data, hasMore } = await listTenantsPage(deps.db, { limit: q.limit, startingAfter: q.starting_after });
    const lists = await listAutomationsByEnvironment(
      deps.db,
      data.map((t) => t.id),
    );
    res.json({ data: data.map((t) => presentTenant(t, lists.get(t.id))), has_more: hasMore });
  });

  r.get('/:id', async (req, res) => {
    const t = await load(req.params.id);
    res.json(presentTenant(t, await automationsOf(t.id)));
  });

  r.patch('/:id', async (req, res) => {
    const current = await load(req.params.id);
    const b = parseOrThrow(patchTenantBody, req.body ?? {}, 'body');
    if (b.servers) checkServers(b.servers);
    const servers = b.servers ? [...new Set(b.servers)] : current.servers;
    const given = (b.automations ?? {}) as Partial<AutomationsByEnvironment>;
    // The lists that will be stored must all fit the servers that will be stored: the given ones,
    // and, when servers change, the kept ones too.
    const stored = await automationsOf(current.id);
    const next: AutomationsByEnvironment = { test: given.test ?? stored.test, live: given.live ?? stored.live };
    checkAutomations(b.servers ? next : given, servers);
    if (b.webhook_url) await checkWebhookUrl(b.webhook_url);
    const limitsNext = b.limits ? { ...current.limits, ...b.limits } : undefined;
    // The tenant row and the automation lists change together or not at all.
    const updated = await deps.db.transaction().execute(async (trx) => {
      const t = await updateTenant(trx, current.id, {
        name: b.name,
        servers: b.servers ? servers : undefined,
        limits: limitsNext,
        plan: b.plan ? { ...current.plan, ...b.plan } : undefined,
        instructions: b.instructions,
        webhook_url: b.webhook_url,
        disabled: b.disabled,
      });
      if (t) for (const env of ENVIRONMENTS) if (given[env]) await setAutomations(trx, t.id, env, given[env]);
      return t;
    });
    if (!updated) throw new ApiError('tenant_not_found', 'No such tenant.');
    if (limitsNext && limitsNext.concurrency !== current.limits.concurrency) await deps.applyConcurrency(updated.id, limitsNext.concurrency);
    await deps.tenants.invalidate(updated.id);
    res.json(presentTenant(updated, next));
  });

  r.post('/:id/webhook-secret/rotate', async (req, res) => {
    const t = await load(req.params.id);
    const webhookSecret = generateWebhookSecret();
    // The previous secret keeps signing beside the new one for 24 h (Standard Webhooks rotation).
    await deps.webhookSecrets.rotate(t.id, webhookSecret);
    res.json({ webhook_secret: webhookSecret });
  });

  r.use('/:id/api-keys', adminApiKeyRoutes({ db: deps.db, tenantKeys: deps.tenantKeys }));
  return r;
}
