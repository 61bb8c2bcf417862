/**
 * The public /hooks endpoint and the automations it runs, against a real API, Postgres and Redis
 * (no worker: the jobs a hook causes are asserted as the rows it commits). Issue 19:
 * - automations are kept per environment; a key writes only its own; a hook for E runs only E's (item 4);
 * - an unknown tenant answers exactly like a real one with a bad signature, and failed verifications
 *   are throttled per tenant path and source address (item 9);
 * - payload text Postgres cannot store (U+0000, lone surrogates, in keys and values) is stored as
 *   U+FFFD instead of failing the delivery (item 3).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

jest.setTimeout(60_000);

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let call: ReturnType<typeof apiClient>;
const keys: Record<string, string> = {};

const T = 'tenant_hooks';
const STRIPE_ONLY = 'tenant_hooks_stripe';
const ASAAS_SECRET = { test: 'asaas-hook-token-test-0001', live: 'asaas-hook-token-live-0001' };
const STRIPE_SECRET = 'whsec_hooks_stripe_secret_0001';
const LIVE_LIST = [{ on: 'payment.confirmed', steps: [{ tool: 'asaas/get_balance', args: {} }] }];
const TEST_LIST = [{ on: 'payment.confirmed', steps: [{ tool: 'asaas/list_customers', args: {} }] }];

let seq = 0;
const asaasEvent = () => {
  seq += 1;
  return JSON.stringify({
    id: `evt_hooks_${seq}`,
    event: 'PAYMENT_RECEIVED',
    payment: { id: `pay_hooks_${seq}`, value: 10, customer: 'cus_1', billingType: 'PIX' },
  });
};

/** POST with an exact body, optionally from another loopback source address (Linux routes all of 127/8 to lo). */
function post(
  path: string,
  body: string,
  headers: Record<string, string>,
  localAddress?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const url = new URL(api.url + path);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: url.port,
        path: url.pathname + url.search,
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function jobsOf(tenant: string) {
  return tdb.db
    .selectFrom('jobs')
    .select(['id', 'environment', 'steps', 'context', 'metadata', 'request_id'])
    .where('tenant_id', '=', tenant)
    .orderBy('created_at')
    .execute();
}

beforeAll(async () => {
  tdb = await createTestDatabase('hooks');
  prefix = testRedisPrefix();
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
  call = apiClient(api.url);
  expect((await call('POST', '/v1/admin/tenants', { body: { id: T, servers: ['asaas', 'stripe'] } })).status).toBe(201);
  expect((await call('POST', '/v1/admin/tenants', { body: { id: STRIPE_ONLY, servers: ['stripe'] } })).status).toBe(201);
  for (const env of ['test', 'live'] as const) {
    const c = await call('PUT', `/v1/tenants/${T}/credentials/asaas?environment=${env}`, {
      body: { values: { api_key: `aact_${env}`, webhook_secret: ASAAS_SECRET[env] } },
    });
    expect(c.status).toBe(204);
    const k = await call('POST', `/v1/admin/tenants/${T}/api-keys`, { body: { environment: env } });
    expect(k.status).toBe(201);
    keys[env] = k.body.key;
  }
  expect(
    (
      await call('PUT', `/v1/tenants/${T}/credentials/stripe?environment=live`, {
        body: { values: { secret_key: 'sk_test_hooks', webhook_secret: STRIPE_SECRET } },
      })
    ).status,
  ).toBe(204);
});

afterAll(async () => {
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

describe('automations per environment (item 4)', () => {
  test('a key writes and reads only its own environment’s list', async () => {
    const live = await call('PUT', `/v1/tenants/${T}/automations`, { key: keys.live, body: { automations: LIVE_LIST } });
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ environment: 'live', automations: LIVE_LIST });
    // The test key writes the test list; the live list is untouched.
    const test = await call('PUT', `/v1/tenants/${T}/automations`, { key: keys.test, body: { automations: TEST_LIST } });
    expect(test.status).toBe(200);
    expect(test.body).toEqual({ environment: 'test', automations: TEST_LIST });
    expect((await call('GET', `/v1/tenants/${T}/automations`, { key: keys.live })).body.automations).toEqual(LIVE_LIST);
    expect((await call('GET', `/v1/tenants/${T}/automations`, { key: keys.test })).body.automations).toEqual(TEST_LIST);
    // A test key cannot name the live list.
    const cross = await call('PUT', `/v1/tenants/${T}/automations?environment=live`, { key: keys.test, body: { automations: [] } });
    expect(cross.status).toBe(400);
    expect(cross.body.error.code).toBe('validation_failed');
    expect(cross.body.error.details).toEqual([{ path: 'query.environment', message: 'a test key manages test automations only' }]);
    // The operator sees both in the tenant object, and names one on the tenant route (default live).
    const tenant = await call('GET', `/v1/admin/tenants/${T}`);
    expect(tenant.body.automations).toEqual({ test: TEST_LIST, live: LIVE_LIST });
    expect((await call('GET', `/v1/tenants/${T}/automations`)).body).toEqual({ environment: 'live', automations: LIVE_LIST });
    expect((await call('GET', `/v1/tenants/${T}/automations?environment=test`)).body).toEqual({ environment: 'test', automations: TEST_LIST });
  });

  test('PATCH of the tenant sets each environment apart and validates under its path', async () => {
    const bad = await call('PATCH', `/v1/admin/tenants/${T}`, {
      body: { automations: { test: [{ on: 'payment.confirmed', steps: [{ tool: 'z-api/send_text', args: {} }] }] } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(['body.automations.test.0.steps.0.tool']);
    const ok = await call('PATCH', `/v1/admin/tenants/${T}`, { body: { automations: { test: TEST_LIST } } });
    expect(ok.status).toBe(200);
    expect(ok.body.automations).toEqual({ test: TEST_LIST, live: LIVE_LIST });
    // Dropping a server the kept live list uses is refused, naming the live list.
    const drop = await call('PATCH', `/v1/admin/tenants/${T}`, { body: { servers: ['stripe'] } });
    expect(drop.status).toBe(400);
    expect(drop.body.error.details.map((d: { path: string }) => d.path)).toEqual([
      'body.automations.test.0.steps.0.tool',
      'body.automations.live.0.steps.0.tool',
    ]);
    // A list-shaped value (one list for both environments) is refused: each environment has its own.
    expect((await call('PATCH', `/v1/admin/tenants/${T}`, { body: { automations: LIVE_LIST } })).status).toBe(400);
  });

  test('a hook for environment E runs only E’s list', async () => {
    const before = (await jobsOf(T)).length;
    const live = await post(`/hooks/${T}/asaas?environment=live`, asaasEvent(), { 'asaas-access-token': ASAAS_SECRET.live });
    expect(live.status).toBe(200);
    const test = await post(`/hooks/${T}/asaas?environment=test`, asaasEvent(), { 'asaas-access-token': ASAAS_SECRET.test });
    expect(test.status).toBe(200);
    const jobs = (await jobsOf(T)).slice(before);
    // The jobs keep the hook request's id for their worker logs (as submitted jobs do).
    expect(jobs.map((j) => j.request_id)).toEqual([live.headers['x-request-id'], test.headers['x-request-id']]);
    expect(jobs.map((j) => [j.environment, j.steps])).toEqual([
      ['live', LIVE_LIST[0]!.steps],
      ['test', TEST_LIST[0]!.steps],
    ]);
    // An environment with no list runs nothing.
    await call('PUT', `/v1/tenants/${T}/automations`, { key: keys.test, body: { automations: [] } });
    expect((await post(`/hooks/${T}/asaas?environment=test`, asaasEvent(), { 'asaas-access-token': ASAAS_SECRET.test })).status).toBe(200);
    expect(await jobsOf(T)).toHaveLength(before + 2);
    await call('PUT', `/v1/tenants/${T}/automations`, { key: keys.test, body: { automations: TEST_LIST } });
  });
});

describe('unknown tenants and bad signatures look the same; failures are throttled (item 9)', () => {
  const shape = (r: { status: number; headers: http.IncomingHttpHeaders; text: string }) => ({
    status: r.status,
    text: r.text,
    headers: Object.keys(r.headers)
      .filter((h) => h !== 'date' && h !== 'x-request-id')
      .sort(),
    retryAfter: r.headers['retry-after'],
  });

  test('unknown tenant, tenant without the server, no secret, and bad signature: one answer', async () => {
    const body = asaasEvent();
    const answers = await Promise.all([
      post('/hooks/tenant_nobody_here/asaas', body, { 'asaas-access-token': ASAAS_SECRET.live }, '127.0.0.3'),
      post(`/hooks/${STRIPE_ONLY}/asaas`, body, { 'asaas-access-token': ASAAS_SECRET.live }, '127.0.0.3'),
      post(`/hooks/${STRIPE_ONLY}/stripe`, body, { 'stripe-signature': 't=1,v1=00' }, '127.0.0.3'),
      post(`/hooks/${T}/asaas`, body, { 'asaas-access-token': 'not-the-token' }, '127.0.0.3'),
      post(`/hooks/${T}/asaas`, body, {}, '127.0.0.3'),
    ]);
    const first = shape(answers[0]!);
    expect(first.status).toBe(401);
    expect(JSON.parse(first.text).error.code).toBe('unauthorized');
    for (const a of answers) expect(shape(a)).toEqual(first);
  });

  test('past the limit a tenant path answers 429 rate_limited with Retry-After for that address only, known or not', async () => {
    const from = '127.0.0.4';
    for (const tid of [T, 'tenant_nobody_either']) {
      const refused: number[] = [];
      for (let i = 0; i < 20; i++) refused.push((await post(`/hooks/${tid}/asaas`, asaasEvent(), { 'asaas-access-token': 'guess' }, from)).status);
      expect(refused).toEqual(Array(20).fill(401));
      const throttled = await post(`/hooks/${tid}/asaas`, asaasEvent(), { 'asaas-access-token': 'guess' }, from);
      expect(throttled.status).toBe(429);
      expect(JSON.parse(throttled.text).error.code).toBe('rate_limited');
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(300);
      // Throttled means refused before verification: even the right token waits from that address.
      if (tid === T) expect((await post(`/hooks/${tid}/asaas`, asaasEvent(), { 'asaas-access-token': ASAAS_SECRET.live }, from)).status).toBe(429);
    }
    // The provider, delivering from elsewhere, is not blocked.
    expect((await post(`/hooks/${T}/asaas`, asaasEvent(), { 'asaas-access-token': ASAAS_SECRET.live }, '127.0.0.5')).status).toBe(200);
    // Another tenant path from the throttled address is still verified.
    expect((await post(`/hooks/${STRIPE_ONLY}/stripe`, '{}', { 'stripe-signature': 't=1,v1=00' }, from)).status).toBe(401);
  });

  test('valid deliveries never count toward the throttle', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await post(`/hooks/${T}/asaas`, asaasEvent(), { 'asaas-access-token': ASAAS_SECRET.live }, '127.0.0.6')).status);
    expect(statuses).toEqual(Array(25).fill(200));
  });
});

describe('payload text Postgres cannot store (item 3)', () => {
  test('U+0000 and lone surrogates in keys and values are stored as U+FFFD; the automation runs', async () => {
    await call('PUT', `/v1/tenants/${T}/automations`, { key: keys.live, body: { automations: LIVE_LIST } });
    const event = {
      id: 'evt_nul_\u0000_1',
      object: 'event',
      type: 'payment_intent.succeeded',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: 'pi_nul_1',
          amount: 5000,
          currency: 'brl',
          description: 'order \u0000 with \ud800 lone',
          metadata: { order_id: 'ord_\ud800', 'key\u0000nul': 'v\u0000', 'key\udc00lone': 'fine' },
        },
      },
    };
    const body = JSON.stringify(event); // well-formed JSON: "\u0000" and "\ud800" as escapes
    expect(body).toContain('\\u0000');
    expect(body).toContain('\\ud800');
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${createHmac('sha256', STRIPE_SECRET).update(`${t}.${body}`).digest('hex')}`;
    const before = (await jobsOf(T)).length;
    const r = await post(`/hooks/${T}/stripe`, body, { 'stripe-signature': signature });
    expect(r.status).toBe(200);
    const jobs = (await jobsOf(T)).slice(before);
    expect(jobs).toHaveLength(1);
    const stored = jobs[0]!.context!.event as { id: string; description: string; metadata: Record<string, string> };
    expect(stored.id).toBe('evt_nul_\ufffd_1');
    expect(stored.description).toBe('order \ufffd with \ufffd lone');
    expect(stored.metadata).toEqual({ order_id: 'ord_\ufffd', 'key\ufffdnul': 'v\ufffd', 'key\ufffdlone': 'fine' });
    expect(jobs[0]!.metadata.trigger).toBe('evt_nul_\ufffd_1');
    const ledger = await tdb.db
      .selectFrom('provider_events')
      .select(['provider_event_id', 'outcome'])
      .where('tenant_id', '=', T)
      .where('server', '=', 'stripe')
      .execute();
    expect(ledger).toEqual([{ provider_event_id: 'evt_nul_\ufffd_1', outcome: 'triggered' }]);
    // The provider's retry of the same bytes is the same event: acknowledged, nothing new.
    expect((await post(`/hooks/${T}/stripe`, body, { 'stripe-signature': signature })).status).toBe(200);
    expect(await jobsOf(T)).toHaveLength(before + 1);
  });
});
