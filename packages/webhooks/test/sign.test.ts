import { Webhook } from 'standardwebhooks';
import { DEFAULT_RETRY_SCHEDULE, WebhookError, generateWebhookSecret, nextAttemptDelay, parseRetrySchedule, signPayload } from '@agents/webhooks';

const BODY = JSON.stringify({ id: 'evt_1', type: 'job.succeeded', created_at: '2026-01-01T00:00:00Z', data: { id: 'job_1' } });
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof WebhookError ? err.code : 'not-a-WebhookError';
  }
  return undefined;
}

describe('generateWebhookSecret', () => {
  it('is whsec_ + base64 of 24 random bytes', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(24);
    expect(generateWebhookSecret()).not.toBe(a);
  });
});

describe('signPayload', () => {
  it('produces headers the standardwebhooks reference library verifies', () => {
    const secret = generateWebhookSecret();
    const headers = signPayload({ id: 'evt_1', timestamp: nowSeconds(), body: BODY, secrets: [secret] });
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(BODY, { ...headers })).toEqual(JSON.parse(BODY));
  });

  it('signs with both secrets during rotation; each one alone verifies', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const headers = signPayload({ id: 'evt_2', timestamp: nowSeconds(), body: BODY, secrets: [newSecret, oldSecret] });
    const parts = headers['webhook-signature'].split(' ');
    expect(parts).toHaveLength(2);
    expect(new Webhook(newSecret).verify(BODY, { ...headers })).toBeTruthy();
    expect(new Webhook(oldSecret).verify(BODY, { ...headers })).toBeTruthy();
    expect(() => new Webhook(generateWebhookSecret()).verify(BODY, { ...headers })).toThrow();
  });

  it('is deterministic and matches the Standard Webhooks test vector', () => {
    // Vector from the Standard Webhooks reference library's tests.
    const headers = signPayload({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    });
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs byte-identically to the hand-written HMAC it replaced (non-ASCII body, two secrets)', () => {
    // Expected header captured from the previous node:crypto implementation before the switch.
    const body = JSON.stringify({
      id: 'evt_01J',
      type: 'job.succeeded',
      created_at: '2026-12-07T16:00:00.000Z',
      data: { id: 'job_9', output: { note: 'Pedido nº 1001 — ação concluída ✓' } },
    });
    const headers = signPayload({
      id: 'evt_01J',
      timestamp: 1796659200,
      body,
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD'],
    });
    expect(headers).toEqual({
      'webhook-id': 'evt_01J',
      'webhook-timestamp': '1796659200',
      'webhook-signature': 'v1,T3E8aimMMOQuvgx12r77cvw0xI/dTGv9vfZtXgZd+xU= v1,5RFHJghkf25WgFZqYkuWU+u3jZEn8GiVyEuWloDSfQs=',
    });
  });

  it('keys on the secret bytes whether or not the whsec_ prefix is given', () => {
    const secret = generateWebhookSecret();
    const input = { id: 'evt_3', timestamp: 1796659200, body: BODY };
    expect(signPayload({ ...input, secrets: [secret.slice(6)] })).toEqual(signPayload({ ...input, secrets: [secret] }));
  });

  it('refuses ids with a dot, non-integer timestamps and missing secrets', () => {
    const secret = generateWebhookSecret();
    expect(codeOf(() => signPayload({ id: 'evt.1', timestamp: 1, body: '', secrets: [secret] }))).toBe('invalid_input');
    expect(codeOf(() => signPayload({ id: 'evt_1', timestamp: 1.5, body: '', secrets: [secret] }))).toBe('invalid_input');
    expect(codeOf(() => signPayload({ id: 'evt_1', timestamp: 2 ** 52, body: '', secrets: [secret] }))).toBe('invalid_input');
    expect(codeOf(() => signPayload({ id: 'evt_1', timestamp: 1, body: '', secrets: [] }))).toBe('invalid_secret');
    expect(codeOf(() => signPayload({ id: 'evt_1', timestamp: 1, body: '', secrets: ['whsec_'] }))).toBe('invalid_secret');
  });
});

describe('retry schedule', () => {
  it('parses the default schedule to ms', () => {
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });

  it('accepts ms, whitespace and fractions', () => {
    expect(parseRetrySchedule('1500ms, 1s ,2s,0.5m')).toEqual([1500, 1000, 2000, 30_000]);
  });

  it.each(['', '5', '5x', '5s,,5m', '-1s', 's', '5 s'])('rejects %j', (spec) => {
    expect(codeOf(() => parseRetrySchedule(spec))).toBe('invalid_schedule');
  });

  it('gives the next delay: immediate first, then the schedule, then null', () => {
    const schedule = parseRetrySchedule('1s,2s,4s');
    expect(nextAttemptDelay(schedule, 0)).toBe(0);
    expect(nextAttemptDelay(schedule, 1)).toBe(1000);
    expect(nextAttemptDelay(schedule, 2)).toBe(2000);
    expect(nextAttemptDelay(schedule, 3)).toBe(4000);
    expect(nextAttemptDelay(schedule, 4)).toBeNull();
  });
});
