/**
 * The built worker bundle (scripts/build-app.mjs) ships the scripted model's scenario fixtures
 * next to itself and finds them: built into a temporary folder and started from an unrelated
 * working directory with no OPENAI_API_KEY, it runs an agent job on the scripted model. Before,
 * DEFAULT_FIXTURES_DIR resolved relative to the bundle to a folder the build did not have, and a
 * built `npm start` ran no worker at all.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { createSandboxServer } from '@agents/sandbox';
import type { SandboxServer } from '@agents/sandbox';
import { silentLogger } from '@agents/observability';
import { apiClient, configEnv, createTestDatabase, flushPrefix, testConfig, testRedisPrefix, waitFor } from '@agents/testkit';
import type { ApiCall, TestDatabase } from '@agents/testkit';
import { alive, stopProcess } from './worker-processes';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURES = path.join(ROOT, 'packages/agent/fixtures/scenarios');

let out: string;
let tdb: TestDatabase;
let prefix: string;
let sandbox: SandboxServer;
let api: ApiServer;
let worker: ChildProcess | undefined;
let stderr = '';
let call: ApiCall;

beforeAll(async () => {
  out = mkdtempSync(path.join(os.tmpdir(), 'worker-bundle-'));
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-app.mjs'), '--outdir', out], {
    cwd: path.join(ROOT, 'apps/worker'),
    encoding: 'utf8',
  });
  expect({ status: built.status, stderr: built.stderr }).toEqual({ status: 0, stderr: '' });
  tdb = await createTestDatabase('bundle');
  prefix = testRedisPrefix();
  sandbox = await createSandboxServer({ port: 0, logger: silentLogger() });
  const config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url });
  api = await startApi(config, silentLogger(), { port: 0 });
  call = apiClient(api.url);
  // No OPENAI_* at all: the scripted model with its default fixtures.
  worker = spawn(process.execPath, [path.join(out, 'main.js')], {
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...configEnv(config), WORKER_METRICS_PORT: '0', SHUTDOWN_GRACE_MS: '1000', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  worker.stderr!.on('data', (d) => (stderr += d));
});

afterAll(async () => {
  if (worker && alive(worker)) await stopProcess(worker, 'SIGKILL');
  await api?.close();
  await sandbox?.close();
  await tdb?.close();
  await flushPrefix(prefix);
  if (out) rmSync(out, { recursive: true, force: true });
});

test('the build copies every scenario fixture next to the bundle', () => {
  const json = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  expect(json(FIXTURES).length).toBeGreaterThan(0);
  expect(json(path.join(out, 'fixtures/scenarios'))).toEqual(json(FIXTURES));
});

test('the built worker, with no model key and run from elsewhere, finds them and runs a scripted agent job; SIGTERM exits 0', async () => {
  expect((await call('POST', '/v1/admin/tenants', { body: { id: 'tenant_loja', servers: ['asaas', 'z-api'] } })).status).toBe(201);
  for (const [server, values] of Object.entries({
    asaas: { api_key: 'aact_sandbox_bundle_0001' },
    'z-api': { instance_id: 'zapi-instance-bundle-01', token: 'zapi-token-bundle-0001', client_token: 'zapi-client-token-b1' },
  })) {
    expect((await call('PUT', `/v1/tenants/tenant_loja/credentials/${server}`, { body: { values } })).status).toBe(204);
  }
  const submitted = await call('POST', '/v1/tenants/tenant_loja/jobs', {
    body: {
      type: 'agent',
      input: 'Create a Pix charge of R$50 for Maria Silva (CPF 529.982.247-25) and WhatsApp her the payment link at +55 31 99988-7766',
    },
  });
  expect(submitted.status).toBe(202);
  const job = await waitFor(
    async () => {
      if (!alive(worker!)) throw new Error(`the built worker exited: ${stderr}`);
      const r = await call('GET', `/v1/tenants/tenant_loja/jobs/${submitted.body.id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    { timeoutMs: 30_000, what: 'the agent job' },
  );
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: null });
  expect(job.tool_calls.map((c: { server: string; tool: string }) => `${c.server}/${c.tool}`)).toEqual(
    expect.arrayContaining(['asaas/create_payment', 'z-api/send_text']),
  );
  expect(stderr).not.toMatch(/scenario fixtures/i);

  const exited = new Promise<number | null>((resolve) => worker!.once('exit', (code) => resolve(code)));
  worker!.kill('SIGTERM');
  expect(await exited).toBe(0);
});
