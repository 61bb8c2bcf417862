import { createHmac } from 'node:crypto';
import { createSandboxState, getProvider, PROVIDERS, SandboxError } from '../src';
import type { CredentialValues, ProviderId, SandboxState } from '../src';
import { isoDateFromNow } from '@agents/testkit';

// The sandbox checks due dates against its clock; a fixed clock beside relative dates drifts apart.
const NOW = new Date();
const STRIPE_A: CredentialValues = { secret_key: 'sk_test_tenant_a' };
const STRIPE_B: CredentialValues = { secret_key: 'sk_test_tenant_b' };
const ASAAS: CredentialValues = { api_key: '$aact_sandbox_key_1' };
const NF: CredentialValues = { client_id: 'nf-client-1', client_secret: 'nf-secret-1' };
const ME: CredentialValues = { token: 'me-token-000001' };
const ZAPI: CredentialValues = { instance_id: 'instance-0001', token: 'token-000001', client_token: 'client-token-01' };
const CORREIOS: CredentialValues = { username: 'loja-user-1', access_code: 'access-code-01' };

function call(s: SandboxState, server: ProviderId, tool: string, args: Record<string, unknown>, credentials: CredentialValues, key?: string) {
  const out = s.callTool(server, tool, args, { credentials, idempotencyKey: key ?? null });
  return { ...out, data: out.result.structuredContent as Record<string, any>, isError: out.result.isError === true };
}

describe('catalog', () => {
  it('lists the six providers with the fixed credential fields, first field naming the account', () => {
    expect(PROVIDERS.map((p) => p.id)).toEqual(['stripe', 'correios', 'nuvem-fiscal', 'asaas', 'melhor-envio', 'z-api']);
    expect(getProvider('nuvem-fiscal')?.credentialFields.map((f) => f.name)).toEqual(['client_id', 'client_secret']);
    expect(getProvider('z-api')?.credentialFields.map((f) => f.name)).toEqual(['instance_id', 'token', 'client_token']);
    expect(getProvider('stripe')?.credentialFields[1]).toEqual({ name: 'webhook_secret', secret: true, required: false });
    expect(getProvider('nope')).toBeUndefined();
  });
});

describe('sandbox state', () => {
  let s: SandboxState;
  beforeEach(() => {
    s = createSandboxState({ now: () => NOW });
  });

  it('answers a provider-shaped 401 for missing or malformed credentials, without echoing them', () => {
    const missing = call(s, 'nuvem-fiscal', 'get_nfe', { id: 'x' }, { client_id: 'nf-client-1' });
    expect(missing.isError).toBe(true);
    expect(missing.data.error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(missing.account).toBe('nf-client-1');
    const malformed = call(s, 'stripe', 'retrieve_balance', {}, { secret_key: 'short' });
    expect(malformed.data.error).toMatchObject({ code: 'invalid_api_key', status: 401 });
    expect(malformed.account).toBeNull();
    expect(JSON.stringify(malformed.result)).not.toContain('short');
    const asaas = call(s, 'asaas', 'get_balance', {}, {});
    expect(asaas.data.error).toMatchObject({ code: 'invalid_access_token', status: 401 });
    expect(asaas.data.error.errors[0].code).toBe('invalid_access_token');
  });

  it('partitions by account and yields the same ids for the same call sequence', () => {
    const a = call(s, 'stripe', 'create_customer', { name: 'A' }, STRIPE_A);
    const b = call(s, 'stripe', 'create_customer', { name: 'B' }, STRIPE_B);
    expect(a.data.id).toBe('cus_000001');
    expect(b.data.id).toBe('cus_000001');
    expect(call(s, 'stripe', 'retrieve_customer', { id: 'cus_000001' }, STRIPE_B).data.name).toBe('B');
    expect(s.listObjects('stripe', 'sk_test_tenant_a').map((o) => o.name)).toEqual(['A']);
    const other = createSandboxState({ now: () => NOW });
    expect(call(other, 'stripe', 'create_customer', { name: 'A' }, STRIPE_A).data).toEqual(a.data);
  });

  it('replays the first result for a repeated idempotency key and creates nothing new', () => {
    const first = call(s, 'asaas', 'create_customer', { name: 'Maria', cpfCnpj: '12345678909' }, ASAAS, 'job_1:0');
    const again = call(s, 'asaas', 'create_customer', { name: 'Maria', cpfCnpj: '12345678909' }, ASAAS, 'job_1:0');
    expect(again.replayed).toBe(true);
    expect(again.data).toEqual(first.data);
    const objects = s.listObjects('asaas', ASAAS.api_key!);
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatchObject({ id: 'cus_000001', object: 'customer', idempotency_key: 'job_1:0', created_at: NOW.toISOString() });
    const reuse = call(s, 'asaas', 'get_balance', {}, ASAAS, 'job_1:0');
    expect(reuse.data.error.code).toBe('idempotency_key_reused');
  });

  it('does not remember failures under an idempotency key', () => {
    const bad = call(s, 'asaas', 'create_customer', { name: 'X', cpfCnpj: '12345678900' }, ASAAS, 'k');
    expect(bad.data.error).toMatchObject({ code: 'invalid_cpfCnpj', status: 400 });
    const good = call(s, 'asaas', 'create_customer', { name: 'X', cpfCnpj: '12345678909' }, ASAAS, 'k');
    expect(good.isError).toBe(false);
  });

  it('stripe: card succeeds, decline is 402, refunds never exceed the captured amount', () => {
    const pi = call(s, 'stripe', 'create_payment_intent', { amount: 5000, currency: 'BRL', payment_method: 'pm_card_visa', confirm: true }, STRIPE_A);
    expect(pi.data).toMatchObject({ id: 'pi_000001', status: 'succeeded', amount_received: 5000, currency: 'brl', latest_charge: 'ch_000001' });
    const r1 = call(s, 'stripe', 'create_refund', { payment_intent: 'pi_000001', amount: 3000 }, STRIPE_A);
    expect(r1.data).toMatchObject({ id: 're_000001', amount: 3000, status: 'succeeded' });
    const tooMuch = call(s, 'stripe', 'create_refund', { payment_intent: 'pi_000001', amount: 2001 }, STRIPE_A);
    expect(tooMuch.data.error).toMatchObject({ code: 'amount_too_large', status: 400 });
    expect(call(s, 'stripe', 'retrieve_balance', {}, STRIPE_A).data.available[0]).toMatchObject({ amount: 2000, currency: 'brl' });
    const declined = call(
      s,
      'stripe',
      'create_payment_intent',
      { amount: 5000, currency: 'brl', payment_method: 'pm_card_chargeDeclined', confirm: true },
      STRIPE_A,
    );
    expect(declined.data.error).toMatchObject({ code: 'card_declined', status: 402, type: 'card_error', decline_code: 'generic_decline' });
    expect(call(s, 'stripe', 'create_payment_intent', { amount: 49, currency: 'brl' }, STRIPE_A).data.error.code).toBe('amount_too_small');
    expect(call(s, 'stripe', 'create_payment_intent', { amount: 10.5, currency: 'brl' }, STRIPE_A).data.error.code).toBe('parameter_invalid');
  });

  it('stripe: pix waits in requires_action until payment_received; a wrong transition is a 400', () => {
    call(s, 'stripe', 'create_payment_intent', { amount: 1990, currency: 'brl', payment_method_types: ['pix'], confirm: true }, STRIPE_A);
    expect(s.listObjects('stripe', 'sk_test_tenant_a')[0]).toMatchObject({ status: 'requires_action' });
    const done = s.simulate('stripe', 'sk_test_tenant_a', 'payment_received', 'pi_000001');
    expect(done.object).toMatchObject({ status: 'succeeded', amount_received: 1990 });
    expect(() => s.simulate('stripe', 'sk_test_tenant_a', 'payment_received', 'pi_000001')).toThrow(SandboxError);
    expect(() => s.simulate('stripe', 'sk_test_tenant_b', 'payment_received', 'pi_000001')).toThrow(/No object/);
    expect(() => s.simulate('stripe', 'sk_test_tenant_a', 'nfe_authorized', 'pi_000001')).toThrow(/does not apply/);
  });

  it('stripe: signs webhooks with t=...,v1=HMAC(secret, "t.body")', () => {
    s.setWebhook('stripe', 'sk_test_tenant_a', { url: 'http://127.0.0.1:9/hook', secret: 'whsec_test_secret' });
    call(s, 'stripe', 'create_payment_intent', { amount: 1990, currency: 'brl', payment_method: 'pm_pix', confirm: true }, STRIPE_A);
    const { webhooks } = s.simulate('stripe', 'sk_test_tenant_a', 'payment_received', 'pi_000001');
    expect(webhooks).toHaveLength(1);
    const w = webhooks[0]!;
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(w.headers['stripe-signature']!);
    expect(m).not.toBeNull();
    expect(m![2]).toBe(createHmac('sha256', 'whsec_test_secret').update(`${m![1]}.${w.body}`).digest('hex'));
    expect(JSON.parse(w.body)).toMatchObject({ type: 'payment_intent.succeeded', object: 'event', data: { object: { id: 'pi_000001', status: 'succeeded' } } });
  });

  it('asaas: card payment goes CONFIRMED then RECEIVED; refunds are bounded by the value', () => {
    s.setWebhook('asaas', ASAAS.api_key!, { url: 'http://127.0.0.1:9/hook', secret: 'asaas-token-123' });
    call(s, 'asaas', 'create_customer', { name: 'Maria', cpfCnpj: '123.456.789-09' }, ASAAS);
    const pay = call(s, 'asaas', 'create_payment', { customer: 'cus_000001', billingType: 'CREDIT_CARD', value: 150, dueDate: isoDateFromNow(30, NOW) }, ASAAS);
    expect(pay.data).toMatchObject({ object: 'payment', id: 'pay_000001', status: 'PENDING', value: 150 });
    const { object, webhooks } = s.simulate('asaas', ASAAS.api_key!, 'payment_received', 'pay_000001');
    expect(object.status).toBe('RECEIVED');
    expect(webhooks.map((w) => JSON.parse(w.body).event)).toEqual(['PAYMENT_CONFIRMED', 'PAYMENT_RECEIVED']);
    expect(JSON.parse(webhooks[0]!.body).payment.status).toBe('CONFIRMED');
    expect(webhooks[0]!.headers['asaas-access-token']).toBe('asaas-token-123');
    expect(call(s, 'asaas', 'refund_payment', { id: 'pay_000001', value: 150.01 }, ASAAS).data.error.code).toBe('invalid_value');
    expect(call(s, 'asaas', 'refund_payment', { id: 'pay_000001', value: 50 }, ASAAS).data.status).toBe('RECEIVED');
    expect(call(s, 'asaas', 'refund_payment', { id: 'pay_000001' }, ASAAS).data.status).toBe('REFUNDED');
    expect(
      call(s, 'asaas', 'create_payment', { customer: 'cus_000001', billingType: 'PIX', value: 10, dueDate: isoDateFromNow(-10, NOW) }, ASAAS).data.error.code,
    ).toBe('invalid_dueDate');
    expect(
      call(s, 'asaas', 'create_payment', { customer: 'cus_000001', billingType: 'PIX', value: 10.001, dueDate: isoDateFromNow(1, NOW) }, ASAAS).data.error.code,
    ).toBe('invalid_value');
  });

  it('nuvem-fiscal: pendente → autorizado → cancelado, and rejeitado', () => {
    const args = {
      ambiente: 2,
      natureza_operacao: 'Venda de mercadoria',
      emitente: { cpf_cnpj: '11222333000181', razao_social: 'Loja Ltda', uf: 'SP' },
      destinatario: { cpf_cnpj: '12345678909', nome: 'Maria' },
      itens: [{ descricao: 'Camiseta', ncm: '61091000', cfop: '5102', quantidade: 2, valor_unitario: 49.95 }],
      pagamento: { meio: '17', valor: 99.9 },
    };
    const nfe = call(s, 'nuvem-fiscal', 'create_nfe', args, NF);
    expect(nfe.data).toMatchObject({ id: 'nfe_000001', status: 'pendente', ambiente: 'homologacao', valor_total: 99.9, numero: 1, modelo: 55 });
    const yymm = NOW.toISOString().slice(2, 4) + NOW.toISOString().slice(5, 7);
    expect(nfe.data.chave).toMatch(new RegExp(`^35${yymm}112223330001815500100000000\\d{11}$`));
    expect(call(s, 'nuvem-fiscal', 'cancel_nfe', { id: 'nfe_000001', justificativa: 'Erro na emissão da nota' }, NF).data.error.code).toBe('invalid_status');
    const auth = s.simulate('nuvem-fiscal', 'nf-client-1', 'nfe_authorized', 'nfe_000001');
    expect(auth.object).toMatchObject({ status: 'autorizado', autorizacao: { codigo_status: 100 } });
    expect(call(s, 'nuvem-fiscal', 'cancel_nfe', { id: 'nfe_000001', justificativa: 'curta' }, NF).data.error.code).toBe('validation_failed');
    const cancel = call(s, 'nuvem-fiscal', 'cancel_nfe', { id: 'nfe_000001', justificativa: 'Erro na emissão da nota' }, NF);
    expect(cancel.data).toMatchObject({ codigo_status: 135, status: 'registrado' });
    expect(call(s, 'nuvem-fiscal', 'get_nfe', { id: 'nfe_000001' }, NF).data.status).toBe('cancelado');
    call(s, 'nuvem-fiscal', 'create_nfe', args, NF);
    expect(s.simulate('nuvem-fiscal', 'nf-client-1', 'nfe_rejected', 'nfe_000002').object.status).toBe('rejeitado');
    const badDest = call(s, 'nuvem-fiscal', 'create_nfe', { ...args, destinatario: { cpf_cnpj: '12345678900' } }, NF);
    expect(badDest.data.error).toMatchObject({ code: 'validation_failed', status: 400 });
  });

  it('melhor-envio: cart → checkout → label → posted → delivered with signed webhooks', () => {
    s.setWebhook('melhor-envio', ME.token!, { url: 'http://127.0.0.1:9/hook', secret: 'me-secret-123' });
    const party = (name: string, cep: string, uf: string) => ({
      name,
      document: '12345678909',
      address: 'Rua A',
      number: '10',
      district: 'Centro',
      city: 'Cidade',
      state_abbr: uf,
      postal_code: cep,
    });
    const base = {
      service: 2,
      from: party('Loja', '01310100', 'SP'),
      to: party('Maria', '30130000', 'MG'),
      products: [{ name: 'Camiseta', quantity: 1, unitary_value: 99.9 }],
    };
    expect(call(s, 'melhor-envio', 'create_shipment', base, ME).data.error).toMatchObject({ code: 'validation_failed', status: 422 });
    const order = call(s, 'melhor-envio', 'create_shipment', { ...base, options: { non_commercial: true } }, ME);
    expect(order.data).toMatchObject({ status: 'pending', service_id: 2 });
    const id = order.data.id as string;
    expect(call(s, 'melhor-envio', 'generate_label', { orders: [id] }, ME).data.error.code).toBe('label_not_generated');
    expect(call(s, 'melhor-envio', 'checkout_cart', { orders: [id] }, ME).data.purchase.status).toBe('paid');
    const gen = call(s, 'melhor-envio', 'generate_label', { orders: [id] }, ME);
    expect(gen.data[id]).toEqual({ status: true, message: 'Envio gerado com sucesso' });
    const w = gen.webhooks.find((x) => x.event === 'order.generated')!;
    expect(w.headers['x-me-signature']).toBe(createHmac('sha256', 'me-secret-123').update(w.body).digest('base64'));
    expect(s.simulate('melhor-envio', ME.token!, 'label_posted', id).object.status).toBe('posted');
    expect(s.simulate('melhor-envio', ME.token!, 'delivered', id).object.status).toBe('delivered');
    expect(call(s, 'melhor-envio', 'cancel_shipment', { id }, ME).data.error.code).toBe('not_cancellable');
  });

  it('correios: prepost ATIVA → POSTADA → ENTREGUE with tracking events', () => {
    const party = (cep: string, uf: string) => ({ nome: 'Fulano', endereco: { cep, logradouro: 'Rua A', numero: '1', cidade: 'X', uf } });
    const pp = call(
      s,
      'correios',
      'create_prepost',
      {
        codigoServico: '03220',
        remetente: party('01310100', 'SP'),
        destinatario: party('30130000', 'MG'),
        objetoPostal: { pesoInformado: 500 },
      },
      CORREIOS,
    );
    expect(pp.data).toMatchObject({ id: 'PR0000000001', situacao: 'ATIVA', codigoObjeto: 'SS000000014BR' });
    expect(call(s, 'correios', 'track_package', { code: 'SS000000014BR' }, CORREIOS).data.objetos[0].mensagem).toMatch(/SRO-020/);
    s.simulate('correios', 'loja-user-1', 'label_posted', 'PR0000000001');
    s.simulate('correios', 'loja-user-1', 'delivered', 'PR0000000001');
    const events = call(s, 'correios', 'track_package', { code: 'SS000000014BR' }, CORREIOS).data.objetos[0].eventos;
    expect(events.map((e: { codigo: string }) => e.codigo)).toEqual(['BDE', 'OEC', 'RO', 'PO']);
    const wrongUf = call(
      s,
      'correios',
      'create_prepost',
      {
        codigoServico: '03220',
        remetente: party('01310100', 'RJ'),
        destinatario: party('30130000', 'MG'),
        objetoPostal: { pesoInformado: 500 },
      },
      CORREIOS,
    );
    expect(wrongUf.data.error.code).toBe('invalid_uf');
  });

  it('z-api: SENT → RECEIVED → READ and digits-only phones', () => {
    const sent = call(s, 'z-api', 'send_text', { phone: '5511999887766', message: 'Olá' }, ZAPI);
    expect(sent.data).toEqual({ zaapId: expect.any(String), messageId: '3EB00000000000000001', id: '3EB00000000000000001' });
    expect(call(s, 'z-api', 'send_text', { phone: '+55 11 99988-7766', message: 'x' }, ZAPI).data.error.code).toBe('validation_failed');
    expect(s.simulate('z-api', 'instance-0001', 'delivered', '3EB00000000000000001').object.status).toBe('RECEIVED');
    expect(s.simulate('z-api', 'instance-0001', 'message_read', '3EB00000000000000001').object.status).toBe('READ');
    expect(call(s, 'z-api', 'check_number', { phone: '551133334444' }, ZAPI).data).toEqual({ exists: false });
  });
});
