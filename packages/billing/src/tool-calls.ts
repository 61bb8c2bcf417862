import { sql } from 'kysely';
import type { Db, Environment, UsageEvent } from '@agents/db';

/** One row of the raw tool-call log (API.md `GET /v1/admin/tool-calls`). */
export interface ToolCallLogRow {
  id: string;
  tenant_id: string;
  /** The session whose `execute` made the call; null for a job's own calls. */
  session_id: string | null;
  job_id: string | null;
  environment: Environment;
  server: string | null;
  tool: string | null;
  success: boolean;
  /** Refused inside the runtime (outside the session); never reached a server, never billed. */
  denied: boolean;
  duration_ms: number;
  error_code: string | null;
  /** The session metadata; `tenant_id` is always the row's tenant. */
  metadata: Record<string, string>;
  called_at: string;
}

export interface ToolCallLogQuery {
  tenantId?: string;
  environment?: Environment;
  from?: Date;
  to?: Date;
  limit: number;
  /** A tc_ id from a previous page (one this query's tenant and environment filters admit). */
  startingAfter?: string;
  /**
   * `newest_first` (default): by recording order (seq) descending. `oldest_first`: by
   * (occurred_at, seq) ascending, the order of index usage_events_environment_time; seq breaks
   * ties between calls of the same instant, so no page repeats or skips one of them.
   */
  order?: 'newest_first' | 'oldest_first';
}

export function presentToolCall(e: UsageEvent): ToolCallLogRow {
  return {
    id: e.id,
    tenant_id: e.tenant_id,
    session_id: e.session_id,
    job_id: e.job_id,
    environment: e.environment,
    server: e.server,
    tool: e.tool,
    success: e.success,
    denied: e.denied,
    duration_ms: e.duration_ms,
    error_code: e.error_code,
    // Billing groups by metadata.tenant_id: it is the row's tenant even for a row stored without it.
    metadata: { ...e.metadata, tenant_id: e.tenant_id },
    called_at: e.occurred_at.toISOString(),
  };
}

/**
 * One page of the raw log, newest first by recording order (usage_events.seq) or oldest first by
 * time (see `order`), so pages are stable while rows keep arriving. Returns undefined when
 * `startingAfter` names no tool call the filters admit.
 */
export async function listToolCalls(db: Db, q: ToolCallLogQuery): Promise<{ data: ToolCallLogRow[]; hasMore: boolean } | undefined> {
  const oldestFirst = q.order === 'oldest_first';
  let sel = db.selectFrom('usage_events').selectAll().where('kind', '=', 'tool_call');
  if (q.tenantId) sel = sel.where('tenant_id', '=', q.tenantId);
  if (q.environment) sel = sel.where('environment', '=', q.environment);
  if (q.startingAfter) {
    let cur = db.selectFrom('usage_events').select('seq').where('id', '=', q.startingAfter).where('kind', '=', 'tool_call');
    if (q.tenantId) cur = cur.where('tenant_id', '=', q.tenantId);
    if (q.environment) cur = cur.where('environment', '=', q.environment);
    const cursor = await cur.executeTakeFirst();
    if (!cursor) return undefined;
    // The cursor's time is compared in SQL: a JS Date would drop its microseconds.
    sel = oldestFirst
      ? sel.where(sql<boolean>`(occurred_at, seq) > (SELECT c.occurred_at, c.seq FROM usage_events c WHERE c.seq = ${cursor.seq})`)
      : sel.where('seq', '<', cursor.seq);
  }
  if (q.from) sel = sel.where('occurred_at', '>=', q.from);
  if (q.to) sel = sel.where('occurred_at', '<', q.to);
  const ordered = oldestFirst ? sel.orderBy('occurred_at', 'asc').orderBy('seq', 'asc') : sel.orderBy('seq', 'desc');
  const rows = await ordered.limit(q.limit + 1).execute();
  return { data: rows.slice(0, q.limit).map(presentToolCall), hasMore: rows.length > q.limit };
}
