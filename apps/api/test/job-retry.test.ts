/**
 * POST /v1/tenants/{tid}/jobs/{id}/retry over HTTP, with a worker, the sandbox and a callback
 * receiver (the only test double, on loopback): a workflow whose second step fails (no asaas
 * credential) is retried once the credential is set; its first step (a Stripe customer) is not
 * made again, the failed step is, and the new terminal state sends its own callback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandboxServer } from '@agents/sandbox';
import { startWorker } from '@agents/worker';
import { TEST_REDIS_URL, startTestStack, waitFor, openTestRedis } from '@agents/testkit';
import type { TestStack } from '@agents/testkit';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { Queue } from 'bullmq';
import type { RedisConnection } from '@agents/queue';
import { startApi } from '../src/server';

jest.setTimeout(60_000);

const apps = { createSandboxServer, startApi, startWorker };
const T = 'tenant_retry';
const STRIPE_KEY = 'sk_test_retry_account_0001';
const ASAAS_KEY = '$aact_retry_account_0001';
let stack: TestStack<typeof apps>;
let receiver: http.Server;
let receiverUrl: string;
let redis: RedisConnection;
let queue: Queue;
const received: { type: string; status: string }[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const evt = JSON.parse(body) as { type: string; data: { status: string } };
      received.push({ type: evt.type, status: evt.data.status });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  stack = await startTestStack(apps, { label: 'retry', env: { JOB_ATTEMPTS: '2', WEBHOOK_RETRY_SCHEDULE: '1s' } });
  expect((await stack.call('POST', '/v1/admin/tenants', { body: { id: T, servers: ['stripe', 'asaas'] } })).status).toBe(201);
  expect((await stack.call('PUT', `/v1/tenants/${T}/credentials/stripe?environment=live`, { body: { values: { secret_key: STRIPE_KEY } } })).status).toBe(204);
  redis = openTestRedis({ maxRetriesPerRequest: null });
  queue = new Queue(tenantQueueName(T), { connection: redis, prefix: tenantBullPrefix(stack.prefix, T) });
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await stack?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const job = async (id: string) => (await stack.call('GET', `/v1/tenants/${T}/jobs/${id}`)).body;
const retry = (id: string, key?: string) => stack.call('POST', `/v1/tenants/${T}/jobs/${id}/retry`, key ? { key } : {});
const stripeCustomers = async () =>
  (
    (await (await fetch(`${stack.sandbox.url}/sandbox/stripe/objects`, { headers: { 'x-sandbox-account': STRIPE_KEY } })).json()) as {
      data: { object: string }[];
    }
  ).data.filter((o) => o.object === 'customer');

let firstFailed: string;

async function failedWorkflow(): Promise<string> {
  const r = await stack.call('POST', `/v1/tenants/${T}/jobs`, {
    body: {
      type: 'workflow',
      callback_url: receiverUrl,
      steps: [
        { tool: 'stripe/create_customer', args: { name: 'Ana' } },
        { tool: 'asaas/get_balance', args: {} },
      ],
    },
  });
  expect(r.status).toBe(202);
  await waitFor(async () => (await job(r.body.id)).status === 'failed', { what: 'the workflow to fail' });
  return r.body.id as string;
}

test('a business-failed job is a failed queue entry with its reason, and is not retried by BullMQ', async () => {
  const id = await failedWorkflow();
  firstFailed = id;
  const failed = await job(id);
  expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'tool_failed' } });
  const entry = await waitFor(
    async () => {
      const e = await queue.getJob(id);
      return e && (await e.getState()) === 'failed' ? e : undefined;
    },
    { what: 'the entry to be failed' },
  );
  expect(entry.failedReason).toBe(`tool_failed: ${failed.error.message}`);
  expect(entry.attemptsMade).toBe(1);
  // What the board shows of it: type, servers, tools, attempts and the error; never the arguments.
  const { logs } = await queue.getJobLogs(id);
  expect(JSON.parse(logs.at(-1)!)).toMatchObject({
    job_id: id,
    status: 'failed',
    type: 'workflow',
    servers: ['stripe', 'asaas'],
    tools: ['stripe/create_customer', 'asaas/get_balance'],
    attempts: 1,
    error: { code: 'tool_failed' },
  });
  expect(logs.join('\n')).not.toContain('Ana');
  expect(entry.data).toEqual({ job_id: id, tenant_id: T });
});

test('retry: 202, failed → queued → succeeded, the completed call not repeated, a second callback', async () => {
  const id = await failedWorkflow();
  expect(await stripeCustomers()).toHaveLength(2); // one per job of this file so far
  await waitFor(async () => received.some((e) => e.type === 'job.failed' && e.status === 'failed'), { what: 'the job.failed callback' });

  // Tenant keys may not retry (operator only).
  const key = (await stack.call('POST', `/v1/admin/tenants/${T}/api-keys`, { body: { environment: 'live' } })).body.key as string;
  const refused = await retry(id, key);
  expect(refused.status).toBe(403);
  expect(refused.body.error.code).toBe('forbidden');
  expect((await job(id)).status).toBe('failed');

  // The cause is fixed, then the operator retries.
  expect((await stack.call('PUT', `/v1/tenants/${T}/credentials/asaas?environment=live`, { body: { values: { api_key: ASAAS_KEY } } })).status).toBe(204);
  const r = await retry(id);
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({ id, status: 'queued', error: null, output: null, finished_at: null });
  const done = await waitFor(
    async () => {
      const j = await job(id);
      return j.status === 'succeeded' ? j : undefined;
    },
    { what: 'the retried job to succeed' },
  );
  expect(done.attempts).toBe(2);
  // The Stripe customer of the first attempt was not created again; the asaas step ran twice (failed, then succeeded).
  expect(await stripeCustomers()).toHaveLength(2);
  expect(done.tool_calls.map((c: { tool: string; success: boolean }) => `${c.tool}:${c.success}`)).toEqual([
    'create_customer:true',
    'get_balance:false',
    'get_balance:true',
  ]);
  expect(done.output.steps.map((s: { success: boolean }) => s.success)).toEqual([true, true]);
  await waitFor(async () => received.some((e) => e.type === 'job.succeeded'), { what: 'the job.succeeded callback' });
  const deliveries = (await stack.call('GET', `/v1/tenants/${T}/webhook-deliveries?job_id=${id}`)).body.data as { event_type: string; status: string }[];
  expect(deliveries.map((d) => d.event_type).sort()).toEqual(['job.failed', 'job.succeeded']);
  // The job.failed event was rendered as the failed job, whenever it is (re)delivered.
  const failedEvent = received.find((e) => e.type === 'job.failed');
  expect(failedEvent?.status).toBe('failed');

  // Succeeded: no retry.
  const again = await retry(id);
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('job_not_retryable');
});

test('409 for cancelled and running jobs, 404 for unknown ones; two retries at once make one attempt', async () => {
  // Cancelled stays final.
  await stack.worker!.close(1000);
  stack.worker = undefined;
  const queued = await stack.call('POST', `/v1/tenants/${T}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] } });
  expect((await stack.call('POST', `/v1/tenants/${T}/jobs/${queued.body.id}/cancel`)).body.status).toBe('cancelled');
  expect((await retry(queued.body.id)).body.error.code).toBe('job_not_retryable');
  expect((await retry('job_00000000000000000000000000')).status).toBe(404);

  // A failed job (written as such), retried twice at once: one 202, one 409, one new attempt.
  const other = await stack.call('POST', `/v1/tenants/${T}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] } });
  const oid = other.body.id as string;
  await stack.db
    .updateTable('jobs')
    .set({ status: 'failed', error: JSON.stringify({ code: 'tool_failed', message: 'x' }), finished_at: new Date() })
    .where('id', '=', oid)
    .execute();
  const both = await Promise.all([retry(oid), retry(oid)]);
  expect(both.map((b) => b.status).sort()).toEqual([202, 409]);
  // Running: 409.
  await stack.db.updateTable('jobs').set({ status: 'running' }).where('id', '=', oid).execute();
  expect((await retry(oid)).status).toBe(409);
  const row = await stack.db.selectFrom('jobs').select(['retries']).where('id', '=', oid).executeTakeFirstOrThrow();
  expect(row.retries).toBe(1);
});

test("a stale queue entry of a failed job never resurrects it: the entry fails again with the job's reason", async () => {
  // The cause is fixed by now (asaas credential set above), so a resurrected job would succeed.
  stack.worker = await startWorker(stack.config, silentLogger());
  const before = await job(firstFailed);
  expect(before.status).toBe('failed');
  // A duplicate entry appears (removed and added again, as a stray producer or a lost-and-found entry would).
  await (await queue.getJob(firstFailed))!.remove();
  await queue.add('job.run', { job_id: firstFailed, tenant_id: T }, { jobId: firstFailed, attempts: 2 });
  await redis.multi().sadd(coordinationKeys(stack.prefix).activeTenants, T).publish(coordinationKeys(stack.prefix).activationChannel, T).exec();
  await waitFor(async () => (await queue.getJobState(firstFailed)) === 'failed', { what: 'the stale entry to be failed' });
  // Read after the state says failed: an entry read before the move lacks its failedReason.
  const entry = (await queue.getJob(firstFailed))!;
  expect(entry.failedReason).toBe(`tool_failed: ${before.error.message}`);
  expect(entry.attemptsMade).toBe(1);
  const after = await job(firstFailed);
  expect(after).toMatchObject({ status: 'failed', attempts: 1, error: before.error, finished_at: before.finished_at });
  expect(after.tool_calls).toEqual(before.tool_calls);
});
