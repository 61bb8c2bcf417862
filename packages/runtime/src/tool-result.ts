import { McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const MAX_ERROR_CHARS = 1000;

export interface CallOutcome {
  success: boolean;
  data: unknown;
  error: string | null;
}

function firstText(content: unknown): string | null {
  if (!Array.isArray(content)) return null;
  for (const c of content) {
    if (c && typeof c === 'object' && (c as { type?: unknown }).type === 'text') {
      const text = (c as { text?: unknown }).text;
      if (typeof text === 'string') return text;
    }
  }
  return null;
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * `data` = structuredContent when present, else the first text content parsed as JSON, else that
 * text, else null. A tool that reported `isError` keeps its error object in `data` and a short
 * message in `error`.
 */
export function outcomeFromCallResult(result: Record<string, unknown>): CallOutcome {
  const text = firstText(result.content);
  const structured = result.structuredContent;
  const data = structured !== undefined && structured !== null ? structured : text !== null ? parseMaybeJson(text) : null;
  if (result.isError === true) {
    return { success: false, data, error: errorMessageFrom(data, text) };
  }
  return { success: true, data, error: null };
}

function errorMessageFrom(data: unknown, text: string | null): string {
  let msg: string | null = null;
  if (data && typeof data === 'object') {
    const d = data as Record<string, unknown>;
    const inner = d.error && typeof d.error === 'object' ? (d.error as Record<string, unknown>) : d;
    const code = typeof inner.code === 'string' ? inner.code : null;
    const message = typeof inner.message === 'string' ? inner.message : typeof d.error === 'string' ? d.error : null;
    if (message || code) msg = [code, message].filter(Boolean).join(': ');
  }
  msg ??= text ?? 'tool reported an error';
  return msg.length > MAX_ERROR_CHARS ? `${msg.slice(0, MAX_ERROR_CHARS)}…` : msg;
}

export type CallErrorKind = 'timeout' | 'aborted' | 'transport' | 'protocol';

/**
 * Sort a thrown callTool error. `transport` means the request may not have reached a live server
 * session (connection refused/reset, HTTP error status such as 404 "session not found" after a
 * restart, child process gone) — worth one reconnect. `protocol` means the server answered with a
 * JSON-RPC error — it is alive, so it is reported as the provider's failure.
 */
export function classifyCallError(err: unknown, signal?: AbortSignal): CallErrorKind {
  if (signal?.aborted) return 'aborted';
  if (err instanceof McpError) {
    if (err.code === ErrorCode.RequestTimeout) return 'timeout';
    if (err.code === ErrorCode.ConnectionClosed) return 'transport';
    return 'protocol';
  }
  if (err instanceof StreamableHTTPError) return 'transport';
  return 'transport';
}

export function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > MAX_ERROR_CHARS ? `${msg.slice(0, MAX_ERROR_CHARS)}…` : msg;
}
