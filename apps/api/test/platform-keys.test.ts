/**
 * Platform keys (csk_): issued once, stored as a hash, listed without keys, revoked on every API
 * process within a second. A platform key acts in its own environment as the tenant key of every
 * tenant (jobs, credentials, usage, rate-limit budget), never on /v1/admin/*. Two API processes
 * share one Redis/Postgres; their pino output is captured and searched for the keys.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { createLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, testRedisPrefix, waitFor } from '@agents/testkit';
import type { HttpResult, TestDatabase } from '@agents/testkit';

jest.setTimeout(60_000);

const A = 'tenant_plat_a';
const B = 'tenant_plat_b';
const SLOW = 'tenant_plat_slow';
const PLATFORM_KEY = /^csk_(test|live)_[A-Za-z0-9]{40}$/;

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let api2: ApiServer;
const logLines: string[] = [];
/** Every response but the 201s that show a key once. */
const responses: string[] = [];
const issuedKeys: string[] = [];

const capture = () =>
  new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });

type Opts = Parameters<ReturnType<typeof apiClient>>[2];
let raw1: ReturnType<typeof apiClient>;
let raw2: ReturnType<typeof apiClient>;
async function kept(r: Promise<HttpResult>, method: string, path: string): Promise<HttpResult> {
  const res = await r;
  responses.push(`${method} ${path} ${res.status} ${JSON.stringify([...res.headers])} ${res.text}`);
  return res;
}
const call = (method: string, path: string, opts?: Opts) => kept(raw1(method, path, opts), method, path);
const call2 = (method: string, path: string, opts?: Opts) => kept(raw2(method, path, opts), method, path);

/** Issues a platform key through the admin API (its 201 is the one response allowed to show the key). */
async function issue(environment: 'test' | 'live', name?: string) {
  const r = await raw1('POST', '/v1/admin/api-keys', { body: { environment, ...(name ? { name } : {}) } });
  expect(r.status).toBe(201);
  issuedKeys.push(r.body.key);
  return r.body as { id: string; key: string; prefix: string; environment: string; name: string | null; created_at: string };
}

const workflow = { type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] };
let live: { id: string; key: string };
let test_: { id: string; key: string };

beforeAll(async () => {
  tdb = await createTestDatabase('platform_keys');
  prefix = testRedisPrefix();
  const config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix });
  api = await startApi(config, createLogger({ name: 'api', level: 'debug', destination: capture() }), { port: 0 });
  api2 = await startApi(config, createLogger({ name: 'api2', level: 'debug', destination: capture() }), { port: 0 });
  raw1 = apiClient(api.url);
  raw2 = apiClient(api2.url);
  for (const id of [A, B]) expect((await call('POST', '/v1/admin/tenants', { body: { id, servers: ['asaas'] } })).status).toBe(201);
  expect((await call('POST', '/v1/admin/tenants', { body: { id: SLOW, servers: ['asaas'], limits: { requests_per_minute: 5 } } })).status).toBe(201);
  live = await issue('live', 'billing cron');
  test_ = await issue('test');
});

afterAll(async () => {
  await api?.close();
  await api2?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

describe('issuing, listing, revoking', () => {
  test('the 201 shows the key once; the database holds only its SHA-256', async () => {
    const k = await issue('live', 'shown once');
    expect(k).toEqual({
      id: expect.stringMatching(/^key_[0-9a-z]{26}$/),
      environment: 'live',
      name: 'shown once',
      prefix: k.key.slice(0, 'csk_live_'.length + 4),
      key: expect.stringMatching(PLATFORM_KEY),
      created_at: expect.any(String),
      last_used_at: null,
    });
    expect(k.key.startsWith('csk_live_')).toBe(true);
    const row = await tdb.db.selectFrom('platform_keys').selectAll().where('id', '=', k.id).executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(createHash('sha256').update(k.key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(k.key.slice('csk_live_'.length));
    // A platform key is no tenant key: nothing of it is in api_keys.
    expect(await tdb.db.selectFrom('api_keys').select('id').where('id', '=', k.id).execute()).toEqual([]);
    expect((await issue('test')).key.startsWith('csk_test_')).toBe(true);
  });

  test('bad bodies → 400 validation_failed', async () => {
    for (const body of [
      {},
      { environment: 'prod' },
      { environment: 'live', name: '' },
      { environment: 'live', extra: 1 },
      { environment: 'live', name: 'x\u0000\ud800' },
    ]) {
      const r = await call('POST', '/v1/admin/api-keys', { body });
      expect([JSON.stringify(body), r.status, r.body.code]).toEqual([JSON.stringify(body), 400, 'validation_failed']);
    }
  });

  test('the list shows prefixes, never keys, newest first and paginated', async () => {
    const all = await call('GET', '/v1/admin/api-keys?limit=100');
    expect(all.status).toBe(200);
    expect(all.body.has_more).toBe(false);
    for (const k of issuedKeys) expect(all.text).not.toContain(k);
    for (const item of all.body.data) expect(Object.keys(item).sort()).toEqual(['created_at', 'environment', 'id', 'last_used_at', 'name', 'prefix']);
    const ids = all.body.data.map((k: { id: string }) => k.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(ids).toContain(live.id);

    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await call('GET', `/v1/admin/api-keys?limit=2${after ? `&starting_after=${after}` : ''}`);
      expect(p.status).toBe(200);
      paged.push(...p.body.data.map((k: { id: string }) => k.id));
      if (!p.body.has_more) break;
      after = paged[paged.length - 1];
    }
    expect(paged).toEqual(ids);
    for (const q of ['limit=0', 'limit=101', 'starting_after=job_x', 'starting_after=key_00000000000000000000000000', 'evil=1']) {
      const r = await call('GET', `/v1/admin/api-keys?${q}`);
      expect([q, r.status, r.body.code]).toEqual([q, 400, 'validation_failed']);
    }
  });

  test('a revoked key stops working on every API process within a second, and leaves the list', async () => {
    const doomed = await issue('live', 'doomed');
    expect((await call2('GET', `/v1/tenants/${A}/jobs`, { key: doomed.key })).status).toBe(200); // cached on process 2
    expect((await call('GET', `/v1/tenants/${B}/jobs`, { key: doomed.key })).status).toBe(200); // and on process 1
    expect((await call('DELETE', `/v1/admin/api-keys/${doomed.id}`)).status).toBe(204);
    for (const c of [call, call2]) {
      const r = await waitFor(
        async () => {
          const x = await c('GET', `/v1/tenants/${A}/jobs`, { key: doomed.key });
          return x.status === 401 ? x : undefined;
        },
        { timeoutMs: 1_000, intervalMs: 20, what: 'revocation to apply' },
      );
      expect(r.body.code).toBe('unauthorized');
    }
    expect((await call('DELETE', `/v1/admin/api-keys/${doomed.id}`)).status).toBe(404);
    expect((await call('DELETE', '/v1/admin/api-keys/key_nonsense')).status).toBe(404);
    const list = await call('GET', '/v1/admin/api-keys?limit=100');
    expect(list.body.data.map((k: { id: string }) => k.id)).not.toContain(doomed.id);
    const row = await tdb.db.selectFrom('platform_keys').select('revoked_at').where('id', '=', doomed.id).executeTakeFirstOrThrow();
    expect(row.revoked_at).toBeInstanceOf(Date);
  });
});

describe('authentication', () => {
  test('malformed, unknown and mis-schemed csk_ keys → 401 unauthorized', async () => {
    const tail = live.key.slice('csk_live_'.length);
    for (const key of [
      'csk_live_short',
      `csk_prod_${tail}`,
      `csk_live_${tail.slice(0, 20)}-${tail.slice(21)}`,
      `csk_live_${'A'.repeat(40)}`,
      `csk_test_${tail}`, // the live key's random part under the other environment
      `ak_live_${tail}`, // a platform key's random part as a tenant key
      `csk_live_${tail}\u00e9`,
    ]) {
      const r = await raw1('GET', `/v1/tenants/${A}/jobs`, { key, headers: {} }).catch(() => undefined);
      if (!r) continue; // a header value fetch itself refuses never reaches the API
      expect([key.slice(0, 12), r.status, r.body.code]).toEqual([key.slice(0, 12), 401, 'unauthorized']);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);
    }
  });
});

describe('acting as every tenant, in its own environment', () => {
  test('a live platform key submits and reads jobs of tenant A and tenant B, stamped live', async () => {
    for (const tid of [A, B]) {
      const j = await call('POST', `/v1/tenants/${tid}/jobs`, { key: live.key, body: { ...workflow, metadata: { order_id: `${tid}-1` } } });
      expect(j.status).toBe(202);
      expect(j.body).toMatchObject({ tenant_id: tid, environment: 'live', metadata: { tenant_id: tid, order_id: `${tid}-1` } });
      const got = await call2('GET', `/v1/tenants/${tid}/jobs/${j.body.id}`, { key: live.key });
      expect([got.status, got.body.id]).toEqual([200, j.body.id]);
      const row = await tdb.db.selectFrom('jobs').select(['tenant_id', 'environment']).where('id', '=', j.body.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ tenant_id: tid, environment: 'live' });
    }
  });

  test("the other environment's jobs are invisible to it (404 not_found), and it cannot submit there", async () => {
    const testJob = await call('POST', `/v1/tenants/${A}/jobs`, { key: test_.key, body: workflow });
    expect([testJob.status, testJob.body.environment]).toEqual([202, 'test']);
    const byOperator = await call('POST', `/v1/tenants/${B}/jobs`, { body: { ...workflow, environment: 'test' } });
    expect(byOperator.status).toBe(202);

    for (const [tid, id] of [
      [A, testJob.body.id],
      [B, byOperator.body.id],
    ]) {
      const r = await call('GET', `/v1/tenants/${tid}/jobs/${id}`, { key: live.key });
      expect([r.status, r.body.code]).toEqual([404, 'not_found']);
      const cancel = await call('POST', `/v1/tenants/${tid}/jobs/${id}/cancel`, { key: live.key });
      expect([cancel.status, cancel.body.code]).toEqual([404, 'not_found']);
      const list = await call('GET', `/v1/tenants/${tid}/jobs?limit=100`, { key: live.key });
      expect(list.status).toBe(200);
      expect(list.body.data.map((j: { id: string }) => j.id)).not.toContain(id);
      expect(list.body.data.every((j: { environment: string }) => j.environment === 'live')).toBe(true);
      expect((await call('GET', `/v1/tenants/${tid}/jobs/${id}`, { key: test_.key })).status).toBe(200);
    }
    const cross = await call('POST', `/v1/tenants/${A}/jobs`, { key: live.key, body: { ...workflow, environment: 'test' } });
    expect([cross.status, cross.body.code]).toEqual([400, 'validation_failed']);
  });

  test("credentials and usage: the key's own environment only", async () => {
    const put = await call('PUT', `/v1/tenants/${B}/credentials/asaas`, { key: test_.key, body: { values: { api_key: 'aact_platform_test_0001' } } });
    expect(put.status).toBe(204);
    const asLive = await call('GET', `/v1/tenants/${B}/credentials`, { key: live.key });
    expect([asLive.status, asLive.body.data]).toEqual([200, []]);
    const asTest = await call('GET', `/v1/tenants/${B}/credentials`, { key: test_.key });
    expect(asTest.body.data.map((c: { environment: string }) => c.environment)).toEqual(['test']);
    const wrongEnv = await call('PUT', `/v1/tenants/${B}/credentials/asaas?environment=live`, {
      key: test_.key,
      body: { values: { api_key: 'aact_x_00000001' } },
    });
    expect([wrongEnv.status, wrongEnv.body.code]).toEqual([400, 'validation_failed']);
    const usage = await call('GET', `/v1/tenants/${A}/usage`, { key: test_.key });
    expect([usage.status, usage.body.environment]).toEqual([200, 'test']);
  });

  test('unknown, malformed and disabled tenants → 404 tenant_not_found', async () => {
    for (const tid of ['tenant_nobody', 'TENANT_PLAT_A', `${A}%00`, `${A}%27%20OR%20%271%27%3D%271`]) {
      const r = await call('GET', `/v1/tenants/${tid}/jobs`, { key: live.key });
      expect([tid, r.status, r.body.code]).toEqual([tid, 404, 'tenant_not_found']);
    }
    expect((await call('PATCH', `/v1/admin/tenants/${B}`, { body: { disabled: true } })).status).toBe(200);
    for (const c of [call, call2]) {
      const r = await waitFor(
        async () => {
          const x = await c('POST', `/v1/tenants/${B}/jobs`, { key: live.key, body: workflow });
          return x.status === 404 ? x : undefined;
        },
        { timeoutMs: 2_000, intervalMs: 20, what: 'the disabled tenant to be refused' },
      );
      expect(r.body.code).toBe('tenant_not_found');
    }
    expect((await call('PATCH', `/v1/admin/tenants/${B}`, { body: { disabled: false } })).status).toBe(200);
  });

  test("it spends the path tenant's budget of its own environment, as that environment's tenant key does", async () => {
    const tenantLive = await raw1('POST', `/v1/admin/tenants/${SLOW}/api-keys`, { body: { environment: 'live' } });
    expect(tenantLive.status).toBe(201);
    issuedKeys.push(tenantLive.body.key);
    const remaining = async (key: string) => Number((await call('GET', `/v1/tenants/${SLOW}/jobs`, { key })).headers.get('ratelimit-remaining'));
    expect(await remaining(tenantLive.body.key)).toBe(4);
    expect(await remaining(live.key)).toBe(3); // the same live budget
    expect(await remaining(test_.key)).toBe(4); // the test budget is its own
    expect(await remaining(live.key)).toBe(2);
    expect(await remaining(live.key)).toBe(1);
    expect(await remaining(tenantLive.body.key)).toBe(0);
    const refused = await call('GET', `/v1/tenants/${SLOW}/jobs`, { key: live.key });
    expect([refused.status, refused.body.code]).toEqual([429, 'rate_limited']);
    expect((await call('GET', `/v1/tenants/${A}/jobs`, { key: live.key })).status).toBe(200); // another tenant's budget
  });
});

describe('what a platform key may not do', () => {
  test('every /v1/admin route → 403 forbidden, before its body is read', async () => {
    for (const [method, path] of [
      ['GET', '/v1/admin/tenants'],
      ['POST', '/v1/admin/tenants'],
      ['GET', `/v1/admin/tenants/${A}`],
      ['PATCH', `/v1/admin/tenants/${A}`],
      ['POST', `/v1/admin/tenants/${A}/api-keys`],
      ['GET', '/v1/admin/api-keys'],
      ['POST', '/v1/admin/api-keys'],
      ['DELETE', `/v1/admin/api-keys/${live.id}`],
      ['GET', '/v1/admin/usage'],
      ['GET', '/v1/admin/tool-calls'],
      ['GET', '/v1/admin/invoices'],
      ['GET', '/v1/admin/no-such-route'],
    ]) {
      for (const key of [live.key, test_.key]) {
        const r = await call(method!, path!, { key, ...(method === 'GET' ? {} : { rawBody: '{not json', headers: { 'content-type': 'application/json' } }) });
        expect([method, path, r.status, r.body.code, r.body.error.code]).toEqual([method, path, 403, 'forbidden', 'forbidden']);
      }
    }
    // The key it tried to revoke still works.
    expect((await call('GET', `/v1/tenants/${A}/jobs`, { key: live.key })).status).toBe(200);
  });

  test('a job retry (operator only) → 403 forbidden', async () => {
    const j = await call('POST', `/v1/tenants/${A}/jobs`, { key: live.key, body: workflow });
    const r = await call('POST', `/v1/tenants/${A}/jobs/${j.body.id}/retry`, { key: live.key });
    expect([r.status, r.body.code]).toEqual([403, 'forbidden']);
  });
});

test('no platform key appears in any log line or in any response but its 201', async () => {
  const request = logLines.filter((l) => l.includes('"msg":"request"'));
  expect(request.length).toBeGreaterThan(20);
  expect(logLines.some((l) => l.includes(`"platform_key_id":"${live.id}"`))).toBe(true);
  expect(issuedKeys.length).toBeGreaterThan(4);
  for (const key of issuedKeys) {
    const secretPart = key.slice(key.indexOf('_', 4) + 1);
    for (const hay of [logLines, responses]) {
      expect(hay.filter((l) => l.includes(key) || l.includes(secretPart))).toEqual([]);
    }
  }
});
