import { z } from 'zod';
import { pixPayload, PLACEHOLDER_PNG_BASE64 } from '../pix-payload';
import { ProviderError } from '../provider-error';
import { issuePath } from '../provider-module';
import type { ProviderModule } from '../provider-module';
import { findForSimulation, invalidTransition } from '../simulation-helpers';
import { defineTool } from '../tool';
import type { ProviderObject, ToolContext } from '../types';
import { hasAtMostTwoDecimals, isIsoDate, isValidCnpj, isValidCpf, onlyDigits, pad, round2 } from '../validators';

/**
 * Asaas (API v3), modelled on `@codespar/mcp-asaas`. Money is a decimal number of reais.
 * Payment status machine: PENDING → RECEIVED (Pix/boleto paid) or PENDING → CONFIRMED → RECEIVED
 * (card), RECEIVED/CONFIRMED → REFUNDED (full refund; partial refunds append to `refunds[]`).
 * The real Asaas sandbox has no API to mark a charge paid; `payment_received` does it here.
 */

type Obj = ProviderObject;

/** Fees the sandbox deducts for `netValue` (Asaas list prices, reais): Pix R$0,99, boleto R$1,99, card 2,99% + R$0,49. */
function netValue(billingType: string, value: number): number {
  if (billingType === 'PIX') return round2(value - 0.99);
  if (billingType === 'BOLETO') return round2(value - 1.99);
  return round2(value - value * 0.0299 - 0.49);
}

function asaasError(code: string, description: string, status = 400): ProviderError {
  return new ProviderError(code, description, status, { errors: [{ code, description }] });
}

const date = (ctx: ToolContext): string => ctx.now.toISOString().slice(0, 10);

function getPayment(ctx: ToolContext, id: string): Obj {
  const p = ctx.find('payment', id);
  if (!p || p.deleted === true) throw asaasError('not_found', `Cobrança ${id} não encontrada.`, 404);
  return p;
}

function listEnvelope(items: Obj[], limit: number, offset: number): Obj {
  return {
    object: 'list',
    hasMore: offset + limit < items.length,
    totalCount: items.length,
    limit,
    offset,
    data: items.slice(offset, offset + limit),
  };
}

const createCustomer = defineTool(
  'create_customer',
  'Create a customer. cpfCnpj must be a valid CPF (11 digits) or CNPJ (14 digits).',
  z.object({
    name: z.string().min(1).max(255),
    cpfCnpj: z.string().min(11).max(18),
    email: z.email().optional(),
    phone: z.string().optional(),
    mobilePhone: z.string().optional(),
    postalCode: z.string().optional(),
    address: z.string().optional(),
    addressNumber: z.string().optional(),
    province: z.string().optional(),
    externalReference: z.string().optional(),
    notificationDisabled: z.boolean().optional(),
  }),
  (args, ctx) => {
    const digits = onlyDigits(args.cpfCnpj);
    const valid = digits.length === 11 ? isValidCpf(args.cpfCnpj) : isValidCnpj(args.cpfCnpj);
    if (!valid) throw asaasError('invalid_cpfCnpj', 'O CPF/CNPJ informado é inválido.');
    if (args.phone !== undefined && !/^\d{10,11}$/.test(onlyDigits(args.phone))) {
      throw asaasError('invalid_phone', 'O telefone informado é inválido.');
    }
    if (args.mobilePhone !== undefined && !/^\d{10,11}$/.test(onlyDigits(args.mobilePhone))) {
      throw asaasError('invalid_mobilePhone', 'O celular informado é inválido.');
    }
    if (args.postalCode !== undefined && !/^\d{8}$/.test(onlyDigits(args.postalCode))) {
      throw asaasError('invalid_postalCode', 'O CEP informado é inválido.');
    }
    const id = `cus_${pad(ctx.next('cus'), 6)}`;
    return ctx.insert('customer', id, {
      object: 'customer',
      id,
      dateCreated: date(ctx),
      name: args.name,
      email: args.email ?? null,
      phone: args.phone ? onlyDigits(args.phone) : null,
      mobilePhone: args.mobilePhone ? onlyDigits(args.mobilePhone) : null,
      address: args.address ?? null,
      addressNumber: args.addressNumber ?? null,
      complement: null,
      province: args.province ?? null,
      postalCode: args.postalCode ? onlyDigits(args.postalCode) : null,
      cpfCnpj: digits,
      personType: digits.length === 11 ? 'FISICA' : 'JURIDICA',
      deleted: false,
      externalReference: args.externalReference ?? null,
      notificationDisabled: args.notificationDisabled ?? false,
      observations: null,
    });
  },
);

const getCustomer = defineTool('get_customer', 'Get a customer by id (cus_...).', z.object({ id: z.string().min(1) }), (args, ctx) => {
  const c = ctx.find('customer', args.id);
  if (!c) throw asaasError('not_found', `Cliente ${args.id} não encontrado.`, 404);
  return c;
});

const listCustomers = defineTool(
  'list_customers',
  'List customers, optionally filtered by name or cpfCnpj.',
  z.object({
    name: z.string().optional(),
    cpfCnpj: z.string().optional(),
    limit: z.number().int().min(1).max(100).optional(),
    offset: z.number().int().min(0).optional(),
  }),
  (args, ctx) => {
    const items = ctx
      .list('customer')
      .filter((c) => !args.name || String(c.name).toLowerCase().includes(args.name.toLowerCase()))
      .filter((c) => !args.cpfCnpj || c.cpfCnpj === onlyDigits(args.cpfCnpj));
    return listEnvelope(items, args.limit ?? 10, args.offset ?? 0);
  },
);

const createPayment = defineTool(
  'create_payment',
  'Create a charge (PIX, BOLETO or CREDIT_CARD) for a customer. value in reais (e.g. 150.00); dueDate YYYY-MM-DD, not in the past.',
  z.object({
    customer: z.string().min(1),
    billingType: z.enum(['BOLETO', 'CREDIT_CARD', 'PIX']),
    value: z.number().positive(),
    dueDate: z.string(),
    description: z.string().max(500).optional(),
    externalReference: z.string().max(100).optional(),
  }),
  (args, ctx) => {
    if (!ctx.find('customer', args.customer)) throw asaasError('invalid_customer', 'Cliente inválido ou não informado.');
    if (!hasAtMostTwoDecimals(args.value)) throw asaasError('invalid_value', 'O valor deve ter no máximo duas casas decimais.');
    // Asaas refuses charges under R$5,00 for every billing type.
    if (args.value < 5) throw asaasError('invalid_value', 'O valor da cobrança deve ser maior ou igual a R$ 5,00.');
    if (!isIsoDate(args.dueDate)) throw asaasError('invalid_dueDate', 'A data de vencimento deve estar no formato YYYY-MM-DD.');
    if (args.dueDate < date(ctx)) {
      throw asaasError('invalid_dueDate', 'Não é permitido data de vencimento inferior a hoje.');
    }
    const seq = ctx.next('pay');
    const id = `pay_${pad(seq, 6)}`;
    const payment: Obj = {
      object: 'payment',
      id,
      dateCreated: date(ctx),
      customer: args.customer,
      subscription: null,
      installment: null,
      paymentLink: null,
      value: args.value,
      netValue: netValue(args.billingType, args.value),
      originalValue: null,
      interestValue: null,
      description: args.description ?? null,
      billingType: args.billingType,
      canBePaidAfterDueDate: true,
      pixTransaction: null,
      status: 'PENDING',
      dueDate: args.dueDate,
      originalDueDate: args.dueDate,
      paymentDate: null,
      clientPaymentDate: null,
      confirmedDate: null,
      creditDate: null,
      estimatedCreditDate: null,
      installmentNumber: null,
      invoiceUrl: `https://sandbox.asaas.com/i/${pad(seq, 12)}`,
      invoiceNumber: pad(seq, 8),
      externalReference: args.externalReference ?? null,
      deleted: false,
      anticipated: false,
      anticipable: false,
      transactionReceiptUrl: null,
      nossoNumero: args.billingType === 'BOLETO' ? pad(seq, 8) : null,
      bankSlipUrl: args.billingType === 'BOLETO' ? `https://sandbox.asaas.com/b/pdf/${pad(seq, 12)}` : null,
      lastInvoiceViewedDate: null,
      lastBankSlipViewedDate: null,
      postalService: false,
      refunds: null,
    };
    ctx.insert('payment', id, payment, 'status');
    return payment;
  },
);

const getPaymentTool = defineTool('get_payment', 'Get a charge by id (pay_...).', z.object({ id: z.string().min(1) }), (args, ctx) => getPayment(ctx, args.id));

const listPayments = defineTool(
  'list_payments',
  'List charges, newest last, optionally filtered by customer, status or billingType.',
  z.object({
    customer: z.string().optional(),
    status: z.enum(['PENDING', 'RECEIVED', 'CONFIRMED', 'OVERDUE', 'REFUNDED']).optional(),
    billingType: z.enum(['BOLETO', 'CREDIT_CARD', 'PIX']).optional(),
    limit: z.number().int().min(1).max(100).optional(),
    offset: z.number().int().min(0).optional(),
  }),
  (args, ctx) => {
    const items = ctx
      .list('payment')
      .filter((p) => p.deleted !== true)
      .filter((p) => !args.customer || p.customer === args.customer)
      .filter((p) => !args.status || p.status === args.status)
      .filter((p) => !args.billingType || p.billingType === args.billingType);
    return listEnvelope(items, args.limit ?? 10, args.offset ?? 0);
  },
);

const getPixQrCode = defineTool(
  'get_pix_qrcode',
  'Get the Pix QR code (base64 PNG + copia-e-cola payload) of a pending PIX or BOLETO charge.',
  z.object({ id: z.string().min(1) }),
  (args, ctx) => {
    const p = getPayment(ctx, args.id);
    if (p.billingType === 'CREDIT_CARD') {
      throw asaasError('invalid_billingType', 'QR Code Pix disponível apenas para cobranças Pix ou boleto.');
    }
    if (p.status !== 'PENDING' && p.status !== 'OVERDUE') {
      throw asaasError('invalid_action', `A cobrança ${args.id} já foi paga ou não está mais disponível para pagamento.`);
    }
    return {
      encodedImage: PLACEHOLDER_PNG_BASE64,
      payload: pixPayload({
        location: `pix-h.asaas.com/qr/cobv/${String(p.id)}`,
        amount: Number(p.value),
        merchant: 'ASAAS SANDBOX',
        city: 'JOINVILLE',
        txid: String(p.id).replace(/[^A-Za-z0-9]/g, ''),
      }),
      // A charge's dynamic QR stays valid until 12 months after the due date (Asaas docs).
      expirationDate: `${Number(String(p.dueDate).slice(0, 4)) + 1}${String(p.dueDate).slice(4)} 23:59:59`,
    };
  },
);

const refundPayment = defineTool(
  'refund_payment',
  'Refund a received or confirmed charge, fully (omit value) or partially; total refunds never exceed the charge value.',
  z.object({ id: z.string().min(1), value: z.number().positive().optional(), description: z.string().optional() }),
  (args, ctx) => {
    const p = getPayment(ctx, args.id);
    if (p.status !== 'RECEIVED' && p.status !== 'CONFIRMED') {
      throw asaasError('invalid_action', `Não é possível estornar uma cobrança com situação ${String(p.status)}.`);
    }
    const refunds = (p.refunds as Obj[] | null) ?? [];
    const refunded = round2(refunds.reduce((s, r) => s + Number(r.value), 0));
    const remaining = round2(Number(p.value) - refunded);
    const value = args.value ?? remaining;
    if (!hasAtMostTwoDecimals(value)) throw asaasError('invalid_value', 'O valor deve ter no máximo duas casas decimais.');
    if (value > remaining + 1e-9) {
      throw asaasError('invalid_value', `O valor do estorno (${value.toFixed(2)}) excede o valor disponível para estorno (${remaining.toFixed(2)}).`);
    }
    refunds.push({
      dateCreated: `${date(ctx)} ${ctx.now.toISOString().slice(11, 19)}`,
      status: 'DONE',
      value,
      description: args.description ?? null,
      transactionReceiptUrl: null,
    });
    p.refunds = refunds;
    const fully = round2(refunded + value) >= Number(p.value);
    if (fully) p.status = 'REFUNDED';
    ctx.emit(paymentEvent(ctx, fully ? 'PAYMENT_REFUNDED' : 'PAYMENT_PARTIALLY_REFUNDED', p));
    return p;
  },
);

const getBalance = defineTool('get_balance', 'Get the account balance in reais: net value of received charges minus refunds.', z.object({}), (_args, ctx) => {
  let balance = 0;
  for (const p of ctx.list('payment')) {
    if (p.status !== 'RECEIVED' && p.status !== 'REFUNDED') continue;
    const refunded = ((p.refunds as Obj[] | null) ?? []).reduce((s, r) => s + Number(r.value), 0);
    balance += Number(p.netValue) - refunded;
  }
  return { balance: round2(balance) };
});

function paymentEvent(ctx: ToolContext, event: string, payment: Obj): Obj {
  return {
    id: `evt_${pad(ctx.next('evt'), 6)}`,
    event,
    dateCreated: `${date(ctx)} ${ctx.now.toISOString().slice(11, 19)}`,
    payment: structuredClone(payment),
  };
}

export const asaasModule: ProviderModule = {
  definition: {
    id: 'asaas',
    name: 'Asaas',
    description: 'Brazilian payments: customers, Pix/boleto/card charges, Pix QR codes, refunds and balance. Values in reais.',
    category: 'payments',
    credentialFields: [
      { name: 'api_key', secret: true, required: true },
      { name: 'webhook_secret', secret: true, required: false },
    ],
    tools: [createCustomer, getCustomer, listCustomers, createPayment, getPaymentTool, listPayments, getPixQrCode, refundPayment, getBalance],
  },
  unauthorized: () => asaasError('invalid_access_token', 'A chave de API fornecida é inválida ou não foi informada (header access_token).', 401),
  invalidInput: (issues) => {
    const errors = issues.map((i) => ({ code: `invalid_${issuePath(i) || 'request'}`, description: `${issuePath(i)}: ${i.message}` }));
    const first = errors[0] ?? { code: 'invalid_request', description: 'Requisição inválida.' };
    return new ProviderError(first.code, first.description, 400, { errors });
  },
  simulations: {
    payment_received(ctx, id) {
      const { obj: p } = findForSimulation(ctx, ['payment'], id);
      if (p.status !== 'PENDING' && p.status !== 'OVERDUE') throw invalidTransition(id, p.status, 'payment_received');
      const today = date(ctx);
      p.paymentDate = today;
      p.clientPaymentDate = today;
      if (p.billingType === 'CREDIT_CARD') {
        // Card: paid (CONFIRMED) first, then settled (RECEIVED); both events, in that order.
        p.status = 'CONFIRMED';
        p.confirmedDate = today;
        p.estimatedCreditDate = today;
        ctx.emit(paymentEvent(ctx, 'PAYMENT_CONFIRMED', p));
      }
      p.status = 'RECEIVED';
      p.creditDate = today;
      p.transactionReceiptUrl = `https://sandbox.asaas.com/comprovantes/${String(p.invoiceNumber)}`;
      ctx.emit(paymentEvent(ctx, 'PAYMENT_RECEIVED', p));
      return p;
    },
  },
  webhookScheme: 'asaas',
};
