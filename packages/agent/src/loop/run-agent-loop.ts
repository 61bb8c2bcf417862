import { getTools, handleToolCall, toToolMessage, withCallSignal } from '@agents/runtime';
import { createAbortError } from '../model/abort';
import type { ChatMessage, ModelTurn, ToolDefinition } from '../model/types';
import { answersInCallOrder, nextTurnSeq, replaySteps, unansweredCalls } from './replay';
import type { OpenTurn } from './replay';
import { MAX_TOOL_CALLS_PER_TURN } from './types';
import type { AgentLoopOptions, AgentLoopResult, LoopUsage } from './types';

/** The answer to a call past MAX_TOOL_CALLS_PER_TURN: it was not run, and the model is told why. */
const notRun = {
  success: false,
  data: null,
  error: `Not run: at most ${MAX_TOOL_CALLS_PER_TURN} tool calls are run per reply; ask for the rest in the next one.`,
  error_code: 'too_many_tool_calls',
};

function toPayload(turn: ModelTurn): OpenTurn['payload'] {
  return {
    message: turn.message,
    finish_reason: turn.finishReason,
    usage: { input_tokens: turn.usage.inputTokens, output_tokens: turn.usage.outputTokens },
  };
}

/**
 * The agent loop on Chat Completions with tools: ask the model, run the tool calls it asks for (in
 * order, each answered by a tool message), repeat until it answers without tools. Every model turn
 * and every tool result is checkpointed before the loop moves on; a run started over the same
 * checkpoints resumes where the last one stopped and never executes a stored tool call again.
 *
 * Ends with a result for outcomes a retry cannot change (`max_iterations`,
 * `token_budget_exceeded`); throws for everything else: ModelError (the caller decides whether to
 * retry), an AbortError when `signal` fired, or whatever `beforeStep` throws.
 */
export async function runAgentLoop(opts: AgentLoopOptions): Promise<AgentLoopResult> {
  const maxIterations = Math.max(1, Math.floor(opts.maxIterations));
  const budget = opts.tokenBudget && opts.tokenBudget > 0 ? opts.tokenBudget : Infinity;
  const state = replaySteps(opts.systemPrompt, opts.input, await opts.checkpoints.load());
  const messages: ChatMessage[] = state.messages;
  const usage: LoopUsage = state.usage;
  let iterations = state.iterations;
  let turn: OpenTurn | undefined = state.last;
  let tools: ToolDefinition[] | undefined;

  const spent = () => usage.input_tokens + usage.output_tokens;
  const stop = (code: 'max_iterations' | 'token_budget_exceeded', message: string): AgentLoopResult => ({
    ok: false,
    error: { code, message },
    iterations,
    usage: { ...usage },
  });
  const throwIfAborted = () => {
    if (opts.signal?.aborted) throw createAbortError('The agent run was aborted');
  };

  for (;;) {
    if (turn) {
      const calls = turn.payload.message.tool_calls ?? [];
      if (calls.length === 0) {
        return { ok: true, message: turn.payload.message.content ?? '', iterations, usage: { ...usage } };
      }
      // Tools asked for in the last allowed turn are not run: no model would ever see their results.
      if (iterations >= maxIterations) {
        return stop('max_iterations', `The model was still calling tools after ${maxIterations} iteration${maxIterations === 1 ? '' : 's'}.`);
      }
      if (spent() > budget) {
        return stop('token_budget_exceeded', `The job used ${spent()} model tokens, over its budget of ${budget}.`);
      }
      for (const { call, seq, index } of unansweredCalls(turn)) {
        if (index >= MAX_TOOL_CALLS_PER_TURN) {
          const refused = toToolMessage(call, notRun);
          await opts.checkpoints.saveToolResult(seq, refused, null);
          turn.answers.set(call.id, refused);
          continue;
        }
        await opts.beforeStep?.();
        throwIfAborted();
        const result = await withCallSignal(opts.signal, (signal) =>
          handleToolCall(opts.session, call, { idempotencyKey: opts.idempotencyKey(seq), ...(signal ? { signal } : {}) }),
        );
        // An aborted call is not an answer: leave it unstored so a resumed run re-sends it (same key).
        if (opts.signal?.aborted || result.error_code === 'aborted') throw createAbortError('The agent run was aborted during a tool call');
        const message = toToolMessage(call, result);
        await opts.checkpoints.saveToolResult(seq, message, result);
        turn.answers.set(call.id, message);
      }
      messages.push(...answersInCallOrder(turn));
    }

    await opts.beforeStep?.();
    throwIfAborted();
    if (spent() >= budget) {
      return stop('token_budget_exceeded', `The job used ${spent()} model tokens, its budget is ${budget}.`);
    }
    tools ??= await getTools(opts.session);
    const request = {
      model: opts.modelName,
      messages: [...messages],
      ...(tools.length ? { tools } : {}),
      ...(opts.maxOutputTokens !== undefined ? { maxOutputTokens: opts.maxOutputTokens } : {}),
    };
    const reply = await withCallSignal(opts.signal, (signal) => opts.model.complete(request, signal ? { signal } : {}));
    const seq = turn ? nextTurnSeq(turn.seq, turn.payload.message.tool_calls?.length ?? 0) : 0;
    await opts.checkpoints.saveModelTurn(seq, reply);
    iterations++;
    usage.input_tokens += reply.usage.inputTokens;
    usage.output_tokens += reply.usage.outputTokens;
    messages.push(reply.message);
    turn = { seq, payload: toPayload(reply), answers: new Map() };
  }
}
