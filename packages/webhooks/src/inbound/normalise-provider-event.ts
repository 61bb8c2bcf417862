import type { InboundWebhookServer } from './verify-provider-webhook';
import type { NormalisedEvent, PaymentConfirmedEvent } from './normalised-event';

export type NormaliseResult =
  | {
      ok: true;
      /** The provider's event id; Melhor Envio sends none, so `<event>:<order id>` (each status change happens once per order). */
      providerEventId: string;
      providerEventType: string;
      /** Null when no automation event corresponds (e.g. `payment_intent.created`, `order.posted`). */
      event: NormalisedEvent | null;
      /** `<server>:<payment id>` for payment events: the per-payment dedupe key. */
      paymentKey: string | null;
    }
  | { ok: false; message: string };

/** ISO 4217 currencies without minor units, as Stripe lists them (amounts are already major units). */
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/**
 * Maps a verified provider payload to its dedupe identity and, where one applies, the normalised
 * automation event (reference: commerce-providers.md §7):
 * - Stripe `payment_intent.succeeded`, `checkout.session.completed` with `payment_status: "paid"`
 *   and `checkout.session.async_payment_succeeded` → `payment.confirmed`, keyed by PaymentIntent id;
 * - Asaas `PAYMENT_CONFIRMED` and `PAYMENT_RECEIVED` → `payment.confirmed`, keyed by payment id
 *   (a card sends both; whichever arrives first wins);
 * - Melhor Envio `order.*` → recorded, no automation event yet.
 */
export function normaliseProviderEvent(server: InboundWebhookServer, environment: 'test' | 'live', body: unknown, nowMs: number): NormaliseResult {
  if (!isObj(body)) return { ok: false, message: 'The body must be a JSON object.' };
  const receivedAt = new Date(nowMs).toISOString();
  switch (server) {
    case 'stripe':
      return stripe(body, environment, receivedAt);
    case 'asaas':
      return asaas(body, environment, receivedAt);
    case 'melhor-envio': {
      const type = str(body.event);
      const id = isObj(body.data) ? str(body.data.id) : null;
      if (!type || !id) return { ok: false, message: 'Expected {"event": string, "data": {"id": string}}.' };
      return { ok: true, providerEventId: `${type}:${id}`, providerEventType: type, event: null, paymentKey: null };
    }
  }
}

function stripe(body: Obj, environment: 'test' | 'live', receivedAt: string): NormaliseResult {
  const id = str(body.id);
  const type = str(body.type);
  const object = isObj(body.data) ? body.data.object : undefined;
  if (!id || !type || !isObj(object)) return { ok: false, message: 'Expected a Stripe event {"id", "type", "data": {"object"}}.' };
  const created = num(body.created);
  const occurredAt = created !== null ? new Date(created * 1000).toISOString() : receivedAt;
  const base = { ok: true as const, providerEventId: id, providerEventType: type };

  let paymentId: string | null = null;
  let minor: number | null = null;
  let customerEmail: string | null = null;
  let customerName: string | null = null;
  let method: string | null = null;
  if (type === 'payment_intent.succeeded') {
    paymentId = str(object.id);
    minor = num(object.amount_received) ?? num(object.amount);
    customerEmail = str(object.receipt_email);
    const types = Array.isArray(object.payment_method_types) ? object.payment_method_types : [];
    method = str(types[0]);
  } else if ((type === 'checkout.session.completed' && object.payment_status === 'paid') || type === 'checkout.session.async_payment_succeeded') {
    // Keyed by the PaymentIntent when there is one, so the session event and the PI event of the
    // same payment trigger one run.
    paymentId = str(object.payment_intent) ?? str(object.id);
    minor = num(object.amount_total);
    const details = isObj(object.customer_details) ? object.customer_details : {};
    customerEmail = str(details.email) ?? str(object.customer_email);
    customerName = str(details.name);
  }
  if (!paymentId || minor === null) return { ...base, event: null, paymentKey: null };

  const currency = (str(object.currency) ?? 'brl').toLowerCase();
  const metadata = stringMap(object.metadata);
  const customerId = str(object.customer);
  const event: PaymentConfirmedEvent = {
    id,
    type: 'payment.confirmed',
    provider: 'stripe',
    environment,
    provider_event_type: type,
    occurred_at: occurredAt,
    payment_id: paymentId,
    amount: ZERO_DECIMAL.has(currency) ? minor : minor / 100,
    amount_minor: minor,
    currency: currency.toUpperCase(),
    method,
    customer_id: customerId,
    customer: { id: customerId, email: customerEmail, name: customerName },
    description: str(object.description),
    external_reference: metadata.order_id ?? null,
    metadata,
  };
  return { ...base, event, paymentKey: `stripe:${paymentId}` };
}

function asaas(body: Obj, environment: 'test' | 'live', receivedAt: string): NormaliseResult {
  const type = str(body.event);
  if (!type) return { ok: false, message: 'Expected an Asaas event {"id", "event", ...}.' };
  const payment = isObj(body.payment) ? body.payment : null;
  const paymentId = payment ? str(payment.id) : null;
  // Real Asaas events carry `evt_…` ids; fall back to event+payment, which is unique per transition.
  const providerEventId = str(body.id) ?? (paymentId ? `${type}:${paymentId}` : null);
  if (!providerEventId) return { ok: false, message: 'The Asaas event has neither an id nor a payment.' };
  const base = { ok: true as const, providerEventId, providerEventType: type };
  if ((type !== 'PAYMENT_CONFIRMED' && type !== 'PAYMENT_RECEIVED') || !payment || !paymentId) return { ...base, event: null, paymentKey: null };
  const value = num(payment.value);
  if (value === null) return { ok: false, message: 'The Asaas payment has no numeric value.' };
  const customerId = str(payment.customer);
  const event: PaymentConfirmedEvent = {
    id: providerEventId,
    type: 'payment.confirmed',
    provider: 'asaas',
    environment,
    provider_event_type: type,
    // Asaas dateCreated is local time without a zone; our receipt time is unambiguous.
    occurred_at: receivedAt,
    payment_id: paymentId,
    amount: value,
    amount_minor: Math.round(value * 100),
    currency: 'BRL',
    method: str(payment.billingType),
    customer_id: customerId,
    customer: { id: customerId, email: null, name: null },
    description: str(payment.description),
    external_reference: str(payment.externalReference),
    metadata: {},
  };
  return { ...base, event, paymentKey: `asaas:${paymentId}` };
}
