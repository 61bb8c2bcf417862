/**
 * Security headers are helmet's, computed once at start-up (issue #11): the same names, values and
 * order as helmet itself sends, on the job-submission route (its own app-level route), on its
 * refusals, and on every other API route; the operator board keeps its own policy.
 */
import http from 'node:http';
import express from 'express';
import helmet from 'helmet';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { createTestDatabase, flushPrefix, serveLocally, testConfig, testRedisPrefix, TEST_OPERATOR_KEY } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { helmetHeaderSet, securityHeaders } from '../src/middleware/security-headers';

/** Raw response header pairs in the order they were sent, lower-cased, without the per-response ones. */
function rawHeaders(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Array<[string, string]> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      res.resume();
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: pairs.filter(([k]) => !['date', 'x-request-id', 'connection', 'keep-alive'].includes(k)) }),
      );
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

function appWith(middleware: express.RequestHandler): express.Express {
  const app = express();
  app.use(middleware);
  app.get('/', (_req, res) => void res.json({ ok: true }));
  return app;
}

type HelmetOpts = Parameters<typeof helmet>[0];

/** helmet's options as securityHeaders applies them to a plain-HTTP request: CSP without `upgrade-insecure-requests`. */
function plainHttp(options?: HelmetOpts): HelmetOpts {
  const csp = options?.contentSecurityPolicy;
  if (csp === false) return options;
  const base = csp && typeof csp === 'object' ? csp : {};
  return { ...options, contentSecurityPolicy: { ...base, directives: { ...(base.directives ?? {}), upgradeInsecureRequests: null } } };
}

/** The security headers helmet itself sends with these options, in order, as the reference (for a plain-HTTP request unless `tls`). */
async function helmetReference(options?: HelmetOpts, tls = false): Promise<Array<[string, string]>> {
  const s = await serveLocally(appWith(helmet(tls ? options : plainHttp(options))));
  try {
    return (await rawHeaders(`${s.url}/`)).headers.filter(([k]) => !['content-type', 'content-length', 'etag', 'x-powered-by'].includes(k));
  } finally {
    await s.close();
  }
}

test('securityHeaders sends exactly what helmet sends (names, values, order), X-Powered-By removed, for the default and a custom option set', async () => {
  for (const options of [undefined, { contentSecurityPolicy: false, hsts: { maxAge: 60 } }] as const) {
    const reference = await helmetReference(options);
    expect(reference.length).toBeGreaterThan(8);
    const s = await serveLocally(appWith(securityHeaders(options)));
    try {
      const ours = (await rawHeaders(`${s.url}/`)).headers;
      expect(ours.filter(([k]) => !['content-type', 'content-length', 'etag'].includes(k))).toEqual(reference);
      expect(ours.some(([k]) => k === 'x-powered-by')).toBe(false);
    } finally {
      await s.close();
    }
  }
  expect(helmetHeaderSet().removed).toEqual(['X-Powered-By']);
});

test('CSP sends upgrade-insecure-requests only to a request that came over TLS (else /docs is blank over plain HTTP)', async () => {
  const csp = (headers: Array<[string, string]>) => headers.find(([k]) => k === 'content-security-policy')?.[1];
  const app = appWith(securityHeaders());
  // req.secure: X-Forwarded-Proto from a trusted proxy stands for TLS here (no certificate needed).
  app.set('trust proxy', 'loopback');
  const s = await serveLocally(app);
  try {
    const plain = csp((await rawHeaders(`${s.url}/`)).headers);
    const tls = csp((await rawHeaders(`${s.url}/`, { headers: { 'x-forwarded-proto': 'https' } })).headers);
    expect(plain).toBeDefined();
    expect(plain).not.toMatch(/upgrade-insecure-requests/);
    expect(plain).toMatch(/default-src 'self'/);
    expect(tls).toMatch(/upgrade-insecure-requests/);
    // Over TLS the headers are helmet's own defaults, byte for byte.
    expect(tls).toBe(csp(await helmetReference(undefined, true)));
    expect(tls!.replace(/;?upgrade-insecure-requests/, '')).toBe(plain);
  } finally {
    await s.close();
  }
  // Options without CSP are unaffected.
  expect(helmetHeaderSet({ contentSecurityPolicy: false }).set.some(([k]) => k.toLowerCase() === 'content-security-policy')).toBe(false);
});

test('a CSP computed per request cannot be precomputed and is refused at start-up', () => {
  expect(() => helmetHeaderSet({ contentSecurityPolicy: { directives: { scriptSrc: ["'self'", () => "'nonce-x'"] } } })).toThrow(/per request/);
});

describe('on the API', () => {
  let tdb: TestDatabase;
  let prefix: string;
  let api: ApiServer;
  let reference: Array<[string, string]>;
  const op = { authorization: `Bearer ${TEST_OPERATOR_KEY}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    tdb = await createTestDatabase('sechdr');
    prefix = testRedisPrefix();
    api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
    const created = await fetch(`${api.url}/v1/admin/tenants`, { method: 'POST', headers: op, body: JSON.stringify({ id: 'tenant_hdr', servers: ['asaas'] }) });
    expect(created.status).toBe(201);
    reference = await helmetReference();
  });

  afterAll(async () => {
    await api?.close();
    await tdb?.close();
    await flushPrefix(prefix);
  });

  const security = (headers: Array<[string, string]>) => headers.filter(([k]) => reference.some(([r]) => r === k));
  const body = JSON.stringify({ type: 'workflow', steps: [{ tool: 'asaas/list_customers', args: {} }] });

  test.each([
    ['a job submitted', 'POST', '/v1/tenants/tenant_hdr/jobs', op, body, 202],
    ['a submission without a key', 'POST', '/v1/tenants/tenant_hdr/jobs', { 'content-type': 'application/json' }, body, 401],
    ['a submission with an undecodable tenant', 'POST', '/v1/tenants/%E0%A4%A/jobs', op, body, 400],
    ['a submission with a bad body', 'POST', '/v1/tenants/tenant_hdr/jobs', op, '{"type":1}', 400],
    ['a job list', 'GET', '/v1/tenants/tenant_hdr/jobs', op, undefined, 200],
    ['an unknown route', 'GET', '/v1/nope', op, undefined, 404],
    ['the liveness probe', 'GET', '/healthz', {}, undefined, 200],
    ['the API docs page', 'GET', '/docs/', {}, undefined, 200],
  ])('%s carries helmet’s headers, in helmet’s order', async (_what, method, path, headers, payload, status) => {
    const r = await rawHeaders(`${api.url}${path}`, { method, headers, body: payload });
    expect(r.status).toBe(status);
    expect(security(r.headers)).toEqual(reference);
    expect(r.headers.some(([k]) => k === 'x-powered-by')).toBe(false);
  });

  test('the operator board is outside the strict policy (its page runs its own inline script)', async () => {
    const r = await rawHeaders(`${api.url}/admin/queues/`, {
      headers: { authorization: `Basic ${Buffer.from(`operator:${TEST_OPERATOR_KEY}`).toString('base64')}` },
    });
    expect(r.status).toBe(200);
    expect(r.headers.some(([k]) => k === 'content-security-policy')).toBe(false);
    expect(r.headers.find(([k]) => k === 'x-content-type-options')?.[1]).toBe('nosniff');
  });
});
