/**
 * When and how long to wait before retrying a model call. Pure functions so the policy is testable
 * without a clock.
 */

/** 408 (request timeout), 429 (rate limit) and every 5xx are transient; other 4xx are the caller's fault. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The server's requested wait in ms, from `retry-after-ms` (OpenAI's, fractional ms) or
 * `retry-after` (seconds, or an HTTP date). Undefined when absent or unparseable.
 * `now` is epoch ms, only used for the HTTP-date form.
 */
export function parseRetryAfterMs(headers: { get(name: string): string | null } | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface BackoffOptions {
  /** First retry's nominal delay, ms. */
  baseDelayMs: number;
  /** Ceiling for any single wait, including a server-requested one, ms. */
  maxDelayMs: number;
  /** [0, 1) source for jitter; injectable so tests are deterministic. */
  random: () => number;
}

/**
 * Delay before retry number `retry` (0 = first retry). A server-requested delay is honoured
 * exactly (capped at maxDelayMs); otherwise exponential backoff base·2^retry with "equal jitter"
 * (half fixed, half random) so synchronized clients spread out without ever retrying instantly.
 */
export function computeRetryDelayMs(retry: number, retryAfterMs: number | undefined, opts: BackoffOptions): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), opts.maxDelayMs);
  const nominal = Math.min(opts.baseDelayMs * 2 ** retry, opts.maxDelayMs);
  return Math.round(nominal / 2 + (nominal / 2) * opts.random());
}
