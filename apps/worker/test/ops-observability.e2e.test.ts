/**
 * Operations view of a run of jobs: the API's and the worker's /metrics move as expected, every
 * request gets a request id, and a job's log lines carry tenant_id and job_id and no secret.
 */
import { Writable } from 'node:stream';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { createLogger } from '@agents/observability';
import { TEST_OPERATOR_KEY, startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import { sample } from './prom-text';

jest.setTimeout(60_000);

const TENANT = 'tenant_metrics';
const ASAAS_KEY = 'aact_sandbox_metrics_secret_value_123';
const METRICS_TOKEN = 'metrics_token_for_prometheus_0001';

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;
const lines: string[] = [];

const capture = new Writable({
  write(chunk, _enc, cb) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    cb();
  },
});

async function scrape(url: string, token = TEST_OPERATOR_KEY): Promise<string> {
  const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status).toBe(200);
  return r.text();
}

async function terminal(jobId: string) {
  return waitFor(
    async () => {
      const r = await call('GET', `/v1/tenants/${TENANT}/jobs/${jobId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    { what: `job ${jobId} to finish` },
  );
}

beforeAll(async () => {
  const logger = createLogger({ name: 'ops-test', level: 'debug', destination: capture });
  stack = await startTestStack(apps, { label: 'ops', env: { METRICS_TOKEN, LOG_LEVEL: 'debug' }, logger, worker: { metricsPort: 0 } });
  call = stack.call;
  expect((await call('POST', '/v1/admin/tenants', { body: { id: TENANT, name: 'Metrics', servers: ['asaas'] } })).status).toBe(201);
  expect((await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas?environment=live`, { body: { values: { api_key: ASAAS_KEY } } })).status).toBe(204);
});

afterAll(() => stack?.stop());

test('/metrics needs the operator key or METRICS_TOKEN', async () => {
  const none = await fetch(`${stack.api.url}/metrics`);
  expect(none.status).toBe(401);
  expect(((await none.json()) as any).error.code).toBe('unauthorized');
  expect((await fetch(`${stack.api.url}/metrics`, { headers: { authorization: 'Bearer wrong_token_wrong_token' } })).status).toBe(401);
  await scrape(stack.api.url, METRICS_TOKEN);
  const workerNone = await fetch(`http://127.0.0.1:${stack.worker!.metricsPort}/metrics`);
  expect(workerNone.status).toBe(401);
});

test('a run of jobs moves the API and worker counters', async () => {
  const workerUrl = `http://127.0.0.1:${stack.worker!.metricsPort}`;
  const ok = {
    type: 'workflow',
    steps: [
      { tool: 'asaas/create_customer', args: { name: 'Ana', cpfCnpj: '52998224725' } },
      { tool: 'asaas/get_balance', args: {} },
    ],
  };
  const bad = { type: 'workflow', steps: [{ tool: 'asaas/get_payment', args: { id: 'pay_missing' } }] };
  const ids: string[] = [];
  for (const body of [ok, ok, bad]) {
    const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body });
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  const jobs = await Promise.all(ids.map(terminal));
  expect(jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'failed']);

  const apiText = await scrape(stack.api.url);
  expect(sample(apiText, 'agents_jobs_submitted_total', { tenant: TENANT, type: 'workflow', environment: 'live', process: 'api' })).toBe(3);
  expect(apiText).toMatch(/^process_cpu_user_seconds_total/m);
  // Queue gauges are sampled at scrape time: everything ran, nothing waits.
  expect(sample(apiText, 'agents_queue_jobs', { tenant: TENANT, state: 'waiting' })).toBe(0);
  expect(sample(apiText, 'agents_queue_jobs', { tenant: TENANT, state: 'active' })).toBe(0);

  // The worker records the outcome after the job row is final: wait for the last counter to land.
  const workerText = await waitFor(
    async () => {
      const t = await scrape(workerUrl);
      return sample(t, 'agents_jobs_finished_total', { tenant: TENANT }) === 3 ? t : undefined;
    },
    { what: 'worker job counters' },
  );
  expect(sample(workerText, 'agents_jobs_finished_total', { tenant: TENANT, outcome: 'succeeded' })).toBe(2);
  expect(sample(workerText, 'agents_jobs_finished_total', { tenant: TENANT, outcome: 'failed' })).toBe(1);
  expect(sample(workerText, 'agents_job_run_seconds_count', { tenant: TENANT })).toBe(3);
  expect(sample(workerText, 'agents_job_queue_wait_seconds_count', { tenant: TENANT })).toBe(3);
  expect(sample(workerText, 'agents_tool_calls_total', { tenant: TENANT, server: 'asaas', success: 'true' })).toBe(4);
  expect(sample(workerText, 'agents_tool_calls_total', { tenant: TENANT, server: 'asaas', success: 'false' })).toBe(1);
  expect(sample(workerText, 'agents_worker_running_jobs', { process: 'worker' })).toBe(0);
});

test('requests carry a request id: a well-formed X-Request-Id is echoed, anything else replaced', async () => {
  const given = await call('GET', '/v1/servers', { headers: { 'x-request-id': 'trace-0123456789' } });
  expect(given.headers.get('x-request-id')).toBe('trace-0123456789');
  const bad = await call('GET', '/v1/servers', { headers: { 'x-request-id': 'bad id with spaces' } });
  expect(bad.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  const line = await waitFor(() => lines.map((l) => JSON.parse(l)).find((l) => l.request_id === 'trace-0123456789' && l.msg === 'request'), {
    what: 'request log line',
  });
  expect(line).toMatchObject({ method: 'GET', path: '/v1/servers', status: 200 });
  expect(line.req).toBeUndefined();
});

test("a job's log lines carry tenant_id and job_id, and no line carries a secret", async () => {
  const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] } });
  await terminal(r.body.id);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const ofJob = parsed.filter((l) => l.job_id === r.body.id);
  expect(ofJob.map((l) => l.msg)).toEqual(expect.arrayContaining(['job attempt started', 'job attempt finished']));
  for (const l of ofJob) expect(l.tenant_id).toBe(TENANT);
  const all = lines.join('\n');
  expect(all).not.toContain(ASAAS_KEY);
  expect(all).not.toContain(TEST_OPERATOR_KEY);
  expect(all).not.toContain(METRICS_TOKEN);
});
