import { z } from 'zod';
import { ProviderError } from '../provider-error';
import { issuePath } from '../provider-module';
import type { ProviderModule } from '../provider-module';
import { findForSimulation, invalidTransition } from '../simulation-helpers';
import { defineTool } from '../tool';
import type { ProviderObject, ToolContext } from '../types';
import { hasAtMostTwoDecimals, isValidCnpj, isValidCpfOrCnpj, nfeKeyCheckDigit, onlyDigits, pad, round2 } from '../validators';

/**
 * Nuvem Fiscal, modelled on `@codespar/mcp-nuvem-fiscal` (flat create_nfe arguments) returning the
 * provider's `Dfe` shape. Amounts are decimal reais. `ambiente` accepts the MCP's 1 (produção) /
 * 2 (homologação) and the REST API's strings; responses carry the string form.
 *
 * NF-e status machine: pendente → autorizado | rejeitado (SEFAZ outcome: simulation controls
 * `nfe_authorized` / `nfe_rejected`), autorizado → cancelado (cancel_nfe within 24 h of authorisation).
 * NFS-e: processando → autorizada | negada, autorizada → cancelada.
 */

type Obj = ProviderObject;

/** IBGE state codes, the first two digits of an NF-e access key. */
const UF_CODES: Record<string, string> = {
  RO: '11',
  AC: '12',
  AM: '13',
  RR: '14',
  PA: '15',
  AP: '16',
  TO: '17',
  MA: '21',
  PI: '22',
  CE: '23',
  RN: '24',
  PB: '25',
  PE: '26',
  AL: '27',
  SE: '28',
  BA: '29',
  MG: '31',
  ES: '32',
  RJ: '33',
  SP: '35',
  PR: '41',
  SC: '42',
  RS: '43',
  MS: '50',
  MT: '51',
  GO: '52',
  DF: '53',
};

/** SEFAZ allows cancelling an authorised NF-e for 24 hours (in ms). */
const CANCEL_WINDOW_MS = 24 * 60 * 60 * 1000;

function nfError(code: string, message: string, status: number, extra: Record<string, unknown> = {}): ProviderError {
  return new ProviderError(code, message, status, extra);
}

const ambienteSchema = z.union([z.literal(1), z.literal(2), z.literal('producao'), z.literal('homologacao')]);
const ambienteName = (a: 1 | 2 | 'producao' | 'homologacao'): string => (a === 1 || a === 'producao' ? 'producao' : 'homologacao');

const enderecoSchema = z.looseObject({
  logradouro: z.string().optional(),
  numero: z.string().optional(),
  bairro: z.string().optional(),
  codigo_municipio: z.string().optional(),
  cidade: z.string().optional(),
  uf: z.string().length(2).optional(),
  cep: z.string().optional(),
});

const partySchema = z.looseObject({
  cpf_cnpj: z.string().min(11).max(18),
  nome: z.string().min(1).max(60).optional(),
  razao_social: z.string().min(1).max(60).optional(),
  inscricao_estadual: z.string().optional(),
  uf: z.string().length(2).optional(),
  email: z.email().optional(),
  endereco: enderecoSchema.optional(),
});

const itemSchema = z.looseObject({
  codigo: z.string().optional(),
  descricao: z.string().min(1).max(120),
  ncm: z.string().regex(/^\d{8}$/, 'NCM must be 8 digits'),
  cfop: z.string().regex(/^[1-7]\d{3}$/, 'CFOP must be 4 digits'),
  unidade: z.string().optional(),
  quantidade: z.number().positive(),
  valor_unitario: z.number().positive(),
});

function nowIso(ctx: ToolContext): string {
  return ctx.now.toISOString();
}

function getDoc(ctx: ToolContext, type: 'nfe' | 'nfse', id: string): Obj {
  const d = ctx.find(type, id);
  if (!d) throw nfError('not_found', `${type.toUpperCase()} '${id}' não encontrada.`, 404);
  return d;
}

function checkParty(value: string, path: string, cnpjOnly = false): string {
  const ok = cnpjOnly ? isValidCnpj(value) : isValidCpfOrCnpj(value);
  if (!ok) {
    throw nfError('validation_failed', `${path}: CPF/CNPJ inválido.`, 400, { errors: [{ field: path, message: 'CPF/CNPJ inválido.' }] });
  }
  return onlyDigits(value);
}

const createNfe = defineTool(
  'create_nfe',
  'Emit an NF-e (model 55). Returns the document with status "pendente" until SEFAZ answers (poll get_nfe).',
  z.object({
    ambiente: ambienteSchema,
    natureza_operacao: z.string().min(1).max(60),
    emitente: partySchema,
    destinatario: partySchema,
    itens: z.array(itemSchema).min(1).max(990),
    pagamento: z.looseObject({
      forma: z.string().optional(),
      meio: z.string().optional(),
      valor: z.number().positive().optional(),
    }),
    referencia: z.string().max(50).optional(),
    serie: z.number().int().min(0).max(999).optional(),
  }),
  (args, ctx) => {
    const cnpjEmit = checkParty(args.emitente.cpf_cnpj, 'emitente.cpf_cnpj', true);
    const cpfCnpjDest = checkParty(args.destinatario.cpf_cnpj, 'destinatario.cpf_cnpj');
    if (args.referencia && ctx.list('nfe').some((n) => n.referencia === args.referencia)) {
      throw nfError('duplicate_reference', `Já existe uma NF-e com a referência '${args.referencia}'.`, 409);
    }
    const total = round2(args.itens.reduce((s, it) => s + it.quantidade * it.valor_unitario, 0));
    if (args.pagamento.valor !== undefined && round2(args.pagamento.valor) < total) {
      throw nfError('validation_failed', `pagamento.valor (${args.pagamento.valor.toFixed(2)}) é menor que o total da nota (${total.toFixed(2)}).`, 400);
    }
    const seq = ctx.next('nfe');
    const uf = (args.emitente.uf ?? args.emitente.endereco?.uf ?? 'SP').toUpperCase();
    const cuf = UF_CODES[uf];
    if (!cuf) throw nfError('validation_failed', `emitente.uf '${uf}' inválida.`, 400);
    const serie = args.serie ?? 1;
    const yymm = ctx.now.toISOString().slice(2, 4) + ctx.now.toISOString().slice(5, 7);
    // cNF: 8-digit random code in real life; derived from the sequence here for determinism.
    const cnf = pad((seq * 7919) % 100_000_000, 8);
    const first43 = `${cuf}${yymm}${cnpjEmit}55${pad(serie, 3)}${pad(seq, 9)}1${cnf}`;
    const chave = first43 + String(nfeKeyCheckDigit(first43));
    const id = `nfe_${pad(seq, 6)}`;
    const nfe: Obj = {
      id,
      ambiente: ambienteName(args.ambiente),
      created_at: nowIso(ctx),
      status: 'pendente',
      referencia: args.referencia ?? null,
      data_emissao: nowIso(ctx),
      modelo: 55,
      serie,
      numero: seq,
      valor_total: total,
      chave,
      natureza_operacao: args.natureza_operacao,
      emitente: { cpf_cnpj: cnpjEmit, nome: args.emitente.razao_social ?? args.emitente.nome ?? null, uf },
      destinatario: { cpf_cnpj: cpfCnpjDest, nome: args.destinatario.nome ?? args.destinatario.razao_social ?? null },
      autorizacao: null,
      cancelamento: null,
    };
    return ctx.insert('nfe', id, nfe, 'status');
  },
);

const getNfe = defineTool('get_nfe', 'Get an NF-e by id.', z.object({ id: z.string().min(1) }), (args, ctx) => getDoc(ctx, 'nfe', args.id));

function protocolo(ctx: ToolContext, cuf: string): string {
  // Real protocol numbers: 1 (type) + cUF + year(2) + 10-digit sequence.
  return `1${cuf}${ctx.now.toISOString().slice(2, 4)}${pad(ctx.next('protocolo'), 10)}`;
}

const cancelNfe = defineTool(
  'cancel_nfe',
  'Cancel an authorised NF-e (justificativa 15-255 chars, within 24 h of authorisation).',
  z.object({ id: z.string().min(1), justificativa: z.string().min(15).max(255) }),
  (args, ctx) => {
    const nfe = getDoc(ctx, 'nfe', args.id);
    if (nfe.status !== 'autorizado') {
      throw nfError('invalid_status', `Somente NF-e autorizada pode ser cancelada (status atual: ${String(nfe.status)}).`, 400);
    }
    const auth = nfe.autorizacao as Obj;
    if (ctx.now.getTime() - Date.parse(String(auth.data_recebimento)) > CANCEL_WINDOW_MS) {
      throw nfError('cancellation_window_expired', 'Rejeição 501: Prazo de cancelamento superior ao previsto na legislação.', 400, { codigo_status: 501 });
    }
    const chave = String(nfe.chave);
    const evento: Obj = {
      id: `evt_${pad(ctx.next('evento'), 6)}`,
      ambiente: nfe.ambiente,
      status: 'registrado',
      autor: { cpf_cnpj: (nfe.emitente as Obj).cpf_cnpj },
      chave_acesso: chave,
      data_evento: nowIso(ctx),
      numero_sequencial: 1,
      data_recebimento: nowIso(ctx),
      codigo_status: 135,
      motivo_status: 'Evento registrado e vinculado a NF-e',
      numero_protocolo: protocolo(ctx, chave.slice(0, 2)),
      justificativa: args.justificativa,
    };
    nfe.status = 'cancelado';
    nfe.cancelamento = evento;
    ctx.emit(docEvent(ctx, 'nfe.cancelado', nfe));
    return evento;
  },
);

const createNfse = defineTool(
  'create_nfse',
  'Emit an NFS-e (service invoice). Returns status "processando" until the municipality answers (poll get_nfse).',
  z.object({
    ambiente: ambienteSchema,
    prestador: z.looseObject({ cpf_cnpj: z.string().min(11).max(18), inscricao_municipal: z.string().optional() }),
    tomador: partySchema,
    servico: z.looseObject({
      descricao: z.string().min(1).max(2000),
      valor_servicos: z.number().positive().optional(),
      valor: z.number().positive().optional(),
      codigo: z.string().optional(),
      item_lista_servico: z.string().optional(),
      aliquota_iss: z.number().min(0).max(5).optional(),
    }),
    referencia: z.string().max(50).optional(),
  }),
  (args, ctx) => {
    const prestador = checkParty(args.prestador.cpf_cnpj, 'prestador.cpf_cnpj');
    const tomador = checkParty(args.tomador.cpf_cnpj, 'tomador.cpf_cnpj');
    const valor = args.servico.valor_servicos ?? args.servico.valor;
    if (valor === undefined) throw nfError('validation_failed', 'servico.valor_servicos é obrigatório.', 400);
    if (!hasAtMostTwoDecimals(valor)) throw nfError('validation_failed', 'servico.valor_servicos deve ter no máximo 2 casas decimais.', 400);
    const seq = ctx.next('nfse');
    const id = `nfse_${pad(seq, 6)}`;
    const aliquota = args.servico.aliquota_iss ?? 2;
    return ctx.insert(
      'nfse',
      id,
      {
        id,
        created_at: nowIso(ctx),
        status: 'processando',
        ambiente: ambienteName(args.ambiente),
        referencia: args.referencia ?? null,
        numero: null,
        codigo_verificacao: null,
        link_url: null,
        data_emissao: nowIso(ctx),
        DPS: { serie: '1', nDPS: String(seq) },
        prestador: { cpf_cnpj: prestador, inscricao_municipal: args.prestador.inscricao_municipal ?? null },
        tomador: { cpf_cnpj: tomador, nome: args.tomador.nome ?? args.tomador.razao_social ?? null },
        servico: {
          descricao: args.servico.descricao,
          codigo: args.servico.codigo ?? args.servico.item_lista_servico ?? '1.05',
          valor_servicos: valor,
          aliquota_iss: aliquota,
          valor_iss: round2((valor * aliquota) / 100),
        },
        mensagens: [],
      },
      'status',
    );
  },
);

const getNfse = defineTool('get_nfse', 'Get an NFS-e by id.', z.object({ id: z.string().min(1) }), (args, ctx) => getDoc(ctx, 'nfse', args.id));

const cancelNfse = defineTool(
  'cancel_nfse',
  'Cancel an authorised NFS-e.',
  z.object({ id: z.string().min(1), justificativa: z.string().min(15).max(255) }),
  (args, ctx) => {
    const nfse = getDoc(ctx, 'nfse', args.id);
    if (nfse.status !== 'autorizada') {
      throw nfError('invalid_status', `Somente NFS-e autorizada pode ser cancelada (status atual: ${String(nfse.status)}).`, 400);
    }
    nfse.status = 'cancelada';
    return { id: `evt_${pad(ctx.next('evento'), 6)}`, status: 'concluido', codigo: '1', motivo: args.justificativa, data_hora: nowIso(ctx) };
  },
);

function docEvent(ctx: ToolContext, type: string, doc: Obj): Obj {
  return { id: `evt_${pad(ctx.next('evt'), 6)}`, type, created_at: nowIso(ctx), data: structuredClone(doc) };
}

export const nuvemFiscalModule: ProviderModule = {
  definition: {
    id: 'nuvem-fiscal',
    name: 'Nuvem Fiscal',
    description: 'Fiscal documents: emit, query and cancel NF-e (goods) and NFS-e (services). Amounts in reais.',
    category: 'fiscal',
    credentialFields: [
      { name: 'client_id', secret: false, required: true },
      { name: 'client_secret', secret: true, required: true },
    ],
    tools: [createNfe, getNfe, cancelNfe, createNfse, getNfse, cancelNfse],
  },
  unauthorized: () => nfError('unauthorized', 'Credenciais inválidas: informe client_id e client_secret válidos (OAuth client_credentials).', 401),
  invalidInput: (issues) =>
    nfError('validation_failed', issues.map((i) => `${issuePath(i)}: ${i.message}`).join('; '), 400, {
      errors: issues.map((i) => ({ field: issuePath(i), message: i.message })),
    }),
  simulations: {
    nfe_authorized(ctx, id) {
      const { type, obj } = findForSimulation(ctx, ['nfe', 'nfse'], id);
      if (type === 'nfse') {
        if (obj.status !== 'processando') throw invalidTransition(id, obj.status, 'nfe_authorized');
        const seq = Number((obj.DPS as Obj).nDPS);
        obj.status = 'autorizada';
        obj.numero = String(seq);
        obj.codigo_verificacao = `SBX${pad(seq, 6)}`;
        obj.link_url = `https://sandbox.nuvemfiscal.com.br/nfse/${id}`;
        ctx.emit(docEvent(ctx, 'nfse.autorizada', obj));
        return obj;
      }
      if (obj.status !== 'pendente') throw invalidTransition(id, obj.status, 'nfe_authorized');
      const chave = String(obj.chave);
      obj.status = 'autorizado';
      obj.autorizacao = {
        id: `evt_${pad(ctx.next('evento'), 6)}`,
        ambiente: obj.ambiente,
        status: 'autorizado',
        autor: { cpf_cnpj: (obj.emitente as Obj).cpf_cnpj },
        chave_acesso: chave,
        data_evento: nowIso(ctx),
        numero_sequencial: 1,
        data_recebimento: nowIso(ctx),
        codigo_status: 100,
        motivo_status: 'Autorizado o uso da NF-e',
        numero_protocolo: protocolo(ctx, chave.slice(0, 2)),
      };
      ctx.emit(docEvent(ctx, 'nfe.autorizado', obj));
      return obj;
    },
    nfe_rejected(ctx, id) {
      const { type, obj } = findForSimulation(ctx, ['nfe', 'nfse'], id);
      if (type === 'nfse') {
        if (obj.status !== 'processando') throw invalidTransition(id, obj.status, 'nfe_rejected');
        obj.status = 'negada';
        obj.mensagens = [{ codigo: 'E160', descricao: 'Tomador não encontrado no cadastro municipal.', correcao: null }];
        ctx.emit(docEvent(ctx, 'nfse.negada', obj));
        return obj;
      }
      if (obj.status !== 'pendente') throw invalidTransition(id, obj.status, 'nfe_rejected');
      obj.status = 'rejeitado';
      obj.autorizacao = {
        id: `evt_${pad(ctx.next('evento'), 6)}`,
        ambiente: obj.ambiente,
        status: 'rejeitado',
        chave_acesso: obj.chave,
        data_evento: nowIso(ctx),
        data_recebimento: nowIso(ctx),
        codigo_status: 539,
        motivo_status: 'Rejeição: Duplicidade de NF-e, com diferença na Chave de Acesso',
        numero_protocolo: null,
      };
      ctx.emit(docEvent(ctx, 'nfe.rejeitado', obj));
      return obj;
    },
  },
  webhookScheme: 'sandbox-hmac',
};
