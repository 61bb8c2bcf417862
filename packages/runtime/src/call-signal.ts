/**
 * Runs `fn` with a signal of its own that follows `parent`. Clients may leave their abort listener
 * on the signal they are given (the openai SDK does, once per request); on a job-long signal that
 * piles up one listener per model call. A per-call signal takes those with it when the call ends.
 */
export async function withCallSignal<T>(parent: AbortSignal | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!parent) return fn(undefined);
  const controller = new AbortController();
  const forward = () => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  try {
    return await fn(controller.signal);
  } finally {
    parent.removeEventListener('abort', forward);
  }
}
