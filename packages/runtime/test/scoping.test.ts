import { silentLogger } from '@agents/observability';
import { createRuntime } from '../src/runtime';
import type { Runtime } from '../src/runtime';
import { getTools, handleToolCall } from '../src/openai-adapter';
import { startFakeHttpServer } from './fixtures/fake-http-server';
import type { FakeHttpServer } from './fixtures/fake-http-server';
import { credentialsFrom, fakeCatalog, recorder } from './helpers';

describe('scoping: names outside the session never reach a server', () => {
  let fake: FakeHttpServer;
  let runtime: Runtime;
  const rec = recorder();

  beforeAll(async () => {
    fake = await startFakeHttpServer();
  });
  beforeEach(() => {
    rec.records.length = 0;
    fake.requestLog.length = 0;
    runtime = createRuntime({
      catalog: fakeCatalog(fake.url),
      credentials: credentialsFrom({
        t1: {
          asaas: { values: { api_key: 'acct-t1-asaas' }, version: '1' },
          stripe: { values: { secret_key: 'acct-t1-stripe' }, version: '1' },
        },
      }),
      logger: silentLogger(),
      onToolCall: rec.meter,
      sweepIntervalMs: 0,
    });
  });
  afterEach(async () => {
    await runtime.close();
  });
  afterAll(async () => {
    await fake.close();
  });

  const cross = [
    'stripe/create_payment',
    'stripe__create_payment',
    'Asaas/create_payment',
    'ASAAS__create_payment',
    '../stripe/create_payment',
    'ａｓａａｓ/create_payment',
    'аsaas/create_payment',
    'as\u200baas/create_payment',
    'other_server__create_payment',
    'z-api/create_payment',
  ];

  it.each(cross)('%s → server_not_in_session, denied, no request at all', async (name) => {
    const session = runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    const r = await session.execute(name, { value: 1 });
    expect(r).toMatchObject({ success: false, error_code: 'server_not_in_session', data: null });
    expect(r.tool_call_id).toMatch(/^tc_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(rec.records).toHaveLength(1);
    expect(rec.records[0]).toMatchObject({ denied: true, error_code: 'server_not_in_session', tenant_id: 't1' });
    expect(fake.requestLog).toEqual([]);
    expect(runtime.stats().connections).toBe(0);
  });

  it.each(['', 'create_payment', 'x'.repeat(100_000)])('%s → tool_not_found, no request at all', async (name) => {
    const session = runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    const r = await session.execute(name, {});
    expect(r).toMatchObject({ success: false, error_code: 'tool_not_found' });
    expect(rec.records).toEqual([expect.objectContaining({ denied: true, error_code: 'tool_not_found' })]);
    expect(fake.requestLog).toEqual([]);
  });

  it.each(['asaas__../x', 'asaas/create_payment/extra', 'asaas/../stripe/create_payment', 'asaas/CREATE_PAYMENT', 'asaas/create_payment\u200b'])(
    '%s → tool_not_found; only the own server is listed, no tools/call',
    async (name) => {
      const session = runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
      const r = await session.execute(name, {});
      expect(r).toMatchObject({ success: false, error_code: 'tool_not_found', server: 'asaas' });
      expect(rec.records).toEqual([expect.objectContaining({ denied: true, error_code: 'tool_not_found' })]);
      expect(fake.requestLog.filter((l) => l.method === 'tools/call')).toEqual([]);
      expect(fake.requestLog.every((l) => l.account === 'acct-t1-asaas')).toBe(true);
    },
  );

  it('end to end: tools() and the OpenAI adapter expose and accept only the session servers', async () => {
    const session = runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    const defs = await getTools(session);
    expect(defs.map((d) => d.function.name).every((n) => n.startsWith('asaas__'))).toBe(true);
    const ok = await handleToolCall(session, {
      id: 'call_1',
      type: 'function',
      function: { name: 'asaas__create_payment', arguments: '{"value": 10}' },
    });
    expect(ok).toMatchObject({ success: true, server: 'asaas', tool: 'create_payment', data: { account: 'acct-t1-asaas' } });
    const denied = await handleToolCall(session, {
      id: 'call_2',
      type: 'function',
      function: { name: 'stripe__create_payment', arguments: '{"value": 10}' },
    });
    expect(denied).toMatchObject({ success: false, error_code: 'server_not_in_session' });
    const calls = fake.requestLog.filter((l) => l.method === 'tools/call');
    expect(calls).toEqual([expect.objectContaining({ tool: 'create_payment', account: 'acct-t1-asaas' })]);
    expect(rec.records.map((r) => [r.server, r.tool, r.denied])).toEqual([
      ['asaas', 'create_payment', false],
      ['stripe', 'create_payment', true],
    ]);
  });

  it('refuses unknown servers at create and pins tenant_id in metadata', () => {
    expect(() => runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['nope'] })).toThrow(
      expect.objectContaining({ code: 'unknown_server' }),
    );
    const s = runtime.sessions.create({
      tenantId: 't1',
      environment: 'live',
      servers: ['asaas', 'asaas'],
      metadata: { tenant_id: 'someone-else', order_id: 'A-1' },
    });
    expect(s.metadata).toEqual({ tenant_id: 't1', order_id: 'A-1' });
    expect(s.servers).toEqual(['asaas']);
  });
});
