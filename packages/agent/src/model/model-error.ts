/**
 * The one error a ModelProvider throws for a failed completion (besides an AbortError when the
 * caller's signal fired). `retryable` tells the agent loop whether a later attempt of the whole job
 * could succeed (rate limit, 5xx, network) or not (bad request, auth). The message is built from
 * sanitized text only: it never contains the API key.
 */
export class ModelError extends Error {
  readonly code = 'model_error' as const;
  readonly retryable: boolean;
  /** HTTP status of the last attempt, when there was a response. */
  readonly status?: number;
  /** The provider's own error code when it sent one (e.g. `rate_limit_exceeded`, `context_length_exceeded`). */
  readonly providerCode?: string;

  constructor(message: string, opts: { retryable: boolean; status?: number; providerCode?: string }) {
    super(message);
    this.name = 'ModelError';
    this.retryable = opts.retryable;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.providerCode !== undefined) this.providerCode = opts.providerCode;
  }
}

export function isModelError(err: unknown): err is ModelError {
  return err instanceof ModelError;
}
