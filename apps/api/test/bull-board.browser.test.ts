/**
 * Bull Board as ops staff use it, in a real browser (Debian's Chromium driven by playwright-core;
 * scripts/ensure-chromium.mjs installs it): HTTP Basic with the operator key, both seed tenants'
 * queues with their counts, a failed job opened and retried; a job that failed for a business reason
 * (a workflow step without its credential) listed under Failed with the job's reason, and its Retry,
 * once the credential is set, making the job succeed in the API. Screenshots: test-artifacts/bull-board*.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import { Queue } from 'bullmq';
import type { RedisConnection } from '@agents/queue';
import { createSandboxServer } from '@agents/sandbox';
import { silentLogger } from '@agents/observability';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { startWorker } from '@agents/worker';
import type { WorkerProcess } from '@agents/worker';
import {
  TEST_OPERATOR_KEY,
  TEST_REDIS_URL,
  apiClient,
  createTestDatabase,
  flushPrefix,
  testConfig,
  testRedisPrefix,
  waitFor,
  openTestRedis,
} from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { startApi } from '../src/server';
import type { ApiServer } from '../src/server';

jest.setTimeout(90_000);

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '../../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const BROKEN_JOB = 'job_broken_payload_0001';

let tdb: TestDatabase;
let prefix: string;
let sandbox: Awaited<ReturnType<typeof createSandboxServer>>;
let api: ApiServer;
let worker: WorkerProcess | undefined;
let redis: RedisConnection;
let lojaQueue: Queue;
let context: BrowserContext | undefined;
let profileDir: string;
let call: ReturnType<typeof apiClient>;
let config: ReturnType<typeof testConfig>;
let businessFailed: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run "node scripts/ensure-chromium.mjs" (npm test does it) or "apt-get install -y chromium".`);
  }
  tdb = await createTestDatabase('board');
  prefix = testRedisPrefix();
  sandbox = await createSandboxServer({ port: 0, logger: silentLogger() });
  config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url, JOB_ATTEMPTS: '1', BULL_BOARD_REFRESH_MS: '1000' });
  api = await startApi(config, silentLogger(), { port: 0 });
  call = apiClient(api.url);
  redis = openTestRedis({ maxRetriesPerRequest: null });
  for (const id of ['tenant_acme', 'tenant_loja']) {
    expect((await call('POST', '/v1/admin/tenants', { body: { id, name: id, servers: ['asaas'] } })).status).toBe(201);
  }
  // A job whose payload no processor accepts fails in BullMQ itself: what ops retry from the board.
  lojaQueue = new Queue(tenantQueueName('tenant_loja'), { connection: redis, prefix: tenantBullPrefix(prefix, 'tenant_loja') });
  await lojaQueue.add('job.run', { job_id: BROKEN_JOB }, { jobId: BROKEN_JOB, attempts: 1 });
  const keys = coordinationKeys(prefix);
  await redis.sadd(keys.activeTenants, 'tenant_loja');
  worker = await startWorker(config, silentLogger());
  await redis.publish(keys.activationChannel, 'tenant_loja');
  await waitFor(async () => (await lojaQueue.getJobState(BROKEN_JOB)) === 'failed', { what: 'the broken job to fail' });
  // A job that fails for a business reason: tenant_loja has no asaas credential yet.
  const sub = await call('POST', '/v1/tenants/tenant_loja/jobs', { body: { type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] } });
  expect(sub.status).toBe(202);
  businessFailed = sub.body.id as string;
  await waitFor(async () => (await call('GET', `/v1/tenants/tenant_loja/jobs/${businessFailed}`)).body.status === 'failed', { what: 'the workflow to fail' });
  await waitFor(async () => (await lojaQueue.getJobState(businessFailed)) === 'failed', { what: 'its queue entry to be failed' });
  await worker.close(1000);
  worker = undefined;
  // With no worker running, these stay waiting: 2 for acme, 1 for loja.
  const step = { type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] };
  for (const tid of ['tenant_acme', 'tenant_acme', 'tenant_loja']) expect((await call('POST', `/v1/tenants/${tid}/jobs`, { body: step })).status).toBe(202);

  // A fresh profile per run (playwright passes it as --user-data-dir).
  profileDir = mkdtempSync(path.join(os.tmpdir(), 'bull-board-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    httpCredentials: { username: 'ops', password: TEST_OPERATOR_KEY },
    viewport: { width: 1400, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await worker?.close(1000);
  await lojaQueue?.close();
  redis?.disconnect();
  await api?.close();
  await sandbox?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test('without operator credentials the board answers 401 with a Basic challenge', async () => {
  const none = await fetch(`${api.url}/admin/queues`);
  expect(none.status).toBe(401);
  expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
  const wrong = await fetch(`${api.url}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from('ops:not-the-key').toString('base64')}` } });
  expect(wrong.status).toBe(401);
  const bearer = await fetch(`${api.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } });
  expect(bearer.status).toBe(401);
});

test('an operator sees both tenants with their counts, opens the failed job and retries it', async () => {
  const page = await context!.newPage();
  try {
    const res = await page.goto(`${api.url}/admin/queues`);
    expect(res?.status()).toBe(200);
    await page.getByText('tenant_acme').first().waitFor();
    await page.getByText('tenant_loja').first().waitFor();

    // The board's own API (what the page renders) reports the counts per tenant queue.
    const queues = await page.evaluate(
      async () => (await (await fetch('api/queues')).json()) as { queues: { name: string; counts: Record<string, number> }[] },
    );
    const counts = Object.fromEntries(queues.queues.map((q) => [q.name, q.counts]));
    expect(counts['tenant.tenant_acme']).toMatchObject({ waiting: 2, failed: 0 });
    expect(counts['tenant.tenant_loja']).toMatchObject({ waiting: 1, failed: 2 });
    expect(Object.keys(counts)).toEqual(expect.arrayContaining(['system.webhooks', 'system.billing']));

    // Open the failed job of tenant_loja.
    await page.goto(`${api.url}/admin/queues/queue/${encodeURIComponent('tenant.tenant_loja')}?status=failed`);
    await page.getByText(BROKEN_JOB).first().waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'bull-board.png'), fullPage: true });

    page.on('dialog', (d) => void d.accept());
    // The job card's own retry button: the first action after the job id (not the queue's "Retry all").
    await page.locator(`xpath=//*[text()="${BROKEN_JOB}"]/following::button[1]`).click();
    const confirm = page.getByRole('alertdialog').getByRole('button', { name: /retry|confirm|yes/i });
    if (await confirm.count()) await confirm.first().click();
    await waitFor(async () => (await lojaQueue.getJobState(BROKEN_JOB)) === 'waiting', { what: 'the retried job to be waiting again' });
  } finally {
    await page.close();
  }
});

test('a business-failed job is under Failed with its reason; once the cause is fixed, its Retry makes it succeed', async () => {
  const page = await context!.newPage();
  try {
    const before = (await call('GET', `/v1/tenants/tenant_loja/jobs/${businessFailed}`)).body;
    expect(before).toMatchObject({ status: 'failed', error: { code: 'tool_failed' } });
    await page.goto(`${api.url}/admin/queues/queue/${encodeURIComponent('tenant.tenant_loja')}?status=failed`);
    await page.getByText(businessFailed).first().waitFor();
    // The reason on the card is the job's own error, as the API tells it.
    await page.getByText(`tool_failed: ${before.error.message}`).first().waitFor();
    // The board's data of the job: ids only in its payload, the summary (type, servers, error) in its logs.
    const jobInfo = await page.evaluate(
      async (id) =>
        (await (await fetch(`api/queues/${encodeURIComponent('tenant.tenant_loja')}/${id}`)).json()) as { job: { failedReason: string; data: unknown } },
      businessFailed,
    );
    expect(jobInfo.job.failedReason).toBe(`tool_failed: ${before.error.message}`);
    expect(jobInfo.job.data).toEqual({ job_id: businessFailed, tenant_id: 'tenant_loja' });
    const logs = await page.evaluate(
      async (id) => (await (await fetch(`api/queues/${encodeURIComponent('tenant.tenant_loja')}/${id}/logs`)).json()) as string[],
      businessFailed,
    );
    expect(JSON.parse(logs.at(-1)!)).toMatchObject({ status: 'failed', type: 'workflow', servers: ['asaas'], attempts: 1, error: { code: 'tool_failed' } });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'bull-board-business-failed.png'), fullPage: true });

    // The cause fixed (the credential set) and a worker running, ops click the job's Retry.
    expect(
      (await call('PUT', '/v1/tenants/tenant_loja/credentials/asaas?environment=live', { body: { values: { api_key: '$aact_board_retry_0001' } } })).status,
    ).toBe(204);
    worker = await startWorker(config, silentLogger());
    page.on('dialog', (d) => void d.accept());
    await page.locator(`xpath=//*[text()="${businessFailed}"]/following::button[1]`).click();
    const confirm = page.getByRole('alertdialog').getByRole('button', { name: /retry|confirm|yes/i });
    if (await confirm.count()) await confirm.first().click();
    const after = await waitFor(
      async () => {
        const j = (await call('GET', `/v1/tenants/tenant_loja/jobs/${businessFailed}`)).body;
        return j.status === 'succeeded' ? j : undefined;
      },
      { what: 'the retried job to succeed in the API' },
    );
    expect(after).toMatchObject({ error: null, attempts: 2 });
    expect(after.tool_calls.map((c: { success: boolean }) => c.success)).toEqual([false, true]);
    await waitFor(async () => (await lojaQueue.getJobState(businessFailed)) === 'completed', { what: 'its entry to be completed' });
  } finally {
    await page.close();
  }
});
