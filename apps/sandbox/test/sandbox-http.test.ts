import { createSandboxServer } from '../src';
import type { SandboxServer } from '../src';
import { silentLogger } from '@agents/observability';
import { bearer, connect, CPF, futureDate } from './helpers';
import type { SandboxClient } from './helpers';

const REQUIRED_TOOLS: Record<string, string[]> = {
  stripe: [
    'create_customer',
    'retrieve_customer',
    'create_payment_intent',
    'confirm_payment_intent',
    'retrieve_payment_intent',
    'cancel_payment_intent',
    'list_payment_intents',
    'create_refund',
    'retrieve_balance',
  ],
  asaas: ['create_customer', 'get_customer', 'create_payment', 'get_payment', 'list_payments', 'get_pix_qrcode', 'refund_payment', 'get_balance'],
  'nuvem-fiscal': ['create_nfe', 'get_nfe', 'cancel_nfe', 'create_nfse', 'get_nfse'],
  correios: ['find_cep', 'calculate_shipping', 'get_delivery_time', 'create_prepost', 'get_prepost', 'track_package'],
  'melhor-envio': ['calculate_shipping', 'create_shipment', 'checkout_cart', 'generate_label', 'print_label', 'track_shipment', 'cancel_shipment'],
  'z-api': ['send_text', 'send_document', 'check_number', 'get_status', 'get_messages'],
};

const HEADERS: Record<string, Record<string, string>> = {
  stripe: bearer('sk_test_http_a'),
  asaas: bearer('$aact_http_a_key'),
  'nuvem-fiscal': bearer('nf-http-client', { 'X-Credential-Client-Secret': 'nf-http-secret' }),
  correios: bearer('correios-user', { 'X-Credential-Access-Code': 'correios-code' }),
  'melhor-envio': bearer('me-http-token'),
  'z-api': bearer('zapi-instance', { 'X-Credential-Token': 'zapi-token-1', 'X-Credential-Client-Token': 'zapi-client-1' }),
};

describe('sandbox HTTP service', () => {
  let server: SandboxServer;
  const clients: SandboxClient[] = [];
  const open = async (name: string, headers: Record<string, string>) => {
    const c = await connect(server.url, name, headers);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await createSandboxServer({ port: 0, logger: silentLogger() });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await server.close();
  });

  it.each(Object.keys(REQUIRED_TOOLS))('%s lists the required tools with JSON-schema inputs and no outputSchema', async (name) => {
    const c = await open(name, HEADERS[name]!);
    const { tools } = await c.client.listTools();
    const names = tools.map((t) => t.name);
    for (const t of REQUIRED_TOOLS[name]!) expect(names).toContain(t);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema).toBeUndefined();
    }
  });

  it('answers a provider-style 401 for missing or malformed credentials and logs the call with a null account', async () => {
    const none = await open('stripe', {});
    const r = await none.call('retrieve_balance');
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ code: 'invalid_api_key', status: 401 });
    const noSecret = await open('nuvem-fiscal', bearer('nf-http-client'));
    expect((await noSecret.call('get_nfe', { id: 'nfe_000001' })).data.error).toMatchObject({ code: 'unauthorized', status: 401 });
    const badZapi = await open('z-api', bearer('zapi-instance', { 'X-Credential-Token': 'short', 'X-Credential-Client-Token': 'zapi-client-1' }));
    const z = await badZapi.call('get_status');
    expect(z.data.error.status).toBe(401);
    expect(z.text).not.toContain('short');
    expect(server.requestLog).toEqual(
      expect.arrayContaining([{ server: 'stripe', tool: 'retrieve_balance', account: null, idempotency_key: null, at: expect.any(String) }]),
    );
  });

  it('returns schema failures as provider-shaped isError results', async () => {
    const c = await open('asaas', HEADERS.asaas!);
    const r = await c.call('create_payment', { customer: 'cus_1', billingType: 'BITCOIN', value: 10, dueDate: futureDate() });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ code: 'invalid_billingType', status: 400 });
    expect(r.data.error.errors[0].code).toBe('invalid_billingType');
    const unknown = await c.call('no_such_tool');
    expect(unknown.data.error).toMatchObject({ code: 'unknown_tool', status: 404 });
  });

  it('keeps accounts apart and honours idempotency keys over MCP', async () => {
    const a = await open('asaas', bearer('$aact_tenant_a_key'));
    const b = await open('asaas', bearer('$aact_tenant_b_key'));
    const ca = await a.call('create_customer', { name: 'Cliente A', cpfCnpj: CPF }, 'job_a:1');
    const again = await a.call('create_customer', { name: 'Cliente A', cpfCnpj: CPF }, 'job_a:1');
    expect(again.data).toEqual(ca.data);
    expect((await b.call('get_customer', { id: ca.data.id })).data.error).toMatchObject({ code: 'not_found', status: 404 });
    const cb = await b.call('create_customer', { name: 'Cliente B', cpfCnpj: CPF });
    expect(cb.data.id).toBe('cus_000001');

    const objsA = (await (await fetch(`${server.url}/sandbox/asaas/objects`, { headers: { 'X-Sandbox-Account': '$aact_tenant_a_key' } })).json()) as any;
    expect(objsA.data).toHaveLength(1);
    expect(objsA.data[0]).toMatchObject({
      id: 'cus_000001',
      object: 'customer',
      name: 'Cliente A',
      idempotency_key: 'job_a:1',
      created_at: expect.any(String),
    });
    const objsB = (await (await fetch(`${server.url}/sandbox/asaas/objects`, { headers: { 'X-Sandbox-Account': '$aact_tenant_b_key' } })).json()) as any;
    expect(objsB.data.map((o: { name: string }) => o.name)).toEqual(['Cliente B']);
    expect(server.requestLog.filter((r) => r.idempotency_key === 'job_a:1')).toHaveLength(2);
  });

  it('serves the control endpoints with the documented errors', async () => {
    const c = await open('stripe', bearer('sk_test_ctrl_acct'));
    const pi = await c.call('create_payment_intent', { amount: 2500, currency: 'brl', payment_method_types: ['pix'], confirm: true });
    expect(pi.data.status).toBe('requires_action');
    const post = (body: unknown, account = 'sk_test_ctrl_acct') =>
      fetch(`${server.url}/sandbox/stripe/simulate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Sandbox-Account': account },
        body: JSON.stringify(body),
      });
    const ok = await post({ action: 'payment_received', id: pi.data.id });
    expect(ok.status).toBe(200);
    expect((await ok.json()) as any).toMatchObject({ id: pi.data.id, status: 'succeeded' });
    expect((await c.call('retrieve_payment_intent', { id: pi.data.id })).data.status).toBe('succeeded');
    const again = await post({ action: 'payment_received', id: pi.data.id });
    expect(again.status).toBe(400);
    expect(((await again.json()) as any).error.code).toBe('invalid_state_transition');
    const bad = await post({ action: 'explode', id: pi.data.id });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('invalid_action');
    const missing = await post({ action: 'payment_received', id: 'pi_999999' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('not_found');
    const otherAccount = await post({ action: 'payment_received', id: pi.data.id }, 'sk_test_someone_else');
    expect(otherAccount.status).toBe(404);
    const unknownServer = await fetch(`${server.url}/sandbox/paypal/objects`, { headers: { 'X-Sandbox-Account': 'x' } });
    expect(unknownServer.status).toBe(404);
    const noAccount = await fetch(`${server.url}/sandbox/stripe/objects`);
    expect(noAccount.status).toBe(400);
  });

  it('exposes and clears the request log', async () => {
    const res = await fetch(`${server.url}/sandbox/requests`);
    const body = (await res.json()) as any;
    expect(body.data.length).toBe(server.requestLog.length);
    expect((await fetch(`${server.url}/sandbox/requests`, { method: 'DELETE' })).status).toBe(204);
    expect(server.requestLog).toHaveLength(0);
    const c = await open('z-api', HEADERS['z-api']!);
    await c.call('get_status');
    expect(server.requestLog).toEqual([{ server: 'z-api', tool: 'get_status', account: 'zapi-instance', idempotency_key: null, at: expect.any(String) }]);
  });

  it('refuses a session id used on another server path', async () => {
    const c = await open('stripe', HEADERS.stripe!);
    const sessionId = (c.client.transport as unknown as { sessionId: string }).sessionId;
    const res = await fetch(`${server.url}/mcp/asaas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });
});
