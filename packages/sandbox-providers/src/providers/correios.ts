import { z } from 'zod';
import { distanceBand, KNOWN_ADDRESSES, ufOfCep } from '../cep-regions';
import { ProviderError } from '../provider-error';
import { issuePath } from '../provider-module';
import type { ProviderModule } from '../provider-module';
import { findForSimulation, invalidTransition } from '../simulation-helpers';
import { defineTool } from '../tool';
import type { ProviderObject, ToolContext } from '../types';
import { isValidCpfOrCnpj, isValidNfeKey, isValidTrackingCode, normalizeCep, onlyDigits, pad, s10CheckDigit } from '../validators';

/**
 * Correios (CWS REST APIs), modelled on `@codespar/mcp-correios`. Weights in grams, dimensions in
 * cm, prices as the API returns them: strings with a decimal comma ("25,90").
 * Pre-posting (`situacao`): ATIVA → POSTADA (`label_posted`) → ENTREGUE (`delivered`); ATIVA → CANCELADA.
 * Tracking (`track_package`) shows SRO events newest first once the object is posted.
 */

type Obj = ProviderObject;

interface Service {
  code: string;
  name: string;
  /** Tracking-code prefix of objects of this service. */
  prefix: string;
  /** Price parameters in reais: base + per started kg, scaled by distance band. */
  base: number;
  perKg: number;
  /** Business days by distance band 0..3. */
  days: [number, number, number, number];
  maxWeightG: number;
  saturday: boolean;
}

const SERVICES: Record<string, Service> = {
  '03220': { code: '03220', name: 'SEDEX CONTRATO AG', prefix: 'SS', base: 21.5, perKg: 6.4, days: [1, 2, 3, 5], maxWeightG: 30000, saturday: true },
  '03298': { code: '03298', name: 'PAC CONTRATO AG', prefix: 'PM', base: 15.9, perKg: 3.2, days: [3, 5, 7, 10], maxWeightG: 30000, saturday: false },
  '04014': { code: '04014', name: 'SEDEX À VISTA', prefix: 'SS', base: 26.9, perKg: 7.9, days: [1, 2, 3, 5], maxWeightG: 30000, saturday: true },
  '04510': { code: '04510', name: 'PAC À VISTA', prefix: 'PM', base: 19.9, perKg: 4.1, days: [3, 5, 7, 10], maxWeightG: 30000, saturday: false },
  '04227': { code: '04227', name: 'MINI ENVIOS', prefix: 'NX', base: 9.9, perKg: 0, days: [4, 6, 8, 12], maxWeightG: 300, saturday: false },
};

function correiosError(code: string, message: string, status: number, extra: Record<string, unknown> = {}): ProviderError {
  return new ProviderError(code, message, status, { msgs: [message], ...extra });
}

const cepField = z.string().min(8).max(9);

function cep(value: string, field: string): string {
  const c = normalizeCep(value);
  if (!c || !ufOfCep(c)) throw correiosError('invalid_cep', `${field}: CEP inválido (${value}); informe 8 dígitos.`, 400);
  return c;
}

function service(code: string): Service {
  const s = SERVICES[code];
  if (!s) throw correiosError('invalid_service', `Serviço ${code} não disponível no contrato.`, 400);
  return s;
}

const reais = (v: number): string => v.toFixed(2).replace('.', ',');

/** Charged weight in grams: the greater of real and cubic weight (L×A×C / 6000 kg). */
function chargedWeight(pesoG: number, c: number, a: number, l: number): number {
  return Math.max(pesoG, Math.ceil(((c * a * l) / 6000) * 1000));
}

function price(s: Service, band: number, chargedG: number): number {
  const kg = Math.ceil(chargedG / 1000);
  return Math.round((s.base + s.perKg * Math.max(0, kg - 1)) * (1 + 0.25 * band) * 100) / 100;
}

/** Adds business days (Mon-Fri) to a date; returns YYYY-MM-DD. */
function addBusinessDays(from: Date, days: number): string {
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  let left = days;
  while (left > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) left--;
  }
  return d.toISOString().slice(0, 10);
}

const findCep = defineTool('find_cep', 'Look up an address by CEP (8 digits).', z.object({ cep: cepField }), (args) => {
  const c = normalizeCep(args.cep);
  if (!c) throw correiosError('invalid_cep', `CEP inválido (${args.cep}); informe 8 dígitos.`, 400);
  const a = KNOWN_ADDRESSES.find((k) => k.cep === c);
  if (!a) throw correiosError('cep_not_found', `CEP ${c} não encontrado.`, 404);
  return { ...a, complemento: null, tipoCEP: 2, siglaPais: 'BR', nomePais: 'Brasil' };
});

const calculateShipping = defineTool(
  'calculate_shipping',
  'Price between two CEPs for one or more services (default 03220 SEDEX, 03298 PAC). peso in grams, dimensions in cm.',
  z.object({
    cepOrigem: cepField,
    cepDestino: cepField,
    peso: z.number().int().positive(),
    comprimento: z.number().positive().max(100).optional(),
    altura: z.number().positive().max(100).optional(),
    largura: z.number().positive().max(100).optional(),
    servicos: z
      .array(z.string().regex(/^\d{5}$/))
      .min(1)
      .optional(),
  }),
  (args) => {
    const o = cep(args.cepOrigem, 'cepOrigem');
    const d = cep(args.cepDestino, 'cepDestino');
    const band = distanceBand(ufOfCep(o) ?? '', ufOfCep(d) ?? '');
    const c = args.comprimento ?? 16;
    const a = args.altura ?? 2;
    const l = args.largura ?? 11;
    if (c + a + l > 200) throw correiosError('invalid_dimensions', 'A soma das dimensões não pode ultrapassar 200 cm.', 400);
    const charged = chargedWeight(args.peso, c, a, l);
    const results = (args.servicos ?? ['03220', '03298']).map((code) => {
      const s = service(code);
      if (charged > s.maxWeightG) {
        return { coProduto: code, txErro: `Peso excede o limite de ${s.maxWeightG} g para o serviço.`, nuRequisicao: code };
      }
      const p = price(s, band, charged);
      return {
        coProduto: code,
        nuRequisicao: code,
        pcBase: reais(p),
        pcBaseGeral: reais(p),
        pcFinal: reais(p),
        psCobrado: String(charged),
        peVariacao: '0,00',
      };
    });
    return { data: results };
  },
);

const getDeliveryTime = defineTool(
  'get_delivery_time',
  'Delivery deadline (business days) for a service between two CEPs.',
  z.object({ cepOrigem: cepField, cepDestino: cepField, codigoServico: z.string().regex(/^\d{5}$/) }),
  (args, ctx) => {
    const o = cep(args.cepOrigem, 'cepOrigem');
    const d = cep(args.cepDestino, 'cepDestino');
    const s = service(args.codigoServico);
    const days = s.days[distanceBand(ufOfCep(o) ?? '', ufOfCep(d) ?? '')] ?? 10;
    return {
      coProduto: s.code,
      prazoEntrega: days,
      dataMaxima: `${addBusinessDays(ctx.now, days)}T23:59:59`,
      entregaDomiciliar: 'S',
      entregaSabado: s.saturday ? 'S' : 'N',
    };
  },
);

const partySchema = z.looseObject({
  nome: z.string().min(1).max(50),
  cpfCnpj: z.string().optional(),
  dddCelular: z.string().optional(),
  celular: z.string().optional(),
  email: z.email().optional(),
  endereco: z.looseObject({
    cep: cepField,
    logradouro: z.string().min(1),
    numero: z.string().min(1),
    complemento: z.string().optional(),
    bairro: z.string().optional(),
    cidade: z.string().min(1),
    uf: z.string().length(2),
  }),
});

function party(p: z.output<typeof partySchema>, field: string): Obj {
  const c = cep(p.endereco.cep, `${field}.endereco.cep`);
  const uf = p.endereco.uf.toUpperCase();
  if (ufOfCep(c) !== uf) throw correiosError('invalid_uf', `${field}.endereco.uf (${uf}) não corresponde ao CEP ${c}.`, 400);
  if (p.cpfCnpj !== undefined && !isValidCpfOrCnpj(p.cpfCnpj)) {
    throw correiosError('invalid_document', `${field}.cpfCnpj inválido.`, 400);
  }
  return { ...p, cpfCnpj: p.cpfCnpj ? onlyDigits(p.cpfCnpj) : null, endereco: { ...p.endereco, cep: c, uf } };
}

const createPrepost = defineTool(
  'create_prepost',
  'Create a pre-posting (label data) and reserve a tracking code. pesoInformado in grams; chaveNFe optional (44 digits).',
  z.object({
    codigoServico: z.string().regex(/^\d{5}$/),
    remetente: partySchema,
    destinatario: partySchema,
    objetoPostal: z.looseObject({
      pesoInformado: z.number().int().positive(),
      codigoFormatoObjetoInformado: z.enum(['1', '2', '3']).optional(),
      comprimentoInformado: z.number().positive().max(100).optional(),
      alturaInformada: z.number().positive().max(100).optional(),
      larguraInformada: z.number().positive().max(100).optional(),
      valorDeclarado: z.number().min(0).optional(),
    }),
    numeroNotaFiscal: z.string().optional(),
    chaveNFe: z.string().optional(),
    observacao: z.string().max(200).optional(),
  }),
  (args, ctx) => {
    const s = service(args.codigoServico);
    const remetente = party(args.remetente, 'remetente');
    const destinatario = party(args.destinatario, 'destinatario');
    if (args.objetoPostal.pesoInformado > s.maxWeightG) {
      throw correiosError('invalid_weight', `Peso excede o limite de ${s.maxWeightG} g para o serviço ${s.code}.`, 400);
    }
    if (args.chaveNFe !== undefined && !isValidNfeKey(args.chaveNFe)) {
      throw correiosError('invalid_nfe_key', 'chaveNFe inválida: 44 dígitos com dígito verificador.', 400);
    }
    const seq = ctx.next('prepost');
    const serial = pad(seq, 8);
    const codigoObjeto = `${s.prefix}${serial}${s10CheckDigit(serial)}BR`;
    const id = `PR${pad(seq, 10)}`;
    return ctx.insert(
      'prepostagem',
      id,
      {
        id,
        codigoObjeto,
        codigoServico: s.code,
        descricaoServico: s.name,
        situacao: 'ATIVA',
        remetente,
        destinatario,
        objetoPostal: args.objetoPostal,
        numeroNotaFiscal: args.numeroNotaFiscal ?? null,
        chaveNFe: args.chaveNFe ?? null,
        observacao: args.observacao ?? null,
        dataHoraCriacao: ctx.now.toISOString(),
        prazoPostagem: addBusinessDays(ctx.now, 10),
        eventos: [],
      },
      'situacao',
    );
  },
);

function getPrepostById(ctx: ToolContext, id: string): Obj {
  const p = ctx.find('prepostagem', id);
  if (!p) throw correiosError('not_found', `Pré-postagem ${id} não encontrada.`, 404);
  return p;
}

const getPrepost = defineTool('get_prepost', 'Get a pre-posting by id (PR...).', z.object({ id: z.string().min(1) }), (args, ctx) =>
  getPrepostById(ctx, args.id),
);

const cancelPrepost = defineTool('cancel_prepost', 'Cancel a pre-posting that has not been posted yet.', z.object({ id: z.string().min(1) }), (args, ctx) => {
  const p = getPrepostById(ctx, args.id);
  if (p.situacao !== 'ATIVA') {
    throw correiosError('invalid_status', `Pré-postagem ${args.id} não pode ser cancelada (situação ${String(p.situacao)}).`, 400);
  }
  p.situacao = 'CANCELADA';
  return p;
});

const trackPackage = defineTool(
  'track_package',
  'Tracking events (newest first) of one object by its 13-character code (e.g. SS12345678?BR).',
  z.object({ code: z.string().length(13) }),
  (args, ctx) => {
    const code = args.code.toUpperCase();
    if (!isValidTrackingCode(code)) {
      throw correiosError('invalid_tracking_code', `Código de objeto inválido: ${args.code}.`, 400);
    }
    const p = ctx.list('prepostagem').find((x) => x.codigoObjeto === code);
    const eventos = (p?.eventos as Obj[] | undefined) ?? [];
    if (!p || eventos.length === 0) {
      return {
        objetos: [{ codObjeto: code, mensagem: 'SRO-020: Objeto não encontrado na base de dados dos Correios.' }],
        quantidade: 1,
        resultado: 'Todos os Eventos',
      };
    }
    return {
      objetos: [{ codObjeto: code, tipoPostal: { sigla: code.slice(0, 2), descricao: p.descricaoServico }, eventos: [...eventos].reverse() }],
      quantidade: 1,
      resultado: 'Todos os Eventos',
    };
  },
);

function sroEvent(ctx: ToolContext, codigo: string, tipo: string, descricao: string, cidade: string, uf: string): Obj {
  // Events a few minutes apart keep newest-first ordering meaningful with a fixed clock.
  const at = new Date(ctx.now.getTime() + ctx.next('sro') * 60_000).toISOString().slice(0, 19);
  return { codigo, tipo, dtHrCriado: at, descricao, unidade: { tipo: 'Unidade de Tratamento', endereco: { cidade, uf } } };
}

function trackingEvent(ctx: ToolContext, type: string, p: Obj): Obj {
  return { id: `evt_${pad(ctx.next('evt'), 6)}`, type, created_at: ctx.now.toISOString(), data: structuredClone(p) };
}

export const correiosModule: ProviderModule = {
  definition: {
    id: 'correios',
    name: 'Correios',
    description: 'Brazilian postal service: CEP lookup, shipping price and deadline, pre-postings (labels) and tracking.',
    category: 'shipping',
    credentialFields: [
      { name: 'username', secret: false, required: true },
      { name: 'access_code', secret: true, required: true },
    ],
    tools: [findCep, calculateShipping, getDeliveryTime, createPrepost, getPrepost, cancelPrepost, trackPackage],
  },
  unauthorized: () => correiosError('unauthorized', 'Usuário ou código de acesso inválido.', 401),
  invalidInput: (issues) =>
    correiosError('validation_failed', issues.map((i) => `${issuePath(i)}: ${i.message}`).join('; '), 400, {
      msgs: issues.map((i) => `${issuePath(i)}: ${i.message}`),
    }),
  simulations: {
    label_posted(ctx, id) {
      const { obj: p } = findForSimulation(ctx, ['prepostagem'], id);
      if (p.situacao !== 'ATIVA') throw invalidTransition(id, p.situacao, 'label_posted');
      const r = (p.remetente as Obj).endereco as Obj;
      p.situacao = 'POSTADA';
      (p.eventos as Obj[]).push(sroEvent(ctx, 'PO', '01', 'Objeto postado', String(r.cidade), String(r.uf)));
      ctx.emit(trackingEvent(ctx, 'prepostagem.postada', p));
      return p;
    },
    delivered(ctx, id) {
      const { obj: p } = findForSimulation(ctx, ['prepostagem'], id);
      if (p.situacao !== 'POSTADA') throw invalidTransition(id, p.situacao, 'delivered');
      const r = (p.remetente as Obj).endereco as Obj;
      const d = (p.destinatario as Obj).endereco as Obj;
      const ev = p.eventos as Obj[];
      ev.push(sroEvent(ctx, 'RO', '01', 'Objeto em trânsito - por favor aguarde', String(r.cidade), String(r.uf)));
      ev.push(sroEvent(ctx, 'OEC', '01', 'Objeto saiu para entrega ao destinatário', String(d.cidade), String(d.uf)));
      ev.push(sroEvent(ctx, 'BDE', '01', 'Objeto entregue ao destinatário', String(d.cidade), String(d.uf)));
      p.situacao = 'ENTREGUE';
      ctx.emit(trackingEvent(ctx, 'objeto.entregue', p));
      return p;
    },
  },
  webhookScheme: 'sandbox-hmac',
};
