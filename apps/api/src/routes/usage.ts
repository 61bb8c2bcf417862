import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { ceilHour, floorHour, listToolCalls, periodBounds, periodOf, tenantUsage, usageByTenant } from '@agents/billing';
import { environmentScope } from '@agents/db';
import type { Db, Environment, Tenant } from '@agents/db';
import { ApiError } from '../errors';
import { principalOf } from '../middleware/auth';
import { environment, tenantId } from '../schemas';
import { parseOrThrow } from '../validation';

/** ISO-8601 timestamp (or date) in a query string. */
export const isoTimestamp = z
  .string()
  .max(40)
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/, 'must be an ISO-8601 timestamp')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be a valid timestamp')
  .transform((s) => new Date(s));

export const usageQuery = z.strictObject({
  from: isoTimestamp.optional(),
  to: isoTimestamp.optional(),
  group_by: z.enum(['day', 'server', 'tool']).optional(),
  environment: environment.optional(),
});

export const adminUsageQuery = usageQuery.omit({ group_by: true });

export const toolCallsQuery = z.strictObject({
  tenant_id: tenantId.optional(),
  environment: environment.optional(),
  from: isoTimestamp.optional(),
  to: isoTimestamp.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: z.string().max(64).optional(),
});

export const platformUsageQuery = z.strictObject({
  from: isoTimestamp.optional(),
  to: isoTimestamp.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  starting_after: z
    .string()
    .regex(/^tc_[0-9a-z]{26}$/, 'must be a tool call id (tc_...)')
    .optional(),
  environment: environment.optional(),
});

/** Longest window a usage query may span (days): a year of day buckets and then some. */
const MAX_WINDOW_DAYS = 400;

/**
 * The usage window. Rollups are hourly, so `from` is floored and `to` ceiled to whole UTC hours
 * (the response echoes the effective window). Default: the current calendar month up to now.
 */
function usageWindow(q: { from?: Date; to?: Date }, now = new Date()): { from: Date; to: Date } {
  const from = floorHour(q.from ?? periodBounds(periodOf(now)).start);
  let to = ceilHour(q.to ?? now);
  if (!q.to && to.getTime() <= from.getTime()) to = new Date(from.getTime() + 3_600_000);
  if (to.getTime() <= from.getTime()) {
    throw new ApiError('validation_failed', 'The request query is invalid.', [{ path: 'query.to', message: 'must be later than from' }]);
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000) {
    throw new ApiError('validation_failed', 'The request query is invalid.', [
      { path: 'query.from', message: `the window may span at most ${MAX_WINDOW_DAYS} days` },
    ]);
  }
  return { from, to };
}

/**
 * The environment whose usage a caller sees. A tenant key sees only its own (asking for the other
 * is a validation error, as for jobs); the operator sees the one asked for, or both.
 */
function visibleEnvironment(res: Response, asked: Environment | undefined): Environment | undefined {
  const scope = environmentScope(principalOf(res));
  if (!scope) return asked;
  if (asked && asked !== scope) {
    throw new ApiError('validation_failed', 'The request query is invalid.', [
      { path: 'query.environment', message: `a ${scope} key sees only ${scope} usage` },
    ]);
  }
  return scope;
}

/** GET /v1/admin/usage (operator). Live numbers: rollups plus events not rolled up yet. */
export function adminUsageRoutes(deps: { db: Db }): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const q = parseOrThrow(adminUsageQuery, req.query, 'query');
    const window = usageWindow(q);
    const data = await usageByTenant(deps.db, { ...window, environment: q.environment });
    res.json({ from: window.from.toISOString(), to: window.to.toISOString(), environment: q.environment ?? null, data });
  });
  return r;
}

/** GET /v1/admin/tool-calls (operator): the raw log, newest first, with the forwarded session metadata. */
export function adminToolCallRoutes(deps: { db: Db }): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const q = parseOrThrow(toolCallsQuery, req.query, 'query');
    const page = await listToolCalls(deps.db, {
      tenantId: q.tenant_id,
      environment: q.environment,
      from: q.from,
      to: q.to,
      limit: q.limit,
      startingAfter: q.starting_after,
    });
    if (!page) {
      throw new ApiError('validation_failed', 'The request query is invalid.', [{ path: 'query.starting_after', message: 'no such tool call' }]);
    }
    res.json({ data: page.data.map((row) => ({ ...row, server: row.server ?? '', tool: row.tool ?? '' })), has_more: page.hasMore });
  });
  return r;
}

/** GET /v1/tenants/{tid}/usage (tenant key of that tenant, or operator). */
export function tenantUsageRoutes(deps: { db: Db; tenantOf(req: Request, res: Response): Promise<Tenant> }): Router {
  const r = Router({ mergeParams: true });
  r.get('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const q = parseOrThrow(usageQuery, req.query, 'query');
    const env = visibleEnvironment(res, q.environment);
    const window = usageWindow(q);
    const usage = await tenantUsage(deps.db, { tenantId: tenant.id, environment: env, ...window, groupBy: q.group_by });
    res.json({
      tenant_id: tenant.id,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      environment: env ?? null,
      group_by: q.group_by ?? null,
      totals: usage.totals,
      buckets: usage.buckets,
    });
  });
  return r;
}

/**
 * GET /v1/usage: every tenant's tool calls, oldest first, for the seed's billing cron (API.md
 * "Usage of every tenant, for a platform key"). A platform key sees its own environment; the
 * operator names one (default live). A tenant key is refused with 403 forbidden, as on operator
 * routes: the route spans tenants, so it is not one of a tenant key's, and nothing about another
 * tenant is revealed by saying so. The window is exact (a raw log, not hourly rollups):
 * `from` defaults to the start of the current UTC month, `to` to now.
 */
export function platformUsageRoutes(deps: { db: Db }): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const p = principalOf(res);
    // Allowed kinds are named: a kind added later is refused here until someone decides otherwise.
    if (p.kind !== 'platform' && p.kind !== 'operator') throw new ApiError('forbidden', 'This route needs a platform key or the operator key.');
    const q = parseOrThrow(platformUsageQuery, req.query, 'query');
    const env = visibleEnvironment(res, q.environment) ?? 'live';
    const now = new Date();
    const from = q.from ?? periodBounds(periodOf(now)).start;
    const to = q.to ?? now;
    if (to.getTime() <= from.getTime()) {
      throw new ApiError('validation_failed', 'The request query is invalid.', [{ path: 'query.to', message: 'must be later than from' }]);
    }
    const page = await listToolCalls(deps.db, { environment: env, from, to, limit: q.limit, startingAfter: q.starting_after, order: 'oldest_first' });
    if (!page) {
      throw new ApiError('validation_failed', 'The request query is invalid.', [{ path: 'query.starting_after', message: 'no such tool call' }]);
    }
    res.json({
      from: from.toISOString(),
      to: to.toISOString(),
      tool_calls: page.data.map((row) => ({ ...row, server: row.server ?? '', tool: row.tool ?? '' })),
      has_more: page.hasMore,
    });
  });
  return r;
}
