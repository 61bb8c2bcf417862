import { z } from 'zod';
import { distanceBand, ufOfCep } from '../cep-regions';
import { ProviderError } from '../provider-error';
import { issuePath } from '../provider-module';
import type { ProviderModule } from '../provider-module';
import { findForSimulation, invalidTransition } from '../simulation-helpers';
import { defineTool } from '../tool';
import type { ProviderObject, ToolContext } from '../types';
import { isValidCnpj, isValidCpf, isValidNfeKey, normalizeCep, onlyDigits, pad, round2, s10CheckDigit } from '../validators';

/**
 * Melhor Envio (API v2), modelled on `@codespar/mcp-melhor-envio`. Weights in kg, dimensions in cm,
 * prices as strings of reais ("25.90") like the API. Flow and order status machine:
 * calculate_shipping → create_shipment (cart, `pending`) → checkout_cart (`released`, debits the
 * wallet) → generate_label (`generated`, tracking assigned, webhook `order.generated`) →
 * `label_posted` (`posted`) → `delivered`; cancel_shipment before posting (`canceled`, refund to wallet).
 * Every account's sandbox wallet starts with R$ 1.000,00.
 */

type Obj = ProviderObject;

/** Initial sandbox wallet balance per account, in reais. */
const INITIAL_BALANCE = 1000;

interface MeService {
  id: number;
  name: string;
  company: { id: number; name: string; picture: string };
  base: number;
  perKg: number;
  days: [number, number, number, number];
  maxKg: number;
  /** Tracking prefix when the carrier is Correios (S10 codes); Jadlog uses numeric codes. */
  prefix: string | null;
}

const CORREIOS = { id: 1, name: 'Correios', picture: 'https://sandbox.melhorenvio.com.br/images/shipping-companies/correios.png' };
const JADLOG = { id: 2, name: 'Jadlog', picture: 'https://sandbox.melhorenvio.com.br/images/shipping-companies/jadlog.png' };

const SERVICES: MeService[] = [
  { id: 1, name: 'PAC', company: CORREIOS, base: 14.9, perKg: 3.1, days: [3, 5, 7, 10], maxKg: 30, prefix: 'PM' },
  { id: 2, name: 'SEDEX', company: CORREIOS, base: 19.9, perKg: 6.2, days: [1, 2, 3, 5], maxKg: 30, prefix: 'SS' },
  { id: 3, name: '.Package', company: JADLOG, base: 16.5, perKg: 2.8, days: [3, 4, 6, 9], maxKg: 120, prefix: null },
  { id: 4, name: '.Com', company: JADLOG, base: 18.9, perKg: 3.9, days: [2, 3, 5, 8], maxKg: 120, prefix: null },
  { id: 17, name: 'Mini Envios', company: CORREIOS, base: 9.5, perKg: 0, days: [4, 6, 8, 12], maxKg: 0.3, prefix: 'NX' },
];

function meError(code: string, message: string, status: number, errors?: Record<string, string[]>): ProviderError {
  return new ProviderError(code, message, status, errors ? { errors } : {});
}

function invalid(field: string, message: string): ProviderError {
  return meError('validation_failed', 'The given data was invalid.', 422, { [field]: [message] });
}

const ts = (ctx: ToolContext): string => ctx.now.toISOString().replace('T', ' ').slice(0, 19);
const money = (v: number): string => v.toFixed(2);

function cepOf(value: string, field: string): string {
  const c = normalizeCep(value);
  if (!c || !ufOfCep(c)) throw invalid(field, `O campo ${field} deve ser um CEP válido com 8 dígitos.`);
  return c;
}

interface Pkg {
  weight: number;
  width: number;
  height: number;
  length: number;
  insurance: number;
}

function quote(s: MeService, band: number, pkg: Pkg): { price: number; days: number } | null {
  // Cubic weight: L×A×C / 6000 kg (Correios rule, also used by ME for quotes).
  const cubic = (pkg.width * pkg.height * pkg.length) / 6000;
  const billed = Math.max(pkg.weight, cubic);
  if (billed > s.maxKg) return null;
  // Insurance above R$ 25 costs 1% of the declared value (simplified from ME's ad valorem fee).
  const insurance = pkg.insurance > 25 ? pkg.insurance * 0.01 : 0;
  const price = round2((s.base + s.perKg * Math.max(0, Math.ceil(billed) - 1)) * (1 + 0.2 * band) + insurance);
  return { price, days: s.days[band] ?? 10 };
}

const productSchema = z.object({
  id: z.string().optional(),
  width: z.number().positive().max(105),
  height: z.number().positive().max(105),
  length: z.number().positive().max(105),
  weight: z.number().positive().max(120),
  insurance_value: z.number().min(0).optional(),
  quantity: z.number().int().positive().optional(),
});

function packageOf(products: z.output<typeof productSchema>[]): Pkg {
  let weight = 0;
  let height = 0;
  let width = 0;
  let length = 0;
  let insurance = 0;
  for (const p of products) {
    const q = p.quantity ?? 1;
    weight += p.weight * q;
    height += p.height * q; // stacked
    width = Math.max(width, p.width);
    length = Math.max(length, p.length);
    insurance += (p.insurance_value ?? 0) * q;
  }
  return { weight: round2(weight), width, height, length, insurance };
}

const calculateShipping = defineTool(
  'calculate_shipping',
  'Quote every carrier service for a route (free). from/to postal_code 8 digits; products with width/height/length in cm and weight in kg.',
  z.object({
    from: z.object({ postal_code: z.string() }),
    to: z.object({ postal_code: z.string() }),
    products: z.array(productSchema).min(1),
    services: z
      .string()
      .regex(/^\d+(,\d+)*$/)
      .optional(),
  }),
  (args) => {
    const from = cepOf(args.from.postal_code, 'from.postal_code');
    const to = cepOf(args.to.postal_code, 'to.postal_code');
    const band = distanceBand(ufOfCep(from) ?? '', ufOfCep(to) ?? '');
    const pkg = packageOf(args.products);
    const wanted = args.services ? new Set(args.services.split(',').map(Number)) : null;
    const data = SERVICES.filter((s) => !wanted || wanted.has(s.id)).map((s) => {
      const q = quote(s, band, pkg);
      if (!q) return { id: s.id, name: s.name, error: 'Serviço econômico indisponível para o trecho.', company: s.company };
      return {
        id: s.id,
        name: s.name,
        price: money(q.price),
        custom_price: money(q.price),
        discount: '0.00',
        currency: 'R$',
        delivery_time: q.days,
        delivery_range: { min: q.days, max: q.days + 1 },
        custom_delivery_time: q.days,
        custom_delivery_range: { min: q.days, max: q.days + 1 },
        packages: [
          {
            price: money(q.price),
            discount: '0.00',
            format: 'box',
            weight: money(pkg.weight),
            insurance_value: money(pkg.insurance),
            dimensions: { height: pkg.height, width: pkg.width, length: pkg.length },
          },
        ],
        additional_services: { receipt: false, own_hand: false, collect: false },
        company: s.company,
      };
    });
    return { data };
  },
);

const addressSchema = z.object({
  name: z.string().min(1).max(100),
  phone: z.string().optional(),
  email: z.email().optional(),
  document: z.string().optional(),
  company_document: z.string().optional(),
  state_register: z.string().optional(),
  address: z.string().min(1),
  complement: z.string().optional(),
  number: z.string().min(1),
  district: z.string().min(1),
  city: z.string().min(1),
  state_abbr: z.string().length(2).optional(),
  country_id: z.string().optional(),
  postal_code: z.string(),
  note: z.string().optional(),
});

function address(a: z.output<typeof addressSchema>, field: 'from' | 'to'): Obj {
  const c = cepOf(a.postal_code, `${field}.postal_code`);
  const uf = ufOfCep(c);
  if (a.state_abbr && a.state_abbr.toUpperCase() !== uf) throw invalid(`${field}.state_abbr`, `A UF não corresponde ao CEP ${c}.`);
  if (a.document === undefined && a.company_document === undefined) {
    throw invalid(`${field}.document`, 'Informe o CPF (document) ou o CNPJ (company_document).');
  }
  if (a.document !== undefined && !isValidCpf(a.document)) throw invalid(`${field}.document`, 'O CPF informado é inválido.');
  if (a.company_document !== undefined && !isValidCnpj(a.company_document)) {
    throw invalid(`${field}.company_document`, 'O CNPJ informado é inválido.');
  }
  if (a.phone !== undefined && !/^\d{10,13}$/.test(onlyDigits(a.phone))) throw invalid(`${field}.phone`, 'Telefone inválido.');
  return {
    ...a,
    document: a.document ? onlyDigits(a.document) : null,
    company_document: a.company_document ? onlyDigits(a.company_document) : null,
    state_abbr: uf,
    country_id: 'BR',
    postal_code: c,
  };
}

/** Deterministic UUID-shaped ids (ME order and purchase ids are UUIDs); the counter is the tail. */
function uuidLike(kind: number, seq: number): string {
  return `${pad(kind, 8)}-0000-4000-8000-${pad(seq, 12)}`;
}

const createShipment = defineTool(
  'create_shipment',
  'Insert a shipment into the cart (status pending). Commercial shipments need options.invoice.key (44-digit NF-e key); otherwise set options.non_commercial=true.',
  z.object({
    service: z.number().int().positive(),
    agency: z.number().int().optional(),
    from: addressSchema,
    to: addressSchema,
    products: z.array(z.object({ name: z.string().min(1), quantity: z.number().int().positive(), unitary_value: z.number().min(0) })).min(1),
    volumes: z
      .array(z.object({ height: z.number().positive(), width: z.number().positive(), length: z.number().positive(), weight: z.number().positive() }))
      .min(1)
      .optional(),
    options: z
      .object({
        insurance_value: z.number().min(0).optional(),
        receipt: z.boolean().optional(),
        own_hand: z.boolean().optional(),
        reverse: z.boolean().optional(),
        non_commercial: z.boolean().optional(),
        invoice: z.object({ key: z.string() }).optional(),
        platform: z.string().optional(),
        tags: z.array(z.object({ tag: z.string(), url: z.string().nullable().optional() })).optional(),
      })
      .optional(),
  }),
  (args, ctx) => {
    const s = SERVICES.find((x) => x.id === args.service);
    if (!s) throw invalid('service', `O serviço ${args.service} não existe.`);
    const from = address(args.from, 'from');
    const to = address(args.to, 'to');
    const opts = args.options ?? {};
    if (opts.invoice) {
      if (!isValidNfeKey(opts.invoice.key)) throw invalid('options.invoice.key', 'A chave da nota fiscal é inválida (44 dígitos).');
    } else if (opts.non_commercial !== true) {
      throw invalid('options.invoice.key', 'Envios comerciais exigem a chave da NF-e; para envio não comercial informe options.non_commercial.');
    }
    const vol = args.volumes?.[0] ?? { height: 2, width: 11, length: 16, weight: 0.3 };
    const declared = args.products.reduce((sum, p) => sum + p.quantity * p.unitary_value, 0);
    const insurance = opts.insurance_value ?? declared;
    const q = quote(s, distanceBand(String(from.state_abbr), String(to.state_abbr)), { ...vol, insurance });
    if (!q) throw invalid('volumes', `O volume excede o limite do serviço ${s.name}.`);
    const seq = ctx.next('order');
    const id = uuidLike(1, seq);
    const order: Obj = {
      id,
      protocol: `ORD-${ctx.now.toISOString().slice(0, 7).replace('-', '')}${pad(seq, 8)}`,
      service_id: s.id,
      agency_id: args.agency ?? null,
      contract: null,
      service_code: null,
      quote: q.price,
      price: q.price,
      coupon: null,
      discount: 0,
      delivery_min: q.days,
      delivery_max: q.days + 1,
      status: 'pending',
      reminder: null,
      insurance_value: round2(insurance),
      weight: vol.weight,
      width: vol.width,
      height: vol.height,
      length: vol.length,
      diameter: 0,
      format: 'box',
      billed_weight: round2(Math.max(vol.weight, (vol.width * vol.height * vol.length) / 6000)),
      receipt: opts.receipt ?? false,
      own_hand: opts.own_hand ?? false,
      collect: false,
      collect_scheduled_at: null,
      reverse: opts.reverse ?? false,
      non_commercial: opts.non_commercial ?? false,
      invoice: opts.invoice ? { key: opts.invoice.key } : null,
      authorization_code: null,
      tracking: null,
      self_tracking: null,
      tags: opts.tags ?? [],
      from,
      to,
      products: args.products,
      created_at: ts(ctx),
      updated_at: ts(ctx),
      paid_at: null,
      generated_at: null,
      posted_at: null,
      delivered_at: null,
      canceled_at: null,
      expired_at: null,
    };
    return ctx.insert('order', id, order, 'status');
  },
);

function getOrder(ctx: ToolContext, id: string): Obj {
  const o = ctx.find('order', id);
  if (!o) throw meError('not_found', `No query results for order ${id}.`, 404);
  return o;
}

function balanceOf(ctx: ToolContext): number {
  let spent = 0;
  for (const o of ctx.list('order')) if (o.paid_at !== null && o.status !== 'canceled') spent += Number(o.price);
  return round2(INITIAL_BALANCE - spent);
}

function orderEvent(ctx: ToolContext, event: string, o: Obj): Obj {
  return {
    event,
    data: {
      id: o.id,
      protocol: o.protocol,
      status: o.status,
      tracking: o.tracking,
      self_tracking: o.self_tracking,
      user_id: null,
      tags: o.tags,
      created_at: o.created_at,
      paid_at: o.paid_at,
      generated_at: o.generated_at,
      posted_at: o.posted_at,
      delivered_at: o.delivered_at,
      canceled_at: o.canceled_at,
      expired_at: o.expired_at,
    },
  };
}

const ordersArg = z.object({ orders: z.array(z.string().min(1)).min(1).max(100) });

const checkoutCart = defineTool('checkout_cart', 'Pay cart orders from the wallet balance; orders become released.', ordersArg, (args, ctx) => {
  const orders = args.orders.map((id) => getOrder(ctx, id));
  for (const o of orders) {
    if (o.status !== 'pending') throw meError('invalid_status', `O envio ${String(o.id)} não está no carrinho (status ${String(o.status)}).`, 422);
  }
  const total = round2(orders.reduce((s, o) => s + Number(o.price), 0));
  const balance = balanceOf(ctx);
  if (total > balance) {
    throw meError('insufficient_balance', `Saldo insuficiente: total ${money(total)}, saldo ${money(balance)}.`, 422);
  }
  for (const o of orders) {
    o.status = 'released';
    o.paid_at = ts(ctx);
    o.updated_at = ts(ctx);
    ctx.emit(orderEvent(ctx, 'order.released', o));
  }
  const seq = ctx.next('purchase');
  return {
    purchase: {
      id: uuidLike(2, seq),
      protocol: `PUR-${ctx.now.toISOString().slice(0, 7).replace('-', '')}${pad(seq, 8)}`,
      total,
      discount: 0,
      status: 'paid',
      paid_at: ts(ctx),
      canceled_at: null,
      created_at: ts(ctx),
      updated_at: ts(ctx),
      payment: null,
      transactions: [],
      orders: orders.map((o) => structuredClone(o)),
    },
  };
});

const generateLabel = defineTool('generate_label', 'Generate labels for released (paid) orders; assigns the carrier tracking code.', ordersArg, (args, ctx) => {
  const out: Obj = {};
  for (const id of args.orders) {
    const o = ctx.find('order', id);
    if (!o) {
      out[id] = { status: false, message: 'Envio não encontrado.' };
      continue;
    }
    if (o.status !== 'released') {
      out[id] = { status: false, message: `Envio não está pago (status ${String(o.status)}).` };
      continue;
    }
    const s = SERVICES.find((x) => x.id === o.service_id);
    const seq = ctx.next('tracking');
    const serial = pad(seq, 8);
    o.tracking = s?.prefix ? `${s.prefix}${serial}${s10CheckDigit(serial)}BR` : `1${pad(seq, 13)}`;
    o.self_tracking = `ME${pad(seq, 10)}`;
    o.status = 'generated';
    o.generated_at = ts(ctx);
    o.updated_at = ts(ctx);
    ctx.emit(orderEvent(ctx, 'order.generated', o));
    out[id] = { status: true, message: 'Envio gerado com sucesso' };
  }
  if (Object.values(out).every((r) => (r as Obj).status === false)) {
    throw meError(
      'label_not_generated',
      'Nenhuma etiqueta pôde ser gerada.',
      422,
      Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [String((v as Obj).message)]])),
    );
  }
  return out;
});

const printLabel = defineTool(
  'print_label',
  'Printable label URL for generated orders.',
  z.object({ orders: z.array(z.string().min(1)).min(1).max(100), mode: z.enum(['private', 'public']).optional() }),
  (args, ctx) => {
    for (const id of args.orders) {
      const o = getOrder(ctx, id);
      if (!['generated', 'posted', 'delivered'].includes(String(o.status))) {
        throw meError('invalid_status', `A etiqueta do envio ${id} ainda não foi gerada.`, 422);
      }
    }
    const seq = ctx.next('print');
    return { url: `https://sandbox.melhorenvio.com.br/imprimir/${args.mode === 'public' ? 'p' : 'i'}${pad(seq, 10)}` };
  },
);

const trackShipment = defineTool('track_shipment', 'Status and tracking codes of one order.', z.object({ id: z.string().min(1) }), (args, ctx) => {
  const o = getOrder(ctx, args.id);
  return {
    [args.id]: {
      id: o.id,
      protocol: o.protocol,
      status: o.status,
      tracking: o.tracking,
      melhorenvio_tracking: o.self_tracking,
      created_at: o.created_at,
      paid_at: o.paid_at,
      generated_at: o.generated_at,
      posted_at: o.posted_at,
      delivered_at: o.delivered_at,
      canceled_at: o.canceled_at,
      expired_at: o.expired_at,
    },
  };
});

const cancelShipment = defineTool(
  'cancel_shipment',
  'Cancel an order that has not been posted; a paid value returns to the wallet.',
  z.object({ id: z.string().min(1), reason_id: z.number().int().optional(), description: z.string().max(255).optional() }),
  (args, ctx) => {
    const o = getOrder(ctx, args.id);
    if (!['pending', 'released', 'generated'].includes(String(o.status))) {
      throw meError('not_cancellable', `O envio ${args.id} não pode ser cancelado (status ${String(o.status)}).`, 422);
    }
    o.status = 'canceled';
    o.canceled_at = ts(ctx);
    o.updated_at = ts(ctx);
    ctx.emit(orderEvent(ctx, 'order.cancelled', o));
    return { [args.id]: { canceled: true } };
  },
);

const getShipment = defineTool('get_shipment', 'Order detail by id.', z.object({ id: z.string().min(1) }), (args, ctx) => getOrder(ctx, args.id));

const getBalance = defineTool('get_balance', 'Wallet balance in reais.', z.object({}), (_args, ctx) => ({ balance: balanceOf(ctx), reserved: 0, debts: 0 }));

export const melhorEnvioModule: ProviderModule = {
  definition: {
    id: 'melhor-envio',
    name: 'Melhor Envio',
    description: 'Shipping marketplace: quotes across carriers, cart, checkout from wallet, labels and tracking.',
    category: 'shipping',
    credentialFields: [
      { name: 'token', secret: true, required: true },
      { name: 'webhook_secret', secret: true, required: false },
    ],
    tools: [calculateShipping, createShipment, checkoutCart, generateLabel, printLabel, trackShipment, cancelShipment, getShipment, getBalance],
  },
  unauthorized: () => meError('unauthenticated', 'Unauthenticated.', 401),
  invalidInput: (issues) => {
    const errors: Record<string, string[]> = {};
    for (const i of issues) (errors[issuePath(i) || 'request'] ??= []).push(i.message);
    return meError('validation_failed', 'The given data was invalid.', 422, errors);
  },
  simulations: {
    label_posted(ctx, id) {
      const { obj: o } = findForSimulation(ctx, ['order'], id);
      if (o.status !== 'generated') throw invalidTransition(id, o.status, 'label_posted');
      o.status = 'posted';
      o.posted_at = ts(ctx);
      o.updated_at = ts(ctx);
      ctx.emit(orderEvent(ctx, 'order.posted', o));
      return o;
    },
    delivered(ctx, id) {
      const { obj: o } = findForSimulation(ctx, ['order'], id);
      if (o.status !== 'posted') throw invalidTransition(id, o.status, 'delivered');
      o.status = 'delivered';
      o.delivered_at = ts(ctx);
      o.updated_at = ts(ctx);
      ctx.emit(orderEvent(ctx, 'order.delivered', o));
      return o;
    },
  },
  webhookScheme: 'melhor-envio',
};
