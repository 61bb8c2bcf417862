import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { listInvoices, periodOf, PERIOD_RE } from '@agents/billing';
import type { InvoiceView } from '@agents/billing';
import { environmentScope } from '@agents/db';
import type { Db, Tenant } from '@agents/db';
import { principalOf } from '../middleware/auth';
import { parseOrThrow } from '../validation';

export const periodParam = z.string().regex(PERIOD_RE, 'must be a period "YYYY-MM"');

export const adminInvoicesQuery = z.strictObject({ period: periodParam.optional() });

export const tenantInvoicesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: z.string().max(64).optional(),
});

/** What API.md shows of an invoice (created_at/updated_at stay internal). */
function publicInvoice(inv: InvoiceView) {
  return {
    id: inv.id,
    tenant_id: inv.tenant_id,
    period: inv.period,
    currency: inv.currency,
    status: inv.status,
    lines: inv.lines,
    total: inv.total,
    usage_through: inv.usage_through,
  };
}

/** Invoices of one period can number one per tenant; they are read in pages of this size. */
const PAGE = 1000;

/** GET /v1/admin/invoices?period=YYYY-MM (operator): every tenant's invoice of the period (default: the current one). */
export function adminInvoiceRoutes(deps: { db: Db }): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const q = parseOrThrow(adminInvoicesQuery, req.query, 'query');
    const period = q.period ?? periodOf(new Date());
    const data: ReturnType<typeof publicInvoice>[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await listInvoices(deps.db, { period, limit: PAGE, startingAfter: after });
      data.push(...page.data.map(publicInvoice));
      if (!page.hasMore) break;
      after = page.data[page.data.length - 1]!.id;
    }
    res.json({ data });
  });
  return r;
}

/**
 * GET /v1/tenants/{tid}/invoices: newest first, paginated. Invoices bill live usage only, so a
 * test key sees none (as Stripe's test mode never sees live-mode invoices).
 */
export function tenantInvoiceRoutes(deps: { db: Db; tenantOf(req: Request, res: Response): Promise<Tenant> }): Router {
  const r = Router({ mergeParams: true });
  r.get('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const q = parseOrThrow(tenantInvoicesQuery, req.query, 'query');
    const scope = environmentScope(principalOf(res));
    if (scope && scope !== 'live') {
      res.json({ data: [], has_more: false });
      return;
    }
    const page = await listInvoices(deps.db, { tenantId: tenant.id, limit: q.limit, startingAfter: q.starting_after });
    res.json({ data: page.data.map(publicInvoice), has_more: page.hasMore });
  });
  return r;
}
