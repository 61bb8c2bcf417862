import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Db, Environment } from '@agents/db';
import { periodBounds, periodOf } from './period';

export type UsageGroupBy = 'day' | 'server' | 'tool';

export interface UsageCounters {
  jobs: number;
  /** Tool calls that reached a provider: what the invoice bills (live), failed ones included. */
  tool_calls: number;
  /** Of `tool_calls`, those that failed. */
  failed_tool_calls: number;
  /** Calls refused before any provider (outside the session, approval denied): never billed, not in `tool_calls`. */
  denied_tool_calls: number;
  input_tokens: number;
  output_tokens: number;
}

export interface UsageQuery {
  tenantId?: string;
  /** Omitted: both environments. */
  environment?: Environment;
  /** Window [from, to); callers align it to whole hours (rollups are hourly). */
  from: Date;
  to: Date;
}

type Key = UsageGroupBy | 'tenant' | 'total';

const ROLLUP_KEY: Record<Key, string> = {
  day: `to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  server: `server`,
  tool: `server || '/' || tool`,
  tenant: `tenant_id`,
  total: `''`,
};
const EVENT_KEY: Record<Key, string> = {
  day: `to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  server: `coalesce(server, '')`,
  tool: `coalesce(server, '') || '/' || coalesce(tool, '')`,
  tenant: `tenant_id`,
  total: `''`,
};
const JOB_KEY: Partial<Record<Key, string>> = {
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  tenant: `tenant_id`,
  total: `''`,
};

const empty = (): UsageCounters => ({ jobs: 0, tool_calls: 0, failed_tool_calls: 0, denied_tool_calls: 0, input_tokens: 0, output_tokens: 0 });

function filters(q: UsageQuery, timeColumn: string): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`${sql.raw(timeColumn)} >= ${q.from}`, sql`${sql.raw(timeColumn)} < ${q.to}`];
  if (q.tenantId) parts.push(sql`tenant_id = ${q.tenantId}`);
  if (q.environment) parts.push(sql`environment = ${q.environment}`);
  return sql.join(parts, sql` AND `);
}

/**
 * Usage counters grouped by `key`, live: the rollups of the window plus the events not rolled up
 * yet (txid at or past the watermark). One statement, so the watermark and the rollups it read
 * come from the same snapshot and nothing is counted twice or missed. Server and tool groupings
 * count tool calls only (model tokens belong to no server), so their buckets carry no tokens.
 */
export async function aggregateUsage(db: Db, q: UsageQuery, key: Key): Promise<Map<string, UsageCounters>> {
  const toolOnly = key === 'server' || key === 'tool';
  const kindFilter = toolOnly ? sql` AND kind = 'tool_call'` : sql``;
  // Denied calls are counted apart so `tool_calls` is exactly what billableUsage bills. A denied
  // call is stored with success=false, so its failure is subtracted from `failed` too.
  const rows = await sql<{ key: string; tool_calls: string; failed: string; denied: string; input_tokens: string; output_tokens: string }>`
    SELECT key, sum(tool_calls) AS tool_calls, sum(failed) AS failed, sum(denied) AS denied, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
      FROM (
        SELECT ${sql.raw(ROLLUP_KEY[key])} AS key,
               coalesce(sum(events - denied) FILTER (WHERE kind = 'tool_call'), 0) AS tool_calls,
               coalesce(sum(failures - denied) FILTER (WHERE kind = 'tool_call'), 0) AS failed,
               coalesce(sum(denied) FILTER (WHERE kind = 'tool_call'), 0) AS denied,
               coalesce(sum(input_tokens), 0) AS input_tokens,
               coalesce(sum(output_tokens), 0) AS output_tokens
          FROM usage_rollups
         WHERE ${filters(q, 'hour')}${kindFilter}
         GROUP BY 1
        UNION ALL
        SELECT ${sql.raw(EVENT_KEY[key])} AS key,
               count(*) FILTER (WHERE kind = 'tool_call' AND NOT denied),
               count(*) FILTER (WHERE kind = 'tool_call' AND NOT success AND NOT denied),
               count(*) FILTER (WHERE kind = 'tool_call' AND denied),
               coalesce(sum(input_tokens), 0),
               coalesce(sum(output_tokens), 0)
          FROM usage_events
         WHERE txid >= (SELECT watermark FROM rollup_state WHERE id = 1)
           AND ${filters(q, 'occurred_at')}${kindFilter}
         GROUP BY 1
      ) u
     GROUP BY key`.execute(db);
  const out = new Map<string, UsageCounters>();
  for (const r of rows.rows) {
    out.set(r.key, {
      jobs: 0,
      tool_calls: Number(r.tool_calls),
      failed_tool_calls: Number(r.failed),
      denied_tool_calls: Number(r.denied),
      input_tokens: Number(r.input_tokens),
      output_tokens: Number(r.output_tokens),
    });
  }

  // Jobs: submitted in the window (jobs table); per server/tool, the distinct jobs that called it.
  const jobs = JOB_KEY[key]
    ? await sql<{ key: string; n: string }>`
        SELECT ${sql.raw(JOB_KEY[key]!)} AS key, count(*) AS n FROM jobs WHERE ${filters(q, 'created_at')} GROUP BY 1`.execute(db)
    : await sql<{ key: string; n: string }>`
        SELECT ${sql.raw(EVENT_KEY[key])} AS key, count(DISTINCT job_id) AS n FROM usage_events
         WHERE ${filters(q, 'occurred_at')} AND kind = 'tool_call' GROUP BY 1`.execute(db);
  for (const r of jobs.rows) {
    const c = out.get(r.key) ?? empty();
    c.jobs = Number(r.n);
    out.set(r.key, c);
  }
  return out;
}

export interface TenantUsage {
  totals: UsageCounters;
  buckets: ({ key: string } & UsageCounters)[];
}

/** GET /v1/tenants/{tid}/usage: totals plus buckets in key order. */
export async function tenantUsage(db: Db, q: UsageQuery & { tenantId: string; groupBy?: UsageGroupBy }): Promise<TenantUsage> {
  const totals = (await aggregateUsage(db, q, 'total')).get('') ?? empty();
  const buckets = q.groupBy ? await aggregateUsage(db, q, q.groupBy) : new Map<string, UsageCounters>();
  return {
    totals,
    buckets: [...buckets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, c]) => ({ key, ...c })),
  };
}

/** GET /v1/admin/usage: one row per tenant with usage or jobs in the window, by tenant id. */
export async function usageByTenant(db: Db, q: Omit<UsageQuery, 'tenantId'>): Promise<({ tenant_id: string } & UsageCounters)[]> {
  const m = await aggregateUsage(db, q, 'tenant');
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([tenant_id, c]) => ({ tenant_id, ...c }));
}

/**
 * Tool calls (executed or denied) of a tenant in the calendar month (UTC) containing `now`, live:
 * rollups + not-yet-rolled events. For quotas: one index range on the rollups, one on the tail.
 */
export async function monthlyToolCalls(db: Db, tenantId: string, environment: Environment, now: Date = new Date()): Promise<number> {
  const { start, end } = periodBounds(periodOf(now));
  const r = await sql<{ n: string | null }>`
    SELECT (SELECT coalesce(sum(events), 0) FROM usage_rollups
             WHERE tenant_id = ${tenantId} AND environment = ${environment} AND hour >= ${start} AND hour < ${end} AND kind = 'tool_call')
         + (SELECT count(*) FROM usage_events
             WHERE txid >= (SELECT watermark FROM rollup_state WHERE id = 1)
               AND tenant_id = ${tenantId} AND environment = ${environment} AND kind = 'tool_call'
               AND occurred_at >= ${start} AND occurred_at < ${end}) AS n`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}
