/**
 * HTTP conventions clients rely on beyond the body: every 401 carries a `WWW-Authenticate`
 * challenge (RFC 9110 §15.5.2; Bearer per RFC 6750, Bull Board's Basic), a replayed idempotent
 * submission says `Idempotent-Replayed: true`, and the operator's calls on a tenant's routes never
 * spend that tenant's request budget.
 */
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import type { ApiCall, TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let call: ApiCall;
let liveKey: string;

const T = 'tenant_conventions';
/** A tenant with a tiny request budget. */
const SLOW = 'tenant_conventions_slow';
const RPM = 3;

beforeAll(async () => {
  tdb = await createTestDatabase('conventions');
  prefix = testRedisPrefix();
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
  call = apiClient(api.url);
  for (const [id, rpm] of [
    [T, 1000],
    [SLOW, RPM],
  ] as const) {
    expect((await call('POST', '/v1/admin/tenants', { body: { id, servers: ['asaas'], limits: { requests_per_minute: rpm } } })).status).toBe(201);
  }
  const k = await call('POST', `/v1/admin/tenants/${SLOW}/api-keys`, { body: { environment: 'live' } });
  expect(k.status).toBe(201);
  liveKey = k.body.key;
});

afterAll(async () => {
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

describe('every 401 carries a WWW-Authenticate challenge', () => {
  test('bearer routes: no credentials → realm only; malformed → invalid_request; unknown or revoked key → invalid_token', async () => {
    const revoked = await call('POST', `/v1/admin/tenants/${T}/api-keys`, { body: { environment: 'test' } });
    expect((await call('DELETE', `/v1/admin/tenants/${T}/api-keys/${revoked.body.id}`)).status).toBe(204);
    // Revocation applies within a second everywhere.
    await new Promise((r) => setTimeout(r, 1_100));
    const cases: Array<[string, Record<string, string>, string]> = [
      ['none', {}, 'Bearer realm="api"'],
      ['basic', { authorization: 'Basic dXNlcjpwYXNz' }, 'Bearer realm="api", error="invalid_request"'],
      ['empty bearer', { authorization: 'Bearer ' }, 'Bearer realm="api", error="invalid_request"'],
      ['unknown operator-like key', { authorization: 'Bearer not-the-operator-key' }, 'Bearer realm="api", error="invalid_token"'],
      ['unknown tenant key', { authorization: `Bearer ak_live_${'x'.repeat(40)}` }, 'Bearer realm="api", error="invalid_token"'],
      ['revoked tenant key', { authorization: `Bearer ${revoked.body.key}` }, 'Bearer realm="api", error="invalid_token"'],
    ];
    for (const path of ['/v1/servers', `/v1/tenants/${T}/jobs`, '/v1/admin/tenants', '/v1/no-such-route']) {
      for (const [name, headers, challenge] of cases) {
        const r = await call('GET', path, { key: null, headers });
        expect({ path, name, status: r.status, code: r.body?.error?.code, challenge: r.headers.get('www-authenticate') }).toEqual({
          path,
          name,
          status: 401,
          code: 'unauthorized',
          challenge,
        });
      }
    }
  });

  test('/metrics: Bearer realm "metrics"; provider hooks: their own realm; Bull Board keeps its Basic challenge', async () => {
    const none = await call('GET', '/metrics', { key: null });
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="metrics"']);
    const bad = await call('GET', '/metrics', { key: 'wrong-token' });
    expect([bad.status, bad.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="metrics", error="invalid_token"']);

    const hook = await call('POST', `/hooks/${T}/asaas`, { key: null, body: { event: 'PAYMENT_CONFIRMED' } });
    expect([hook.status, hook.body.error.code, hook.headers.get('www-authenticate')]).toEqual([
      401,
      'unauthorized',
      'Bearer realm="hooks", error="invalid_token"',
    ]);

    const board = await call('GET', '/admin/queues', { key: null });
    expect([board.status, board.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="operations", charset="UTF-8"']);
  });
});

test('a replayed submission (same Idempotency-Key, same body) carries Idempotent-Replayed: true; the first does not', async () => {
  const body = { type: 'workflow', steps: [{ tool: 'asaas/list_customers', args: {} }] };
  const headers = { 'idempotency-key': `conv-${Date.now()}` };
  const first = await call('POST', `/v1/tenants/${T}/jobs`, { body, headers });
  const again = await call('POST', `/v1/tenants/${T}/jobs`, { body, headers });
  expect([first.status, again.status]).toEqual([202, 202]);
  expect(again.body.id).toBe(first.body.id);
  expect(first.headers.get('idempotent-replayed')).toBeNull();
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.headers.get('location')).toBe(first.headers.get('location'));
  // Another body under the key is refused, not replayed.
  const other = await call('POST', `/v1/tenants/${T}/jobs`, { body: { ...body, metadata: { x: 'y' } }, headers });
  expect([other.status, other.body.error.code, other.headers.get('idempotent-replayed')]).toEqual([422, 'idempotency_key_reused', null]);
});

test('a workflow naming a tool that does not exist is 400 unknown_tool at submission, naming the step', async () => {
  const r = await call('POST', `/v1/tenants/${T}/jobs`, {
    body: { type: 'workflow', steps: [{ tool: 'asaas/list_customers' }, { tool: 'asaas/delete_everything' }] },
  });
  expect(r.status).toBe(400);
  expect(r.body.error).toMatchObject({ code: 'unknown_tool', details: [{ path: 'body.steps.1.tool' }] });
  expect(r.body.error.message).toMatch(/step 1 .*asaas\/delete_everything/);
  expect(await tdb.db.selectFrom('jobs').select('id').where('tenant_id', '=', T).where('steps', 'is not', null).execute()).toHaveLength(1);
});

test("the operator's calls on a tenant's routes do not spend the tenant's request budget", async () => {
  const path = `/v1/tenants/${SLOW}/usage`;
  // Far more operator calls than the tenant's limit (some are then refused: the operator's own budget).
  const operatorCalls = await Promise.all(Array.from({ length: RPM * 3 }, () => call('GET', path)));
  expect(operatorCalls.filter((r) => r.status === 200).length).toBeGreaterThan(0);
  // The tenant's key still has its whole budget: RPM answered, the next one refused.
  const remaining: string[] = [];
  for (let i = 0; i < RPM; i++) {
    const r = await call('GET', path, { key: liveKey });
    expect(r.status).toBe(200);
    remaining.push(r.headers.get('ratelimit-remaining')!);
  }
  expect(remaining).toEqual(['2', '1', '0']);
  const over = await call('GET', path, { key: liveKey });
  expect([over.status, over.body.error.code]).toEqual([429, 'rate_limited']);
});

test('every error carries its code and message twice: inside `error` and at the top level (API.md)', async () => {
  const answers = [
    await call('GET', `/v1/tenants/${T}/jobs`, { key: null }), // 401
    await call('POST', `/v1/tenants/${T}/jobs`, { rawBody: '{"type":', headers: { 'content-type': 'application/json' } }), // 400 from the body parser
    await call('POST', `/v1/tenants/${T}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/nope' }] } }), // 400 from submission
    await call('GET', `/v1/tenants/tenant_missing_entirely/jobs`), // 404
    await call('GET', '/metrics', { key: null }), // 401 from the metrics endpoint
  ];
  for (const r of answers) {
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(typeof r.body.error.code).toBe('string');
    expect({ code: r.body.code, message: r.body.message }).toEqual({ code: r.body.error.code, message: r.body.error.message });
  }
});
