import { z } from 'zod';
import { ProviderError } from '../provider-error';
import { issuePath } from '../provider-module';
import type { ProviderModule } from '../provider-module';
import { findForSimulation, invalidTransition } from '../simulation-helpers';
import { defineTool } from '../tool';
import type { ProviderObject, ToolContext } from '../types';
import { pad } from '../validators';

/**
 * Stripe, modelled on the codespar `@codespar/mcp-stripe` tool surface (PaymentIntent lifecycle),
 * returning Stripe API objects. Amounts are integer minor units (centavos for brl).
 *
 * Test payment methods (as in Stripe test mode): `pm_card_visa`, `pm_card_mastercard` (and any other
 * `pm_card_*`) succeed; `pm_card_chargeDeclined` is declined (402 card_declined);
 * `pm_card_authenticationRequired` needs 3DS (`requires_action`); `pm_pix` / `pm_boleto` (or
 * `payment_method_types: ['pix'|'boleto']`) wait in `requires_action` until the simulation control
 * `payment_received` marks them paid.
 */

const API_VERSION = '2024-06-20';
/** Smallest charge Stripe accepts, in minor units (R$0,50 / $0.50). */
const MIN_AMOUNT = 50;

type Obj = ProviderObject;

function err(code: string, message: string, status: number, extra: Record<string, unknown> = {}): ProviderError {
  const type = status === 402 ? 'card_error' : status === 401 ? 'invalid_request_error' : 'invalid_request_error';
  return new ProviderError(code, message, status, { type, ...extra });
}

function missing(kind: string, id: string, param = 'id'): ProviderError {
  return err('resource_missing', `No such ${kind}: '${id}'`, 404, { param });
}

const unix = (ctx: ToolContext): number => Math.floor(ctx.now.getTime() / 1000);
const metadataSchema = z.record(z.string().max(40), z.string().max(500)).optional();

function getPi(ctx: ToolContext, id: string): Obj {
  const pi = ctx.find('payment_intent', id);
  if (!pi) throw missing('payment_intent', id);
  return pi;
}

function createCharge(ctx: ToolContext, pi: Obj, method: string): string {
  const id = `ch_${pad(ctx.next('ch'), 6)}`;
  ctx.insert(
    'charge',
    id,
    {
      id,
      object: 'charge',
      amount: pi.amount,
      amount_captured: pi.amount,
      amount_refunded: 0,
      captured: true,
      created: unix(ctx),
      currency: pi.currency,
      customer: pi.customer,
      livemode: false,
      paid: true,
      payment_intent: pi.id,
      payment_method: method,
      refunded: false,
      status: 'succeeded',
    },
    'status',
  );
  return id;
}

function succeed(ctx: ToolContext, pi: Obj): void {
  const method = String(pi.payment_method ?? 'pm_card_visa');
  pi.status = 'succeeded';
  pi.amount_received = pi.amount;
  pi.amount_capturable = 0;
  pi.next_action = null;
  pi.latest_charge = createCharge(ctx, pi, method);
  emitEvent(ctx, 'payment_intent.succeeded', pi);
}

function emitEvent(ctx: ToolContext, type: string, object: Obj): void {
  ctx.emit({
    id: `evt_${pad(ctx.next('evt'), 6)}`,
    object: 'event',
    api_version: API_VERSION,
    created: unix(ctx),
    data: { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: ctx.idempotencyKey },
    type,
  });
}

/** Moves a PI through confirmation according to its payment method (Stripe test-mode semantics). */
function confirm(ctx: ToolContext, pi: Obj, paymentMethod: string | undefined): void {
  if (pi.status !== 'requires_payment_method' && pi.status !== 'requires_confirmation') {
    throw err('payment_intent_unexpected_state', `You cannot confirm this PaymentIntent because it has a status of ${String(pi.status)}.`, 400);
  }
  const types = (pi.payment_method_types as string[]) ?? ['card'];
  let method = paymentMethod ?? (pi.payment_method as string | null) ?? undefined;
  if (!method && types.length === 1 && (types[0] === 'pix' || types[0] === 'boleto')) method = `pm_${types[0]}`;
  if (!method) {
    throw err('payment_intent_unexpected_state', "You cannot confirm this PaymentIntent because it's missing a payment method. Pass `payment_method`.", 400, {
      param: 'payment_method',
    });
  }
  const kind = method.startsWith('pm_card_') ? 'card' : method === 'pm_pix' ? 'pix' : method === 'pm_boleto' ? 'boleto' : null;
  if (!kind) throw missing('PaymentMethod', method, 'payment_method');
  if (!types.includes(kind)) {
    throw err(
      'payment_intent_incompatible_payment_method',
      `The PaymentMethod provided (${kind}) is not allowed for this PaymentIntent; allowed: ${types.join(', ')}.`,
      400,
      { param: 'payment_method' },
    );
  }
  pi.payment_method = method;
  pi.confirmation_method = 'automatic';
  if (method === 'pm_card_chargeDeclined') {
    pi.status = 'requires_payment_method';
    pi.payment_method = null;
    const error = { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', type: 'card_error' };
    pi.last_payment_error = error;
    emitEvent(ctx, 'payment_intent.payment_failed', pi);
    throw err('card_declined', 'Your card was declined.', 402, { decline_code: 'generic_decline', payment_intent: structuredClone(pi) });
  }
  pi.last_payment_error = null;
  if (kind === 'pix') {
    const expires = unix(ctx) + 86_400; // Stripe's default Pix expiry: 1 day, in seconds.
    pi.status = 'requires_action';
    pi.next_action = {
      type: 'pix_display_qr_code',
      pix_display_qr_code: {
        data: `00020101021226880014br.gov.bcb.pix2566qr.stripe.com/pix/${String(pi.id)}5204000053039865802BR5913Sandbox6009SAO PAULO62070503***6304`,
        expires_at: expires,
        hosted_instructions_url: `https://payments.stripe.com/pix/instructions/${String(pi.id)}`,
        image_url_png: `https://qr.stripe.com/${String(pi.id)}.png`,
      },
    };
    emitEvent(ctx, 'payment_intent.requires_action', pi);
    return;
  }
  if (kind === 'boleto') {
    pi.status = 'requires_action';
    pi.next_action = {
      type: 'boleto_display_details',
      boleto_display_details: {
        expires_at: unix(ctx) + 3 * 86_400, // boleto due in 3 days, in seconds
        hosted_voucher_url: `https://payments.stripe.com/boleto/voucher/${String(pi.id)}`,
        number: '23790000000000000000000000000000000000000000000',
        pdf: `https://payments.stripe.com/boleto/voucher/${String(pi.id)}/pdf`,
      },
    };
    emitEvent(ctx, 'payment_intent.requires_action', pi);
    return;
  }
  if (method === 'pm_card_authenticationRequired') {
    pi.status = 'requires_action';
    pi.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } };
    emitEvent(ctx, 'payment_intent.requires_action', pi);
    return;
  }
  if (pi.capture_method === 'manual') {
    pi.status = 'requires_capture';
    pi.amount_capturable = pi.amount;
    emitEvent(ctx, 'payment_intent.amount_capturable_updated', pi);
    return;
  }
  succeed(ctx, pi);
}

const createCustomer = defineTool(
  'create_customer',
  'Create a Stripe customer. All fields optional.',
  z.object({
    email: z.email().optional(),
    name: z.string().max(256).optional(),
    phone: z.string().max(20).optional(),
    description: z.string().max(350).optional(),
    address: z
      .object({
        line1: z.string().optional(),
        line2: z.string().optional(),
        city: z.string().optional(),
        state: z.string().optional(),
        postal_code: z.string().optional(),
        country: z.string().length(2).optional(),
      })
      .optional(),
    metadata: metadataSchema,
  }),
  (args, ctx) => {
    const id = `cus_${pad(ctx.next('cus'), 6)}`;
    return ctx.insert('customer', id, {
      id,
      object: 'customer',
      address: args.address ?? null,
      balance: 0,
      created: unix(ctx),
      currency: null,
      default_source: null,
      delinquent: false,
      description: args.description ?? null,
      email: args.email ?? null,
      invoice_prefix: `SBX${pad(ctx.next('invoice_prefix'), 5)}`,
      livemode: false,
      metadata: args.metadata ?? {},
      name: args.name ?? null,
      phone: args.phone ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
    });
  },
);

const retrieveCustomer = defineTool(
  'retrieve_customer',
  'Retrieve a customer by id (cus_...).',
  z.object({ id: z.string().min(1), expand: z.array(z.string()).optional() }),
  (args, ctx) => {
    const c = ctx.find('customer', args.id);
    if (!c) throw missing('customer', args.id);
    return c;
  },
);

const createPaymentIntent = defineTool(
  'create_payment_intent',
  'Create a PaymentIntent. amount is an integer in the smallest currency unit (centavos for brl); set confirm=true to confirm at once.',
  z.object({
    amount: z.number().int().positive(),
    currency: z.string().regex(/^[a-zA-Z]{3}$/),
    customer: z.string().optional(),
    payment_method: z.string().optional(),
    payment_method_types: z
      .array(z.enum(['card', 'pix', 'boleto']))
      .min(1)
      .optional(),
    confirm: z.boolean().optional(),
    capture_method: z.enum(['automatic', 'automatic_async', 'manual']).optional(),
    description: z.string().max(1000).optional(),
    receipt_email: z.email().optional(),
    statement_descriptor: z.string().max(22).optional(),
    metadata: metadataSchema,
    automatic_payment_methods: z.object({ enabled: z.boolean() }).optional(),
  }),
  (args, ctx) => {
    if (args.amount < MIN_AMOUNT) {
      throw err('amount_too_small', `Amount must be at least ${MIN_AMOUNT} minor units.`, 400, { param: 'amount' });
    }
    if (args.customer && !ctx.find('customer', args.customer)) throw missing('customer', args.customer, 'customer');
    const seq = ctx.next('pi');
    const id = `pi_${pad(seq, 6)}`;
    const pi: Obj = {
      id,
      object: 'payment_intent',
      amount: args.amount,
      amount_capturable: 0,
      amount_received: 0,
      automatic_payment_methods: args.automatic_payment_methods ?? null,
      cancellation_reason: null,
      canceled_at: null,
      capture_method: args.capture_method ?? 'automatic',
      client_secret: `${id}_secret_sandbox${pad(seq, 6)}`,
      confirmation_method: 'automatic',
      created: unix(ctx),
      currency: args.currency.toLowerCase(),
      customer: args.customer ?? null,
      description: args.description ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: args.metadata ?? {},
      next_action: null,
      payment_method: args.payment_method ?? null,
      payment_method_types: args.payment_method_types ?? ['card'],
      receipt_email: args.receipt_email ?? null,
      statement_descriptor: args.statement_descriptor ?? null,
      status: args.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    };
    ctx.insert('payment_intent', id, pi, 'status');
    emitEvent(ctx, 'payment_intent.created', pi);
    if (args.confirm) confirm(ctx, pi, args.payment_method);
    return pi;
  },
);

const confirmPaymentIntent = defineTool(
  'confirm_payment_intent',
  'Confirm a PaymentIntent with a payment method (pm_card_visa, pm_card_chargeDeclined, pm_pix, pm_boleto...).',
  z.object({
    id: z.string().min(1),
    payment_method: z.string().optional(),
    return_url: z.url().optional(),
    off_session: z.boolean().optional(),
  }),
  (args, ctx) => {
    const pi = getPi(ctx, args.id);
    confirm(ctx, pi, args.payment_method);
    return pi;
  },
);

const retrievePaymentIntent = defineTool(
  'retrieve_payment_intent',
  'Retrieve a PaymentIntent by id (pi_...).',
  z.object({ id: z.string().min(1), expand: z.array(z.string()).optional() }),
  (args, ctx) => getPi(ctx, args.id),
);

const CANCELLABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture', 'processing']);

const cancelPaymentIntent = defineTool(
  'cancel_payment_intent',
  'Cancel a PaymentIntent that is not yet succeeded or canceled.',
  z.object({
    id: z.string().min(1),
    cancellation_reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']).optional(),
  }),
  (args, ctx) => {
    const pi = getPi(ctx, args.id);
    if (!CANCELLABLE.has(String(pi.status))) {
      throw err(
        'payment_intent_unexpected_state',
        `You cannot cancel this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be canceled: ${[...CANCELLABLE].join(', ')}.`,
        400,
      );
    }
    pi.status = 'canceled';
    pi.cancellation_reason = args.cancellation_reason ?? null;
    pi.canceled_at = unix(ctx);
    pi.next_action = null;
    pi.amount_capturable = 0;
    emitEvent(ctx, 'payment_intent.canceled', pi);
    return pi;
  },
);

function listEnvelope(all: Obj[], url: string, limit: number, startingAfter?: string, endingBefore?: string): Obj {
  // Stripe lists newest first; cursors are object ids.
  let items = [...all].reverse();
  if (startingAfter) {
    const i = items.findIndex((o) => o.id === startingAfter);
    if (i < 0) throw missing('object', startingAfter, 'starting_after');
    items = items.slice(i + 1);
  } else if (endingBefore) {
    const i = items.findIndex((o) => o.id === endingBefore);
    if (i < 0) throw missing('object', endingBefore, 'ending_before');
    items = items.slice(Math.max(0, i - limit), i);
    return { object: 'list', data: items, has_more: i - limit > 0, url };
  }
  return { object: 'list', data: items.slice(0, limit), has_more: items.length > limit, url };
}

const listPaymentIntents = defineTool(
  'list_payment_intents',
  'List PaymentIntents, newest first (cursor pagination).',
  z.object({
    customer: z.string().optional(),
    created: z.object({ gte: z.number().int().optional(), lte: z.number().int().optional() }).optional(),
    limit: z.number().int().min(1).max(100).optional(),
    starting_after: z.string().optional(),
    ending_before: z.string().optional(),
  }),
  (args, ctx) => {
    const all = ctx
      .list('payment_intent')
      .filter((pi) => !args.customer || pi.customer === args.customer)
      .filter((pi) => args.created?.gte === undefined || Number(pi.created) >= args.created.gte)
      .filter((pi) => args.created?.lte === undefined || Number(pi.created) <= args.created.lte);
    return listEnvelope(all, '/v1/payment_intents', args.limit ?? 10, args.starting_after, args.ending_before);
  },
);

const createRefund = defineTool(
  'create_refund',
  'Refund a succeeded PaymentIntent (or charge), fully or partially; amount in minor units, omitted = remaining amount.',
  z.object({
    payment_intent: z.string().optional(),
    charge: z.string().optional(),
    amount: z.number().int().positive().optional(),
    reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
    metadata: metadataSchema,
  }),
  (args, ctx) => {
    let charge: Obj | undefined;
    let pi: Obj | undefined;
    if (args.charge) {
      charge = ctx.find('charge', args.charge);
      if (!charge) throw missing('charge', args.charge, 'charge');
      pi = ctx.find('payment_intent', String(charge.payment_intent));
    } else if (args.payment_intent) {
      pi = getPi(ctx, args.payment_intent);
      if (pi.status !== 'succeeded' || !pi.latest_charge) {
        throw err('charge_not_refundable', `This PaymentIntent (${String(pi.id)}) does not have a successful charge to refund.`, 400, {
          param: 'payment_intent',
        });
      }
      charge = ctx.find('charge', String(pi.latest_charge));
    } else {
      throw err('parameter_missing', 'One of the following params should be provided for this request: payment_intent or charge.', 400, {
        param: 'payment_intent',
      });
    }
    if (!charge) throw missing('charge', String(pi?.latest_charge));
    const refundable = Number(charge.amount_captured) - Number(charge.amount_refunded);
    const amount = args.amount ?? refundable;
    if (refundable <= 0) {
      throw err('charge_already_refunded', `Charge ${String(charge.id)} has already been refunded.`, 400);
    }
    if (amount > refundable) {
      throw err('amount_too_large', `Refund amount (${amount}) is greater than unrefunded amount on charge (${refundable}).`, 400, { param: 'amount' });
    }
    charge.amount_refunded = Number(charge.amount_refunded) + amount;
    charge.refunded = charge.amount_refunded === charge.amount_captured;
    const id = `re_${pad(ctx.next('re'), 6)}`;
    const refund: Obj = {
      id,
      object: 'refund',
      amount,
      balance_transaction: `txn_${pad(ctx.next('txn'), 6)}`,
      charge: charge.id,
      created: unix(ctx),
      currency: charge.currency,
      metadata: args.metadata ?? {},
      payment_intent: charge.payment_intent,
      reason: args.reason ?? null,
      status: 'succeeded',
    };
    ctx.insert('refund', id, refund, 'status');
    emitEvent(ctx, 'charge.refunded', charge);
    return refund;
  },
);

const listRefunds = defineTool(
  'list_refunds',
  'List refunds, newest first, optionally for one PaymentIntent or charge.',
  z.object({
    payment_intent: z.string().optional(),
    charge: z.string().optional(),
    limit: z.number().int().min(1).max(100).optional(),
    starting_after: z.string().optional(),
    ending_before: z.string().optional(),
  }),
  (args, ctx) => {
    const all = ctx
      .list('refund')
      .filter((r) => !args.payment_intent || r.payment_intent === args.payment_intent)
      .filter((r) => !args.charge || r.charge === args.charge);
    return listEnvelope(all, '/v1/refunds', args.limit ?? 10, args.starting_after, args.ending_before);
  },
);

const retrieveBalance = defineTool(
  'retrieve_balance',
  'Retrieve the account balance (captured charges minus refunds, per currency; the sandbox charges no fees).',
  z.object({}),
  (_args, ctx) => {
    const byCurrency = new Map<string, number>();
    for (const ch of ctx.list('charge')) {
      const cur = String(ch.currency);
      byCurrency.set(cur, (byCurrency.get(cur) ?? 0) + Number(ch.amount_captured) - Number(ch.amount_refunded));
    }
    if (byCurrency.size === 0) byCurrency.set('brl', 0);
    const available = [...byCurrency].map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } }));
    return {
      object: 'balance',
      available,
      livemode: false,
      pending: available.map((a) => ({ amount: 0, currency: a.currency, source_types: { card: 0 } })),
    };
  },
);

export const stripeModule: ProviderModule = {
  definition: {
    id: 'stripe',
    name: 'Stripe',
    description: 'Payments: customers, PaymentIntents (card, Pix, boleto), refunds and balance. Amounts in integer minor units.',
    category: 'payments',
    credentialFields: [
      { name: 'secret_key', secret: true, required: true },
      { name: 'webhook_secret', secret: true, required: false },
    ],
    tools: [
      createCustomer,
      retrieveCustomer,
      createPaymentIntent,
      confirmPaymentIntent,
      retrievePaymentIntent,
      cancelPaymentIntent,
      listPaymentIntents,
      createRefund,
      listRefunds,
      retrieveBalance,
    ],
  },
  unauthorized: () => err('invalid_api_key', 'Invalid API Key provided. You can find your API keys in the Stripe Dashboard.', 401),
  invalidInput: (issues) => {
    const first = issues[0];
    const param = first ? issuePath(first) : undefined;
    const isMissing = first?.code === 'invalid_type' && first.message.includes('undefined');
    return err(
      isMissing ? 'parameter_missing' : 'parameter_invalid',
      isMissing ? `Missing required param: ${param ?? ''}.` : `Invalid ${param ?? 'parameter'}: ${first?.message ?? 'invalid value'}`,
      400,
      { param },
    );
  },
  simulations: {
    payment_received(ctx, id) {
      const { obj: pi } = findForSimulation(ctx, ['payment_intent'], id);
      const from = pi.status;
      if (from !== 'requires_payment_method' && from !== 'requires_confirmation' && from !== 'requires_action' && from !== 'processing') {
        throw invalidTransition(id, from, 'payment_received');
      }
      if (!pi.payment_method) {
        const types = pi.payment_method_types as string[];
        pi.payment_method = types.includes('pix') ? 'pm_pix' : types.includes('boleto') ? 'pm_boleto' : 'pm_card_visa';
      }
      succeed(ctx, pi);
      return pi;
    },
  },
  webhookScheme: 'stripe',
};
