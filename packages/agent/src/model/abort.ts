/**
 * Aborts surface as an error named 'AbortError' (the DOM/undici convention) rather than a
 * ModelError: the caller cancelled, the model did not fail, so nothing should be retried or billed
 * as a model failure.
 */
export function createAbortError(message = 'The model request was aborted'): Error {
  const err = new Error(message);
  err.name = 'AbortError';
  return err;
}

export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw createAbortError();
}
