/**
 * `POST /v1/tenants/{tid}/jobs` over HTTP (API.md "Jobs"): the Express route is an adapter around
 * @agents/jobs' submitJob, so what this checks is the contract as clients see it: statuses, error
 * codes, Location, RateLimit-* and Retry-After headers, Idempotency-Key replay, the body reader's
 * refusals, and that a bad request is refused as bad whatever the tenant's quota.
 */
import http from 'node:http';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
const keys: Record<string, string> = {};

const T = 'tenant_submit';
const OTHER = 'tenant_submit_other';
const SPENT = 'tenant_submit_spent';
const SLOW = 'tenant_submit_slow';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** Raw HTTP, so bodies and headers are sent exactly as given (chunked when no Content-Length is set). */
function send(path: string, init: { headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...init.headers };
    if (!init.chunked && init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = http.request(`${api.url}${path}`, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    if (init.chunked && init.body !== undefined) {
      const b = Buffer.from(init.body);
      req.write(b.subarray(0, Math.floor(b.length / 2)));
      req.end(b.subarray(Math.floor(b.length / 2)));
    } else req.end(init.body);
  });
}

beforeAll(async () => {
  tdb = await createTestDatabase('submission');
  prefix = testRedisPrefix();
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
  const op = apiClient(api.url);
  for (const [id, rpm, quota] of [
    [T, 1000, 1000],
    [OTHER, 1000, 1000],
    [SPENT, 1000, 0],
    [SLOW, 2, 1000],
  ] as const) {
    expect(
      (await op('POST', '/v1/admin/tenants', { body: { id, servers: ['asaas'], limits: { requests_per_minute: rpm, monthly_tool_calls: quota } } })).status,
    ).toBe(201);
    const k = await op('POST', `/v1/admin/tenants/${id}/api-keys`, { body: { environment: 'live', name: 'submit' } });
    expect(k.status).toBe(201);
    keys[id] = k.body.key;
  }
});

afterAll(async () => {
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

const job = (order: string) => JSON.stringify({ type: 'workflow', metadata: { order_id: order }, steps: [{ tool: 'asaas/list_customers', args: {} }] });
const headersFor = (tenant: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${keys[tenant]}`,
  'content-type': 'application/json',
  ...extra,
});
const jobsOf = (tenant: string) => `/v1/tenants/${tenant}/jobs`;

test('a job: 202 with Location, the job object and the RateLimit headers', async () => {
  const r = await send(jobsOf(T), { headers: headersFor(T), body: job('a') });
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({
    id: expect.stringMatching(/^job_[0-9a-z]{26}$/),
    tenant_id: T,
    environment: 'live',
    type: 'workflow',
    status: 'queued',
    metadata: { order_id: 'a', tenant_id: T },
  });
  expect(r.headers.location).toBe(`/v1/tenants/${T}/jobs/${r.body.id}`);
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(r.headers['ratelimit-limit']).toBe('1000');
  expect(Number(r.headers['ratelimit-remaining'])).toBeLessThan(1000);
  expect(Number(r.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
  expect(r.headers['x-request-id']).toMatch(/^req_/);
  // Other spellings of the route take the same handlers.
  expect((await send(`${jobsOf(T)}?via=query`, { headers: headersFor(T), body: job('b') })).status).toBe(202);
  expect((await send(`${jobsOf(T)}/`, { headers: headersFor(T), body: job('c') })).status).toBe(202);
});

test('Idempotency-Key: the same body is the same job (202, same id); another body is 422 idempotency_key_reused', async () => {
  const key = `k-${Date.now()}`;
  const first = await send(jobsOf(T), { headers: headersFor(T, { 'idempotency-key': key }), body: job('i') });
  const again = await send(jobsOf(T), { headers: headersFor(T, { 'idempotency-key': key }), body: job('i') });
  expect([first.status, again.status]).toEqual([202, 202]);
  expect(again.body.id).toBe(first.body.id);
  expect(again.headers.location).toBe(first.headers.location);
  const other = await send(jobsOf(T), { headers: headersFor(T, { 'idempotency-key': key }), body: job('j') });
  expect(other.status).toBe(422);
  expect(other.body.error.code).toBe('idempotency_key_reused');
  const bad = await send(jobsOf(T), { headers: headersFor(T, { 'idempotency-key': 'k'.repeat(256) }), body: job('k') });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details).toEqual([expect.objectContaining({ path: 'headers.idempotency-key' })]);
});

test.each([
  [
    'invalid body',
    () => send(jobsOf(T), { headers: headersFor(T), body: JSON.stringify({ type: 'workflow', steps: [{ args: {} }] }) }),
    400,
    'validation_failed',
  ],
  ['invalid JSON', () => send(jobsOf(T), { headers: headersFor(T), body: '{"type":' }), 400, 'invalid_json'],
  ['trailing garbage', () => send(jobsOf(T), { headers: headersFor(T), body: `${job('g')} x` }), 400, 'invalid_json'],
  ['a JSON string', () => send(jobsOf(T), { headers: headersFor(T), body: '"workflow"' }), 400, 'invalid_json'],
  ['33 levels deep', () => send(jobsOf(T), { headers: headersFor(T), body: `${'['.repeat(33)}${']'.repeat(33)}` }), 400, 'validation_failed'],
  ['an escaped NUL', () => send(jobsOf(T), { headers: headersFor(T), body: '{"input":"a\\u0000b"}' }), 400, 'validation_failed'],
  ['an escaped NUL, chunked', () => send(jobsOf(T), { headers: headersFor(T), body: '{"input":"a\\u0000b"}', chunked: true }), 400, 'validation_failed'],
  ['not JSON', () => send(jobsOf(T), { headers: { ...headersFor(T), 'content-type': 'text/plain' }, body: 'hello' }), 415, 'unsupported_media_type'],
  [
    'too large',
    () => send(jobsOf(T), { headers: headersFor(T), body: JSON.stringify({ type: 'workflow', input: 'x'.repeat(300 * 1024) }) }),
    413,
    'payload_too_large',
  ],
  ['no key', () => send(jobsOf(T), { headers: { 'content-type': 'application/json' }, body: job('c') }), 401, 'unauthorized'],
  ["another tenant's key", () => send(jobsOf(T), { headers: headersFor(OTHER), body: job('d') }), 404, 'tenant_not_found'],
  [
    'server not allowed',
    () => send(jobsOf(T), { headers: headersFor(T), body: JSON.stringify({ type: 'workflow', steps: [{ tool: 'stripe/list', args: {} }] }) }),
    422,
    'server_not_allowed',
  ],
  ['model not allowed', () => send(jobsOf(T), { headers: headersFor(T), body: JSON.stringify({ input: 'hi', model: 'o1-pro' }) }), 400, 'model_not_allowed'],
  ['quota spent', () => send(jobsOf(SPENT), { headers: headersFor(SPENT), body: job('e') }), 429, 'quota_exceeded'],
])('%s: its status and stable code, in the documented error shape', async (_name, run, status, code) => {
  const r = await run();
  expect(r.status).toBe(status);
  expect(r.body).toMatchObject({ error: { code, message: expect.any(String) } });
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
});

test('the body reader takes a UTF-8 BOM, leading whitespace and a chunked upload like a plain body', async () => {
  for (const [body, chunked] of [
    [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(job('bom'))]), false],
    [` \n\t${job('ws')}`, false],
    [job('chunked'), true],
  ] as const) {
    const r = await send(jobsOf(T), { headers: headersFor(T), body, chunked });
    expect(r.status).toBe(202);
  }
});

test('a spent quota refuses only valid requests: a bad body or a foreign server is still its own 4xx, with the RateLimit headers', async () => {
  const bad = await send(jobsOf(SPENT), { headers: headersFor(SPENT), body: JSON.stringify({ type: 'workflow' }) });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('validation_failed');
  expect(bad.headers['ratelimit-limit']).toBe('1000');
  const foreign = await send(jobsOf(SPENT), { headers: headersFor(SPENT), body: JSON.stringify({ type: 'workflow', steps: [{ tool: 'stripe/list' }] }) });
  expect(foreign.status).toBe(422);
  const spent = await send(jobsOf(SPENT), { headers: headersFor(SPENT), body: job('q') });
  expect(spent.status).toBe(429);
  expect(spent.body.error.message).toBe("The monthly tool-call quota (0) of this tenant's live environment is spent.");
  expect(spent.headers['ratelimit-limit']).toBe('1000');
});

test('past the rate limit: 429 rate_limited with Retry-After, before the quota or the body is looked at', async () => {
  for (let i = 0; i < 2; i++) expect((await send(jobsOf(SLOW), { headers: headersFor(SLOW), body: job(`r${i}`) })).status).toBe(202);
  const r = await send(jobsOf(SLOW), { headers: headersFor(SLOW), body: JSON.stringify({ type: 'workflow' }) });
  expect(r.status).toBe(429);
  expect(r.body.error.code).toBe('rate_limited');
  expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(r.headers['ratelimit-remaining']).toBe('0');
});
