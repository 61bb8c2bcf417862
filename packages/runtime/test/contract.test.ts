import { silentLogger } from '@agents/observability';
import { createRuntime } from '../src/runtime';
import type { Runtime } from '../src/runtime';
import { startFakeHttpServer } from './fixtures/fake-http-server';
import type { FakeHttpServer } from './fixtures/fake-http-server';
import { credentialsFrom, fakeCatalog, recorder } from './helpers';

/** One suite, two transports: the runtime must behave identically over Streamable HTTP and stdio. */
describe.each(['http', 'stdio'] as const)('runtime contract over %s', (transport) => {
  let fake: FakeHttpServer;
  let runtime: Runtime;
  const rec = recorder();

  beforeAll(async () => {
    fake = await startFakeHttpServer();
    runtime = createRuntime({
      catalog: fakeCatalog(fake.url, transport),
      credentials: credentialsFrom({
        ten_a: { asaas: { values: { api_key: 'acct-contract-a' }, version: 'v1' } },
      }),
      logger: silentLogger(),
      onToolCall: rec.meter,
      sweepIntervalMs: 0,
    });
  });
  afterAll(async () => {
    await runtime.close();
    await fake.close();
  });

  const open = () => runtime.sessions.create({ tenantId: 'ten_a', environment: 'test', servers: ['asaas'], metadata: { job_id: 'job_1' } });

  it('lists tools with canonical and model names and JSON schemas', async () => {
    const s = open();
    const tools = await s.tools();
    const create = tools.find((t) => t.name === 'asaas/create_payment');
    expect(create).toEqual({
      name: 'asaas/create_payment',
      description: 'Create a payment',
      input_schema: expect.objectContaining({ type: 'object', required: ['value'] }),
      server: 'asaas',
      tool: 'create_payment',
      model_name: 'asaas__create_payment',
    });
    await s.close();
  });

  it('executes: structuredContent as data, tenant credentials injected, record with metadata', async () => {
    const s = open();
    rec.records.length = 0;
    const r = await s.execute('asaas/create_payment', { value: 42, note: 'pii-marker' });
    expect(r).toMatchObject({
      success: true,
      error: null,
      error_code: null,
      server: 'asaas',
      tool: 'create_payment',
      data: { account: 'acct-contract-a', value: 42 },
    });
    expect(typeof r.duration).toBe('number');
    expect(rec.records).toEqual([
      expect.objectContaining({
        tool_call_id: r.tool_call_id,
        tenant_id: 'ten_a',
        session_id: s.id,
        environment: 'test',
        success: true,
        denied: false,
        metadata: { job_id: 'job_1', tenant_id: 'ten_a' },
      }),
    ]);
    // No args or results in usage rows.
    expect(JSON.stringify(rec.records)).not.toContain('pii-marker');
    expect(JSON.stringify(rec.records)).not.toContain('pay_');
    expect(Object.keys(rec.records[0]!).sort()).toEqual([
      'denied',
      'duration_ms',
      'environment',
      'error_code',
      'idempotency_key',
      'metadata',
      'server',
      'session_id',
      'success',
      'tenant_id',
      'tool',
      'tool_call_id',
    ]);
    await s.close();
  });

  it('forwards the idempotency key in _meta (a repeat returns the same object)', async () => {
    const s = open();
    const a = await s.execute('asaas/create_payment', { value: 5 }, { idempotencyKey: 'job_1:3' });
    const b = await s.execute('asaas__create_payment', { value: 5 }, { idempotencyKey: 'job_1:3' });
    expect((a.data as { id: string }).id).toBe((b.data as { id: string }).id);
    expect((a.data as { idem: string }).idem).toBe('job_1:3');
    await s.close();
  });

  it('parses text content as JSON when possible, else returns the text', async () => {
    const s = open();
    expect((await s.execute('asaas/list_payments', {})).data).toEqual({ data: expect.any(Array) });
    expect((await s.execute('asaas/text_only', {})).data).toBe('hello, not json');
    await s.close();
  });

  it('a tool error is a failed result with the provider error object in data', async () => {
    const s = open();
    const r = await s.execute('asaas/fail', {});
    expect(r).toMatchObject({
      success: false,
      error_code: 'provider_error',
      error: 'card_declined: Card declined',
      data: { error: { code: 'card_declined', message: 'Card declined' } },
    });
    await s.close();
  });

  it('non-object arguments → invalid_arguments (metered, nothing sent)', async () => {
    const s = open();
    rec.records.length = 0;
    for (const bad of [[1, 2], 'str', 7]) {
      expect(await s.execute('asaas/create_payment', bad)).toMatchObject({ success: false, error_code: 'invalid_arguments' });
    }
    expect(rec.records.map((r) => r.error_code)).toEqual(['invalid_arguments', 'invalid_arguments', 'invalid_arguments']);
    await s.close();
  });

  it('per-call timeout → timeout; caller abort → aborted', async () => {
    const s = open();
    expect(await s.execute('asaas/hang', {}, { timeoutMs: 100 })).toMatchObject({ success: false, error_code: 'timeout' });
    const ac = new AbortController();
    const pending = s.execute('asaas/hang', {}, { signal: ac.signal });
    ac.abort();
    expect(await pending).toMatchObject({ success: false, error_code: 'aborted' });
    // The connection is still usable afterwards.
    expect(await s.execute('asaas/list_payments', {})).toMatchObject({ success: true });
    await s.close();
  });

  it('close is idempotent; execute afterwards → session_closed (metered as denied)', async () => {
    const s = open();
    await s.close();
    await s.close();
    expect(s.status).toBe('closed');
    rec.records.length = 0;
    expect(await s.execute('asaas/create_payment', { value: 1 })).toMatchObject({ error_code: 'session_closed' });
    expect(rec.records).toEqual([expect.objectContaining({ denied: true, error_code: 'session_closed' })]);
    await expect(s.tools()).rejects.toMatchObject({ code: 'session_closed' });
  });
});
