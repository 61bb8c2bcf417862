import { WebhookError } from './webhook-error';

/**
 * Delays between attempts after the first (immediate) one, per API.md: 7 retries spanning
 * about 32.5 hours. `WEBHOOK_RETRY_SCHEDULE` replaces it (e.g. `1s,2s,4s` in tests).
 */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `5s,5m,30m,2h` / `1500ms` (units ms, s, m, h, d) into delays in milliseconds. */
export function parseRetrySchedule(spec: string): number[] {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new WebhookError('invalid_schedule', 'retry schedule is empty: use e.g. "5s,5m,30m,2h"');
  }
  return spec.split(',').map((raw, index) => {
    const entry = raw.trim();
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(entry);
    const unit = match?.[2];
    if (!match || unit === undefined) {
      throw new WebhookError('invalid_schedule', `retry schedule entry ${index + 1} ("${entry}") must be a number with a unit ms, s, m, h or d (e.g. "5s")`);
    }
    const ms = Math.round(Number(match[1]) * (UNIT_MS[unit] ?? 0));
    if (!Number.isSafeInteger(ms)) {
      throw new WebhookError('invalid_schedule', `retry schedule entry ${index + 1} ("${entry}") is too large`);
    }
    return ms;
  });
}

/**
 * Delay in ms before the next attempt, given how many attempts were already made: 0 attempts →
 * 0 (the first attempt is immediate), n attempts → schedule[n-1], past the end → null (give up).
 */
export function nextAttemptDelay(schedule: readonly number[], attemptsSoFar: number): number | null {
  if (!Number.isInteger(attemptsSoFar) || attemptsSoFar < 0) {
    throw new WebhookError('invalid_input', 'attemptsSoFar must be a non-negative integer');
  }
  if (attemptsSoFar === 0) return 0;
  return schedule[attemptsSoFar - 1] ?? null;
}
