import { listSteps, newId, writeCheckpoint } from '@agents/db';
import type { Db, Job, NewUsageEvent } from '@agents/db';
import type { LoopCheckpoints, LoopStep, ModelTurnPayload, ToolMessage } from '@agents/agent';
import type { ToolCallRecord } from '@agents/runtime';
import { usageRowFromRecord } from './usage-row';

export interface AgentCheckpointDeps {
  db: Db;
  /** Takes the runtime's usage record of a finished execute (see createMeterBuffer). */
  takeRecord(toolCallId: string): ToolCallRecord | undefined;
}

/**
 * The agent loop's checkpoints in `job_steps`, each written with its `usage_events` row in one
 * transaction (writeCheckpoint): model turns as kind `model_turn` (tokens metered), tool results as
 * kind `tool_call` (metered from the runtime's record). Every usage row is keyed `<job_id>:<seq>`,
 * so a step written twice by two attempts is stored and billed once.
 */
export function createAgentCheckpoints(job: Job, deps: AgentCheckpointDeps): LoopCheckpoints {
  const { db } = deps;
  return {
    async load() {
      const steps: LoopStep[] = [];
      // Only an earlier attempt (job.attempts counts this one) can have left checkpoints.
      if (job.attempts <= 1) return steps;
      for (const s of await listSteps(db, job.id)) {
        if (s.kind === 'model_turn') steps.push({ seq: s.seq, kind: 'model_turn', payload: s.payload as ModelTurnPayload });
        else if (s.kind === 'tool_call') steps.push({ seq: s.seq, kind: 'tool_call', payload: s.payload as ToolMessage });
      }
      return steps;
    },
    async saveModelTurn(seq, turn) {
      const payload: ModelTurnPayload = {
        message: turn.message,
        finish_reason: turn.finishReason,
        usage: { input_tokens: turn.usage.inputTokens, output_tokens: turn.usage.outputTokens },
      };
      const row = {
        id: newId('mt'),
        idempotency_key: `${job.id}:${seq}`,
        tenant_id: job.tenant_id,
        environment: job.environment,
        job_id: job.id,
        kind: 'model_turn',
        server: null,
        tool: null,
        success: true,
        input_tokens: turn.usage.inputTokens,
        output_tokens: turn.usage.outputTokens,
        metadata: JSON.stringify(job.metadata),
      } as NewUsageEvent;
      await writeCheckpoint(db, { jobId: job.id, seq, kind: 'model_turn', payload, usage: [row] });
    },
    async saveToolResult(seq, message, result) {
      const rec = deps.takeRecord(result.tool_call_id);
      await writeCheckpoint(db, {
        jobId: job.id,
        seq,
        kind: 'tool_call',
        payload: message,
        usage: rec ? [usageRowFromRecord(job, seq, rec, result)] : [],
      });
    },
  };
}
