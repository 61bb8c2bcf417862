import { silentLogger } from '@agents/observability';
import { createRuntime } from '../src/runtime';
import type { Runtime } from '../src/runtime';
import type { ToolCallIntent } from '../src/types';
import { startFakeHttpServer } from './fixtures/fake-http-server';
import type { FakeHttpServer } from './fixtures/fake-http-server';
import { credentialsFrom, fakeCatalog, recorder } from './helpers';

describe('beforeExecute: admission right before a call reaches its server', () => {
  let fake: FakeHttpServer;
  let runtime: Runtime;
  const rec = recorder();
  const seen: ToolCallIntent[] = [];
  let allow = true;

  beforeAll(async () => {
    fake = await startFakeHttpServer();
    runtime = createRuntime({
      catalog: fakeCatalog(fake.url),
      credentials: credentialsFrom({ t1: { asaas: { values: { api_key: 'acct-t1-asaas' }, version: '1' } } }),
      logger: silentLogger(),
      onToolCall: rec.meter,
      sweepIntervalMs: 0,
      async beforeExecute(call) {
        seen.push(call);
        if (!allow) throw Object.assign(new Error('quota spent'), { code: 'quota_exceeded' });
      },
    });
  });
  afterAll(async () => {
    await runtime.close();
    await fake.close();
  });

  test('an admitted call goes through; a refused one rejects, reaches no server and is not metered', async () => {
    const session = runtime.sessions.create({ tenantId: 't1', environment: 'live', servers: ['asaas'] });
    const ok = await session.execute('asaas/create_payment', { value: 1 }, { idempotencyKey: 'job_1:0' });
    expect(ok.success).toBe(true);
    expect(seen).toEqual([{ tenantId: 't1', environment: 'live', sessionId: session.id, server: 'asaas', tool: 'create_payment', idempotencyKey: 'job_1:0' }]);
    const requestsBefore = fake.requestLog.length;
    const recordsBefore = rec.records.length;

    allow = false;
    await expect(session.execute('asaas/create_payment', { value: 2 })).rejects.toMatchObject({ code: 'quota_exceeded' });
    expect(fake.requestLog.length).toBe(requestsBefore);
    expect(rec.records.length).toBe(recordsBefore);

    // Calls refused by scoping never get as far as the hook.
    seen.length = 0;
    const denied = await session.execute('stripe/create_payment', {});
    expect(denied.error_code).toBe('server_not_in_session');
    expect(seen).toEqual([]);
    await session.close();
  });
});
