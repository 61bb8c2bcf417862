import { silentLogger } from '@agents/observability';
import { createRuntime } from '../src/runtime';
import type { Runtime } from '../src/runtime';
import { DEFAULT_TOOL_MESSAGE_MAX_BYTES, getTools, handleToolCall, toToolMessage } from '../src/openai-adapter';
import { MODEL_NAME_PATTERN } from '../src/tool-names';
import { startFakeHttpServer } from './fixtures/fake-http-server';
import type { FakeHttpServer } from './fixtures/fake-http-server';
import { credentialsFrom, fakeCatalog, recorder } from './helpers';
import type { ToolResult } from '../src/types';

describe('OpenAI adapter', () => {
  let fake: FakeHttpServer;
  let runtime: Runtime;
  const rec = recorder();

  beforeAll(async () => {
    fake = await startFakeHttpServer();
    runtime = createRuntime({
      catalog: fakeCatalog(fake.url),
      credentials: credentialsFrom({
        t1: {
          asaas: { values: { api_key: 'acct-openai-asaas' }, version: '1' },
          stripe: { values: { secret_key: 'acct-openai-stripe' }, version: '1' },
        },
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

  it('getTools → valid, unique Chat Completions function tools for every session server', async () => {
    const s = runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas', 'stripe'] });
    const defs = await getTools(s);
    expect(defs).toHaveLength(12);
    for (const d of defs) {
      expect(d.type).toBe('function');
      expect(d.function.name).toMatch(MODEL_NAME_PATTERN);
      expect(d.function.parameters).toMatchObject({ type: 'object' });
    }
    expect(new Set(defs.map((d) => d.function.name)).size).toBe(defs.length);
    expect(defs.map((d) => d.function.name)).toContain('stripe__create_payment');
    await s.close();
  });

  it('handleToolCall parses JSON arguments; bad JSON or non-objects → invalid_arguments, metered, not thrown', async () => {
    const s = runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    const call = (args: string) => handleToolCall(s, { id: 'call_x', type: 'function', function: { name: 'asaas__create_payment', arguments: args } });
    expect(await call('{"value": 3}')).toMatchObject({ success: true, data: { value: 3 } });
    rec.records.length = 0;
    const before = fake.requestLog.length;
    const bad = await call('{"value": 3');
    expect(bad).toMatchObject({ success: false, error_code: 'invalid_arguments' });
    expect(bad.error).toContain('not valid JSON');
    expect(await call('[1,2]')).toMatchObject({ success: false, error_code: 'invalid_arguments' });
    expect(rec.records.map((r) => r.error_code)).toEqual(['invalid_arguments', 'invalid_arguments']);
    expect(fake.requestLog.length).toBe(before);
    // Empty arguments mean "no parameters".
    expect(await handleToolCall(s, { id: 'c', function: { name: 'asaas__list_payments', arguments: '' } })).toMatchObject({
      success: true,
    });
    // CodeSpar's 3-argument form still works.
    expect(await handleToolCall(s, 'asaas/create_payment', { value: 4 })).toMatchObject({ success: true });
    await s.close();
  });

  it('toToolMessage wraps {success, data, error, error_code} and caps the size', () => {
    const base: Pick<ToolResult, 'success' | 'data' | 'error' | 'error_code'> = { success: true, data: { ok: 1 }, error: null, error_code: null };
    expect(toToolMessage({ id: 'call_1' }, base)).toEqual({
      role: 'tool',
      tool_call_id: 'call_1',
      content: '{"success":true,"data":{"ok":1},"error":null,"error_code":null}',
    });
    const big = { ...base, data: { blob: 'é'.repeat(100_000) } };
    const msg = toToolMessage({ id: 'call_2' }, big);
    expect(Buffer.byteLength(msg.content)).toBeLessThanOrEqual(DEFAULT_TOOL_MESSAGE_MAX_BYTES);
    expect(JSON.parse(msg.content)).toMatchObject({ success: true, data: { truncated: true } });
    expect(Buffer.byteLength(toToolMessage({ id: 'c' }, big, { maxBytes: 1000 }).content)).toBeLessThanOrEqual(1000);
  });
});
