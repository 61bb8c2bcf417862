/**
 * Inbound provider webhook verification and normalisation (pure functions; the end-to-end flow is
 * apps/worker/test/automations.e2e.test.ts). Signatures are computed here independently with
 * node:crypto, per each provider's documented scheme.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual, normaliseProviderEvent, verifyAsaasToken, verifyMelhorEnvioSignature, verifyProviderWebhook, verifyStripeSignature } from '../src';

const SECRET = 'whsec_unit_test_secret_0001';
const NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);
const T = Math.floor(NOW_MS / 1000);
const body = Buffer.from('{"id":"evt_1","type":"payment_intent.succeeded"}');
const v1 = (secret: string, t: number, b: Buffer = body) => createHmac('sha256', secret).update(`${t}.${b.toString()}`).digest('hex');

describe('Stripe-Signature', () => {
  const check = (header: string | undefined, nowMs = NOW_MS) => verifyStripeSignature({ header, rawBody: body, secret: SECRET, nowMs });

  test('accepts a good v1, also among several (secret roll) and beside v0', () => {
    expect(check(`t=${T},v1=${v1(SECRET, T)}`)).toEqual({ ok: true });
    expect(check(`t=${T},v1=${v1('whsec_old', T)},v1=${v1(SECRET, T)},v0=abc`)).toEqual({ ok: true });
  });

  test('refuses a missing, malformed or wrong signature', () => {
    expect(check(undefined)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(check('v1=abc')).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(check(`t=${T}`)).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(check(`t=${T},v1=${v1('whsec_other', T)}`)).toEqual({ ok: false, reason: 'bad_signature' });
    // The signed timestamp is part of the MAC: changing t breaks it.
    expect(check(`t=${T + 1},v1=${v1(SECRET, T)}`)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  test('5-minute tolerance, both ways', () => {
    expect(check(`t=${T - 300},v1=${v1(SECRET, T - 300)}`)).toEqual({ ok: true });
    expect(check(`t=${T - 301},v1=${v1(SECRET, T - 301)}`)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check(`t=${T + 301},v1=${v1(SECRET, T + 301)}`)).toEqual({ ok: false, reason: 'stale_timestamp' });
  });
});

test('Asaas access token and Melhor Envio X-ME-Signature', () => {
  expect(verifyAsaasToken({ header: 'token-0001', secret: 'token-0001' })).toEqual({ ok: true });
  expect(verifyAsaasToken({ header: 'token-0002', secret: 'token-0001' })).toEqual({ ok: false, reason: 'bad_signature' });
  expect(verifyAsaasToken({ header: 'token-00011', secret: 'token-0001' })).toEqual({ ok: false, reason: 'bad_signature' });
  expect(verifyAsaasToken({ header: undefined, secret: 'token-0001' })).toEqual({ ok: false, reason: 'missing_signature' });
  const sig = createHmac('sha256', 'me-secret').update(body).digest('base64');
  expect(verifyMelhorEnvioSignature({ header: sig, rawBody: body, secret: 'me-secret' })).toEqual({ ok: true });
  expect(verifyMelhorEnvioSignature({ header: sig, rawBody: Buffer.from(`${body} `), secret: 'me-secret' })).toEqual({ ok: false, reason: 'bad_signature' });
  // The dispatcher reads each provider's own header.
  const headers: Record<string, string> = { 'x-me-signature': sig };
  expect(verifyProviderWebhook({ server: 'melhor-envio', header: (n) => headers[n], rawBody: body, secret: 'me-secret', nowMs: NOW_MS })).toEqual({ ok: true });
  expect(verifyProviderWebhook({ server: 'asaas', header: (n) => headers[n], rawBody: body, secret: 'me-secret', nowMs: NOW_MS }).ok).toBe(false);
  expect(constantTimeEqual('a', 'a')).toBe(true);
  expect(constantTimeEqual('a', 'ab')).toBe(false);
});

describe('normalisation to payment.confirmed', () => {
  const asaas = (event: string, id: string) => ({
    id,
    event,
    dateCreated: '2026-11-28 09:00:00',
    payment: { id: 'pay_000007', value: 150.5, billingType: 'CREDIT_CARD', customer: 'cus_000003', externalReference: 'A-1', description: null },
  });

  test('Asaas CONFIRMED and RECEIVED of one payment share the payment key; other events trigger nothing', () => {
    const c = normaliseProviderEvent('asaas', 'live', asaas('PAYMENT_CONFIRMED', 'evt_1'), NOW_MS);
    const r = normaliseProviderEvent('asaas', 'live', asaas('PAYMENT_RECEIVED', 'evt_2'), NOW_MS);
    if (!c.ok || !r.ok) throw new Error('expected both to normalise');
    expect(c.paymentKey).toBe('asaas:pay_000007');
    expect(r.paymentKey).toBe(c.paymentKey);
    expect(c.event).toEqual({
      id: 'evt_1',
      type: 'payment.confirmed',
      provider: 'asaas',
      environment: 'live',
      provider_event_type: 'PAYMENT_CONFIRMED',
      occurred_at: new Date(NOW_MS).toISOString(),
      payment_id: 'pay_000007',
      amount: 150.5,
      amount_minor: 15050,
      currency: 'BRL',
      method: 'CREDIT_CARD',
      customer_id: 'cus_000003',
      customer: { id: 'cus_000003', email: null, name: null },
      description: null,
      external_reference: 'A-1',
      metadata: {},
    });
    const created = normaliseProviderEvent('asaas', 'live', asaas('PAYMENT_CREATED', 'evt_3'), NOW_MS);
    expect(created).toMatchObject({ ok: true, providerEventId: 'evt_3', event: null, paymentKey: null });
  });

  test('Stripe: minor units, zero-decimal currencies, non-payment events, malformed bodies', () => {
    const ev = (type: string, object: object) => ({ id: 'evt_s', type, created: T, data: { object } });
    const brl = normaliseProviderEvent('stripe', 'test', ev('payment_intent.succeeded', { id: 'pi_1', amount: 999, currency: 'brl' }), NOW_MS);
    expect(brl).toMatchObject({
      ok: true,
      paymentKey: 'stripe:pi_1',
      event: { amount: 9.99, amount_minor: 999, currency: 'BRL', occurred_at: new Date(T * 1000).toISOString() },
    });
    const jpy = normaliseProviderEvent('stripe', 'test', ev('payment_intent.succeeded', { id: 'pi_2', amount: 500, currency: 'jpy' }), NOW_MS);
    expect(jpy).toMatchObject({ ok: true, event: { amount: 500, amount_minor: 500, currency: 'JPY' } });
    const unpaid = normaliseProviderEvent(
      'stripe',
      'test',
      ev('checkout.session.completed', { id: 'cs_1', payment_status: 'unpaid', amount_total: 10 }),
      NOW_MS,
    );
    expect(unpaid).toMatchObject({ ok: true, event: null, paymentKey: null });
    expect(normaliseProviderEvent('stripe', 'test', { type: 'x' }, NOW_MS).ok).toBe(false);
    expect(normaliseProviderEvent('stripe', 'test', [], NOW_MS).ok).toBe(false);
  });

  test('Melhor Envio events get a derived id (the API sends none)', () => {
    expect(normaliseProviderEvent('melhor-envio', 'live', { event: 'order.posted', data: { id: 'o-1' } }, NOW_MS)).toEqual({
      ok: true,
      providerEventId: 'order.posted:o-1',
      providerEventType: 'order.posted',
      event: null,
      paymentKey: null,
    });
  });
});
