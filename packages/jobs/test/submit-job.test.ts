/**
 * submitJob without HTTP: principal + tenant + body + Idempotency-Key → status, headers, body.
 * The environment comes from the key (the operator's from the body, default live), servers are
 * scoped to the tenant's, an Idempotency-Key replays its job or refuses another body, and the
 * monthly quota is read only once the request is valid (a bad request is 400 whatever the quota).
 * Real Postgres and Redis.
 */
import { Queue } from 'bullmq';
import type { RedisConnection, Producer } from '@agents/queue';
import { createInvalidationBus, createTenantCache, insertTenant, updateTenant } from '@agents/db';
import type { InvalidationBus, Principal, TenantCache } from '@agents/db';
import { createProducer, createRedis, createToolCallQuota, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { createCatalog } from '@agents/runtime';
import { createTestDatabase, flushPrefix, testRedisPrefix, TEST_REDIS_URL } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { createSubmitJob } from '../src';
import type { SubmitJob } from '../src';

const T = 'tenant_submit';
const OTHER = 'tenant_submit_other';
const SPENT = 'tenant_submit_spent';
const OFF = 'tenant_submit_off';

let tdb: TestDatabase;
let prefix: string;
let redis: RedisConnection;
let subscriber: RedisConnection;
let bus: InvalidationBus;
let tenants: TenantCache;
let producer: Producer;
let submitJob: SubmitJob;
const queues: Queue[] = [];

const operator: Principal = { kind: 'operator' };
const liveKey = (tenantId: string): Principal => ({ kind: 'tenant', tenantId, environment: 'live', keyId: 'key_live' });
const testKey = (tenantId: string): Principal => ({ kind: 'tenant', tenantId, environment: 'test', keyId: 'key_test' });
const workflow = (order: string, extra: Record<string, unknown> = {}) => ({
  type: 'workflow',
  metadata: { order_id: order },
  steps: [{ tool: 'asaas/list_customers' }],
  ...extra,
});

beforeAll(async () => {
  tdb = await createTestDatabase('submitjob');
  prefix = testRedisPrefix();
  const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };
  for (const [id, quota] of [
    [T, 1000],
    [OTHER, 1000],
    [SPENT, 0],
    [OFF, 1000],
  ] as const) {
    const limits = { concurrency: 1, requests_per_minute: 600, monthly_tool_calls: quota, max_iterations: 10 };
    await insertTenant(tdb.db, { id, name: id, servers: ['asaas', 'z-api'], limits, plan, instructions: null, webhook_url: null });
  }
  await updateTenant(tdb.db, OFF, { disabled: true });
  redis = createRedis(TEST_REDIS_URL, silentLogger(), 'test');
  subscriber = createRedis(TEST_REDIS_URL, silentLogger(), 'test-sub');
  bus = createInvalidationBus({ publisher: redis, subscriber, channel: `${prefix}:invalidate` });
  await bus.ready();
  tenants = createTenantCache({ db: tdb.db, bus });
  producer = createProducer({ redis, redisPrefix: prefix, attempts: 1 });
  submitJob = createSubmitJob({
    db: tdb.db,
    producer,
    logger: silentLogger(),
    tenants,
    quota: createToolCallQuota({ redis, redisPrefix: prefix, countExecuted: async () => 0 }),
    allowedModels: ['gpt-4o-mini'],
    // Only the entries' tool lists are read (nothing connects).
    catalog: createCatalog({ sandboxUrl: 'http://127.0.0.1:9' }),
    callbackUrlProblem: async (url) => (url.startsWith('https://') ? undefined : 'must be https'),
  });
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await producer?.close();
  await bus?.close();
  subscriber?.disconnect();
  redis?.disconnect();
  await tdb?.close();
  await flushPrefix(prefix);
});

async function jobCount(tenantId: string): Promise<number> {
  const r = await tdb.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

const errorOf = (r: { body: unknown }) => (r.body as { error: { code: string; message: string; details?: unknown } }).error;

test('a valid job: 202 with Location and the job, durable in Postgres and on its tenant queue', async () => {
  const r = await submitJob({ principal: liveKey(T), tenantId: T, body: workflow('a'), idempotencyKey: undefined });
  expect(r.status).toBe(202);
  const job = r.body as { id: string; status: string; environment: string; servers: string[]; metadata: Record<string, string> };
  expect(r.headers).toEqual({ Location: `/v1/tenants/${T}/jobs/${job.id}` });
  expect(job).toMatchObject({ status: 'queued', environment: 'live', servers: ['asaas', 'z-api'], metadata: { order_id: 'a', tenant_id: T } });
  // The answer comes before the enqueued mark is written; once it settles, the row has it.
  await submitJob.settled();
  const row = await tdb.db.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
  expect(row.enqueued_at).not.toBeNull();
  const q = new Queue(tenantQueueName(T), { connection: redis, prefix: tenantBullPrefix(prefix, T) });
  queues.push(q);
  expect(await q.getJob(job.id)).toBeDefined();
});

test('the environment is the key’s; the operator’s comes from the body, default live; a key cannot ask for the other one', async () => {
  const envOf = async (principal: Principal, body: unknown) =>
    ((await submitJob({ principal, tenantId: T, body, idempotencyKey: undefined })).body as { environment: string }).environment;
  expect(await envOf(testKey(T), workflow('t'))).toBe('test');
  expect(await envOf(operator, workflow('o'))).toBe('live');
  expect(await envOf(operator, workflow('o', { environment: 'test' }))).toBe('test');
  const r = await submitJob({ principal: testKey(T), tenantId: T, body: workflow('x', { environment: 'live' }), idempotencyKey: undefined });
  expect(r.status).toBe(400);
  expect(errorOf(r)).toMatchObject({ code: 'validation_failed', details: [{ path: 'body.environment', message: expect.stringMatching(/test key/) }] });
});

test('unknown, disabled and other tenants are the same 404 tenant_not_found', async () => {
  for (const [principal, tenantId] of [
    [liveKey(OTHER), T],
    [operator, 'tenant_nobody'],
    [operator, OFF],
    [liveKey(OFF), OFF],
  ] as const) {
    const r = await submitJob({ principal, tenantId, body: workflow('n'), idempotencyKey: undefined });
    expect({ tenantId, status: r.status, error: errorOf(r) }).toEqual({
      tenantId,
      status: 404,
      error: { code: 'tenant_not_found', message: 'No such tenant.' },
    });
  }
});

test('servers are scoped to the tenant’s: named servers, and the servers of workflow steps', async () => {
  const named = await submitJob({ principal: operator, tenantId: T, body: workflow('s', { servers: ['asaas', 'asaas'] }), idempotencyKey: undefined });
  expect((named.body as { servers: string[] }).servers).toEqual(['asaas']);
  for (const body of [workflow('s', { servers: ['stripe'] }), { type: 'workflow', servers: ['asaas'], steps: [{ tool: 'z-api/send_text' }] }]) {
    const r = await submitJob({ principal: operator, tenantId: T, body, idempotencyKey: undefined });
    expect(r.status).toBe(422);
    expect(errorOf(r).code).toBe('server_not_allowed');
  }
});

test('a workflow step naming a tool that does not exist is 400 unknown_tool naming the step; nothing is written', async () => {
  const before = await jobCount(T);
  const cases: Array<[string, RegExp]> = [
    // Unknown tool on one of the tenant's servers.
    ['asaas/no_such_tool', /step 1 names "asaas\/no_such_tool".*server "asaas" has no tool "no_such_tool"/],
    // Unknown server prefix (no catalog entry at all), even though the tenant could never have it.
    ['nope/create_payment', /step 1 names "nope\/create_payment".*no server "nope" in the catalog/],
  ];
  for (const [tool, message] of cases) {
    const body = { type: 'workflow', steps: [{ tool: 'asaas/list_customers' }, { tool, args: {} }] };
    const r = await submitJob({ principal: liveKey(T), tenantId: T, body, idempotencyKey: `k-unknown-${tool}` });
    expect({ tool, status: r.status, code: errorOf(r).code, details: errorOf(r).details }).toEqual({
      tool,
      status: 400,
      code: 'unknown_tool',
      details: [{ path: 'body.steps.1.tool', message: expect.any(String) }],
    });
    expect(errorOf(r).message).toMatch(message);
  }
  // Hostile names never reach the catalog check: the schema refuses them with a clear 400.
  for (const tool of ['asaas/\u0000', 'asaas/\ud800x', `asaas/${'a'.repeat(10_000)}`, `${'s'.repeat(5_000)}/x`]) {
    const r = await submitJob({ principal: liveKey(T), tenantId: T, body: { type: 'workflow', steps: [{ tool }] }, idempotencyKey: undefined });
    expect(r.status).toBe(400);
    expect(errorOf(r)).toMatchObject({ code: 'validation_failed', details: [{ path: 'body.steps.0.tool', message: 'must be "<server>/<tool>"' }] });
    expect(JSON.stringify(r.body).length).toBeLessThan(1_000);
  }
  expect(await jobCount(T)).toBe(before);
  // A catalog server the tenant lacks is still 422 server_not_allowed, whether or not the tool exists.
  const foreign = await submitJob({
    principal: liveKey(T),
    tenantId: T,
    body: { type: 'workflow', steps: [{ tool: 'stripe/nope' }] },
    idempotencyKey: undefined,
  });
  expect(errorOf(foreign).code).toBe('server_not_allowed');
});

test('bad bodies, keys, models and callback URLs are 400 with details', async () => {
  const cases: Array<[unknown, string | undefined, string, string]> = [
    [undefined, undefined, 'validation_failed', 'body.input'],
    [{ type: 'workflow', steps: [{ args: {} }] }, undefined, 'validation_failed', 'body.steps.0.tool'],
    [workflow('b'), 'has space', 'validation_failed', 'headers.idempotency-key'],
    [workflow('b'), 'k'.repeat(256), 'validation_failed', 'headers.idempotency-key'],
    [{ input: 'hi', model: 'o1-pro' }, undefined, 'model_not_allowed', 'body.model'],
    [workflow('b', { callback_url: 'http://internal.example/hook' }), undefined, 'validation_failed', 'body.callback_url'],
  ];
  for (const [body, idempotencyKey, code, path] of cases) {
    const r = await submitJob({ principal: operator, tenantId: T, body, idempotencyKey });
    expect({ path, status: r.status, code: errorOf(r).code, paths: (errorOf(r).details as Array<{ path: string }>).map((d) => d.path) }).toEqual({
      path,
      status: 400,
      code,
      paths: expect.arrayContaining([path]),
    });
  }
});

test('Idempotency-Key: the same body replays the job, another body is 422; the operator’s test and live jobs are distinct', async () => {
  const key = `k-${Date.now()}`;
  const first = await submitJob({ principal: liveKey(T), tenantId: T, body: workflow('i'), idempotencyKey: key });
  const again = await submitJob({ principal: liveKey(T), tenantId: T, body: workflow('i'), idempotencyKey: key });
  expect([first.status, again.status]).toEqual([202, 202]);
  expect(again.body).toEqual(first.body);
  // A replay says so (Stripe's Idempotent-Replayed); the first answer does not.
  expect(first.headers['Idempotent-Replayed']).toBeUndefined();
  expect(again.headers).toEqual({ ...first.headers, 'Idempotent-Replayed': 'true' });
  const other = await submitJob({ principal: liveKey(T), tenantId: T, body: workflow('j'), idempotencyKey: key });
  expect(other.status).toBe(422);
  expect(errorOf(other).code).toBe('idempotency_key_reused');

  const opKey = `op-${Date.now()}`;
  const live = await submitJob({ principal: operator, tenantId: T, body: workflow('e'), idempotencyKey: opKey });
  const test = await submitJob({ principal: operator, tenantId: T, body: workflow('e', { environment: 'test' }), idempotencyKey: opKey });
  expect([live.status, test.status]).toEqual([202, 202]);
  expect((test.body as { id: string }).id).not.toBe((live.body as { id: string }).id);
});

test('a spent quota is 429 quota_exceeded, but only for a valid request: a bad one is still 400; nothing is written', async () => {
  const bad = await submitJob({ principal: liveKey(SPENT), tenantId: SPENT, body: { type: 'workflow' }, idempotencyKey: undefined });
  expect(bad.status).toBe(400);
  expect(errorOf(bad).code).toBe('validation_failed');
  const foreign = await submitJob({ principal: liveKey(SPENT), tenantId: SPENT, body: workflow('q', { servers: ['stripe'] }), idempotencyKey: undefined });
  expect(foreign.status).toBe(422);
  const spent = await submitJob({ principal: liveKey(SPENT), tenantId: SPENT, body: workflow('q'), idempotencyKey: 'k-spent' });
  expect(spent).toEqual({
    status: 429,
    headers: {},
    body: {
      error: { code: 'quota_exceeded', message: "The monthly tool-call quota (0) of this tenant's live environment is spent." },
      code: 'quota_exceeded',
      message: "The monthly tool-call quota (0) of this tenant's live environment is spent.",
    },
  });
  expect(await jobCount(SPENT)).toBe(0);
});
