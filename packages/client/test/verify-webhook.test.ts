import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WebhookVerificationError, verifyWebhook } from '@agents/client';

const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;
const event = { id: 'evt_1', type: 'job.succeeded', created_at: '2026-01-01T00:00:00Z', data: { id: 'job_1', status: 'succeeded' } };
const BODY = JSON.stringify(event);
const NOW = new Date('2026-03-01T12:00:00Z');

/** Signs with the reference library (the independent implementation we must interoperate with). */
function signed(secret: string, body = BODY, at: Date = NOW, id = 'evt_1'): Record<string, string> {
  const signature = new Webhook(secret).sign(id, at, body);
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof WebhookVerificationError ? err.code : 'not-a-WebhookVerificationError';
  }
  return undefined;
}

describe('verifyWebhook', () => {
  it('verifies what standardwebhooks signs and returns the event', () => {
    const secret = newSecret();
    expect(verifyWebhook(secret, signed(secret), BODY, { now: NOW })).toEqual(event);
  });

  it('accepts a Buffer body, any header case and array header values', () => {
    const secret = newSecret();
    const h = signed(secret);
    const headers = {
      'Webhook-Id': [h['webhook-id'] as string],
      'WEBHOOK-TIMESTAMP': h['webhook-timestamp'],
      'webhook-signature': h['webhook-signature'],
    };
    expect(verifyWebhook(secret, headers, Buffer.from(BODY), { now: NOW.getTime() })).toEqual(event);
  });

  it('accepts when any of several space-separated signatures matches (secret rotation)', () => {
    const oldSecret = newSecret();
    const rotated = newSecret();
    const sig = `${signed(rotated)['webhook-signature']} ${signed(oldSecret)['webhook-signature']}`;
    const headers = { ...signed(oldSecret), 'webhook-signature': sig };
    expect(verifyWebhook(oldSecret, headers, BODY, { now: NOW })).toEqual(event);
    expect(verifyWebhook(rotated, headers, BODY, { now: NOW })).toEqual(event);
    expect(codeOf(() => verifyWebhook(newSecret(), headers, BODY, { now: NOW }))).toBe('invalid_signature');
  });

  it('ignores other signature schemes', () => {
    const secret = newSecret();
    const h = signed(secret);
    const v1a = { ...h, 'webhook-signature': `v1a,${h['webhook-signature']?.slice(3)}` };
    expect(codeOf(() => verifyWebhook(secret, v1a, BODY, { now: NOW }))).toBe('invalid_signature');
  });

  it('verifies a known vector (the one our signer has produced since before the library)', () => {
    const body = '{"test": 2432232314}';
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const at = new Date(1614265330 * 1000);
    expect(verifyWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, body, { now: at })).toEqual({ test: 2432232314 });
    // Tampered body, stale timestamp, wrong secret: each refused with its code.
    expect(codeOf(() => verifyWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, '{"test": 2432232315}', { now: at }))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, body, { now: at.getTime() + 301_000 }))).toBe(
      'timestamp_out_of_tolerance',
    );
    expect(codeOf(() => verifyWebhook(newSecret(), headers, body, { now: at }))).toBe('invalid_signature');
  });

  it('rejects a tampered body', () => {
    const secret = newSecret();
    const tampered = BODY.replace('succeeded', 'failed');
    expect(codeOf(() => verifyWebhook(secret, signed(secret), tampered, { now: NOW }))).toBe('invalid_signature');
  });

  it('rejects a changed id or timestamp', () => {
    const secret = newSecret();
    const h = signed(secret);
    expect(codeOf(() => verifyWebhook(secret, { ...h, 'webhook-id': 'evt_2' }, BODY, { now: NOW }))).toBe('invalid_signature');
    const shifted = String(Number(h['webhook-timestamp']) + 1);
    expect(codeOf(() => verifyWebhook(secret, { ...h, 'webhook-timestamp': shifted }, BODY, { now: NOW }))).toBe('invalid_signature');
  });

  it('rejects the wrong secret', () => {
    expect(codeOf(() => verifyWebhook(newSecret(), signed(newSecret()), BODY, { now: NOW }))).toBe('invalid_signature');
  });

  it('rejects stale and future timestamps beyond 5 minutes, accepts within', () => {
    const secret = newSecret();
    const at = (offsetSeconds: number): Date => new Date(NOW.getTime() + offsetSeconds * 1000);
    expect(codeOf(() => verifyWebhook(secret, signed(secret, BODY, at(-301)), BODY, { now: NOW }))).toBe('timestamp_out_of_tolerance');
    expect(codeOf(() => verifyWebhook(secret, signed(secret, BODY, at(301)), BODY, { now: NOW }))).toBe('timestamp_out_of_tolerance');
    expect(verifyWebhook(secret, signed(secret, BODY, at(-300)), BODY, { now: NOW })).toEqual(event);
    expect(verifyWebhook(secret, signed(secret, BODY, at(300)), BODY, { now: NOW })).toEqual(event);
    expect(codeOf(() => verifyWebhook(secret, signed(secret, BODY, at(-60)), BODY, { now: NOW, toleranceSeconds: 30 }))).toBe('timestamp_out_of_tolerance');
  });

  it('uses the real clock by default', () => {
    const secret = newSecret();
    expect(verifyWebhook(secret, signed(secret, BODY, new Date()), BODY)).toEqual(event);
  });

  it('reports missing headers', () => {
    const secret = newSecret();
    const h = signed(secret);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const partial: Record<string, string | undefined> = { ...h, [name]: undefined };
      expect(codeOf(() => verifyWebhook(secret, partial, BODY, { now: NOW }))).toBe('missing_headers');
    }
  });

  it('rejects a malformed timestamp and a malformed secret', () => {
    const secret = newSecret();
    expect(codeOf(() => verifyWebhook(secret, { ...signed(secret), 'webhook-timestamp': '12.5' }, BODY, { now: NOW }))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook('whsec_!!', signed(secret), BODY, { now: NOW }))).toBe('invalid_secret');
    expect(codeOf(() => verifyWebhook('whsec_=', signed(secret), BODY, { now: NOW }))).toBe('invalid_secret');
  });
});
