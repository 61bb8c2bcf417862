import type { ToolResult } from '@agents/runtime';
import { resolveReferences } from './references';

export interface WorkflowStepSpec {
  tool: string;
  args: Record<string, unknown>;
}

/** What a finished step leaves behind; also the shape `{{steps.N...}}` references read. */
export interface WorkflowStepOutcome {
  tool: string;
  success: boolean;
  data: unknown;
  error: { code: string; message: string } | null;
}

export interface WorkflowIo {
  /** Steps already checkpointed by an earlier attempt, by index: they are not executed again. */
  completed: ReadonlyMap<number, WorkflowStepOutcome>;
  /** Runs one tool call with the step's idempotency key. Never throws for a tool failure. */
  execute(index: number, tool: string, args: Record<string, unknown>): Promise<ToolResult>;
  /** Persists the step (and its usage) before the next one starts. */
  checkpoint(index: number, outcome: WorkflowStepOutcome, result: ToolResult | null): Promise<void>;
  /** Throws (e.g. a cancellation) to stop between steps. */
  beforeStep?(index: number): Promise<void> | void;
}

export type WorkflowResult =
  { ok: true; output: { steps: WorkflowStepOutcome[] } } | { ok: false; output: { steps: WorkflowStepOutcome[] }; error: { code: string; message: string } };

/**
 * Deterministic workflow: steps in order, each step's args resolved against earlier results
 * (`{{steps.N.data...}}`) and optional extra context (`{{event...}}`), stop at the first failure
 * with `tool_failed` naming the step.
 */
export async function runWorkflow(steps: readonly WorkflowStepSpec[], io: WorkflowIo, extraContext: Record<string, unknown> = {}): Promise<WorkflowResult> {
  const outcomes: WorkflowStepOutcome[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const done = io.completed.get(i);
    let outcome: WorkflowStepOutcome;
    if (done) {
      outcome = done;
    } else {
      await io.beforeStep?.(i);
      let args: Record<string, unknown>;
      try {
        args = resolveReferences(step.args, { ...extraContext, steps: outcomes }) as Record<string, unknown>;
      } catch (err) {
        outcome = { tool: step.tool, success: false, data: null, error: { code: 'invalid_reference', message: (err as Error).message } };
        await io.checkpoint(i, outcome, null);
        outcomes.push(outcome);
        return {
          ok: false,
          output: { steps: outcomes },
          error: { code: 'tool_failed', message: `Step ${i} (${step.tool}) failed: ${outcome.error!.message}` },
        };
      }
      const result = await io.execute(i, step.tool, args);
      outcome = {
        tool: step.tool,
        success: result.success,
        data: result.data ?? null,
        error: result.success ? null : { code: result.error_code ?? 'tool_error', message: result.error ?? 'tool call failed' },
      };
      await io.checkpoint(i, outcome, result);
    }
    outcomes.push(outcome);
    if (!outcome.success) {
      return {
        ok: false,
        output: { steps: outcomes },
        error: {
          code: 'tool_failed',
          message: `Step ${i} (${step.tool}) failed: ${outcome.error?.code ?? 'error'}${outcome.error?.message ? ` — ${outcome.error.message}` : ''}`,
        },
      };
    }
  }
  return { ok: true, output: { steps: outcomes } };
}
