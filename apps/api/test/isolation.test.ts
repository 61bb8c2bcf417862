/**
 * Isolation suite: two tenants, each with its own keys, jobs and credentials. Every attempt to
 * cross the boundary gets the documented status and code, and the database shows nothing of the
 * other tenant leaked or changed. Two API processes share one Redis/Postgres, as in production.
 */
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, testRedisPrefix, waitFor, rowCount } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

jest.setTimeout(60_000);

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let api2: ApiServer;
let op: ReturnType<typeof apiClient>;
let call2: ReturnType<typeof apiClient>;

const A = 'tenant_alpha';
const B = 'tenant_bravo';
const keys: Record<string, string> = {};
const keyIds: Record<string, string> = {};
let bJob: string;
let aTestJob: string;

const workflow = (tool: string) => ({ type: 'workflow', steps: [{ tool, args: {} }] });

async function snapshotOfB() {
  const db = tdb.db;
  return {
    tenant: await db.selectFrom('tenants').selectAll().where('id', '=', B).execute(),
    jobs: await db.selectFrom('jobs').selectAll().where('tenant_id', '=', B).orderBy('id').execute(),
    credentials: await db.selectFrom('credentials').selectAll().where('tenant_id', '=', B).orderBy('server').execute(),
    keys: await db.selectFrom('api_keys').select(['id', 'key_hash', 'revoked_at']).where('tenant_id', '=', B).orderBy('id').execute(),
    secrets: await db.selectFrom('webhook_secrets').selectAll().where('tenant_id', '=', B).execute(),
  };
}
const jobCount = () => rowCount(tdb.db, 'jobs');

beforeAll(async () => {
  tdb = await createTestDatabase('isolation');
  prefix = testRedisPrefix();
  const config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix });
  api = await startApi(config, silentLogger(), { port: 0 });
  api2 = await startApi(config, silentLogger(), { port: 0 });
  op = apiClient(api.url);
  call2 = apiClient(api2.url);
  expect((await op('POST', '/v1/admin/tenants', { body: { id: A, servers: ['asaas'] } })).status).toBe(201);
  expect((await op('POST', '/v1/admin/tenants', { body: { id: B, servers: ['asaas', 'stripe'] } })).status).toBe(201);
  for (const [name, tenant, environment] of [
    ['aLive', A, 'live'],
    ['aTest', A, 'test'],
    ['bLive', B, 'live'],
    ['aDoomed', A, 'live'],
  ] as const) {
    const r = await op('POST', `/v1/admin/tenants/${tenant}/api-keys`, { body: { environment, name } });
    expect(r.status).toBe(201);
    keys[name] = r.body.key;
    keyIds[name] = r.body.id;
  }
  expect(
    (await op('PUT', `/v1/tenants/${B}/credentials/stripe?environment=live`, { body: { values: { secret_key: 'sk_test_bravo_secret_0001' } } })).status,
  ).toBe(204);
  const j = await op('POST', `/v1/tenants/${B}/jobs`, { key: keys.bLive, body: workflow('stripe/retrieve_balance') });
  expect(j.status).toBe(202);
  bJob = j.body.id;
  const t = await op('POST', `/v1/tenants/${A}/jobs`, { key: keys.aTest, body: workflow('asaas/get_balance') });
  expect(t.status).toBe(202);
  expect(t.body.environment).toBe('test');
  aTestJob = t.body.id;
});

afterAll(async () => {
  await api?.close();
  await api2?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

describe("tenant A's live key against tenant B", () => {
  let before: Awaited<ReturnType<typeof snapshotOfB>>;
  beforeAll(async () => {
    before = await snapshotOfB();
  });
  afterAll(async () => {
    // Nothing of B changed, whatever A tried.
    expect(await snapshotOfB()).toEqual(before);
  });

  const attempts: [string, string, string, unknown?][] = [
    ['read a job', 'GET', `/v1/tenants/${B}/jobs/JOB`],
    ['list jobs', 'GET', `/v1/tenants/${B}/jobs`],
    ['cancel a job', 'POST', `/v1/tenants/${B}/jobs/JOB/cancel`],
    ['submit a job', 'POST', `/v1/tenants/${B}/jobs`, workflow('stripe/retrieve_balance')],
    ['read credentials', 'GET', `/v1/tenants/${B}/credentials`],
    ['overwrite credentials', 'PUT', `/v1/tenants/${B}/credentials/stripe`, { values: { secret_key: 'sk_attacker_value_01' } }],
    ['delete credentials', 'DELETE', `/v1/tenants/${B}/credentials/stripe`],
    ['read usage', 'GET', `/v1/tenants/${B}/usage`],
    ['read invoices', 'GET', `/v1/tenants/${B}/invoices`],
    ['read webhook deliveries', 'GET', `/v1/tenants/${B}/webhook-deliveries`],
    ['set automations', 'PUT', `/v1/tenants/${B}/automations`, { automations: [] }],
  ];
  // One argument per row (jest would take a 4th parameter missing from a row as a `done` callback).
  test.each(attempts.map(([what, method, path, body]) => ({ what, method, path, body })))('$what → 404 tenant_not_found', async ({ method, path, body }) => {
    const jobsBefore = await jobCount();
    const r = await op(method, path.replace('JOB', bJob), { key: keys.aLive, body });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('tenant_not_found');
    expect(r.text).not.toContain(B);
    expect(r.text).not.toContain('sk_test_bravo');
    expect(await jobCount()).toBe(jobsBefore);
  });

  test("B's job id on A's own path → 404 not_found (read and cancel)", async () => {
    for (const [method, path] of [
      ['GET', `/v1/tenants/${A}/jobs/${bJob}`],
      ['POST', `/v1/tenants/${A}/jobs/${bJob}/cancel`],
    ] as const) {
      const r = await op(method, path, { key: keys.aLive });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    const list = await op('GET', `/v1/tenants/${A}/jobs`, { key: keys.aLive });
    expect(list.status).toBe(200);
    expect(list.body.data.map((j: { tenant_id: string }) => j.tenant_id).filter((t: string) => t !== A)).toEqual([]);
  });

  test("naming B's servers → 422 server_not_allowed, and no job is written", async () => {
    const jobsBefore = await jobCount();
    for (const body of [
      { ...workflow('asaas/get_balance'), servers: ['stripe'] },
      workflow('stripe/retrieve_balance'),
      { input: 'charge', servers: ['asaas', 'stripe'] },
    ]) {
      const r = await op('POST', `/v1/tenants/${A}/jobs`, { key: keys.aLive, body });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('server_not_allowed');
    }
    const cred = await op('PUT', `/v1/tenants/${A}/credentials/stripe`, { key: keys.aLive, body: { values: { secret_key: 'sk_live_whatever_01' } } });
    expect(cred.status).toBe(422);
    expect(cred.body.error.code).toBe('server_not_allowed');
    expect(await jobCount()).toBe(jobsBefore);
  });

  test('operator routes → 403 forbidden', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/admin/tenants'],
      ['GET', `/v1/admin/tenants/${A}`],
      ['PATCH', `/v1/admin/tenants/${A}`, { limits: { concurrency: 99 } }],
      ['POST', `/v1/admin/tenants/${A}/api-keys`, { environment: 'live' }],
      ['GET', `/v1/admin/tenants/${B}/api-keys`],
      ['POST', `/v1/admin/tenants/${B}/webhook-secret/rotate`],
      ['GET', '/v1/admin/usage'],
      ['GET', '/v1/admin/invoices?period=2026-11'],
    ] as const) {
      const r = await op(method, path, { key: keys.aLive, body });
      expect([method, path, r.status, r.body?.error?.code]).toEqual([method, path, 403, 'forbidden']);
    }
    const t = await tdb.db.selectFrom('tenants').select('limits').where('id', '=', A).executeTakeFirstOrThrow();
    expect(t.limits.concurrency).not.toBe(99);
  });
});

test("a test key's job is invisible to the live key of the same tenant", async () => {
  const r = await op('GET', `/v1/tenants/${A}/jobs/${aTestJob}`, { key: keys.aLive });
  expect(r.status).toBe(404);
  expect(r.body.error.code).toBe('not_found');
  const c = await op('POST', `/v1/tenants/${A}/jobs/${aTestJob}/cancel`, { key: keys.aLive });
  expect(c.status).toBe(404);
  const list = await op('GET', `/v1/tenants/${A}/jobs`, { key: keys.aLive });
  expect(list.body.data.map((j: { id: string }) => j.id)).not.toContain(aTestJob);
  expect((await op('GET', `/v1/tenants/${A}/jobs/${aTestJob}`, { key: keys.aTest })).status).toBe(200);
  const row = await tdb.db.selectFrom('jobs').select('status').where('id', '=', aTestJob).executeTakeFirstOrThrow();
  expect(row.status).not.toBe('cancelled');
});

test('a revoked key stops working on every API process within a second', async () => {
  expect((await call2('GET', `/v1/tenants/${A}/jobs`, { key: keys.aDoomed })).status).toBe(200); // cached on process 2
  const d = await op('DELETE', `/v1/admin/tenants/${A}/api-keys/${keyIds.aDoomed}`);
  expect(d.status).toBe(204);
  for (const call of [op, call2]) {
    const r = await waitFor(
      async () => {
        const x = await call('GET', `/v1/tenants/${A}/jobs`, { key: keys.aDoomed });
        return x.status === 401 ? x : undefined;
      },
      { timeoutMs: 1_000, intervalMs: 20, what: 'revocation to apply' },
    );
    expect(r.body.error.code).toBe('unauthorized');
  }
  expect((await op('DELETE', `/v1/admin/tenants/${A}/api-keys/${keyIds.aDoomed}`)).status).toBe(404);
});

describe('hostile ids and bodies', () => {
  const hostileTenants = [
    '..',
    '..%2F' + B,
    '%2e%2e%2f' + B,
    `${B}%27%20OR%20%271%27%3D%271`,
    `${B}%00`,
    'TENANT_BRAVO',
    `${B}%0d%0aX-Evil:%201`,
    '*',
    `${B}:jobs`,
    'a'.repeat(200),
  ];
  test.each(hostileTenants)('tenant id %s → 404 tenant_not_found', async (tid) => {
    for (const key of [keys.aLive, undefined]) {
      const r = await op('GET', `/v1/tenants/${tid}/jobs`, { key });
      expect(r.status).toBe(404);
      expect(['tenant_not_found', 'not_found']).toContain(r.body.error.code);
      expect(r.text).not.toMatch(/ at |stack|sql|syntax/i);
    }
  });

  const hostileJobs = ['BJOB%27%20OR%20%271%27%3D%271', '..%2F..%2Fadmin', 'job_%2A', 'BJOB%00', 'job_' + 'z'.repeat(500), '%E0%A4%A'];
  test.each(hostileJobs)('job id %s → 404 not_found', async (jid) => {
    const r = await op('GET', `/v1/tenants/${A}/jobs/${jid.replace('BJOB', bJob)}`, { key: keys.aLive });
    expect([400, 404]).toContain(r.status);
    if (r.status === 404) expect(r.body.error.code).toBe('not_found');
    else expect(r.body.error.code).toBe('validation_failed');
    expect(r.text).not.toMatch(/ at |stack|URIError|sql/i);
  });

  test('cursor and query injection → 400 validation_failed', async () => {
    for (const q of ["starting_after=job_x'%20OR%201=1--", 'limit=1;DROP%20TABLE%20jobs', 'status=queued&evil=1', 'limit=1000']) {
      const r = await op('GET', `/v1/tenants/${A}/jobs?${q}`, { key: keys.aLive });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
    }
  });

  test('malformed, oversize, deep, non-JSON and inconsistent bodies get their documented codes and write nothing', async () => {
    const before = await jobCount();
    const path = `/v1/tenants/${A}/jobs`;
    const cases: [string, Parameters<typeof op>[2], number, string][] = [
      ['malformed', { rawBody: '{"type":"workflow",', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json'],
      ['oversize', { rawBody: JSON.stringify({ input: 'x'.repeat(300 * 1024) }), headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large'],
      ['non-JSON', { rawBody: 'input=hello', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type'],
      ['no content type', { rawBody: '{"input":"hi"}', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
      [
        'deeply nested',
        { rawBody: `{"input":"hi","metadata":${'['.repeat(64)}${']'.repeat(64)}}`, headers: { 'content-type': 'application/json' } },
        400,
        'validation_failed',
      ],
      ['unknown field', { body: { input: 'hi', tenant: B } }, 400, 'validation_failed'],
      ['inconsistent type', { body: { type: 'workflow', input: 'hi' } }, 400, 'validation_failed'],
      ['array body', { body: [1, 2] }, 400, 'validation_failed'],
      ['bad idempotency key', { body: { input: 'hi' }, headers: { 'idempotency-key': 'x'.repeat(300) } }, 400, 'validation_failed'],
    ];
    for (const [what, opts, status, code] of cases) {
      const r = await op('POST', path, { key: keys.aLive, ...opts });
      expect([what, r.status, r.body?.error?.code]).toEqual([what, status, code]);
      expect(r.text).not.toMatch(/ at .*:\d+|<html/i);
    }
    expect(await jobCount()).toBe(before);
  });

  test('malformed Authorization headers → 401 unauthorized', async () => {
    for (const auth of [
      'Bearer',
      'Basic abc',
      `Bearer ${keys.aLive} extra`,
      `bearer ${keys.aLive}`,
      `Bearer ${keys.aLive!.slice(0, -1)}`,
      `Bearer ak_live_${'A'.repeat(600)}`,
    ]) {
      const r = await fetch(`${api.url}/v1/tenants/${A}/jobs`, { headers: { authorization: auth } });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
  });

  test('responses carry security headers and no framework fingerprint', async () => {
    const r = await fetch(`${api.url}/v1/tenants/${A}/jobs`, { headers: { authorization: `Bearer ${keys.aLive}` } });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('strict-transport-security')).toBeTruthy();
    expect(r.headers.get('content-security-policy')).toBeTruthy();
    expect(r.headers.get('x-powered-by')).toBeNull();
  });
});

test("a disabled tenant's key gets tenant_not_found on every process at once; re-enabling restores it", async () => {
  expect((await call2('GET', `/v1/tenants/${A}/jobs`, { key: keys.aLive })).status).toBe(200);
  expect((await op('PATCH', `/v1/admin/tenants/${A}`, { body: { disabled: true } })).status).toBe(200);
  for (const call of [op, call2]) {
    await waitFor(async () => (await call('GET', `/v1/tenants/${A}/jobs`, { key: keys.aLive })).status === 404, {
      timeoutMs: 1_000,
      intervalMs: 20,
      what: 'disable to apply',
    });
  }
  expect((await op('PATCH', `/v1/admin/tenants/${A}`, { body: { disabled: false } })).status).toBe(200);
  // The other process hears of the change over pub/sub, as for the disable: the same 1 s to apply.
  await waitFor(async () => (await call2('GET', `/v1/tenants/${A}/jobs`, { key: keys.aLive })).status === 200, {
    timeoutMs: 1_000,
    intervalMs: 20,
    what: 're-enable to apply',
  });
});
