import type { Job, NewUsageEvent } from '@agents/db';
import type { ToolCallRecord, ToolResult } from '@agents/runtime';

/** The usage_events row of one tool call, keyed `<job_id>:<seq>` like its checkpoint and its MCP idempotency key. */
export function usageRowFromRecord(job: Job, seq: number, rec: ToolCallRecord, result: ToolResult): NewUsageEvent {
  return {
    id: rec.tool_call_id,
    idempotency_key: `${job.id}:${seq}`,
    tenant_id: job.tenant_id,
    environment: job.environment,
    job_id: job.id,
    kind: 'tool_call',
    server: rec.server,
    tool: rec.tool,
    success: rec.success,
    denied: rec.denied,
    error_code: rec.error_code,
    duration_ms: rec.duration_ms,
    metadata: JSON.stringify(rec.metadata),
    occurred_at: result.called_at,
  } as NewUsageEvent;
}
