import { computeRetryDelayMs, isRetryableStatus, parseRetryAfterMs } from '@agents/agent';

const h = (init: Record<string, string>) => new Headers(init);

describe('retry policy', () => {
  it('retries 408, 429 and 5xx only', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 422].some(isRetryableStatus)).toBe(false);
  });

  it('parses retry-after-ms, retry-after seconds and HTTP dates', () => {
    expect(parseRetryAfterMs(h({ 'retry-after-ms': '1500.5' }))).toBe(1500.5);
    expect(parseRetryAfterMs(h({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfterMs(h({ 'retry-after-ms': 'junk', 'retry-after': '1' }))).toBe(1000);
    const now = Date.parse('2026-11-28T07:00:00Z');
    expect(parseRetryAfterMs(h({ 'retry-after': 'Sat, 28 Nov 2026 07:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfterMs(h({ 'retry-after': 'Sat, 28 Nov 2026 06:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfterMs(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfterMs(h({ 'retry-after': '-1' }))).toBeUndefined();
    expect(parseRetryAfterMs(h({}))).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
  });

  it('honours a server delay up to the cap, else backs off exponentially with equal jitter', () => {
    const opts = { baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0 };
    expect(computeRetryDelayMs(0, 2000, opts)).toBe(2000);
    expect(computeRetryDelayMs(0, 90_000, opts)).toBe(30_000);
    expect([0, 1, 2, 3].map((n) => computeRetryDelayMs(n, undefined, opts))).toEqual([250, 500, 1000, 2000]);
    const top = { ...opts, random: () => 0.999999 };
    expect(computeRetryDelayMs(1, undefined, top)).toBe(1000);
    expect(computeRetryDelayMs(20, undefined, top)).toBe(30_000);
  });
});
