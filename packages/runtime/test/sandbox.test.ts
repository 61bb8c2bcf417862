import path from 'node:path';
import { silentLogger } from '@agents/observability';
import { createSandboxServer } from '@agents/sandbox';
import type { SandboxServer } from '@agents/sandbox';
import { createCatalog } from '../src/catalog';
import { createRuntime } from '../src/runtime';
import type { Runtime } from '../src/runtime';
import { getTools, handleToolCall } from '../src/openai-adapter';
import { credentialsFrom, recorder, TSX_BIN } from './helpers';

const SANDBOX_STDIO = path.resolve(__dirname, '../../../apps/sandbox/src/stdio.ts');
const CPF = '52998224725'; // a valid CPF check-digit pair

const tenants = {
  t_acme: {
    asaas: { values: { api_key: 'acme-asaas-key-0001' }, version: '1' },
    stripe: { values: { secret_key: 'sk_test_acme_000001' }, version: '1' },
  },
  t_loja: {
    asaas: { values: { api_key: 'loja-asaas-key-0001' }, version: '1' },
  },
};

/** The same contract suite as contract.test.ts, now against the real sandbox over both transports. */
describe.each(['http', 'stdio'] as const)('sandbox contract over %s', (transport) => {
  let sandbox: SandboxServer;
  let runtime: Runtime;
  const rec = recorder();

  beforeAll(async () => {
    sandbox = await createSandboxServer({ port: 0, logger: silentLogger() });
    runtime = createRuntime({
      catalog: createCatalog({
        sandboxUrl: sandbox.url,
        includeStripeOfficial: false,
        sandboxTransport: transport === 'http' ? 'http' : { type: 'stdio', command: TSX_BIN, args: [SANDBOX_STDIO] },
      }),
      credentials: credentialsFrom(tenants),
      logger: silentLogger(),
      onToolCall: rec.meter,
      sweepIntervalMs: 0,
    });
  });
  afterAll(async () => {
    await runtime.close();
    await sandbox.close();
  });

  const open = () => runtime.sessions.create({ tenantId: 't_acme', environment: 'test', servers: ['asaas'], metadata: { job_id: 'job_9' } });

  it('lists the provider tools with schemas', async () => {
    const s = open();
    const tools = await s.tools();
    expect(tools.map((t) => t.name)).toContain('asaas/create_payment');
    const cp = tools.find((t) => t.name === 'asaas/create_payment');
    expect(cp?.input_schema).toMatchObject({ type: 'object' });
    expect(cp?.model_name).toBe('asaas__create_payment');
    await s.close();
  });

  it('creates, reads back, honours the idempotency key, meters with metadata', async () => {
    const s = open();
    rec.records.length = 0;
    const a = await s.execute('asaas/create_customer', { name: 'Ana', cpfCnpj: CPF }, { idempotencyKey: 'job_9:1' });
    expect(a).toMatchObject({ success: true, error_code: null, data: { name: 'Ana' } });
    const id = (a.data as { id: string }).id;
    const again = await s.execute('asaas__create_customer', { name: 'Ana', cpfCnpj: CPF }, { idempotencyKey: 'job_9:1' });
    expect((again.data as { id: string }).id).toBe(id);
    const got = await s.execute('asaas/get_customer', { id });
    expect(got).toMatchObject({ success: true, data: { id } });
    expect(rec.records).toHaveLength(3);
    expect(rec.records[0]).toMatchObject({
      tenant_id: 't_acme',
      server: 'asaas',
      tool: 'create_customer',
      idempotency_key: 'job_9:1',
      metadata: { tenant_id: 't_acme', job_id: 'job_9' },
      denied: false,
    });
    await s.close();
  });

  it('a provider rejection is provider_error with the provider error object in data', async () => {
    const s = open();
    const r = await s.execute('asaas/get_customer', { id: 'cus_does_not_exist' });
    expect(r).toMatchObject({ success: false, error_code: 'provider_error' });
    expect(r.data).toMatchObject({ error: expect.any(Object) });
    expect(typeof r.error).toBe('string');
    await s.close();
  });

  it('bad JSON through the adapter → invalid_arguments; closed session → session_closed', async () => {
    const s = open();
    const bad = await handleToolCall(s, { id: 'c1', type: 'function', function: { name: 'asaas__get_customer', arguments: '{' } });
    expect(bad.error_code).toBe('invalid_arguments');
    await s.close();
    expect((await s.execute('asaas/get_balance', {})).error_code).toBe('session_closed');
  });
});

describe('isolation: two tenants, interleaved, against the sandbox request log', () => {
  let sandbox: SandboxServer;
  let runtime: Runtime;
  const rec = recorder();

  beforeAll(async () => {
    sandbox = await createSandboxServer({ port: 0, logger: silentLogger() });
    runtime = createRuntime({
      catalog: createCatalog({ sandboxUrl: sandbox.url, includeStripeOfficial: false }),
      credentials: credentialsFrom(tenants),
      logger: silentLogger(),
      onToolCall: rec.meter,
      sweepIntervalMs: 0,
    });
  });
  afterAll(async () => {
    await runtime.close();
    await sandbox.close();
  });

  it('each tenant sees only its own objects; cross-server attempts never reach the sandbox', async () => {
    const acme = runtime.sessions.create({ tenantId: 't_acme', environment: 'test', servers: ['asaas', 'stripe'] });
    const loja = runtime.sessions.create({ tenantId: 't_loja', environment: 'test', servers: ['asaas'] });
    const names = { t_acme: [] as string[], t_loja: [] as string[] };
    for (let i = 0; i < 4; i++) {
      for (const [tid, s] of [
        ['t_acme', acme],
        ['t_loja', loja],
      ] as const) {
        const r = await s.execute('asaas/create_customer', { name: `${tid}-${i}`, cpfCnpj: CPF });
        expect(r.success).toBe(true);
        names[tid].push(`${tid}-${i}`);
      }
    }
    for (const [tid, s] of [
      ['t_acme', acme],
      ['t_loja', loja],
    ] as const) {
      const list = await s.execute('asaas/list_customers', {});
      const seen = JSON.stringify(list.data);
      for (const n of names[tid]) expect(seen).toContain(n);
      const other = tid === 't_acme' ? names.t_loja : names.t_acme;
      for (const n of other) expect(seen).not.toContain(n);
      // The sandbox's own inspection endpoint agrees.
      const account = tenants[tid].asaas.values.api_key;
      const res = await fetch(`${sandbox.url}/sandbox/asaas/objects`, { headers: { 'X-Sandbox-Account': account } });
      const objects = ((await res.json()) as { data: Array<{ name?: string }> }).data;
      expect(
        objects
          .map((o) => o.name)
          .filter(Boolean)
          .sort(),
      ).toEqual([...names[tid]].sort());
    }

    const before = sandbox.requestLog.length;
    rec.records.length = 0;
    const attempts = [
      'stripe/create_customer',
      'stripe__create_customer',
      'Stripe/create_customer',
      'STRIPE__create_customer',
      '../stripe/create_customer',
      'asaas/../stripe/create_customer',
      'ｓｔｒｉｐｅ/create_customer',
      'ѕtripe/create_customer',
      'stripe\u200b/create_customer',
      'z-api/send_text',
    ];
    for (const name of attempts) {
      const r = await loja.execute(name, { name: 'x', email: 'x@example.com' });
      expect(r.success).toBe(false);
      expect(['server_not_in_session', 'tool_not_found']).toContain(r.error_code);
    }
    // And through the OpenAI adapter with a name the model was never given.
    const defs = await getTools(loja);
    expect(defs.every((d) => d.function.name.startsWith('asaas__'))).toBe(true);
    const viaAdapter = await handleToolCall(loja, {
      id: 'c',
      type: 'function',
      function: { name: 'stripe__create_customer', arguments: '{"name":"x"}' },
    });
    expect(viaAdapter.error_code).toBe('server_not_in_session');

    expect(rec.records).toHaveLength(attempts.length + 1);
    expect(rec.records.every((r) => r.denied && r.tenant_id === 't_loja')).toBe(true);
    // Not one tools/call from those attempts reached the sandbox.
    expect(sandbox.requestLog.slice(before)).toEqual([]);
    // Every call that did reach it carried the calling tenant's own account.
    for (const r of sandbox.requestLog) {
      expect([tenants.t_acme.asaas.values.api_key, tenants.t_loja.asaas.values.api_key]).toContain(r.account);
      expect(r.server).toBe('asaas');
    }
    await acme.close();
    await loja.close();
  });

  it('reconnects after the sandbox restarts on the same port', async () => {
    const first = await createSandboxServer({ port: 0, logger: silentLogger() });
    const rt = createRuntime({
      catalog: createCatalog({ sandboxUrl: first.url, includeStripeOfficial: false }),
      credentials: credentialsFrom(tenants),
      logger: silentLogger(),
      sweepIntervalMs: 0,
    });
    try {
      const s = rt.sessions.create({ tenantId: 't_loja', environment: 'test', servers: ['asaas'] });
      expect((await s.execute('asaas/get_balance', {})).success).toBe(true);
      await first.close();
      const second = await createSandboxServer({ port: first.port, logger: silentLogger() });
      try {
        expect(await s.execute('asaas/get_balance', {})).toMatchObject({ success: true });
        expect(second.requestLog).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      await rt.close();
    }
  });
});
