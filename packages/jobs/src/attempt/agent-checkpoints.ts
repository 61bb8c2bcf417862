import { listSteps } from '@agents/db';
import type { Db, Job } from '@agents/db';
import type { LoopCheckpoints, LoopStep, ModelTurnPayload, ToolMessage } from '@agents/agent';
import type { StepStore } from './step-store';
import { modelTurnUsageRow, toolCallUsageRow } from './usage-rows';

/**
 * The agent loop's checkpoints in `job_steps`, each written with its `usage_events` row in one
 * statement: model turns as kind `model_turn` (tokens metered), tool results as kind `tool_call`
 * (metered from the record the result carries).
 */
export function createAgentCheckpoints(job: Job, db: Db, steps: StepStore): LoopCheckpoints {
  return {
    async load() {
      const loaded: LoopStep[] = [];
      // Only an earlier attempt (job.attempts counts this one) can have left checkpoints.
      if (job.attempts <= 1) return loaded;
      for (const s of await listSteps(db, job.id)) {
        if (s.kind === 'model_turn') loaded.push({ seq: s.seq, kind: 'model_turn', payload: s.payload as ModelTurnPayload });
        else if (s.kind === 'tool_call') loaded.push({ seq: s.seq, kind: 'tool_call', payload: s.payload as ToolMessage });
      }
      return loaded;
    },
    async saveModelTurn(seq, turn) {
      const payload: ModelTurnPayload = {
        message: turn.message,
        finish_reason: turn.finishReason,
        usage: { input_tokens: turn.usage.inputTokens, output_tokens: turn.usage.outputTokens },
      };
      await steps.write({ jobId: job.id, seq, kind: 'model_turn', payload, usage: [modelTurnUsageRow(job, seq, turn)] });
    },
    async saveToolResult(seq, message, result) {
      await steps.write({ jobId: job.id, seq, kind: 'tool_call', payload: message, usage: result ? [toolCallUsageRow(job, seq, result)] : [] });
    },
  };
}
