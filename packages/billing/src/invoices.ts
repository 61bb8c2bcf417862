import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { newId } from '@agents/db';
import type { Database, Db, InvoiceLine, TenantPlan } from '@agents/db';
import { computeInvoice } from './invoice';
import type { BillableUsage } from './invoice';
import { periodBounds, periodOf } from './period';

type Executor = Kysely<Database> | Transaction<Database>;

/** The public invoice object of API.md. */
export interface InvoiceView {
  id: string;
  tenant_id: string;
  period: string;
  currency: string;
  status: 'draft' | 'final';
  lines: InvoiceLine[];
  total: string;
  usage_through: string;
  created_at: string;
  updated_at: string;
}

interface InvoiceRow {
  id: string;
  tenant_id: string;
  period: string;
  currency: string;
  status: 'draft' | 'final';
  lines: InvoiceLine[];
  total: string;
  usage_through: Date;
  created_at: Date;
  updated_at: Date;
}

export function presentInvoice(row: InvoiceRow): InvoiceView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    period: row.period,
    currency: row.currency,
    status: row.status,
    lines: row.lines,
    // numeric arrives as a string from pg; keep it one, with exactly two places.
    total: String(row.total),
    usage_through: row.usage_through.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Live, billable usage of tenants in one period, from usage_rollups only (reproducible). */
export async function billableUsage(db: Executor, period: string, tenantIds?: readonly string[]): Promise<Map<string, BillableUsage>> {
  const { start, end } = periodBounds(period);
  let q = db
    .selectFrom('usage_rollups')
    .select((eb) => [
      'tenant_id',
      sql<string>`coalesce(sum(events - denied) FILTER (WHERE kind = 'tool_call'), 0)`.as('tool_calls'),
      eb.fn.sum<string>('input_tokens').as('input_tokens'),
      eb.fn.sum<string>('output_tokens').as('output_tokens'),
    ])
    .where('environment', '=', 'live')
    .where('hour', '>=', start)
    .where('hour', '<', end)
    .groupBy('tenant_id');
  if (tenantIds) {
    if (!tenantIds.length) return new Map();
    q = q.where('tenant_id', 'in', [...tenantIds]);
  }
  const rows = await q.execute();
  return new Map(
    rows.map((r) => [r.tenant_id, { tool_calls: Number(r.tool_calls), input_tokens: Number(r.input_tokens), output_tokens: Number(r.output_tokens) }]),
  );
}

export interface RefreshInvoicesOptions {
  now: Date;
  /** The rollup's horizon: every event before it is in usage_rollups. */
  usageThrough: Date;
  /**
   * A period's invoice becomes final once usageThrough >= period end + settleMs. A tool call's
   * occurred_at is taken when the call starts and its row commits when the step checkpoints, so a
   * call can land up to one job timeout (JOB_TIMEOUT_MS) after its occurred_at; default 5 min.
   */
  settleMs?: number;
  /** (tenant, period) pairs that got new live usage (RollupStats.livePeriods). */
  touched?: readonly { tenant_id: string; period: string }[];
}

export interface RefreshInvoicesResult {
  written: number;
  finalized: number;
}

/**
 * Brings invoices up to date with the rollups. Candidates: periods that got new live usage,
 * every draft of an earlier period (to finalise), and the current period of tenants with a base
 * fee. A final invoice is never rewritten. Run it in the rollup's transaction (runBillingCycle) so
 * the invoices match the rollups they were computed from.
 */
export async function refreshInvoices(trx: Executor, opts: RefreshInvoicesOptions): Promise<RefreshInvoicesResult> {
  const settleMs = opts.settleMs ?? 300_000;
  const current = periodOf(opts.now);
  const wanted = new Map<string, Set<string>>();
  const want = (period: string, tenant: string) => {
    if (!wanted.has(period)) wanted.set(period, new Set());
    wanted.get(period)!.add(tenant);
  };
  for (const t of opts.touched ?? []) want(t.period, t.tenant_id);
  const drafts = await trx.selectFrom('invoices').select(['tenant_id', 'period']).where('status', '=', 'draft').where('period', '<', current).execute();
  for (const d of drafts) want(d.period, d.tenant_id);
  const baseFee = await sql<{ id: string }>`
    SELECT t.id FROM tenants t
     WHERE NOT t.disabled AND coalesce((t.plan->>'base_fee')::numeric, 0) > 0
       AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = t.id AND i.period = ${current})`.execute(trx);
  for (const r of baseFee.rows) want(current, r.id);

  let written = 0;
  let finalized = 0;
  for (const [period, tenantSet] of [...wanted.entries()].sort()) {
    const tenantIds = [...tenantSet].sort();
    const { end } = periodBounds(period);
    const final = opts.usageThrough.getTime() >= end.getTime() + settleMs;
    const [usage, tenants, existing] = await Promise.all([
      billableUsage(trx, period, tenantIds),
      trx.selectFrom('tenants').select(['id', 'plan']).where('id', 'in', tenantIds).execute(),
      trx.selectFrom('invoices').select(['tenant_id', 'status']).where('period', '=', period).where('tenant_id', 'in', tenantIds).execute(),
    ]);
    const status = new Map(existing.map((e) => [e.tenant_id, e.status]));
    for (const t of tenants) {
      if (status.get(t.id) === 'final') continue;
      const plan = t.plan as TenantPlan;
      const u = usage.get(t.id);
      const hasBaseFee = Number(plan.base_fee ?? 0) !== 0;
      if (!u && !hasBaseFee && !status.has(t.id)) continue;
      const inv = computeInvoice(plan, u ?? { tool_calls: 0, input_tokens: 0, output_tokens: 0 });
      const r = await sql<{ status: string }>`
        INSERT INTO invoices (id, tenant_id, period, currency, status, lines, total, usage_through)
        VALUES (${newId('inv')}, ${t.id}, ${period}, ${inv.currency}, ${final ? 'final' : 'draft'}, ${JSON.stringify(inv.lines)}::jsonb, ${inv.total}::numeric, ${opts.usageThrough})
        ON CONFLICT (tenant_id, period) DO UPDATE SET
          currency = EXCLUDED.currency, status = EXCLUDED.status, lines = EXCLUDED.lines, total = EXCLUDED.total,
          usage_through = EXCLUDED.usage_through, updated_at = now()
        WHERE invoices.status = 'draft'
        RETURNING status`.execute(trx);
      if (r.rows.length) {
        written += 1;
        if (r.rows[0]!.status === 'final') finalized += 1;
      }
    }
  }
  return { written, finalized };
}

export interface ListInvoicesQuery {
  tenantId?: string;
  period?: string;
  limit: number;
  startingAfter?: string;
}

/** Newest first (id order: ids sort by creation time), cursor-paginated. */
export async function listInvoices(db: Db, q: ListInvoicesQuery): Promise<{ data: InvoiceView[]; hasMore: boolean }> {
  let sel = db.selectFrom('invoices').selectAll();
  if (q.tenantId) sel = sel.where('tenant_id', '=', q.tenantId);
  if (q.period) sel = sel.where('period', '=', q.period);
  if (q.startingAfter) sel = sel.where('id', '<', q.startingAfter);
  const rows = await sel
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
  return { data: rows.slice(0, q.limit).map((r) => presentInvoice(r as unknown as InvoiceRow)), hasMore: rows.length > q.limit };
}

export async function getInvoice(db: Db, id: string): Promise<InvoiceView | undefined> {
  const row = await db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? presentInvoice(row as unknown as InvoiceRow) : undefined;
}
