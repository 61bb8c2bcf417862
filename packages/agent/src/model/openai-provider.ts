import { setTimeout as delay } from 'node:timers/promises';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Logger } from '@agents/observability';
import { createAbortError, throwIfAborted } from './abort';
import { ModelError } from './model-error';
import { computeRetryDelayMs, isRetryableStatus, parseRetryAfterMs } from './retry-policy';
import type { ModelCallOptions, ModelProvider, ModelRequest, ModelTurn, ToolCall } from './types';

/** OpenAI's public endpoint; passed explicitly so the SDK never falls back to reading OPENAI_BASE_URL itself. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAIProviderOptions {
  apiKey: string;
  /** Any OpenAI-compatible endpoint ending in /v1 (e.g. the model-sandbox). Default: OpenAI's. */
  baseURL?: string;
  /** Retries after the first attempt, on 408/429/5xx/connection errors/timeouts. Default 3. */
  maxRetries?: number;
  /** Per-attempt timeout, ms. Default 60000. */
  timeoutMs?: number;
  /** Nominal first backoff, ms (doubles per retry, equal jitter). Default 500. */
  retryBaseDelayMs?: number;
  /** Cap on any single wait, including a server's Retry-After, ms. Default 30000. */
  retryMaxDelayMs?: number;
  logger: Logger;
  /** Transport override (tests, proxies). Default: global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Waits between retries; rejects when `signal` aborts. Injectable so tests need no real clock. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** [0, 1) jitter source. Default Math.random. */
  random?: () => number;
}

/** The reason an attempt failed, already stripped of anything secret. */
interface AttemptFailure {
  retryable: boolean;
  status?: number;
  providerCode?: string;
  retryAfterMs?: number;
  detail: string;
}

const MAX_DETAIL_CHARS = 500;

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch {
    throw createAbortError();
  }
}

/**
 * A ModelProvider over the official `openai` client (`chat.completions.create`). The SDK's own
 * retries are off (maxRetries 0) so that this loop owns the policy: exponential backoff with
 * jitter, honouring `retry-after-ms`/`Retry-After` (capped), logging each retry, and mapping the
 * final failure to a ModelError whose message never contains the key.
 */
export function createOpenAIProvider(opts: OpenAIProviderOptions): ModelProvider {
  const apiKey = opts.apiKey;
  if (typeof apiKey !== 'string' || apiKey.length === 0) {
    throw new ModelError('OpenAI provider needs a non-empty apiKey', { retryable: false });
  }
  const maxRetries = opts.maxRetries ?? 3;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const backoff = {
    baseDelayMs: opts.retryBaseDelayMs ?? 500,
    maxDelayMs: opts.retryMaxDelayMs ?? 30_000,
    random: opts.random ?? Math.random,
  };
  const sleep = opts.sleep ?? defaultSleep;
  const logger = opts.logger;
  const baseURL = opts.baseURL ?? OPENAI_DEFAULT_BASE_URL;

  const client = new OpenAI({
    apiKey,
    baseURL,
    // Explicit nulls stop the SDK from reading OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment.
    organization: null,
    project: null,
    webhookSecret: null,
    maxRetries: 0,
    timeout: timeoutMs,
    logLevel: 'off',
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });

  const sanitize = (text: string): string => {
    let out = text.split(apiKey).join('[redacted]');
    // Belt and braces: mask anything shaped like an OpenAI key that some proxy may have echoed.
    out = out.replace(/sk-[A-Za-z0-9_-]{6,}/g, 'sk-[redacted]');
    return out.length > MAX_DETAIL_CHARS ? `${out.slice(0, MAX_DETAIL_CHARS)}…` : out;
  };

  const classify = (err: unknown): AttemptFailure => {
    if (err instanceof APIConnectionError) {
      // Covers APIConnectionTimeoutError too: no response, so worth another try.
      return { retryable: true, detail: sanitize(err.message || 'connection error') };
    }
    if (err instanceof APIError) {
      const status = typeof err.status === 'number' ? err.status : undefined;
      const failure: AttemptFailure = {
        retryable: status === undefined ? true : isRetryableStatus(status),
        detail: sanitize(err.message || 'request failed'),
      };
      if (status !== undefined) failure.status = status;
      if (typeof err.code === 'string') failure.providerCode = err.code;
      const retryAfterMs = parseRetryAfterMs(err.headers);
      if (retryAfterMs !== undefined) failure.retryAfterMs = retryAfterMs;
      return failure;
    }
    if (err instanceof ModelError) return { retryable: err.retryable, detail: err.message };
    // Anything else (a malformed body, a bug in a fetch override) is not known to be transient.
    const message = err instanceof Error ? err.message : String(err);
    return { retryable: false, detail: sanitize(message) };
  };

  const toTurn = (res: ChatCompletion): ModelTurn => {
    const choice = res.choices?.[0];
    if (!choice || !choice.message) {
      throw new ModelError('Model response had no choices', { retryable: false });
    }
    const toolCalls: ToolCall[] = [];
    for (const tc of choice.message.tool_calls ?? []) {
      if (tc.type !== 'function') continue;
      toolCalls.push({ id: tc.id, type: 'function', function: { name: tc.function.name, arguments: tc.function.arguments } });
    }
    const message: ModelTurn['message'] = { role: 'assistant', content: choice.message.content ?? null };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return {
      message,
      finishReason: choice.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
    };
  };

  const complete = async (req: ModelRequest, callOpts?: ModelCallOptions): Promise<ModelTurn> => {
    const signal = callOpts?.signal;
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: req.model,
      messages: req.messages,
      ...(req.tools && req.tools.length > 0 ? { tools: req.tools } : {}),
      ...(req.maxOutputTokens !== undefined ? { max_completion_tokens: req.maxOutputTokens } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      let res: ChatCompletion;
      try {
        res = await client.chat.completions.create(body, {
          ...(signal ? { signal } : {}),
          maxRetries: 0,
          timeout: timeoutMs,
        });
      } catch (err) {
        if (err instanceof APIUserAbortError || signal?.aborted) throw createAbortError();
        const failure = classify(err);
        const attempts = attempt + 1;
        if (!failure.retryable || attempt >= maxRetries) {
          const statusText = failure.status !== undefined ? ` (HTTP ${failure.status})` : '';
          const opts: { retryable: boolean; status?: number; providerCode?: string } = { retryable: failure.retryable };
          if (failure.status !== undefined) opts.status = failure.status;
          if (failure.providerCode !== undefined) opts.providerCode = failure.providerCode;
          throw new ModelError(`Model request failed${statusText} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${failure.detail}`, opts);
        }
        const delayMs = computeRetryDelayMs(attempt, failure.retryAfterMs, backoff);
        logger.warn({ attempt: attempts, status: failure.status, provider_code: failure.providerCode, delay_ms: delayMs }, 'model request failed; retrying');
        await sleep(delayMs, signal);
        continue;
      }
      return toTurn(res);
    }
  };

  return { id: 'openai', complete };
}
