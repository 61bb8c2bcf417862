import { createHash } from 'node:crypto';

/**
 * Deterministic fault injection for clients' retry tests (a test double at a process boundary).
 * Two ways to ask for failures:
 *  - queued: `POST /_sandbox/failures {"statuses":[429,500], "retry_after_s"?: n, "retry_after_ms"?: n}`
 *    makes the next K chat-completion requests (any conversation) fail in that order;
 *  - per request: header `x-scripted-fail: 429,500` (+ optional `x-scripted-retry-after: <s>`) makes
 *    the first attempts of *that exact request body* fail in order, then succeed — a client that
 *    retries the same body sees 429, then 500, then the real answer.
 */
export interface InjectedFailure {
  status: number;
  /** Sent as `retry-after` (seconds) when set. */
  retryAfterS?: number;
  /** Sent as `retry-after-ms` when set. */
  retryAfterMs?: number;
}

export interface FailureInjector {
  enqueue(failures: InjectedFailure[]): void;
  /** The failure to serve for this request, if any; consumes it. */
  take(headers: { fail?: string | undefined; retryAfter?: string | undefined }, rawBody: string): InjectedFailure | undefined;
  reset(): void;
  pending(): number;
}

/** Parses "429,500" into statuses; invalid entries are ignored (only 400–599 can be injected). */
export function parseStatusList(value: string): number[] {
  return value
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n >= 400 && n <= 599);
}

export function createFailureInjector(): FailureInjector {
  let queue: InjectedFailure[] = [];
  // Attempts seen per (header value, request body); bounded by the number of distinct requests a test sends.
  const attemptsByKey = new Map<string, number>();

  return {
    enqueue(failures) {
      queue.push(...failures);
    },
    take(headers, rawBody) {
      const queued = queue.shift();
      if (queued) return queued;
      if (!headers.fail) return undefined;
      const statuses = parseStatusList(headers.fail);
      if (statuses.length === 0) return undefined;
      const key = createHash('sha256').update(headers.fail).update('\0').update(rawBody).digest('hex');
      const n = attemptsByKey.get(key) ?? 0;
      attemptsByKey.set(key, n + 1);
      const status = statuses[n];
      if (status === undefined) return undefined;
      const failure: InjectedFailure = { status };
      const ra = headers.retryAfter !== undefined ? Number(headers.retryAfter) : NaN;
      if (Number.isFinite(ra) && ra >= 0) failure.retryAfterS = ra;
      return failure;
    },
    reset() {
      queue = [];
      attemptsByKey.clear();
    },
    pending() {
      return queue.length;
    },
  };
}
