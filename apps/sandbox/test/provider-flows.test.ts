import { createSandboxServer } from '../src';
import type { SandboxServer } from '../src';
import { silentLogger } from '@agents/observability';
import { bearer, CNPJ, connect, CPF, futureDate } from './helpers';
import type { SandboxClient } from './helpers';

/** Main happy path and main validations of each provider, over a real MCP client. */
describe('provider flows over MCP', () => {
  let server: SandboxServer;
  const clients: SandboxClient[] = [];
  const open = async (name: string, headers: Record<string, string>) => {
    const c = await connect(server.url, name, headers);
    clients.push(c);
    return c;
  };
  const simulate = async (name: string, account: string, action: string, id: string) => {
    const res = await fetch(`${server.url}/sandbox/${name}/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Sandbox-Account': account },
      body: JSON.stringify({ action, id }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    server = await createSandboxServer({ port: 0, logger: silentLogger() });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await server.close();
  });

  it('stripe: customer, card payment, partial refunds bounded by the capture, cancel, list, balance', async () => {
    const c = await open('stripe', bearer('sk_test_flow_stripe'));
    const cus = await c.call('create_customer', { email: 'maria@example.com', name: 'Maria' });
    expect(cus.data).toMatchObject({ id: 'cus_000001', object: 'customer' });
    expect((await c.call('retrieve_customer', { id: 'cus_000001' })).data.email).toBe('maria@example.com');
    const pi = await c.call('create_payment_intent', { amount: 10000, currency: 'brl', customer: 'cus_000001' });
    expect(pi.data).toMatchObject({ id: 'pi_000001', status: 'requires_payment_method' });
    const confirmed = await c.call('confirm_payment_intent', { id: 'pi_000001', payment_method: 'pm_card_visa' });
    expect(confirmed.data).toMatchObject({ status: 'succeeded', amount_received: 10000 });
    expect((await c.call('create_refund', { payment_intent: 'pi_000001', amount: 4000 })).data).toMatchObject({ id: 're_000001', amount: 4000 });
    const over = await c.call('create_refund', { payment_intent: 'pi_000001', amount: 6001 });
    expect(over.data.error).toMatchObject({ code: 'amount_too_large', status: 400 });
    expect((await c.call('retrieve_balance')).data.available[0].amount).toBe(6000);
    await c.call('create_payment_intent', { amount: 500, currency: 'brl' });
    expect((await c.call('cancel_payment_intent', { id: 'pi_000002', cancellation_reason: 'abandoned' })).data.status).toBe('canceled');
    expect((await c.call('cancel_payment_intent', { id: 'pi_000001' })).data.error.code).toBe('payment_intent_unexpected_state');
    const list = await c.call('list_payment_intents', { limit: 1 });
    expect(list.data).toMatchObject({ object: 'list', has_more: true, data: [{ id: 'pi_000002' }] });
    expect((await c.call('retrieve_payment_intent', { id: 'pi_404' })).data.error).toMatchObject({ code: 'resource_missing', status: 404 });
    expect((await c.call('create_payment_intent', { amount: 12.5, currency: 'brl' })).data.error.code).toBe('parameter_invalid');
  });

  it('asaas: pix charge, QR code, customer paid, refund', async () => {
    const c = await open('asaas', bearer('$aact_flow_asaas'));
    expect((await c.call('create_customer', { name: 'João', cpfCnpj: '12345678900' })).data.error.code).toBe('invalid_cpfCnpj');
    const cus = await c.call('create_customer', { name: 'Loja X', cpfCnpj: CNPJ, email: 'x@example.com' });
    expect(cus.data).toMatchObject({ id: 'cus_000001', object: 'customer', personType: 'JURIDICA' });
    expect((await c.call('get_customer', { id: 'cus_000001' })).data.name).toBe('Loja X');
    const pay = await c.call('create_payment', { customer: 'cus_000001', billingType: 'PIX', value: 50, dueDate: futureDate() });
    expect(pay.data).toMatchObject({ object: 'payment', id: 'pay_000001', status: 'PENDING', value: 50, netValue: 49.01 });
    const qr = await c.call('get_pix_qrcode', { id: 'pay_000001' });
    expect(qr.data.payload).toMatch(/^000201.*br\.gov\.bcb\.pix.*6304[0-9A-F]{4}$/);
    expect((await c.call('refund_payment', { id: 'pay_000001' })).data.error.code).toBe('invalid_action');
    const paid = await simulate('asaas', '$aact_flow_asaas', 'payment_received', 'pay_000001');
    expect(paid.body.status).toBe('RECEIVED');
    expect((await c.call('get_payment', { id: 'pay_000001' })).data.status).toBe('RECEIVED');
    expect((await c.call('list_payments', { status: 'RECEIVED' })).data).toMatchObject({ object: 'list', totalCount: 1 });
    expect((await c.call('get_balance')).data.balance).toBe(49.01);
    expect((await c.call('refund_payment', { id: 'pay_000001', value: 60 })).data.error.code).toBe('invalid_value');
    expect((await c.call('refund_payment', { id: 'pay_000001' })).data.status).toBe('REFUNDED');
  });

  it('nuvem-fiscal: NF-e pendente → SEFAZ authorises → cancel; NFS-e authorised', async () => {
    const h = bearer('nf-flow-client', { 'X-Credential-Client-Secret': 'nf-flow-secret' });
    const c = await open('nuvem-fiscal', h);
    const nfe = await c.call('create_nfe', {
      ambiente: 2,
      natureza_operacao: 'Venda de mercadoria',
      emitente: { cpf_cnpj: CNPJ, razao_social: 'Loja X', uf: 'SP' },
      destinatario: { cpf_cnpj: CPF, nome: 'Maria' },
      itens: [{ descricao: 'Camiseta', ncm: '61091000', cfop: '5102', quantidade: 1, valor_unitario: 50 }],
      pagamento: { meio: '17' },
    });
    expect(nfe.data).toMatchObject({ id: 'nfe_000001', status: 'pendente', valor_total: 50 });
    expect(nfe.data.chave).toMatch(/^\d{44}$/);
    expect((await simulate('nuvem-fiscal', 'nf-flow-client', 'nfe_authorized', 'nfe_000001')).body.status).toBe('autorizado');
    expect((await c.call('get_nfe', { id: 'nfe_000001' })).data.autorizacao.codigo_status).toBe(100);
    expect((await c.call('cancel_nfe', { id: 'nfe_000001', justificativa: 'Pedido cancelado pelo cliente' })).data.codigo_status).toBe(135);
    const bad = await c.call('create_nfe', { ambiente: 3, natureza_operacao: 'x', emitente: {}, destinatario: {}, itens: [], pagamento: {} });
    expect(bad.data.error).toMatchObject({ code: 'validation_failed', status: 400 });
    const nfse = await c.call('create_nfse', {
      ambiente: 'homologacao',
      prestador: { cpf_cnpj: CNPJ },
      tomador: { cpf_cnpj: CPF, nome: 'Maria' },
      servico: { descricao: 'Consultoria', valor_servicos: 500 },
    });
    expect(nfse.data).toMatchObject({ id: 'nfse_000001', status: 'processando' });
    await simulate('nuvem-fiscal', 'nf-flow-client', 'nfe_authorized', 'nfse_000001');
    expect((await c.call('get_nfse', { id: 'nfse_000001' })).data.status).toBe('autorizada');
  });

  it('correios: CEP, price, deadline, prepost, tracking after posting and delivery', async () => {
    const c = await open('correios', bearer('correios-flow', { 'X-Credential-Access-Code': 'correios-code-1' }));
    expect((await c.call('find_cep', { cep: '01310-100' })).data).toMatchObject({ uf: 'SP', localidade: 'São Paulo' });
    expect((await c.call('find_cep', { cep: '0131010' })).data.error.code).toBe('validation_failed');
    const price = await c.call('calculate_shipping', { cepOrigem: '01310100', cepDestino: '30130000', peso: 800 });
    expect(price.data.data.map((p: { coProduto: string }) => p.coProduto)).toEqual(['03220', '03298']);
    expect(price.data.data[0].pcFinal).toMatch(/^\d+,\d{2}$/);
    expect((await c.call('get_delivery_time', { cepOrigem: '01310100', cepDestino: '30130000', codigoServico: '03298' })).data.prazoEntrega).toBe(5);
    const party = (cep: string, uf: string) => ({ nome: 'Fulano', endereco: { cep, logradouro: 'Rua A', numero: '1', cidade: 'X', uf } });
    const pp = await c.call('create_prepost', {
      codigoServico: '03298',
      remetente: party('01310100', 'SP'),
      destinatario: party('30130000', 'MG'),
      objetoPostal: { pesoInformado: 800 },
    });
    expect(pp.data).toMatchObject({ id: 'PR0000000001', situacao: 'ATIVA', codigoObjeto: 'PM000000014BR' });
    expect((await c.call('get_prepost', { id: 'PR0000000001' })).data.situacao).toBe('ATIVA');
    await simulate('correios', 'correios-flow', 'label_posted', 'PR0000000001');
    const track = await c.call('track_package', { code: 'PM000000014BR' });
    expect(track.data.objetos[0].eventos[0]).toMatchObject({ codigo: 'PO', descricao: 'Objeto postado' });
    expect((await simulate('correios', 'correios-flow', 'delivered', 'PR0000000001')).body.situacao).toBe('ENTREGUE');
    expect((await c.call('track_package', { code: 'PM000000015BR' })).data.error.code).toBe('invalid_tracking_code');
  });

  it('melhor-envio: quote, cart, checkout, label, print, track, cancel rules', async () => {
    const c = await open('melhor-envio', bearer('me-flow-token'));
    const quote = await c.call('calculate_shipping', {
      from: { postal_code: '01310100' },
      to: { postal_code: '30130000' },
      products: [{ width: 11, height: 2, length: 16, weight: 0.3, quantity: 1 }],
    });
    expect(quote.data.data.find((s: { id: number }) => s.id === 2)).toMatchObject({ name: 'SEDEX', currency: 'R$', company: { name: 'Correios' } });
    expect(
      (
        await c.call('calculate_shipping', {
          from: { postal_code: '123' },
          to: { postal_code: '30130000' },
          products: [{ width: 1, height: 1, length: 1, weight: 1 }],
        })
      ).data.error.status,
    ).toBe(422);
    const party = (name: string, cep: string) => ({ name, document: CPF, address: 'Rua A', number: '1', district: 'Centro', city: 'X', postal_code: cep });
    const order = await c.call('create_shipment', {
      service: 1,
      from: party('Loja', '01310100'),
      to: party('Maria', '30130000'),
      products: [{ name: 'Livro', quantity: 1, unitary_value: 40 }],
      options: { non_commercial: true },
    });
    const id = order.data.id as string;
    expect(order.data.status).toBe('pending');
    expect((await c.call('print_label', { orders: [id] })).data.error.code).toBe('invalid_status');
    expect((await c.call('checkout_cart', { orders: [id] })).data.purchase.orders[0].status).toBe('released');
    expect((await c.call('generate_label', { orders: [id] })).data[id].status).toBe(true);
    expect((await c.call('print_label', { orders: [id] })).data.url).toMatch(/^https:\/\/sandbox\.melhorenvio\.com\.br\/imprimir\//);
    const tracked = await c.call('track_shipment', { id });
    expect(tracked.data[id]).toMatchObject({ status: 'generated', tracking: expect.stringMatching(/^PM\d{9}BR$/) });
    await simulate('melhor-envio', 'me-flow-token', 'label_posted', id);
    expect((await c.call('cancel_shipment', { id })).data.error.code).toBe('not_cancellable');
    expect((await c.call('get_balance')).data.balance).toBeLessThan(1000);
  });

  it('z-api: text and document messages, number check, status, chat history, read receipt', async () => {
    const c = await open('z-api', bearer('zapi-flow-inst', { 'X-Credential-Token': 'zapi-flow-token', 'X-Credential-Client-Token': 'zapi-flow-client' }));
    const sent = await c.call('send_text', { phone: '5531999887766', message: 'Seu pedido foi enviado' });
    expect(sent.data).toEqual({ zaapId: expect.any(String), messageId: '3EB00000000000000001', id: '3EB00000000000000001' });
    expect((await c.call('send_text', { phone: '(31) 99988-7766', message: 'x' })).data.error).toMatchObject({ code: 'validation_failed', status: 400 });
    expect((await c.call('send_document', { phone: '5531999887766', document: 'https://example.com/nota.pdf' })).data.messageId).toBe('3EB00000000000000002');
    expect((await c.call('send_document', { phone: '5531999887766', document: 'https://example.com/nota' })).data.error.code).toBe('extension_required');
    expect((await c.call('check_number', { phone: '5531999887766' })).data).toEqual({ exists: true });
    expect((await c.call('get_status')).data.connected).toBe(true);
    await simulate('z-api', 'zapi-flow-inst', 'message_read', '3EB00000000000000001');
    const msgs = await c.call('get_messages', { phone: '5531999887766' });
    expect(msgs.data.data.map((m: { messageId: string; status: string }) => [m.messageId, m.status])).toEqual([
      ['3EB00000000000000002', 'SENT'],
      ['3EB00000000000000001', 'READ'],
    ]);
  });
});
