/**
 * Monthly tool-call quota (limits.monthly_tool_calls): a running job whose next tool call would
 * exceed it stops with quota_exceeded and the call is never made; new jobs are then refused with
 * 429 quota_exceeded. Real API, worker, sandbox, Redis and Postgres.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';

jest.setTimeout(60_000);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;
const TENANT = 'tenant_quota';
const KEY = 'aact_quota_tenant_key';

const twoCalls = {
  type: 'workflow',
  servers: ['asaas'],
  steps: [
    { tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725' } },
    { tool: 'asaas/create_customer', args: { name: 'João Souza', cpfCnpj: '52998224725' } },
  ],
};

async function terminal(jobId: string) {
  return waitFor(
    async () => {
      const r = await call('GET', `/v1/tenants/${TENANT}/jobs/${jobId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    { what: `job ${jobId} to finish` },
  );
}

async function sandboxCalls(): Promise<number> {
  const r = (await (await fetch(`${stack.sandbox.url}/sandbox/asaas/objects`, { headers: { 'x-sandbox-account': KEY } })).json()) as { data: unknown[] };
  return r.data.length;
}

beforeAll(async () => {
  stack = await startTestStack(apps, { label: 'quota', worker: { deliverWebhooks: false } });
  call = stack.call;
  const t = await call('POST', '/v1/admin/tenants', { body: { id: TENANT, servers: ['asaas'], limits: { monthly_tool_calls: 3 } } });
  expect(t.status).toBe(201);
  for (const environment of ['live', 'test']) {
    const c = await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas?environment=${environment}`, { body: { values: { api_key: KEY } } });
    expect(c.status).toBe(204);
  }
});

afterAll(() => stack?.stop());

test('a job whose next call would pass the quota stops with quota_exceeded before making it; new jobs get 429', async () => {
  const first = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: twoCalls });
  expect(first.status).toBe(202);
  expect((await terminal(first.body.id)).status).toBe('succeeded');
  expect(await sandboxCalls()).toBe(2);

  // 2 of 3 used: the first call of this job is the 3rd; its second would be the 4th.
  const second = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: twoCalls });
  expect(second.status).toBe(202);
  const stopped = await terminal(second.body.id);
  expect(stopped.status).toBe('failed');
  expect(stopped.error.code).toBe('quota_exceeded');
  expect(stopped.tool_calls).toHaveLength(1);
  expect(await sandboxCalls()).toBe(3);

  const refused = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: twoCalls });
  expect(refused.status).toBe(429);
  expect(refused.body.error.code).toBe('quota_exceeded');
  const rows = await stack.db.selectFrom('jobs').select('id').where('tenant_id', '=', TENANT).execute();
  expect(rows).toHaveLength(2);

  // The test environment has its own allowance.
  const testEnv = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: { ...twoCalls, environment: 'test' } });
  expect(testEnv.status).toBe(202);
  expect((await terminal(testEnv.body.id)).status).toBe('succeeded');
});
