/**
 * `POST /v1/tenants/{tid}/jobs` as clients write it is answered by the app's first layer, which
 * runs the request context, the security headers and the submission route's handlers as one chain
 * (issue #11). Every other spelling of the same route (here: with a query string) still goes
 * through Express's layers and route. Both must answer alike: same status, same header names in the
 * same order with the same values, same body, the same access-log line, for success and for every
 * kind of refusal. Values
 * that differ between any two requests (request id, job id, timestamps, the rate-limit countdown)
 * are compared by shape.
 */
import http from 'node:http';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { createLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, serveLocally, testConfig, testRedisPrefix, waitFor } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { chain } from '../src/middleware/chain';

interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'POST', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode!, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The answer with every per-request value replaced by its shape. */
function shape(a: Answer): Answer {
  const masked = (s: string) =>
    s
      .replace(/job_[A-Za-z0-9]+/g, 'job_ID')
      .replace(/req_[0-9a-f]{32}/g, 'req_ID')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME')
      .replace(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/, 'DATE');
  return {
    status: a.status,
    headers: a.headers.map(([k, v]) => [k, /^ratelimit-(remaining|reset)$|^retry-after$/i.test(k) ? v.replace(/^\d+$/, 'N') : masked(v)]),
    body: masked(a.body),
  };
}

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
const keys: Record<string, string> = {};
/** The API's access-log lines (the logger writes one per request at info). */
const accessLines: Array<Record<string, unknown>> = [];

const T = 'tenant_fast';
const OTHER = 'tenant_fast_other';
const SPENT = 'tenant_fast_spent';
const SLOW = 'tenant_fast_slow';

beforeAll(async () => {
  tdb = await createTestDatabase('fastpath');
  prefix = testRedisPrefix();
  const logger = createLogger({
    name: 'api',
    level: 'info',
    destination: {
      write(line: string) {
        const l = JSON.parse(line) as Record<string, unknown>;
        if (l.msg === 'request' || l.msg === 'request failed') accessLines.push(l);
      },
    },
  });
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), logger, { port: 0 });
  const op = apiClient(api.url);
  for (const [id, rpm, quota] of [
    [T, 1000, 1000],
    [OTHER, 1000, 1000],
    [SPENT, 1000, 0],
    [SLOW, 2, 1000],
  ] as const) {
    expect((await op('POST', '/v1/admin/tenants', { body: { id, servers: ['asaas'], limits: { requests_per_minute: rpm, monthly_tool_calls: quota } } })).status).toBe(201);
    const k = await op('POST', `/v1/admin/tenants/${id}/api-keys`, { body: { environment: 'live', name: 'fast' } });
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
const headersFor = (tenant: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${keys[tenant]}`, 'content-type': 'application/json', ...extra });

/** The same request on the first layer's URL and on Express's route (query string), one after the other. */
async function both(tenant: string, init: { headers?: Record<string, string>; body?: string }, pathTenant = tenant): Promise<[Answer, Answer]> {
  const logged = accessLines.length;
  const fast = await send(`${api.url}/v1/tenants/${pathTenant}/jobs`, init);
  const routed = await send(`${api.url}/v1/tenants/${pathTenant}/jobs?via=router`, init);
  // The same access-log line (all but its time, duration and request id), one per request.
  await waitFor(() => accessLines.length >= logged + 2, { what: 'two access-log lines' });
  const [a, b] = accessLines.slice(logged).map(({ time: _t, duration_ms: _d, request_id: _r, ...rest }) => rest);
  expect(accessLines).toHaveLength(logged + 2);
  const requestId = (r: Answer) => r.headers.find(([k]) => k.toLowerCase() === 'x-request-id')?.[1];
  expect(accessLines.slice(logged).map((l) => l.request_id)).toEqual([requestId(fast), requestId(routed)]);
  expect(a).toEqual(b);
  expect(a).toMatchObject({ method: 'POST', path: `/v1/tenants/${pathTenant}/jobs`, status: fast.status });
  return [fast, routed];
}

test.each([
  ['created', () => both(T, { headers: headersFor(T), body: job('a') }), 202],
  ['created with an Idempotency-Key', () => both(T, { headers: headersFor(T, { 'idempotency-key': `k-${Date.now()}` }), body: job('b') }), 202],
  ['invalid body', () => both(T, { headers: headersFor(T), body: JSON.stringify({ type: 'workflow', steps: [{ args: {} }] }) }), 400],
  ['invalid JSON', () => both(T, { headers: headersFor(T), body: '{"type":' }), 400],
  ['not JSON', () => both(T, { headers: { ...headersFor(T), 'content-type': 'text/plain' }, body: 'hello' }), 415],
  ['too large', () => both(T, { headers: headersFor(T), body: JSON.stringify({ type: 'workflow', input: 'x'.repeat(300 * 1024) }) }), 413],
  ['no key', () => both(T, { headers: { 'content-type': 'application/json' }, body: job('c') }), 401],
  ["another tenant's key", () => both(OTHER, { headers: headersFor(OTHER), body: job('d') }, T), 404],
  ['server not allowed', () => both(T, { headers: headersFor(T), body: JSON.stringify({ type: 'workflow', steps: [{ tool: 'stripe/list', args: {} }] }) }), 422],
  ['quota spent', () => both(SPENT, { headers: headersFor(SPENT), body: job('e') }), 429],
])('%s: the same answer on both paths', async (_name, run, status) => {
  const [fast, routed] = await run();
  expect(fast.status).toBe(status);
  expect(shape(fast)).toEqual(shape(routed));
});

test('an Idempotency-Key replayed, and reused with another body: the same answers on both paths', async () => {
  const [k1, k2] = [`r1-${Date.now()}`, `r2-${Date.now()}`];
  expect((await send(`${api.url}/v1/tenants/${T}/jobs`, { headers: headersFor(T, { 'idempotency-key': k1 }), body: job('f') })).status).toBe(202);
  expect((await send(`${api.url}/v1/tenants/${T}/jobs?via=router`, { headers: headersFor(T, { 'idempotency-key': k2 }), body: job('f') })).status).toBe(202);
  for (const [body, status] of [
    [job('f'), 202],
    [job('g'), 422],
  ] as const) {
    const fast = await send(`${api.url}/v1/tenants/${T}/jobs`, { headers: headersFor(T, { 'idempotency-key': k1 }), body });
    const routed = await send(`${api.url}/v1/tenants/${T}/jobs?via=router`, { headers: headersFor(T, { 'idempotency-key': k2 }), body });
    expect(fast.status).toBe(status);
    expect(shape(fast)).toEqual(shape(routed));
  }
});

test('rate limited: the same answer on both paths', async () => {
  await both(SLOW, { headers: headersFor(SLOW), body: job('h') });
  const [fast, routed] = await both(SLOW, { headers: headersFor(SLOW), body: job('i') });
  expect(fast.status).toBe(429);
  expect(shape(fast)).toEqual(shape(routed));
});

describe('chain', () => {
  /**
   * Three handlers whose behaviour the request picks (`?at=<step>&do=<what>`), mounted as an
   * Express route of three handlers and as one chain; both must reach the same outcome.
   */
  function handlers(): RequestHandler[] {
    const step = (n: number): RequestHandler => (req, res, next) => {
      res.append('X-Steps', String(n));
      if (Number(req.query.at) !== n) return next();
      switch (req.query.do) {
        case 'throw':
          throw new Error(`thrown at ${n}`);
        case 'reject':
          return Promise.reject(new Error(`rejected at ${n}`)) as unknown as void;
        case 'reject-empty':
          return Promise.reject(undefined) as unknown as void;
        case 'next-error':
          return next(new Error(`passed at ${n}`));
        case 'route':
          return next('route');
        case 'answer':
          res.json({ answered: n });
          return;
        case 'async-next':
          return (async () => {
            await new Promise((r) => setImmediate(r));
            next();
          })() as unknown as void;
      }
      next();
    };
    return [step(1), step(2), step(3)];
  }

  function appOf(mount: (app: express.Express, hs: RequestHandler[]) => void): express.Express {
    const app = express();
    app.set('query parser', 'simple');
    mount(app, handlers());
    app.post('/x', (_req, res) => void res.json({ fellThrough: true }));
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => void res.status(500).json({ error: err.message }));
    return app;
  }

  test('runs its handlers as an Express route runs them: next, answers, throws, rejections, next(err), next("route")', async () => {
    const routed = await serveLocally(appOf((app, hs) => app.post('/x', ...hs)));
    const chained = await serveLocally(appOf((app, hs) => app.post('/x', chain(...hs))));
    try {
      const cases = ['', ...[1, 2, 3].flatMap((n) => ['throw', 'reject', 'reject-empty', 'next-error', 'route', 'answer', 'async-next'].map((d) => `?at=${n}&do=${d}`))];
      for (const q of cases) {
        const a = shape(await send(`${routed.url}/x${q}`, {}));
        const b = shape(await send(`${chained.url}/x${q}`, {}));
        expect({ q, ...b }).toEqual({ q, ...a });
      }
    } finally {
      await routed.close();
      await chained.close();
    }
  });
});
