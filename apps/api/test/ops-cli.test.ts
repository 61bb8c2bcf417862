/** The ops CLI (scripts/ops.ts) against a real API, database and Redis, run as operators run it. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { silentLogger } from '@agents/observability';
import { configEnv, createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { newId } from '@agents/db';
import { startApi } from '../src/server';
import type { ApiServer } from '../src/server';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../../..');
let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let env: Record<string, string>;

/** Runs the CLI as a child process (asynchronously: the API under test lives in this process). */
function ops(...args: string[]): Promise<{ code: number; out: string; err: string; json: () => any }> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'scripts/ops.ts'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr, json: () => JSON.parse(stdout) });
      },
    );
  });
}

beforeAll(async () => {
  tdb = await createTestDatabase('opscli');
  prefix = testRedisPrefix();
  const config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: 'http://127.0.0.1:9' });
  api = await startApi(config, silentLogger(), { port: 0 });
  env = { ...configEnv(config), API_URL: api.url, RECONCILE_GRACE_MS: '0' };
});

afterAll(async () => {
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test('creates and lists tenants, sets credentials without echoing them, refuses bad usage', async () => {
  const created = await ops('tenants', 'create', '--id', 'tenant_cli', '--servers', 'asaas', '--name', 'CLI', '--json');
  expect(created.code).toBe(0);
  expect(created.json()).toMatchObject({ id: 'tenant_cli', servers: ['asaas'] });
  const list = await ops('tenants', 'list', '--json');
  expect(list.json().data.map((t: { id: string }) => t.id)).toContain('tenant_cli');
  // Without --json: a table, a header row of field names, a rule, one row per tenant.
  const tableOut = await ops('tenants', 'list');
  expect(tableOut.code).toBe(0);
  const lines = tableOut.out.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^id\s+/);
  expect(lines[1]).toMatch(/^-+\s+-+/);
  expect(lines.find((l) => l.startsWith('tenant_cli '))).toMatch(/\basaas\b/);
  expect(() => JSON.parse(tableOut.out)).toThrow();
  const shown = await ops('tenants', 'show', '--id', 'tenant_cli');
  expect(shown.out).toMatch(/^id\s+tenant_cli$/m);
  const cred = await ops(
    'credentials',
    'set',
    '--tenant',
    'tenant_cli',
    '--server',
    'asaas',
    '--environment',
    'live',
    '--value',
    'api_key=aact_cli_secret_value_1',
    '--json',
  );
  expect(cred.code).toBe(0);
  expect(cred.out).not.toContain('aact_cli_secret_value_1');
  expect(cred.json()).toEqual({ server: 'asaas', fields: ['api_key'] });
  const bad = await ops('tenants', 'create', '--servers', 'asaas');
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/--id is required/);
  const dup = await ops('tenants', 'create', '--id', 'tenant_cli', '--servers', 'asaas');
  expect(dup.code).toBe(1);
  expect(dup.err).toMatch(/409 tenant_exists/);
});

test('lists failed jobs and re-runs the reconciler', async () => {
  const id = newId('job');
  await tdb.db
    .insertInto('jobs')
    .values({
      id,
      tenant_id: 'tenant_cli',
      environment: 'live',
      type: 'workflow',
      status: 'queued',
      input: null,
      steps: JSON.stringify([{ tool: 'asaas/get_balance', args: {} }]),
      servers: ['asaas'],
      metadata: JSON.stringify({ tenant_id: 'tenant_cli' }),
      callback_url: null,
      max_iterations: null,
      model: null,
      idempotency_key: null,
      request_hash: null,
    })
    .execute();
  const rec = await ops('reconcile', '--json');
  expect(rec.code).toBe(0);
  expect(rec.json()).toEqual({ enqueued: 1 });
  const failed = await ops('jobs', 'failed', '--tenant', 'tenant_cli', '--json');
  expect(failed.code).toBe(0);
  expect(failed.json().data).toEqual([]);
  expect((await ops('jobs', 'failed', '--tenant', 'tenant_cli')).out.trim()).toBe('(none)');

  // No worker runs here: the job stays queued until the CLI cancels it.
  const cancelled = await ops('jobs', 'cancel', 'tenant_cli', id, '--json');
  expect(cancelled.code).toBe(0);
  expect(cancelled.json()).toMatchObject({ id, status: 'cancelled' });
  const shown = await ops('jobs', 'show', 'tenant_cli', id);
  expect(shown.out).toMatch(/^status\s+cancelled$/m);
  const again = await ops('jobs', 'cancel', 'tenant_cli', id);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/409 job_not_cancellable/);

  // Cancelled stays final: the CLI's retry reaches the API's route, which refuses it.
  const retry = await ops('jobs', 'retry', 'tenant_cli', id);
  expect(retry.code).toBe(1);
  expect(retry.err).toMatch(/POST \/v1\/tenants\/tenant_cli\/jobs\/job_\w+\/retry → 409 job_not_retryable/);
});

test('npm run ops -- … is the entry point', async () => {
  const r = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      'npm',
      ['run', '-s', 'ops', '--', 'tenants', 'list'],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout }),
    );
  });
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^tenant_cli\s/m);
});
