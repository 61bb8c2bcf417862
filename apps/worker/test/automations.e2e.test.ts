/**
 * Provider webhooks → deterministic automations, end to end (issue #10): the sandbox's "customer
 * paid" control → a real signed Asaas webhook → POST /hooks/{tid}/asaas → one workflow job on the
 * tenant's queue → NF-e, shipment (with the NF-e key) and WhatsApp text (with the tracking code)
 * in the sandbox. Redeliveries, out-of-order events, forged, stale and cross-tenant signatures
 * never make a second (or any) job. Real Redis, Postgres and sockets; the only test double is a
 * receiver that captures what the sandbox sends (a process boundary).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { listProviderEvents } from '@agents/db';
import { startTestStack, waitFor, rowCount } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
// The issue's chain: payment confirmed → NF-e → shipment with the NF-e key → label → WhatsApp with
// the tracking code. The demo seeds the same automation (scripts/demo-seed.mjs).
import FULFIL from '../../../scripts/fixtures/tenant-full-automation.json';

jest.setTimeout(60_000);

const FULL = 'tenant_full';
const OTHER = 'tenant_other';
const ASAAS_KEY = 'aact_sandbox_full_e2e_key';
const FULL_ASAAS_SECRET = 'asaas-webhook-token-full-0001';
const OTHER_ASAAS_KEY = 'aact_sandbox_other_e2e_key';
const OTHER_ASAAS_SECRET = 'asaas-webhook-token-other-0001';
const OTHER_STRIPE_KEY = 'sk_test_other_e2e_000000000001';
const OTHER_STRIPE_SECRET = 'whsec_other_e2e_signing_secret_01';
const ME_SECRET = 'me-app-secret-full-0001';
const NF = { client_id: 'full-nf-client-e2e', client_secret: 'full-nf-secret-e2e-01' };
const ME_TOKEN = 'me-token-full-e2e-0001';
const ZAPI = { instance_id: 'zapi-instance-full-e2e', token: 'zapi-token-full-e2e-01', client_token: 'zapi-client-token-e2e' };
const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;
let capture: http.Server;
let captureUrl: string;
const captured: { headers: Record<string, string>; body: string }[] = [];

const dueDate = () => new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);

async function sandboxCall(server: string, path: string, account: string, method = 'GET', body?: unknown) {
  const res = await fetch(`${stack.sandbox.url}/sandbox/${server}/${path}`, {
    method,
    headers: { 'x-sandbox-account': account, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function terminal(tenant: string, jobId: string) {
  return waitFor(
    async () => {
      const r = await call('GET', `/v1/tenants/${tenant}/jobs/${jobId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    { what: `job ${jobId} to finish` },
  );
}

/** Runs a workflow through the API (how the customer and charge come to exist in the tenant's Asaas account). */
async function runWorkflow(tenant: string, steps: unknown[]) {
  const r = await call('POST', `/v1/tenants/${tenant}/jobs`, { body: { type: 'workflow', steps } });
  expect(r.status).toBe(202);
  const job = await terminal(tenant, r.body.id);
  expect(job.status).toBe('succeeded');
  return job.output.steps as { data: any }[];
}

async function createCardPayment(tenant: string, value: number) {
  const [customer, payment] = await runWorkflow(tenant, [
    {
      tool: 'asaas/create_customer',
      args: {
        name: 'Maria Silva',
        cpfCnpj: '52998224725',
        mobilePhone: '11987654321',
        address: 'Av. Afonso Pena',
        addressNumber: '1500',
        province: 'Centro',
        postalCode: '30130005',
      },
    },
    { tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'CREDIT_CARD', value, dueDate: dueDate() } },
  ]);
  return { customerId: customer!.data.id as string, paymentId: payment!.data.id as string };
}

async function jobsTriggeredBy(tenant: string, trigger?: string) {
  const rows = await stack.db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenant).execute();
  return rows.filter((j) => j.metadata.trigger !== undefined && (trigger === undefined || j.metadata.trigger === trigger));
}

async function automationJobCount() {
  return (await jobsTriggeredBy(FULL)).length + (await jobsTriggeredBy(OTHER)).length;
}

function postHook(path: string, body: string, headers: Record<string, string>) {
  return fetch(`${stack.api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

function stripeSignature(body: string, secret: string, t = Math.floor(Date.now() / 1000)) {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

beforeAll(async () => {
  stack = await startTestStack(apps, { label: 'automations' });
  call = stack.call;
  capture = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
  captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/capture`;

  for (const [id, servers] of [
    [FULL, ['asaas', 'nuvem-fiscal', 'melhor-envio', 'z-api']],
    [OTHER, ['stripe', 'asaas']],
  ] as const) {
    const t = await call('POST', '/v1/admin/tenants', { body: { id, servers } });
    expect(t.status).toBe(201);
  }
  const creds: [string, string, Record<string, string>][] = [
    [FULL, 'asaas', { api_key: ASAAS_KEY, webhook_secret: FULL_ASAAS_SECRET }],
    [FULL, 'nuvem-fiscal', NF],
    [FULL, 'melhor-envio', { token: ME_TOKEN, webhook_secret: ME_SECRET }],
    [FULL, 'z-api', ZAPI],
    [OTHER, 'asaas', { api_key: OTHER_ASAAS_KEY, webhook_secret: OTHER_ASAAS_SECRET }],
    [OTHER, 'stripe', { secret_key: OTHER_STRIPE_KEY, webhook_secret: OTHER_STRIPE_SECRET }],
  ];
  for (const [tid, server, values] of creds) {
    const c = await call('PUT', `/v1/tenants/${tid}/credentials/${server}?environment=live`, { body: { values } });
    expect(c.status).toBe(204);
  }
  const a = await call('PUT', `/v1/tenants/${FULL}/automations`, { body: { automations: [FULFIL] } });
  expect(a.status).toBe(200);
  expect(a.body.automations).toEqual([FULFIL]);
  const b = await call('PUT', `/v1/tenants/${OTHER}/automations`, {
    body: { automations: [{ on: 'payment.confirmed', steps: [{ tool: 'stripe/retrieve_balance', args: {} }] }] },
  });
  expect(b.status).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((r) => (capture ? capture.close(() => r()) : r()));
});

test('customer paid → signed Asaas webhooks → exactly one workflow job → NF-e, shipment with its key, WhatsApp with the tracking code', async () => {
  const { paymentId } = await createCardPayment(FULL, 150);
  const hook = await sandboxCall('asaas', 'webhook', ASAAS_KEY, 'PUT', {
    url: `${stack.api.url}/hooks/${FULL}/asaas?environment=live`,
    secret: FULL_ASAAS_SECRET,
  });
  expect(hook.status).toBe(200);

  // A card payment: the sandbox sends PAYMENT_CONFIRMED, then PAYMENT_RECEIVED.
  const paid = await sandboxCall('asaas', 'simulate', ASAAS_KEY, 'POST', { action: 'payment_received', id: paymentId });
  expect(paid.status).toBe(200);
  expect(paid.body.status).toBe('RECEIVED');

  // Both events reach the ledger; only the first claims the payment.
  const ledger = await waitFor(
    async () => {
      const rows = await listProviderEvents(stack.db, FULL);
      return rows.length === 2 ? rows : undefined;
    },
    { what: 'both Asaas events to be recorded' },
  );
  const byType = Object.fromEntries(ledger.map((r) => [r.provider_event_type, r]));
  expect(byType.PAYMENT_CONFIRMED!.outcome).toBe('triggered');
  expect(byType.PAYMENT_RECEIVED!.outcome).toBe('duplicate_payment');
  expect(byType.PAYMENT_RECEIVED!.job_ids).toEqual([]);

  const jobs = await jobsTriggeredBy(FULL);
  expect(jobs).toHaveLength(1);
  const trigger = byType.PAYMENT_CONFIRMED!.provider_event_id;
  expect(jobs[0]!.metadata).toEqual({ trigger, automation: '0', tenant_id: FULL });
  expect(jobs[0]!.type).toBe('workflow');
  expect(jobs[0]!.environment).toBe('live');

  const job = await terminal(FULL, jobs[0]!.id);
  expect(job.status).toBe('succeeded');
  expect(job.metadata.trigger).toBe(trigger);
  expect(job.tool_calls.map((c: any) => `${c.server}/${c.tool}`)).toEqual(FULFIL.steps.map((s) => s.tool));
  // Metered like any job: every tool-call row carries the trigger.
  const usage = await stack.db.selectFrom('usage_events').selectAll().where('job_id', '=', job.id).execute();
  expect(usage).toHaveLength(FULFIL.steps.length);
  for (const u of usage) expect(u.metadata.trigger).toBe(trigger);

  // The NF-e: issued for this payment; SEFAZ (the sandbox's control) authorises it.
  const nfes = (await sandboxCall('nuvem-fiscal', 'objects', NF.client_id)).body.data;
  expect(nfes).toHaveLength(1);
  const nfe = nfes[0];
  expect(nfe.referencia).toBe(paymentId);
  expect(nfe.valor_total).toBe(150);
  expect(nfe.destinatario.cpf_cnpj).toBe('52998224725');
  const authorised = await sandboxCall('nuvem-fiscal', 'simulate', NF.client_id, 'POST', { action: 'nfe_authorized', id: nfe.id });
  expect(authorised.body.status).toBe('autorizado');
  expect(authorised.body.autorizacao.chave_acesso).toBe(nfe.chave);

  // The shipment carries the NF-e access key and has a label with a tracking code.
  const orders = (await sandboxCall('melhor-envio', 'objects', ME_TOKEN)).body.data;
  expect(orders).toHaveLength(1);
  expect(orders[0].invoice).toEqual({ key: nfe.chave });
  expect(orders[0].status).toBe('generated');
  expect(orders[0].tracking).toMatch(/^PM\d{9}BR$/);

  // The WhatsApp text names the tracking code, to the customer's phone.
  const messages = (await sandboxCall('z-api', 'objects', ZAPI.instance_id)).body.data;
  expect(messages).toHaveLength(1);
  expect(messages[0].phone).toBe('5511987654321');
  expect(messages[0].text.message).toContain(orders[0].tracking);
  expect(messages[0].text.message).toContain(nfe.chave);
});

test('the same webhooks delivered three times and out of order still yield exactly one run', async () => {
  const { paymentId } = await createCardPayment(FULL, 80);
  // Capture what the sandbox signs and sends, then replay it ourselves.
  await sandboxCall('asaas', 'webhook', ASAAS_KEY, 'PUT', { url: captureUrl, secret: FULL_ASAAS_SECRET });
  captured.length = 0;
  await sandboxCall('asaas', 'simulate', ASAAS_KEY, 'POST', { action: 'payment_received', id: paymentId });
  await waitFor(() => captured.length === 2, { what: 'the sandbox to send CONFIRMED and RECEIVED' });
  const [confirmed, received] = captured.map((c) => ({ body: c.body, headers: { 'asaas-access-token': c.headers['asaas-access-token']! } }));
  expect(JSON.parse(confirmed!.body).event).toBe('PAYMENT_CONFIRMED');
  expect(JSON.parse(received!.body).event).toBe('PAYMENT_RECEIVED');

  const before = (await jobsTriggeredBy(FULL)).length;
  // RECEIVED first this time, then each of them again, twice more.
  for (const w of [received, confirmed, received, confirmed, received, confirmed]) {
    const r = await postHook(`/hooks/${FULL}/asaas`, w!.body, w!.headers);
    expect(r.status).toBe(200);
  }
  const jobs = await jobsTriggeredBy(FULL);
  expect(jobs).toHaveLength(before + 1);
  const run = jobs.find((j) => (j.context?.event as { payment_id?: string } | undefined)?.payment_id === paymentId)!;
  // The first to arrive (RECEIVED) claimed the payment.
  expect(run.metadata.trigger).toBe(JSON.parse(received!.body).id);
  expect((await terminal(FULL, run.id)).status).toBe('succeeded');
  const ledger = (await listProviderEvents(stack.db, FULL)).filter((r) =>
    [JSON.parse(received!.body).id, JSON.parse(confirmed!.body).id].includes(r.provider_event_id),
  );
  expect(ledger.map((r) => r.outcome).sort()).toEqual(['duplicate_payment', 'triggered']);
});

test('concurrent deliveries of both events (as from several API processes) still yield exactly one run', async () => {
  const { paymentId } = await createCardPayment(FULL, 60);
  await sandboxCall('asaas', 'webhook', ASAAS_KEY, 'PUT', { url: captureUrl, secret: FULL_ASAAS_SECRET });
  captured.length = 0;
  await sandboxCall('asaas', 'simulate', ASAAS_KEY, 'POST', { action: 'payment_received', id: paymentId });
  await waitFor(() => captured.length === 2, { what: 'the sandbox to send CONFIRMED and RECEIVED' });
  const before = (await jobsTriggeredBy(FULL)).length;
  const burst = [...captured, ...captured, ...captured].map((c) =>
    postHook(`/hooks/${FULL}/asaas`, c.body, { 'asaas-access-token': c.headers['asaas-access-token']! }),
  );
  expect((await Promise.all(burst)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  const jobs = await jobsTriggeredBy(FULL);
  expect(jobs).toHaveLength(before + 1);
  const run = jobs.find((j) => (j.context?.event as { payment_id?: string } | undefined)?.payment_id === paymentId)!;
  expect((await terminal(FULL, run.id)).status).toBe('succeeded');
});

describe('refused webhooks write nothing', () => {
  const asaasBody = JSON.stringify({
    id: 'evt_forged_000001',
    event: 'PAYMENT_RECEIVED',
    dateCreated: '2026-11-28 07:00:00',
    payment: { id: 'pay_forged_1', value: 10, customer: 'cus_000001', billingType: 'PIX' },
  });

  async function expectRefused(res: Response, status = 401, code = 'unauthorized') {
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    return body;
  }

  let jobsBefore: number;
  let eventsBefore: number;
  const eventCount = () => rowCount(stack.db, 'provider_events');
  beforeAll(async () => {
    jobsBefore = await automationJobCount();
    eventsBefore = await eventCount();
  });
  afterAll(async () => {
    expect(await automationJobCount()).toBe(jobsBefore);
    expect(await eventCount()).toBe(eventsBefore);
  });

  test('a forged Asaas token → 401, and the response reveals nothing', async () => {
    const body = await expectRefused(await postHook(`/hooks/${FULL}/asaas`, asaasBody, { 'asaas-access-token': 'asaas-webhook-token-full-0002' }));
    expect(JSON.stringify(body)).not.toContain(FULL_ASAAS_SECRET);
    await expectRefused(await postHook(`/hooks/${FULL}/asaas`, asaasBody, {}));
  });

  test("tenant A's webhook signed with tenant B's secret → 401", async () => {
    await expectRefused(await postHook(`/hooks/${FULL}/asaas`, asaasBody, { 'asaas-access-token': OTHER_ASAAS_SECRET }));
  });

  test('Stripe: a bad v1, a stale timestamp (> 5 min) and a body changed after signing → 401', async () => {
    const body = JSON.stringify({
      id: 'evt_stale_0001',
      object: 'event',
      type: 'payment_intent.succeeded',
      created: 1,
      data: { object: { id: 'pi_stale_1', amount: 5000, currency: 'brl' } },
    });
    await expectRefused(await postHook(`/hooks/${OTHER}/stripe`, body, { 'stripe-signature': stripeSignature(body, 'whsec_not_the_right_secret') }));
    const old = Math.floor(Date.now() / 1000) - 301;
    await expectRefused(await postHook(`/hooks/${OTHER}/stripe`, body, { 'stripe-signature': stripeSignature(body, OTHER_STRIPE_SECRET, old) }));
    await expectRefused(
      await postHook(`/hooks/${OTHER}/stripe`, body.replace('5000', '1'), { 'stripe-signature': stripeSignature(body, OTHER_STRIPE_SECRET) }),
    );
    await expectRefused(await postHook(`/hooks/${OTHER}/stripe`, body, { 'stripe-signature': 'garbage' }));
  });

  test('Melhor Envio: a wrong X-ME-Signature → 401; a server the tenant lacks → 401', async () => {
    const body = JSON.stringify({ event: 'order.posted', data: { id: '00000001-0000-4000-8000-000000000099' } });
    const wrong = createHmac('sha256', 'some-other-secret').update(body).digest('base64');
    await expectRefused(await postHook(`/hooks/${FULL}/melhor-envio`, body, { 'x-me-signature': wrong }));
    await expectRefused(
      await postHook(`/hooks/${OTHER}/melhor-envio`, body, { 'x-me-signature': createHmac('sha256', ME_SECRET).update(body).digest('base64') }),
    );
  });

  test('the live secret does not open the test environment (secrets are per environment)', async () => {
    await expectRefused(await postHook(`/hooks/${FULL}/asaas?environment=test`, asaasBody, { 'asaas-access-token': FULL_ASAAS_SECRET }));
  });

  test('an unknown tenant → the same 401 as a bad signature', async () => {
    // An unknown tenant answers exactly like a bad signature (issue 19): nothing reveals which tenants exist.
    await expectRefused(await postHook('/hooks/tenant_nobody/asaas', asaasBody, { 'asaas-access-token': FULL_ASAAS_SECRET }));
  });
});

test('Stripe payment_intent.succeeded and checkout.session.completed of one payment → one run; Melhor Envio events are recorded, run nothing', async () => {
  const pi = {
    id: 'pi_e2e_0001',
    object: 'payment_intent',
    amount: 12345,
    amount_received: 12345,
    currency: 'brl',
    customer: 'cus_e2e_1',
    metadata: { order_id: 'A-77' },
    payment_method_types: ['card'],
  };
  const succeeded = JSON.stringify({
    id: 'evt_e2e_pi_1',
    object: 'event',
    type: 'payment_intent.succeeded',
    created: Math.floor(Date.now() / 1000),
    livemode: true,
    data: { object: pi },
  });
  const session = JSON.stringify({
    id: 'evt_e2e_cs_1',
    object: 'event',
    type: 'checkout.session.completed',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'cs_e2e_1', object: 'checkout.session', payment_status: 'paid', payment_intent: pi.id, amount_total: 12345, currency: 'brl' } },
  });
  for (const body of [succeeded, session, succeeded]) {
    const r = await postHook(`/hooks/${OTHER}/stripe`, body, { 'stripe-signature': stripeSignature(body, OTHER_STRIPE_SECRET) });
    expect(r.status).toBe(200);
  }
  const jobs = await jobsTriggeredBy(OTHER, 'evt_e2e_pi_1');
  expect(jobs).toHaveLength(1);
  expect(await jobsTriggeredBy(OTHER, 'evt_e2e_cs_1')).toHaveLength(0);
  expect(jobs[0]!.context).toEqual({
    event: expect.objectContaining({
      type: 'payment.confirmed',
      provider: 'stripe',
      payment_id: 'pi_e2e_0001',
      amount: 123.45,
      amount_minor: 12345,
      currency: 'BRL',
      external_reference: 'A-77',
      method: 'card',
    }),
  });
  expect((await terminal(OTHER, jobs[0]!.id)).status).toBe('succeeded');

  const me = JSON.stringify({ event: 'order.posted', data: { id: '00000001-0000-4000-8000-000000000042', status: 'posted' } });
  const r = await postHook(`/hooks/${FULL}/melhor-envio`, me, { 'x-me-signature': createHmac('sha256', ME_SECRET).update(me).digest('base64') });
  expect(r.status).toBe(200);
  const row = (await listProviderEvents(stack.db, FULL)).find((e) => e.server === 'melhor-envio');
  expect(row).toMatchObject({ provider_event_id: `order.posted:00000001-0000-4000-8000-000000000042`, outcome: 'ignored', job_ids: [] });
});

describe('automations are validated when saved', () => {
  const put = (tid: string, automations: unknown) => call('PUT', `/v1/tenants/${tid}/automations`, { body: { automations } });
  const paths = (r: { body: any }) => r.body.error.details.map((d: { path: string }) => d.path);

  test('a step on a server the tenant does not have, an unknown tool, an unknown event and a bad reference → 400 validation_failed', async () => {
    const r = await put(OTHER, [
      {
        on: 'payment.refunded',
        steps: [
          { tool: 'z-api/send_text', args: {} },
          { tool: 'stripe/no_such_tool', args: {} },
          { tool: 'asaas/get_payment', args: { id: '{{event.nope}}', x: '{{steps.5.data.id}}', y: '{{secrets.key}}' } },
        ],
      },
    ]);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(paths(r)).toEqual(
      expect.arrayContaining([
        'body.automations.0.on',
        'body.automations.0.steps.0.tool',
        'body.automations.0.steps.1.tool',
        'body.automations.0.steps.2.args.x',
        'body.automations.0.steps.2.args.y',
      ]),
    );
    const bad = await put(OTHER, [{ on: 'payment.confirmed', steps: [{ tool: 'asaas/get_payment', args: { id: '{{event.nope}}' } }] }]);
    expect(paths(bad)).toEqual(['body.automations.0.steps.0.args.id']);
    // Nothing was stored.
    expect((await call('GET', `/v1/tenants/${OTHER}/automations`)).body.automations).toEqual([
      { on: 'payment.confirmed', steps: [{ tool: 'stripe/retrieve_balance', args: {} }] },
    ]);
  });

  test('PATCH /v1/admin/tenants/{id} applies the same validation', async () => {
    const r = await call('PATCH', `/v1/admin/tenants/${OTHER}`, {
      body: { automations: { live: [{ on: 'payment.confirmed', steps: [{ tool: 'stripe/no_such_tool', args: {} }] }] } },
    });
    expect(r.status).toBe(400);
    expect(paths(r)).toEqual(['body.automations.live.0.steps.0.tool']);
  });
});
