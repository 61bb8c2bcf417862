/**
 * Stable codes a ToolResult carries in `error_code`. Callers branch on these, never on `error` text.
 * - server_not_in_session / tool_not_found: refused by scoping; the call never reached a server.
 * - session_closed: execute after close().
 * - invalid_arguments: arguments were not a JSON object (or not JSON at all).
 * - credentials_missing: the tenant has no usable credentials for that server; we never connected.
 * - provider_error: the tool ran and reported failure (MCP `isError`) or the server answered with a JSON-RPC error.
 * - connection_failed: the transport could not be (re)established, even after one reconnect attempt.
 * - timeout: the per-call deadline passed.  - aborted: the caller's AbortSignal fired.
 */
export const TOOL_ERROR_CODES = [
  'server_not_in_session',
  'tool_not_found',
  'session_closed',
  'invalid_arguments',
  'credentials_missing',
  'provider_error',
  'connection_failed',
  'timeout',
  'aborted',
] as const;

export type ToolErrorCode = (typeof TOOL_ERROR_CODES)[number];

/** Codes thrown (not returned) by the runtime: bad configuration or misuse, never a tool failure. */
export type RuntimeErrorCode = ToolErrorCode | 'invalid_catalog_entry' | 'unknown_server' | 'invalid_session_options' | 'runtime_closed';

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string) {
    super(message);
    this.name = 'RuntimeError';
    this.code = code;
  }
}

export function isRuntimeError(err: unknown): err is RuntimeError {
  return err instanceof RuntimeError;
}
