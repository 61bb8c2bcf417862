import { randomUUID } from 'node:crypto';
import type { ChatMessage, ModelRequest, ModelTurn, ToolDefinition } from '@agents/agent';

/** OpenAI's error envelope, so the `openai` client maps our errors to its own classes. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(message: string, type: string, code: string | null = null, param: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

export function errorTypeForStatus(status: number): { type: string; code: string | null } {
  if (status === 429) return { type: 'rate_limit_error', code: 'rate_limit_exceeded' };
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status >= 500) return { type: 'server_error', code: null };
  return { type: 'invalid_request_error', code: null };
}

export class RequestValidationError extends Error {
  readonly code = 'invalid_request' as const;
  constructor(
    message: string,
    readonly param: string | null,
  ) {
    super(message);
    this.name = 'RequestValidationError';
  }
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

/** Validates the Chat Completions body just enough to fail like OpenAI would on shape errors. */
export function toModelRequest(body: unknown): ModelRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestValidationError('Request body must be a JSON object', null);
  }
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model.length === 0) throw new RequestValidationError('model is required', 'model');
  if (b.stream === true) throw new RequestValidationError('stream: true is not supported by the model-sandbox', 'stream');
  if (!Array.isArray(b.messages) || b.messages.length === 0) {
    throw new RequestValidationError('messages must be a non-empty array', 'messages');
  }
  b.messages.forEach((m, i) => {
    const role = m && typeof m === 'object' ? (m as { role?: unknown }).role : undefined;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw new RequestValidationError(`messages[${i}].role must be one of ${[...ROLES].join(', ')}`, `messages[${i}].role`);
    }
  });
  if (b.tools !== undefined && !Array.isArray(b.tools)) throw new RequestValidationError('tools must be an array', 'tools');
  const maxTokens = b.max_completion_tokens ?? b.max_tokens;
  const req: ModelRequest = { model: b.model, messages: b.messages as ChatMessage[] };
  if (Array.isArray(b.tools) && b.tools.length > 0) req.tools = b.tools as ToolDefinition[];
  if (typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0) req.maxOutputTokens = maxTokens;
  return req;
}

/** A non-streaming `chat.completion` object. `created` is unix seconds. */
export function toChatCompletion(model: string, turn: ModelTurn, nowMs: number) {
  const message: Record<string, unknown> = { role: 'assistant', content: turn.message.content, refusal: null };
  if (turn.message.tool_calls && turn.message.tool_calls.length > 0) message.tool_calls = turn.message.tool_calls;
  return {
    id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
    object: 'chat.completion' as const,
    created: Math.floor(nowMs / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: turn.finishReason, logprobs: null }],
    usage: {
      prompt_tokens: turn.usage.inputTokens,
      completion_tokens: turn.usage.outputTokens,
      total_tokens: turn.usage.inputTokens + turn.usage.outputTokens,
    },
  };
}
