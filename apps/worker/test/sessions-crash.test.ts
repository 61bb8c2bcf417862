/**
 * A session's execute survives its worker: a real worker process is SIGKILLed after the provider
 * made the call's object but before it answered; a second worker runs the call again (BullMQ's
 * stalled check), the provider sees the same idempotency key and makes nothing new, and the call is
 * one usage row. The request that was waiting gets the answer.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, codesparWire, createTestDatabase, flushPrefix, testRedisPrefix, waitFor } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { CREDENTIALS, LOJA, sandboxObjects, seedTenants, startTestModel } from './agent-helpers';
import type { TestModel } from './agent-helpers';
import { crashTestWorkerEnv, stopProcess, workerProcesses } from './worker-processes';

jest.setTimeout(90_000);

let tdb: TestDatabase;
let prefix: string;
let sandbox: Awaited<ReturnType<typeof createSandboxServer>>;
let model: TestModel;
let api: ApiServer;
let env: Record<string, string>;
const workers = workerProcesses();

beforeAll(async () => {
  tdb = await createTestDatabase('sessions_crash');
  prefix = testRedisPrefix();
  // The provider commits, then takes 3 s to answer: the worker is killed inside that window.
  sandbox = await createSandboxServer({ port: 0, logger: silentLogger(), answerDelayMs: 3000 });
  model = await startTestModel();
  const worker = crashTestWorkerEnv({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url }, model.server.url);
  env = worker.env;
  api = await startApi(worker.config, silentLogger(), { port: 0 });
  await seedTenants(apiClient(api.url));
});

afterAll(async () => {
  await workers.killAll();
  await api?.close();
  await model?.server.close();
  await sandbox?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test('a worker SIGKILLed during a session execute: one provider object, one usage row, one answer', async () => {
  const key = (await apiClient(api.url)('POST', '/v1/admin/api-keys', { body: { environment: 'live' } })).body.key as string;
  const wire = codesparWire({ baseUrl: api.url, apiKey: key });
  const first = workers.spawn(env);
  const session = await wire.create(LOJA, { servers: ['asaas'] });
  const pending = session.execute('asaas__create_customer', { name: 'Maria Silva', cpfCnpj: '52998224725' });

  // The provider has made the object (its request log says so) and is still answering.
  const reached = await waitFor(() => sandbox.requestLog.find((r) => r.tool === 'create_customer'), {
    what: 'the call to reach the provider',
    timeoutMs: 30_000,
  });
  await stopProcess(first, 'SIGKILL');
  workers.spawn(env);

  const result = await pending;
  expect(result).toMatchObject({ success: true, server: 'asaas', tool: 'create_customer' });
  expect(reached.idempotency_key).toBe(result.tool_call_id);
  // Both runs reached the provider with the same key; it made one object.
  expect(sandbox.requestLog.filter((r) => r.idempotency_key === result.tool_call_id)).toHaveLength(2);
  const objects = await sandboxObjects(sandbox.url, 'asaas', CREDENTIALS[LOJA]!.asaas!.api_key!);
  expect(objects.filter((o) => o.idempotency_key === result.tool_call_id)).toHaveLength(1);
  const rows = await tdb.db.selectFrom('usage_events').select(['id', 'session_id', 'success']).where('session_id', '=', session.id).execute();
  expect(rows).toEqual([{ id: result.tool_call_id, session_id: session.id, success: true }]);
});
