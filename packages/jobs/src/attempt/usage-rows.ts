import { newId } from '@agents/db';
import type { Job, NewUsageEvent } from '@agents/db';
import type { ModelTurn } from '@agents/agent';
import type { ToolResult } from '@agents/runtime';

/** Every usage row of a job is keyed `<job_id>:<seq>`, like its checkpoint and its MCP idempotency key: written twice, billed once. */
const usageKey = (job: Job, seq: number) => `${job.id}:${seq}`;

/**
 * The usage_events row of one tool call, from the record its result carries, whoever ran it: its
 * id is the call's, `idempotencyKey` makes a second write of it a no-op.
 */
export function toolCallUsageEvent(result: ToolResult, at: { idempotencyKey: string; jobId: string | null; sessionId: string | null }): NewUsageEvent {
  const rec = result.record;
  return {
    id: rec.tool_call_id,
    idempotency_key: at.idempotencyKey,
    tenant_id: rec.tenant_id,
    environment: rec.environment,
    job_id: at.jobId,
    session_id: at.sessionId,
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

/** The usage row of a job's tool call at step `seq`: a session's message names its session. */
export function toolCallUsageRow(job: Job, seq: number, result: ToolResult): NewUsageEvent {
  return toolCallUsageEvent(result, { idempotencyKey: usageKey(job, seq), jobId: job.id, sessionId: job.session_id ?? null });
}

/** The usage_events row of one model turn: its tokens. */
export function modelTurnUsageRow(job: Job, seq: number, turn: ModelTurn): NewUsageEvent {
  return {
    id: newId('mt'),
    idempotency_key: usageKey(job, seq),
    tenant_id: job.tenant_id,
    environment: job.environment,
    job_id: job.id,
    session_id: job.session_id ?? null,
    kind: 'model_turn',
    server: null,
    tool: null,
    success: true,
    input_tokens: turn.usage.inputTokens,
    output_tokens: turn.usage.outputTokens,
    metadata: JSON.stringify(job.metadata),
  } as NewUsageEvent;
}
