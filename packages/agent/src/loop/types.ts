import type { Session, ToolResult } from '@agents/runtime';
import type { AssistantMessage, ModelProvider, ModelTurn, ToolMessage } from '../model/types';

/** Model turns a job may take when neither the job nor its tenant says otherwise. */
export const DEFAULT_MAX_ITERATIONS = 10;

/**
 * Tool calls run per model turn. A model can ask for any number in one reply (100 were seen); the
 * calls past this are answered "not run" without reaching a server, so one turn cannot spend a
 * tenant's quota or its providers' rate limits in a burst the iteration limit never sees.
 */
export const MAX_TOOL_CALLS_PER_TURN = 16;

/** What a `model_turn` checkpoint stores: the assistant message verbatim (tool-call ids included) and its usage. */
export interface ModelTurnPayload {
  message: AssistantMessage;
  finish_reason: string;
  usage: { input_tokens: number; output_tokens: number };
}

/**
 * One stored step of an agent run. Seqs are deterministic: a model turn at seq `s` asking for `k`
 * tool calls has its answers at `s+1 … s+k` (in call order) and the next turn at `s+k+1`, so a
 * resumed attempt gives an unanswered call the very seq (and idempotency key) the dead one used.
 */
export type LoopStep = { seq: number; kind: 'model_turn'; payload: ModelTurnPayload } | { seq: number; kind: 'tool_call'; payload: ToolMessage };

/** Where the loop persists its progress; each save must be durable before it resolves. */
export interface LoopCheckpoints {
  /** Steps stored by earlier attempts of this job, any order (the loop sorts by seq). */
  load(): Promise<readonly LoopStep[]>;
  saveModelTurn(seq: number, turn: ModelTurn): Promise<void>;
  /**
   * `message` is what goes back to the model; `result` is the runtime's outcome (metered from its
   * record), or null for a call the loop answered without running (nothing to meter).
   */
  saveToolResult(seq: number, message: ToolMessage, result: ToolResult | null): Promise<void>;
}

export interface AgentLoopOptions {
  model: ModelProvider;
  /** Model id sent with every request (e.g. `gpt-4o-mini`). */
  modelName: string;
  /** The job's session: tools come from getTools(session), calls go through handleToolCall. */
  session: Session;
  /** Tenant instructions; never credentials (they never reach the loop). */
  systemPrompt: string;
  input: string;
  /** Model turns allowed (≥ 1). A turn that still asks for tools when this is reached ends the run. */
  maxIterations: number;
  /** Input + output tokens allowed over all turns; 0 or undefined = unlimited. */
  tokenBudget?: number;
  /** Upper bound on reply tokens per turn (`max_completion_tokens`). */
  maxOutputTokens?: number;
  checkpoints: LoopCheckpoints;
  /** MCP idempotency key of the tool call stored at `seq` (the worker uses `<job_id>:<seq>`). */
  idempotencyKey(seq: number): string;
  /** Cancellation / timeout / shutdown: aborts the in-flight model or tool call. */
  signal?: AbortSignal;
  /** Runs before every model and tool call; throw to stop (e.g. a cancel noticed in the database). */
  beforeStep?(): Promise<void> | void;
}

export interface LoopUsage {
  input_tokens: number;
  output_tokens: number;
}

export type AgentLoopResult =
  | { ok: true; message: string; iterations: number; usage: LoopUsage }
  | { ok: false; error: { code: 'max_iterations' | 'token_budget_exceeded'; message: string }; iterations: number; usage: LoopUsage };
