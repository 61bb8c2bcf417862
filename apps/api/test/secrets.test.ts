/**
 * Secrets never leave the runtime boundary: distinctive credential values (and the API key and
 * webhook secret) are set, jobs that succeed and fail are run end to end, and every API response,
 * job record, log line (API and worker, at debug level) and webhook body produced is searched for
 * them: zero occurrences. Real sandbox, worker, Redis and Postgres; the callback receiver is the
 * only double.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { startWorker } from '@agents/worker';
import { createLogger } from '@agents/observability';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, HttpResult, TestStack } from '@agents/testkit';

jest.setTimeout(60_000);

const TENANT = 'tenant_secretive';
const ASAAS_KEY = 'aact_DISTINCTIVE_asaas_7f3a9c1e5b';
const ZAPI_TOKEN = 'zapi_DISTINCTIVE_token_4d2b8a6f0c';
const ZAPI_INSTANCE = 'inst_DISTINCTIVE_5e1c9b7a3d';

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let receiver: http.Server;
let receiverUrl: string;
const logLines: string[] = [];
const responses: string[] = [];
const webhookBodies: string[] = [];
let secrets: string[] = [];
let rawCall: ApiCall;

const capture = () =>
  new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });

/** Every response this test sees goes into the haystack. */
async function call(method: string, path: string, opts: Parameters<ApiCall>[2] = {}): Promise<HttpResult> {
  const r = await rawCall(method, path, opts);
  responses.push(`${method} ${path} ${r.status} ${JSON.stringify([...r.headers])} ${r.text}`);
  return r;
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      webhookBodies.push(`${JSON.stringify(req.headers)} ${body}`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  stack = await startTestStack(apps, {
    label: 'secrets',
    env: { LOG_LEVEL: 'debug' },
    logger: {
      api: createLogger({ name: 'api', level: 'debug', destination: capture() }),
      worker: createLogger({ name: 'worker', level: 'debug', destination: capture() }),
    },
  });
  rawCall = stack.call;
});

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((r) => receiver.close(() => r()));
});

test('no secret appears in any response, job record, log line or webhook body', async () => {
  const created = await rawCall('POST', '/v1/admin/tenants', { body: { id: TENANT, servers: ['asaas', 'z-api'], webhook_url: receiverUrl } });
  expect(created.status).toBe(201);
  const webhookSecret: string = created.body.webhook_secret;
  expect(webhookSecret).toMatch(/^whsec_/);
  const issued = await rawCall('POST', `/v1/admin/tenants/${TENANT}/api-keys`, { body: { environment: 'live' } });
  expect(issued.status).toBe(201);
  const apiKey: string = issued.body.key;
  // The two responses that must show a secret once are the only ones kept out of the haystack.
  secrets = [ASAAS_KEY, ZAPI_TOKEN, ZAPI_INSTANCE, webhookSecret, webhookSecret.slice('whsec_'.length), apiKey];

  expect((await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas`, { key: apiKey, body: { values: { api_key: ASAAS_KEY } } })).status).toBe(204);
  const zapi = await call('GET', '/v1/servers', { key: apiKey });
  const fields = zapi.body.data.find((s: { id: string }) => s.id === 'z-api').credential_fields.map((f: { name: string }) => f.name);
  const zValues: Record<string, string> = {};
  for (const [i, f] of fields.entries()) zValues[f] = [ZAPI_INSTANCE, ZAPI_TOKEN][i] ?? `${ZAPI_TOKEN}_${i}`;
  expect((await call('PUT', `/v1/tenants/${TENANT}/credentials/z-api`, { key: apiKey, body: { values: zValues } })).status).toBe(204);
  // A validation failure must not echo the value back either.
  expect(
    (await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas`, { key: apiKey, body: { values: { api_key: ASAAS_KEY, bogus: ASAAS_KEY } } })).status,
  ).toBe(400);
  const listed = await call('GET', `/v1/tenants/${TENANT}/credentials`, { key: apiKey });
  expect(listed.body.data.map((c: { server: string; fields: string[] }) => `${c.server}:${c.fields.join(',')}`)).toEqual([
    'asaas:api_key',
    `z-api:${Object.keys(zValues).sort().join(',')}`,
  ]);

  const jobs = [
    // succeeds
    { type: 'workflow', metadata: { order_id: 'S-1' }, steps: [{ tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725' } }] },
    // fails at the provider
    { type: 'workflow', steps: [{ tool: 'asaas/get_payment', args: { id: 'pay_does_not_exist' } }] },
    // fails with a tool argument that tries to smuggle a secret-looking field
    { type: 'workflow', steps: [{ tool: 'z-api/send_text', args: { phone: 'not-a-phone', message: 'hi' } }] },
  ];
  const ids: string[] = [];
  for (const body of jobs) {
    const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { key: apiKey, body });
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  const finals = [];
  for (const id of ids) {
    finals.push(
      await waitFor(
        async () => {
          const r = await call('GET', `/v1/tenants/${TENANT}/jobs/${id}`, { key: apiKey });
          return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
        },
        { what: `job ${id}` },
      ),
    );
  }
  expect(finals.map((j) => j.status)).toEqual(['succeeded', 'failed', 'failed']);
  await call('GET', `/v1/tenants/${TENANT}/jobs`, { key: apiKey });
  await call('GET', `/v1/admin/tenants/${TENANT}`);
  await call('GET', `/v1/admin/tenants/${TENANT}/api-keys`);

  // Each terminal job produces a signed callback (job.succeeded / job.failed) to the tenant's webhook_url.
  await waitFor(() => webhookBodies.length >= ids.length, { what: 'webhook deliveries', timeoutMs: 20_000 });
  for (const id of ids) expect(webhookBodies.some((b) => b.includes(id))).toBe(true);

  const records = JSON.stringify(
    await Promise.all([
      stack.db.selectFrom('jobs').selectAll().execute(),
      stack.db.selectFrom('job_steps').selectAll().execute(),
      stack.db.selectFrom('usage_events').selectAll().execute(),
      stack.db.selectFrom('webhook_events').selectAll().execute(),
      stack.db.selectFrom('webhook_deliveries').selectAll().execute(),
      stack.db.selectFrom('webhook_attempts').selectAll().execute(),
      stack.db.selectFrom('tenants').selectAll().execute(),
      stack.db.selectFrom('api_keys').selectAll().execute(),
    ]),
  );
  expect(logLines.length).toBeGreaterThan(5);
  const haystacks = { responses: responses.join('\n'), records, logs: logLines.join(''), webhooks: webhookBodies.join('\n') };
  const found: string[] = [];
  for (const [where, text] of Object.entries(haystacks)) {
    for (const s of secrets) if (text.includes(s)) found.push(`${where} contains ${s.slice(0, 6)}…`);
  }
  expect(found).toEqual([]);
  // The credentials were really used: the sandbox saw the tenant's account.
  const objects = (await (await fetch(`${stack.sandbox.url}/sandbox/asaas/objects`, { headers: { 'x-sandbox-account': ASAAS_KEY } })).json()) as {
    data: unknown[];
  };
  expect(objects.data).toHaveLength(1);
});
