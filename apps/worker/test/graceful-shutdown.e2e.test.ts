/**
 * SIGTERM to a worker process in the middle of a job: the process stops taking work, exits 0
 * within its grace period, and the job is finished there or resumed by another worker from its
 * checkpoints, with every step run exactly once.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, configEnv, createTestDatabase, flushPrefix, testConfig, testRedisPrefix, waitFor } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { startWorker } from '../src/worker';
import type { WorkerProcess } from '../src/worker';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../../..');
const TENANT = 'tenant_shutdown';
const STEPS = 40;

let tdb: TestDatabase;
let prefix: string;
let sandbox: Awaited<ReturnType<typeof createSandboxServer>>;
let api: ApiServer;
let child: ChildProcess | undefined;
let other: WorkerProcess | undefined;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  tdb = await createTestDatabase('shutdown');
  prefix = testRedisPrefix();
  // 100 ms per tool call: a 40-step job runs ~4 s, so SIGTERM lands mid-job.
  sandbox = await createSandboxServer({ port: 0, logger: silentLogger(), callLatencyMs: 100 });
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url }), silentLogger(), { port: 0 });
  call = apiClient(api.url);
  expect((await call('POST', '/v1/admin/tenants', { body: { id: TENANT, name: 'Shutdown', servers: ['asaas'] } })).status).toBe(201);
  expect(
    (await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas?environment=live`, { body: { values: { api_key: 'aact_shutdown_key_0001' } } })).status,
  ).toBe(204);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await other?.close(1000);
  await api?.close();
  await sandbox?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test('SIGTERM during a running job: exit 0, and the job completes with each step once', async () => {
  const config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url, SHUTDOWN_GRACE_MS: '300' });
  let stderr = '';
  child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'apps/worker/src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...configEnv(config) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

  const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, {
    body: { type: 'workflow', steps: Array.from({ length: STEPS }, () => ({ tool: 'asaas/get_balance', args: {} })) },
  });
  expect(r.status).toBe(202);
  const jobId = r.body.id as string;

  // Running in the child, with a few steps checkpointed.
  await waitFor(
    async () => {
      const j = await call('GET', `/v1/tenants/${TENANT}/jobs/${jobId}`);
      return j.body.status === 'running' && j.body.tool_calls.length >= 3;
    },
    { what: 'the job to be running in the child worker', timeoutMs: 30_000 },
  );

  child.kill('SIGTERM');
  const code = await exited;
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });

  const afterExit = (await call('GET', `/v1/tenants/${TENANT}/jobs/${jobId}`)).body;
  if (afterExit.status !== 'succeeded') {
    // Cut off at the deadline and handed back: another worker resumes it from its checkpoints.
    expect(afterExit.tool_calls.length).toBeLessThan(STEPS);
    other = await startWorker(config, silentLogger());
  }
  const done = await waitFor(
    async () => {
      const j = await call('GET', `/v1/tenants/${TENANT}/jobs/${jobId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(j.body.status) ? j.body : undefined;
    },
    { what: 'the job to finish', timeoutMs: 30_000 },
  );
  expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: null });
  expect(done.tool_calls).toHaveLength(STEPS);
  const usage = await tdb.db.selectFrom('usage_events').select('idempotency_key').where('job_id', '=', jobId).where('kind', '=', 'tool_call').execute();
  expect(new Set(usage.map((u) => u.idempotency_key)).size).toBe(STEPS);
  expect(usage).toHaveLength(STEPS);
});
