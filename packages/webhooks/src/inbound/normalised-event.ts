/**
 * The events an automation can be triggered by (`automations[].on`), and the shape of each, which
 * is what `{{event.<field>}}` references in automation steps read. Documented in the package README.
 */
export const AUTOMATION_EVENTS = ['payment.confirmed'] as const;
export type AutomationEventType = (typeof AUTOMATION_EVENTS)[number];

export function isAutomationEvent(type: string): type is AutomationEventType {
  return (AUTOMATION_EVENTS as readonly string[]).includes(type);
}

/** `payment.confirmed`: a payment is paid, whatever the provider and method. Emitted once per payment. */
export interface PaymentConfirmedEvent {
  /** The provider's event id (also the job's `metadata.trigger`). */
  id: string;
  type: 'payment.confirmed';
  /** The server that sent it: `stripe` | `asaas`. */
  provider: string;
  environment: 'test' | 'live';
  /** The provider's event type, e.g. `payment_intent.succeeded`, `PAYMENT_CONFIRMED`. */
  provider_event_type: string;
  /** ISO-8601 UTC: when the provider says the event happened (our receipt time when it says nothing). */
  occurred_at: string;
  /** The provider's payment id: Stripe `pi_…`, Asaas `pay_…`. */
  payment_id: string;
  /** Amount paid in major units (reais: 150.5 = R$ 150,50). */
  amount: number;
  /** Amount paid in minor units (centavos: 15050). */
  amount_minor: number;
  /** ISO 4217, upper case (`BRL`). */
  currency: string;
  /** Payment method: Asaas billingType (`PIX`, `BOLETO`, `CREDIT_CARD`) or Stripe's first payment_method_type (`card`, `pix`, `boleto`). */
  method: string | null;
  /** The provider's customer id (`cus_…`), or null. */
  customer_id: string | null;
  customer: { id: string | null; email: string | null; name: string | null };
  description: string | null;
  /** Asaas externalReference, or Stripe metadata.order_id when set. */
  external_reference: string | null;
  /** Provider metadata (Stripe `metadata`), string → string; `{}` when none. */
  metadata: Record<string, string>;
}

export type NormalisedEvent = PaymentConfirmedEvent;

/** Top-level fields of each event type: automation templates may only reference these. */
export const EVENT_FIELDS: Record<AutomationEventType, readonly string[]> = {
  'payment.confirmed': [
    'id',
    'type',
    'provider',
    'environment',
    'provider_event_type',
    'occurred_at',
    'payment_id',
    'amount',
    'amount_minor',
    'currency',
    'method',
    'customer_id',
    'customer',
    'description',
    'external_reference',
    'metadata',
  ],
};
