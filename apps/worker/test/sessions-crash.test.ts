/**
 * A session's execute survives its worker: a real worker process is SIGKILLed after the provider
 * made the call's object but before it answered; a second worker runs the call again (BullMQ's
 * stalled check), the provider sees the same idempotency key and makes nothing new, and the call is
 * one usage row. The request that was waiting gets the answer.
 */
import { apiClient, codesparWire, waitFor } from '@agents/testkit';
import { CREDENTIALS, LOJA, sandboxObjects } from './agent-helpers';
import { startCrashRig, stopProcess } from './worker-processes';
import type { CrashRig } from './worker-processes';

jest.setTimeout(90_000);

let rig: CrashRig;

beforeAll(async () => {
  // The provider commits, then takes 3 s to answer: the worker is killed inside that window.
  rig = await startCrashRig('sessions_crash', { sandbox: { answerDelayMs: 3000 } });
});

afterAll(async () => {
  await rig?.close();
});

test('a worker SIGKILLed during a session execute: one provider object, one usage row, one answer', async () => {
  const key = (await apiClient(rig.api.url)('POST', '/v1/admin/api-keys', { body: { environment: 'live' } })).body.key as string;
  const wire = codesparWire({ baseUrl: rig.api.url, apiKey: key });
  const first = rig.workers.spawn(rig.env);
  const session = await wire.create(LOJA, { servers: ['asaas'] });
  const pending = session.execute('asaas__create_customer', { name: 'Maria Silva', cpfCnpj: '52998224725' });

  // The provider has made the object (its request log says so) and is still answering.
  const reached = await waitFor(() => rig.sandbox.requestLog.find((r) => r.tool === 'create_customer'), {
    what: 'the call to reach the provider',
    timeoutMs: 30_000,
  });
  await stopProcess(first, 'SIGKILL');
  rig.workers.spawn(rig.env);

  const result = await pending;
  expect(result).toMatchObject({ success: true, server: 'asaas', tool: 'create_customer' });
  expect(reached.idempotency_key).toBe(result.tool_call_id);
  // Both runs reached the provider with the same key; it made one object.
  expect(rig.sandbox.requestLog.filter((r) => r.idempotency_key === result.tool_call_id)).toHaveLength(2);
  const objects = await sandboxObjects(rig.sandbox.url, 'asaas', CREDENTIALS[LOJA]!.asaas!.api_key!);
  expect(objects.filter((o) => o.idempotency_key === result.tool_call_id)).toHaveLength(1);
  const rows = await rig.tdb.db.selectFrom('usage_events').select(['id', 'session_id', 'success']).where('session_id', '=', session.id).execute();
  expect(rows).toEqual([{ id: result.tool_call_id, session_id: session.id, success: true }]);
});
