/**
 * Walking skeleton, end to end: HTTP API → Postgres row → tenant queue → worker → real MCP over
 * HTTP to the sandbox → checkpoints + usage → job row. Real Redis, real Postgres, real sockets.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { Queue } from 'bullmq';
import { tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { isoDateFromNow, jobRow, startTestStack, openTestRedis, waitFor, rowCount } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';

jest.setTimeout(60_000);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;

const TENANT = 'tenant_loja';
const ASAAS_KEY = 'aact_sandbox_loja_e2e_key';

async function terminal(jobId: string, tenant = TENANT) {
  return waitFor(
    async () => {
      const r = await call('GET', `/v1/tenants/${tenant}/jobs/${jobId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    { what: `job ${jobId} to finish` },
  );
}

beforeAll(async () => {
  stack = await startTestStack(apps, { label: 'e2e' });
  call = stack.call;
  const t = await call('POST', '/v1/admin/tenants', { body: { id: TENANT, name: 'Loja', servers: ['asaas', 'melhor-envio', 'z-api'] } });
  expect(t.status).toBe(201);
  const c = await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas?environment=live`, { body: { values: { api_key: ASAAS_KEY } } });
  expect(c.status).toBe(204);
});

afterAll(() => stack?.stop());

const customerThenPayment = {
  type: 'workflow',
  servers: ['asaas'],
  metadata: { order_id: 'A-1001' },
  steps: [
    { tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725' } },
    { tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value: 50, dueDate: isoDateFromNow(7) } },
  ],
};

test('a workflow job goes queued → running → succeeded with its tool calls and usage', async () => {
  const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: customerThenPayment });
  expect(r.status).toBe(202);
  expect(r.body.status).toBe('queued');
  expect(r.headers.get('location')).toBe(`/v1/tenants/${TENANT}/jobs/${r.body.id}`);
  expect(r.body.metadata).toEqual({ order_id: 'A-1001', tenant_id: TENANT });

  const job = await terminal(r.body.id);
  expect(job.status).toBe('succeeded');
  expect(job.attempts).toBe(1);
  expect(job.started_at).not.toBeNull();
  expect(job.tool_calls.map((c: any) => `${c.server}/${c.tool}:${c.success}`)).toEqual(['asaas/create_customer:true', 'asaas/create_payment:true']);
  expect(job.usage.tool_calls).toBe(2);
  const [customer, payment] = job.output.steps;
  expect(payment.data.customer).toBe(customer.data.id);
  expect(payment.data.value).toBe(50);

  // One usage row per tool call, carrying the session metadata.
  const rows = await stack.db.selectFrom('usage_events').selectAll().where('job_id', '=', r.body.id).execute();
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row.metadata).toEqual({ order_id: 'A-1001', tenant_id: TENANT });

  // The provider saw exactly these objects, in the tenant's own account.
  const objects = (await (await fetch(`${stack.sandbox.url}/sandbox/asaas/objects`, { headers: { 'x-sandbox-account': ASAAS_KEY } })).json()) as {
    data: { object: string }[];
  };
  expect(objects.data.map((o) => o.object)).toEqual(['customer', 'payment']);
});

test('a failing step fails the job with tool_failed naming the step', async () => {
  const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, {
    body: { type: 'workflow', steps: [{ tool: 'asaas/get_payment', args: { id: 'pay_does_not_exist' } }] },
  });
  expect(r.status).toBe(202);
  const job = await terminal(r.body.id);
  expect(job.status).toBe('failed');
  expect(job.error.code).toBe('tool_failed');
  expect(job.error.message).toMatch(/Step 0 \(asaas\/get_payment\)/);
  expect(job.tool_calls).toHaveLength(1);
  expect(job.tool_calls[0].success).toBe(false);
});

describe('refusals write nothing', () => {
  const count = () => rowCount(stack.db, 'jobs');

  test('unknown tenant → 404 tenant_not_found', async () => {
    const before = await count();
    const r = await call('POST', '/v1/tenants/tenant_nobody/jobs', { body: customerThenPayment });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('tenant_not_found');
    expect(await count()).toBe(before);
  });

  test('malformed JSON → 400 invalid_json', async () => {
    const before = await count();
    const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { rawBody: '{"type": "workflow",', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_json');
    expect(await count()).toBe(before);
  });

  test('schema violation → 400 validation_failed with details', async () => {
    const before = await count();
    const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'no-slash' }], surprise: 1 } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    const paths = r.body.error.details.map((d: any) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.steps.0.tool']));
    expect(r.text).not.toMatch(/at .*\.ts:\d+/); // no stack traces
    expect(await count()).toBe(before);
  });

  test('a server the tenant does not have → 422 server_not_allowed', async () => {
    const before = await count();
    const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'stripe/create_customer', args: {} }] } });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('server_not_allowed');
    expect(await count()).toBe(before);
  });
});

test('a committed job that never reached the queue is enqueued by the reconciler', async () => {
  // What the API leaves behind when it dies between the commit and the enqueue.
  const row = jobRow(TENANT, { steps: JSON.stringify([{ tool: 'asaas/get_balance', args: {} }]) });
  const id = row.id;
  await stack.db.insertInto('jobs').values(row).execute();
  const job = await terminal(id);
  expect(job.status).toBe('succeeded');
  expect(job.tool_calls).toHaveLength(1);
});

test('the same Idempotency-Key returns the same job; a different body is refused', async () => {
  const headers = { 'idempotency-key': 'order-A-1001' };
  const a = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: customerThenPayment, headers });
  const b = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: customerThenPayment, headers });
  expect(a.status).toBe(202);
  expect(b.status).toBe(202);
  expect(b.body.id).toBe(a.body.id);
  const c = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: { ...customerThenPayment, metadata: { order_id: 'other' } }, headers });
  expect(c.status).toBe(422);
  expect(c.body.error.code).toBe('idempotency_key_reused');
  await terminal(a.body.id);
});

test('a step whose provider is unreachable retries the attempt with backoff instead of failing the job', async () => {
  const port = stack.sandbox.port;
  await stack.sandbox.close();
  const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] } });
  expect(r.status).toBe(202);
  // The first attempt finds the provider down; bring it back while the job waits for its retry.
  // Given a connection (a Redis or a Cluster, as TEST_REDIS_URL says), a Queue leaves it open: closed below.
  const queueRedis = openTestRedis({ maxRetriesPerRequest: null });
  const queue = new Queue(tenantQueueName(TENANT), { connection: queueRedis, prefix: tenantBullPrefix(stack.prefix, TENANT) });
  try {
    await waitFor(async () => ((await queue.getJob(r.body.id))?.attemptsMade ?? 0) >= 1, { what: 'the first attempt to fail' });
  } finally {
    await queue.close();
    queueRedis.disconnect();
  }
  stack.sandbox = await createSandboxServer({ port, logger: silentLogger() });
  const job = await terminal(r.body.id);
  expect(job.status).toBe('succeeded');
  expect(job.attempts).toBeGreaterThanOrEqual(2);
  // The unreachable call left no step and no usage row: only the call that happened is metered.
  expect(job.tool_calls.map((c: any) => c.success)).toEqual([true]);
});
