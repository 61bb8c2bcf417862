/**
 * Per-tenant request rate limit (limits.requests_per_minute), counted in Redis and shared by every
 * API process: two API processes here draw from one budget.
 */
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let prefix: string;
let apiA: ApiServer;
let apiB: ApiServer;
let callA: ReturnType<typeof apiClient>;
let callB: ReturnType<typeof apiClient>;

beforeAll(async () => {
  tdb = await createTestDatabase('ratelimit');
  prefix = testRedisPrefix();
  const config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix });
  apiA = await startApi(config, silentLogger(), { port: 0 });
  apiB = await startApi(config, silentLogger(), { port: 0 });
  callA = apiClient(apiA.url);
  callB = apiClient(apiB.url);
  for (const [id, rpm, quota] of [
    ['tenant_slow', 3, 1000],
    ['tenant_other', 100, 1000],
    ['tenant_burst', 4, 1000],
    ['tenant_spent', 2, 0],
    ['tenant_envs', 2, 1000],
  ] as const) {
    const r = await callA('POST', '/v1/admin/tenants', { body: { id, servers: ['asaas'], limits: { requests_per_minute: rpm, monthly_tool_calls: quota } } });
    expect(r.status).toBe(201);
  }
});

afterAll(async () => {
  await apiA?.close();
  await apiB?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test('tenant routes carry RateLimit-* headers; over the limit → 429 rate_limited with Retry-After, across API processes', async () => {
  const remaining: string[] = [];
  for (const call of [callA, callB, callA]) {
    const r = await call('GET', '/v1/tenants/tenant_slow/jobs');
    expect(r.status).toBe(200);
    expect(r.headers.get('ratelimit-limit')).toBe('3');
    const reset = Number(r.headers.get('ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(60);
    remaining.push(r.headers.get('ratelimit-remaining')!);
  }
  expect(remaining).toEqual(['2', '1', '0']);

  const refused = await callB('POST', '/v1/tenants/tenant_slow/jobs', { body: { type: 'workflow', steps: [{ tool: 'asaas/list_customers', args: {} }] } });
  expect(refused.status).toBe(429);
  expect(refused.body.error.code).toBe('rate_limited');
  const retryAfter = Number(refused.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(refused.headers.get('ratelimit-remaining')).toBe('0');
  expect(refused.headers.get('ratelimit-limit')).toBe('3');
  // Nothing was written for the refused request.
  const jobs = await tdb.db.selectFrom('jobs').select('id').where('tenant_id', '=', 'tenant_slow').execute();
  expect(jobs).toHaveLength(0);

  // Another tenant has its own budget.
  const other = await callA('GET', '/v1/tenants/tenant_other/jobs');
  expect(other.status).toBe(200);
  expect(other.headers.get('ratelimit-remaining')).toBe('99');
});

test('requests for an unknown tenant are not counted against anyone and get no rate-limit headers', async () => {
  const r = await callA('GET', '/v1/tenants/tenant_nobody/jobs');
  expect(r.status).toBe(404);
  expect(r.headers.get('ratelimit-limit')).toBeNull();
  // Operator routes are not tenant routes.
  const admin = await callA('GET', '/v1/admin/tenants');
  expect(admin.status).toBe(200);
  expect(admin.headers.get('ratelimit-limit')).toBeNull();
});

test('a PATCHed limit applies to the current window at once', async () => {
  const p = await callA('PATCH', '/v1/admin/tenants/tenant_slow', { body: { limits: { requests_per_minute: 5 } } });
  expect(p.status).toBe(200);
  const r = await callB('GET', '/v1/tenants/tenant_slow/jobs');
  expect(r.status).toBe(200);
  expect(r.headers.get('ratelimit-limit')).toBe('5');
});

test('a burst of concurrent requests, counted together, admits exactly the limit and refuses the rest', async () => {
  const answers = await Promise.all(Array.from({ length: 7 }, (_, i) => (i % 2 ? callA : callB)('GET', '/v1/tenants/tenant_burst/jobs')));
  const ok = answers.filter((r) => r.status === 200);
  const refused = answers.filter((r) => r.status === 429);
  expect(ok).toHaveLength(4);
  expect(refused).toHaveLength(3);
  // Each admitted request saw its own place in the window.
  expect(ok.map((r) => r.headers.get('ratelimit-remaining')).sort()).toEqual(['0', '1', '2', '3']);
  for (const r of refused) {
    expect(r.body.error.code).toBe('rate_limited');
    expect(r.headers.get('ratelimit-remaining')).toBe('0');
  }
});

test('a submission is refused for its rate first, then for its quota: the quota is read alongside, but a rate-limited request is answered and counted as rate_limited only', async () => {
  const refusals = async () => {
    const text = (await callA('GET', '/metrics')).text;
    const count = (reason: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('agents_refusals_total{') && l.includes('"tenant_spent"') && l.includes(`reason="${reason}"`))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    return { rate: count('rate_limited'), quota: count('quota_exceeded') };
  };
  const before = await refusals();
  const submit = () => callA('POST', '/v1/tenants/tenant_spent/jobs', { body: { type: 'workflow', steps: [{ tool: 'asaas/list_customers', args: {} }] } });
  const first = await submit();
  const second = await submit();
  for (const [r, remaining] of [
    [first, '1'],
    [second, '0'],
  ] as const) {
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('quota_exceeded');
    expect(r.body.error.message).toBe("The monthly tool-call quota (0) of this tenant's live environment is spent.");
    expect(r.headers.get('ratelimit-remaining')).toBe(remaining);
  }
  const third = await submit();
  expect(third.status).toBe(429);
  expect(third.body.error.code).toBe('rate_limited');
  expect(third.headers.get('retry-after')).not.toBeNull();
  expect(await refusals()).toEqual({ rate: before.rate + 1, quota: before.quota + 2 });
  expect(await tdb.db.selectFrom('jobs').select('id').where('tenant_id', '=', 'tenant_spent').execute()).toHaveLength(0);
});

test('each environment has its own budget: a test key spending its limit leaves the live key and the operator answered', async () => {
  const keyOf = async (environment: 'test' | 'live') => {
    const k = await callA('POST', '/v1/admin/tenants/tenant_envs/api-keys', { body: { environment } });
    expect(k.status).toBe(201);
    return k.body.key as string;
  };
  const [testKey, liveKey] = [await keyOf('test'), await keyOf('live')];
  const flood = await Promise.all(Array.from({ length: 5 }, () => callA('GET', '/v1/tenants/tenant_envs/jobs', { key: testKey })));
  expect(flood.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);

  for (const [call, key, remaining] of [
    [callB, liveKey, '1'],
    [callA, liveKey, '0'],
    [callB, undefined, '1'],
  ] as const) {
    const r = await call('GET', '/v1/tenants/tenant_envs/jobs', key ? { key } : {});
    expect(r.status).toBe(200);
    expect(r.headers.get('ratelimit-limit')).toBe('2');
    expect(r.headers.get('ratelimit-remaining')).toBe(remaining);
  }
  const liveOver = await callB('GET', '/v1/tenants/tenant_envs/jobs', { key: liveKey });
  expect(liveOver.status).toBe(429);
  expect(liveOver.body.error.code).toBe('rate_limited');
  // The test budget is still spent: its refusals did not move to another budget.
  expect((await callA('GET', '/v1/tenants/tenant_envs/jobs', { key: testKey })).status).toBe(429);
});
