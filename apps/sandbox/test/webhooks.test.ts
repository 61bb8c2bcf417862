import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandboxServer } from '../src';
import type { SandboxServer } from '../src';
import { silentLogger } from '@agents/observability';
import { bearer, connect, CPF, futureDate } from './helpers';
import type { SandboxClient } from './helpers';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loopback receiver (the process-boundary test double): resolves waiters as requests arrive. */
function createReceiver() {
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200).end('ok');
      for (const w of [...waiters]) if (received.length >= w.n) w.resolve();
    });
  });
  return {
    received,
    async listen(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    waitFor(n: number): Promise<void> {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('webhooks emitted by simulation controls', () => {
  let sandbox: SandboxServer;
  let receiver: ReturnType<typeof createReceiver>;
  let hookUrl: string;
  const clients: SandboxClient[] = [];

  const put = (server: string, account: string, body: unknown) =>
    fetch(`${sandbox.url}/sandbox/${server}/webhook`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'X-Sandbox-Account': account },
      body: JSON.stringify(body),
    });
  const simulate = (server: string, account: string, action: string, id: string) =>
    fetch(`${sandbox.url}/sandbox/${server}/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Sandbox-Account': account },
      body: JSON.stringify({ action, id }),
    });

  beforeAll(async () => {
    receiver = createReceiver();
    hookUrl = await receiver.listen();
    sandbox = await createSandboxServer({ port: 0, logger: silentLogger() });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await sandbox.close();
    await receiver.close();
  });

  it('stripe: payment_intent.succeeded with a verifiable Stripe-Signature', async () => {
    const res = await put('stripe', 'sk_test_hooks_acct', { url: `${hookUrl}/stripe`, secret: 'whsec_hooks_secret' });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).not.toContain('whsec_hooks_secret');
    const c = await connect(sandbox.url, 'stripe', bearer('sk_test_hooks_acct'));
    clients.push(c);
    const pi = await c.call('create_payment_intent', { amount: 4990, currency: 'brl', payment_method: 'pm_pix', payment_method_types: ['pix'], confirm: true });
    expect((await simulate('stripe', 'sk_test_hooks_acct', 'payment_received', pi.data.id)).status).toBe(200);
    await receiver.waitFor(3); // payment_intent.created, .requires_action, .succeeded
    const hook = receiver.received.find((r) => r.path === '/stripe' && JSON.parse(r.body).type === 'payment_intent.succeeded')!;
    const sig = String(hook.headers['stripe-signature']);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(sig)!;
    expect(v1).toBe(createHmac('sha256', 'whsec_hooks_secret').update(`${t}.${hook.body}`).digest('hex'));
    expect(JSON.parse(hook.body)).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      data: { object: { id: pi.data.id, status: 'succeeded', amount_received: 4990 } },
    });
  });

  it('asaas: a card payment sends PAYMENT_CONFIRMED then PAYMENT_RECEIVED with asaas-access-token', async () => {
    const start = receiver.received.length;
    await put('asaas', '$aact_hooks_acct', { url: `${hookUrl}/asaas`, secret: 'asaas-hook-token' });
    const c = await connect(sandbox.url, 'asaas', bearer('$aact_hooks_acct'));
    clients.push(c);
    await c.call('create_customer', { name: 'Maria', cpfCnpj: CPF });
    const pay = await c.call('create_payment', { customer: 'cus_000001', billingType: 'CREDIT_CARD', value: 120, dueDate: futureDate() });
    await simulate('asaas', '$aact_hooks_acct', 'payment_received', pay.data.id);
    await receiver.waitFor(start + 2);
    const hooks = receiver.received.slice(start).filter((r) => r.path === '/asaas');
    expect(hooks.map((h) => JSON.parse(h.body).event)).toEqual(['PAYMENT_CONFIRMED', 'PAYMENT_RECEIVED']);
    for (const h of hooks) expect(h.headers['asaas-access-token']).toBe('asaas-hook-token');
    expect(JSON.parse(hooks[1]!.body).payment).toMatchObject({ id: pay.data.id, status: 'RECEIVED' });
  });

  it('nuvem-fiscal and z-api: sandbox HMAC signature on NF-e authorised and message read', async () => {
    const start = receiver.received.length;
    await put('z-api', 'zapi-hooks-inst', { url: `${hookUrl}/zapi`, secret: 'zapi-hook-secret' });
    const c = await connect(
      sandbox.url,
      'z-api',
      bearer('zapi-hooks-inst', { 'X-Credential-Token': 'zapi-token-1', 'X-Credential-Client-Token': 'zapi-client-1' }),
    );
    clients.push(c);
    const sent = await c.call('send_text', { phone: '5511999887766', message: 'oi' });
    await simulate('z-api', 'zapi-hooks-inst', 'message_read', sent.data.messageId);
    await receiver.waitFor(start + 1);
    const hook = receiver.received[start]!;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(String(hook.headers['x-sandbox-signature']))!;
    expect(v1).toBe(createHmac('sha256', 'zapi-hook-secret').update(`${t}.${hook.body}`).digest('hex'));
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'MessageStatusCallback', status: 'READ', ids: [sent.data.messageId] });
    expect(hook.body).not.toContain('zapi-hooks-inst');
  });

  it('melhor-envio: order.generated signed with X-ME-Signature when the label is generated', async () => {
    const start = receiver.received.length;
    await put('melhor-envio', 'me-hooks-token', { url: `${hookUrl}/me`, secret: 'me-hook-secret' });
    const c = await connect(sandbox.url, 'melhor-envio', bearer('me-hooks-token'));
    clients.push(c);
    const party = (name: string, cep: string) => ({ name, document: CPF, address: 'Rua A', number: '1', district: 'Centro', city: 'X', postal_code: cep });
    const order = await c.call('create_shipment', {
      service: 2,
      from: party('Loja', '01310100'),
      to: party('Maria', '20040020'),
      products: [{ name: 'Livro', quantity: 1, unitary_value: 40 }],
      options: { non_commercial: true },
    });
    await c.call('checkout_cart', { orders: [order.data.id] });
    await c.call('generate_label', { orders: [order.data.id] });
    await receiver.waitFor(start + 2); // order.released, order.generated
    const hook = receiver.received.slice(start).find((r) => JSON.parse(r.body).event === 'order.generated')!;
    expect(hook.headers['x-me-signature']).toBe(createHmac('sha256', 'me-hook-secret').update(hook.body).digest('base64'));
    expect(JSON.parse(hook.body).data).toMatchObject({ id: order.data.id, status: 'generated' });
  });

  it('rejects a bad webhook configuration and survives an unreachable receiver', async () => {
    expect((await put('stripe', 'sk_test_bad_hook', { url: 'ftp://x', secret: 'whsec_123456' })).status).toBe(400);
    expect((await put('stripe', 'sk_test_bad_hook', { url: 'http://127.0.0.1:1/x', secret: 'short' })).status).toBe(400);
    await put('stripe', 'sk_test_dead_hook', { url: 'http://127.0.0.1:1/unreachable', secret: 'whsec_123456' });
    const c = await connect(sandbox.url, 'stripe', bearer('sk_test_dead_hook'));
    clients.push(c);
    const pi = await c.call('create_payment_intent', { amount: 1000, currency: 'brl', payment_method_types: ['pix'], confirm: true });
    expect((await simulate('stripe', 'sk_test_dead_hook', 'payment_received', pi.data.id)).status).toBe(200);
    expect((await c.call('retrieve_payment_intent', { id: pi.data.id })).data.status).toBe('succeeded');
  });
});
