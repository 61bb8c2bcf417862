import type { Db, Environment, UsageEvent } from '@agents/db';

/** One row of the raw tool-call log (API.md `GET /v1/admin/tool-calls`). */
export interface ToolCallLogRow {
  id: string;
  tenant_id: string;
  job_id: string | null;
  environment: Environment;
  server: string | null;
  tool: string | null;
  success: boolean;
  /** Refused inside the runtime (outside the session); never reached a server, never billed. */
  denied: boolean;
  duration_ms: number;
  error_code: string | null;
  /** The session metadata, always with tenant_id. */
  metadata: Record<string, string>;
  called_at: string;
}

export interface ToolCallLogQuery {
  tenantId?: string;
  environment?: Environment;
  from?: Date;
  to?: Date;
  limit: number;
  /** A tc_ id from a previous page. */
  startingAfter?: string;
}

export function presentToolCall(e: UsageEvent): ToolCallLogRow {
  return {
    id: e.id,
    tenant_id: e.tenant_id,
    job_id: e.job_id,
    environment: e.environment,
    server: e.server,
    tool: e.tool,
    success: e.success,
    denied: e.denied,
    duration_ms: e.duration_ms,
    error_code: e.error_code,
    metadata: e.metadata,
    called_at: e.occurred_at.toISOString(),
  };
}

/**
 * Newest first by recording order (usage_events.seq), so pages are stable while rows keep
 * arriving. Returns undefined when `startingAfter` names no tool call.
 */
export async function listToolCalls(db: Db, q: ToolCallLogQuery): Promise<{ data: ToolCallLogRow[]; hasMore: boolean } | undefined> {
  let sel = db.selectFrom('usage_events').selectAll().where('kind', '=', 'tool_call');
  if (q.startingAfter) {
    const cursor = await db.selectFrom('usage_events').select('seq').where('id', '=', q.startingAfter).where('kind', '=', 'tool_call').executeTakeFirst();
    if (!cursor) return undefined;
    sel = sel.where('seq', '<', cursor.seq);
  }
  if (q.tenantId) sel = sel.where('tenant_id', '=', q.tenantId);
  if (q.environment) sel = sel.where('environment', '=', q.environment);
  if (q.from) sel = sel.where('occurred_at', '>=', q.from);
  if (q.to) sel = sel.where('occurred_at', '<', q.to);
  const rows = await sel
    .orderBy('seq', 'desc')
    .limit(q.limit + 1)
    .execute();
  return { data: rows.slice(0, q.limit).map(presentToolCall), hasMore: rows.length > q.limit };
}
