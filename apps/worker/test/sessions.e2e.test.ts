/**
 * Sessions (API.md "Sessions (CodeSpar-compatible)") end to end: real API, a real worker running
 * each call on the tenant's queue, the sandbox providers, Postgres and Redis. The app side is
 * testkit's CodeSpar wire client, which sends and reads exactly what @codespar/sdk and
 * @codespar/openai do; the provider side is checked at the sandbox (which account saw what).
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { codesparWire, flushPrefix, isoDateFromNow, startTestStack, waitFor, wireGetTools, wireHandleToolCall } from '@agents/testkit';
import type { ApiCall, CodesparWire, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import { ACME, CREDENTIALS, LOJA, LOJA_PIX_INPUT, sandboxObjects, seedTenants, startTestModel } from './agent-helpers';
import type { TestModel } from './agent-helpers';

jest.setTimeout(60_000);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;
let live: CodesparWire;
let liveKey: string;
let testKey: string;
let lojaKey: string;
let model: TestModel;

const LOJA_ASAAS = CREDENTIALS[LOJA]!.asaas!.api_key!;
const ACME_STRIPE = CREDENTIALS[ACME]!.stripe!.secret_key!;

beforeAll(async () => {
  model = await startTestModel();
  stack = await startTestStack(apps, {
    label: 'sessions',
    env: { OPENAI_BASE_URL: model.server.url, OPENAI_API_KEY: 'sk-test-dummy-key-for-the-model-sandbox' },
  });
  call = stack.call;
  await seedTenants(call);
  liveKey = (await call('POST', '/v1/admin/api-keys', { body: { environment: 'live', name: 'saas backend' } })).body.key;
  testKey = (await call('POST', '/v1/admin/api-keys', { body: { environment: 'test' } })).body.key;
  lojaKey = (await call('POST', `/v1/admin/tenants/${LOJA}/api-keys`, { body: { environment: 'live' } })).body.key;
  live = codesparWire({ baseUrl: stack.api.url, apiKey: liveKey });
});

afterAll(async () => {
  await stack?.stop();
  await model?.server.close();
});

const as = (key: string) => (method: string, path: string, body?: unknown) =>
  fetch(`${stack.api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, headers: r.headers, body: r.status === 204 ? null : ((await r.json()) as any) }));

describe('the seed flow under one platform key', () => {
  test('create, connections and tools: exactly the session servers, OpenAI-valid unique names, object schemas', async () => {
    const session = await live.create(LOJA, { servers: ['asaas', 'z-api'] });
    expect(session.created).toMatchObject({
      object: 'session',
      user_id: LOJA,
      tenant_id: LOJA,
      environment: 'live',
      servers: ['asaas', 'z-api'],
      metadata: { tenant_id: LOJA },
      status: 'active',
      closed_at: null,
    });
    expect(session.id).toMatch(/^ses_[0-9a-z]{26}$/);
    const expires = Date.parse(session.created.expires_at) - Date.parse(session.created.created_at);
    expect(expires).toBe(30 * 60_000);

    const conn = await session.connections();
    expect(conn.servers).toEqual([
      { id: 'asaas', name: expect.any(String), category: expect.any(String), auth_type: 'api_key', connected: true },
      { id: 'z-api', name: expect.any(String), category: expect.any(String), auth_type: 'api_key', connected: true },
    ]);
    const names = conn.tools.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of conn.tools) {
      expect(t.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(t.input_schema.type).toBe('object');
      expect(['asaas', 'z-api']).toContain(t.server);
    }
    expect(names).toContain('asaas__create_customer');
    expect(names).toContain('z-api__send_text');
    expect(conn.tools.some((t) => t.server === 'melhor-envio')).toBe(false);
    const defs = await wireGetTools(session);
    expect(defs.find((d) => d.function.name === 'asaas__create_payment')?.function.parameters).toMatchObject({
      type: 'object',
      properties: expect.any(Object),
    });
  });

  test('execute: both name forms, the OpenAI tool-call object, each run once at the tenant’s own provider account', async () => {
    const session = await live.create(LOJA, { servers: ['asaas'] });
    const customer = await session.execute('asaas__create_customer', { name: 'Maria Silva', cpfCnpj: '52998224725' });
    expect(customer).toMatchObject({ success: true, error: null, error_code: null, server: 'asaas', tool: 'create_customer' });
    expect(customer.tool_call_id).toMatch(/^tc_[0-9a-z]{26}$/);
    expect(Number.isNaN(Date.parse(customer.called_at!))).toBe(false);
    const customerId = (customer.data as { id: string }).id;

    const slash = await session.execute('asaas/create_payment', { customer: customerId, billingType: 'PIX', value: 50, dueDate: isoDateFromNow(3) });
    expect(slash).toMatchObject({ success: true, server: 'asaas', tool: 'create_payment' });

    const viaModel = await wireHandleToolCall(session, {
      id: 'call_1',
      type: 'function',
      function: { name: 'asaas__get_balance', arguments: '' },
    });
    expect(viaModel).toMatchObject({ success: true, server: 'asaas', tool: 'get_balance' });
    const withArgs = await wireHandleToolCall(session, {
      id: 'call_2',
      type: 'function',
      function: { name: 'asaas__create_customer', arguments: JSON.stringify({ name: 'João', cpfCnpj: '11144477735' }) },
    });
    expect(withArgs.success).toBe(true);

    // At the provider: the tenant's own account, one object per call, keyed by the call's id.
    const objects = await sandboxObjects(stack.sandbox.url, 'asaas', LOJA_ASAAS);
    const keys = [customer, slash, withArgs].map((r) => r.tool_call_id);
    for (const key of keys) expect(objects.filter((o) => o.idempotency_key === key)).toHaveLength(1);

    const got = await as(liveKey)('GET', `/v1/sessions/${session.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: session.id, status: 'active', tool_calls_count: 4 });
    expect(got.headers.get('ratelimit-limit')).toMatch(/^\d+$/);
  });

  test('codespar_list_tools works in every session, an empty one too', async () => {
    const empty = await live.create(LOJA, { servers: [] });
    expect(empty.created.servers).toEqual([]);
    const listed = await empty.execute('codespar_list_tools', {});
    expect(listed).toMatchObject({ success: true, error: null, data: { tools: [] } });
    const full = await live.create(LOJA, { servers: ['asaas'] });
    const tools = await full.execute('codespar_list_tools', {});
    expect((tools.data as { tools: unknown[] }).tools).toEqual((await full.connections()).tools);
  });

  test('a server outside the session is denied and metered; it reaches no server, the other tenant’s account least of all', async () => {
    const before = await sandboxObjects(stack.sandbox.url, 'stripe', ACME_STRIPE);
    const session = await live.create(LOJA, { servers: ['asaas'] });
    const foreign = await session.execute('stripe__create_customer', { email: 'x@example.com' });
    expect(foreign).toMatchObject({ success: false, error_code: 'server_not_in_session', server: 'stripe' });
    // The tenant has it, but this session does not.
    const unscoped = await session.execute('z-api/send_text', { phone: '5531999887766', message: 'oi' });
    expect(unscoped).toMatchObject({ success: false, error_code: 'server_not_in_session' });
    expect(await sandboxObjects(stack.sandbox.url, 'stripe', ACME_STRIPE)).toEqual(before);
    const rows = await stack.db.selectFrom('usage_events').selectAll().where('session_id', '=', session.id).orderBy('seq').execute();
    expect(rows.map((r) => [r.server, r.denied, r.error_code])).toEqual([
      ['stripe', true, 'server_not_in_session'],
      ['z-api', true, 'server_not_in_session'],
    ]);
  });

  test('an unknown name is "Tool not registered: <name>", as a 200 tool result', async () => {
    const session = await live.create(LOJA, { servers: ['asaas'] });
    for (const name of ['asaas__no_such_tool', 'nonsense', 'asaas/']) {
      const r = await session.execute(name, {});
      expect(r).toMatchObject({ success: false, error: `Tool not registered: ${name}` });
    }
  });

  test('tool-call rows carry session_id and metadata.tenant_id; the seed’s billing snippet counts each tenant exactly', async () => {
    const before = await live.usageByTenant();
    const loja = await live.create(LOJA, { servers: ['asaas'] });
    const acme = await live.create(ACME, { servers: ['stripe'] });
    for (let i = 0; i < 3; i++) expect((await loja.execute('asaas__get_balance', {})).success).toBe(true);
    for (let i = 0; i < 2; i++) expect((await acme.execute('stripe__list_payment_intents', {})).success).toBe(true);
    const after = await live.usageByTenant();
    expect((after[LOJA] ?? 0) - (before[LOJA] ?? 0)).toBe(3);
    expect((after[ACME] ?? 0) - (before[ACME] ?? 0)).toBe(2);
    const usage = await as(liveKey)('GET', '/v1/usage');
    const mine = usage.body.tool_calls.filter((c: any) => c.session_id === acme.id);
    expect(mine).toHaveLength(2);
    for (const c of mine) expect(c).toMatchObject({ tenant_id: ACME, job_id: null, environment: 'live', server: 'stripe', metadata: { tenant_id: ACME } });
  });
});

describe('isolation and lifecycle', () => {
  test('a tenant key works on its own tenant only; other tenants and environments answer 404', async () => {
    const own = await as(lojaKey)('POST', '/v1/sessions', { servers: ['asaas'] });
    expect(own.status).toBe(201);
    expect(own.body.tenant_id).toBe(LOJA);
    const other = await as(lojaKey)('POST', '/v1/sessions', { servers: [], user_id: ACME });
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ code: 'tenant_not_found', message: expect.any(String), error: { code: 'tenant_not_found' } });
    const acme = await live.create(ACME, { servers: ['stripe'] });
    for (const [method, path] of [
      ['GET', `/v1/sessions/${acme.id}`],
      ['GET', `/v1/sessions/${acme.id}/connections`],
      ['POST', `/v1/sessions/${acme.id}/execute`],
      ['DELETE', `/v1/sessions/${acme.id}`],
    ] as const) {
      const r = await as(lojaKey)(method, path, method === 'POST' ? { tool: 'stripe__list_payment_intents', input: {} } : undefined);
      expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status: 404, code: 'session_not_found' });
    }
    // A test platform key does not see live sessions.
    expect((await as(testKey)('GET', `/v1/sessions/${acme.id}`)).status).toBe(404);
    expect((await as(liveKey)('GET', '/v1/sessions/ses_00000000000000000000000000')).body.code).toBe('session_not_found');
    expect((await as(liveKey)('GET', '/v1/sessions/..%2Fadmin')).body.code).toBe('session_not_found');
  });

  test('creation refuses servers the tenant lacks, unknown tenants and bad bodies with stable codes', async () => {
    const r = await as(liveKey)('POST', '/v1/sessions', { servers: ['stripe'], user_id: LOJA });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('server_not_allowed');
    expect((await as(liveKey)('POST', '/v1/sessions', { servers: [], user_id: 'tenant_nobody' })).body.code).toBe('tenant_not_found');
    const missing = await as(liveKey)('POST', '/v1/sessions', { servers: [] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details).toEqual([{ path: 'body.user_id', message: expect.any(String) }]);
    expect((await as(liveKey)('POST', '/v1/sessions', { servers: [], user_id: LOJA, environment: 'test' })).status).toBe(400);
    // The operator names the environment (default live).
    const op = await call('POST', '/v1/sessions', { body: { servers: ['asaas'], user_id: LOJA, environment: 'test' } });
    expect(op.status).toBe(201);
    expect(op.body.environment).toBe('test');
    const conn = await call('GET', `/v1/sessions/${op.body.id}/connections`);
    // The seed put live credentials only.
    expect(conn.body.servers).toEqual([expect.objectContaining({ id: 'asaas', connected: false })]);
  });

  test('hostile execute bodies are refused before anything is queued or billed', async () => {
    const session = await live.create(LOJA, { servers: ['asaas'] });
    const post = (body: unknown) => as(liveKey)('POST', `/v1/sessions/${session.id}/execute`, body);
    const bad = [
      { tool: { type: 'function', function: { name: 'asaas__get_balance', arguments: '{not json' } } },
      { tool: { type: 'function', function: { name: 'asaas__get_balance', arguments: '[1,2]' } } },
      { tool: 'asaas__get_balance', input: [1] },
      { tool: 'asaas__get_balance', input: {}, params: {} },
      { tool: '' },
      { tool: 'x'.repeat(600) },
      {},
      '{"tool": "asaas__get_balance\\u0000"}',
      '{"tool": "asaas__get_balance", "input": {"k": "\\ud800"}}',
    ];
    for (const body of bad) {
      const r = await post(body);
      expect({ body, status: r.status, code: r.body.code }).toEqual({ body, status: 400, code: expect.stringMatching(/^(validation_failed|invalid_json)$/) });
    }
    expect((await as(liveKey)('GET', `/v1/sessions/${session.id}`)).body.tool_calls_count).toBe(0);
    expect(await stack.db.selectFrom('session_calls').select('id').where('session_id', '=', session.id).execute()).toEqual([]);
  });

  test('closed and expired sessions answer 409 session_closed; delete is idempotent', async () => {
    const session = await live.create(LOJA, { servers: ['asaas'] });
    await session.close();
    const r = await as(liveKey)('POST', `/v1/sessions/${session.id}/execute`, { tool: 'asaas__get_balance', input: {} });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'session_closed', error: { code: 'session_closed' } });
    expect((await as(liveKey)('DELETE', `/v1/sessions/${session.id}`)).status).toBe(204);
    const got = await as(liveKey)('GET', `/v1/sessions/${session.id}`);
    expect(got.body).toMatchObject({ status: 'closed', closed_at: expect.any(String) });

    const idle = await live.create(LOJA, { servers: ['asaas'] });
    // Its idle deadline passes (as 30 minutes without a call would make it).
    await stack.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', idle.id)
      .execute();
    expect((await idle.execute('asaas__get_balance', {})).error).toMatch(/^409: .*session_closed/);
    expect((await as(liveKey)('GET', `/v1/sessions/${idle.id}`)).body).toMatchObject({ status: 'closed', closed_at: expect.any(String) });
  });

  test('the tenant’s monthly tool-call quota applies to session calls: 429 quota_exceeded, nothing reaches the provider or the bill', async () => {
    const tid = 'tenant_ses_quota';
    expect((await call('POST', '/v1/admin/tenants', { body: { id: tid, servers: ['asaas'], limits: { monthly_tool_calls: 2 } } })).status).toBe(201);
    expect(
      (await call('PUT', `/v1/tenants/${tid}/credentials/asaas?environment=live`, { body: { values: { api_key: 'aact_sandbox_ses_quota' } } })).status,
    ).toBe(204);
    const session = await live.create(tid, { servers: ['asaas'] });
    for (let i = 0; i < 2; i++) expect((await session.execute('asaas__create_customer', { name: `C${i}`, cpfCnpj: '52998224725' })).success).toBe(true);
    const refused = await as(liveKey)('POST', `/v1/sessions/${session.id}/execute`, {
      tool: 'asaas__create_customer',
      input: { name: 'C2', cpfCnpj: '52998224725' },
    });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('quota_exceeded');
    expect(await sandboxObjects(stack.sandbox.url, 'asaas', 'aact_sandbox_ses_quota')).toHaveLength(2);
    expect((await as(liveKey)('GET', `/v1/sessions/${session.id}`)).body.tool_calls_count).toBe(2);
  });

  test('sessions live in Postgres: another API process (or a restarted one) serves them', async () => {
    const session = await live.create(LOJA, { servers: ['asaas'] });
    const other = await startApi(stack.config, silentLogger(), { port: 0 });
    try {
      const there = codesparWire({ baseUrl: other.url, apiKey: liveKey });
      const res = await fetch(`${other.url}/v1/sessions/${session.id}/execute`, {
        method: 'POST',
        headers: { authorization: `Bearer ${liveKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tool: 'asaas__get_balance', input: {} }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { success: boolean }).success).toBe(true);
      expect(await there.usageByTenant()).toEqual(await live.usageByTenant());
    } finally {
      await other.close();
    }
  });

  test('a call no worker finishes in time is given up with 503, and never runs afterwards', async () => {
    // An API whose queue prefix no worker reads yet, with a short wait.
    const config = { ...stack.config, redisPrefix: `${stack.prefix}-idle` };
    const lonely = await startApi(config, silentLogger(), { port: 0, sessionCallWaitMs: 300 });
    let late: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      const session = await live.create(LOJA, { servers: ['asaas'] });
      const res = await fetch(`${lonely.url}/v1/sessions/${session.id}/execute`, {
        method: 'POST',
        headers: { authorization: `Bearer ${liveKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tool: 'asaas__create_customer', input: { name: 'Late', cpfCnpj: '52998224725' } }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('service_unavailable');
      const id = /tc_[0-9a-z]{26}/.exec(body.message)![0];
      // A worker comes up and takes the entry: the call was given up, so it does nothing.
      late = await startWorker(config, silentLogger(), { deliverWebhooks: false, billingRollup: false });
      await waitFor(async () => (await stack.db.selectFrom('session_calls').select('finished_at').where('id', '=', id).executeTakeFirst())?.finished_at, {
        what: 'the call row to be finished',
      });
      await new Promise((r) => setTimeout(r, 500));
      expect((await sandboxObjects(stack.sandbox.url, 'asaas', LOJA_ASAAS)).filter((o) => o.idempotency_key === id)).toEqual([]);
      expect(await stack.db.selectFrom('usage_events').select('id').where('id', '=', id).execute()).toEqual([]);
    } finally {
      await late?.close(1000);
      await lonely.close();
      await flushPrefix(`${stack.prefix}-idle`);
    }
  });

  test('a call moves the idle deadline', async () => {
    const session = await live.create(LOJA, { servers: ['asaas'] });
    await stack.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() + 60_000) })
      .where('id', '=', session.id)
      .execute();
    expect((await session.execute('asaas__get_balance', {})).success).toBe(true);
    const after = await as(liveKey)('GET', `/v1/sessions/${session.id}`);
    expect(Date.parse(after.body.expires_at) - Date.now()).toBeGreaterThan(29 * 60_000);
  });
});

describe('send: the agent loop as the session', () => {
  test('JSON: the run’s message, tool calls with input and output, its job in X-Job-Id, its usage rows the session’s', async () => {
    const session = await live.create(LOJA, { servers: ['asaas', 'z-api'] });
    const sent = await session.send(LOJA_PIX_INPUT);
    expect(sent.status).toBe(200);
    const jobId = sent.headers.get('x-job-id');
    expect(jobId).toMatch(/^job_/);
    expect(sent.body).toMatchObject({ job_id: jobId, message: expect.any(String), iterations: expect.any(Number) });
    expect(sent.body.message.length).toBeGreaterThan(0);
    expect(sent.body.tool_calls.length).toBeGreaterThan(0);
    for (const c of sent.body.tool_calls) {
      expect(c).toEqual({
        id: expect.stringMatching(/^tc_/),
        tool_name: expect.stringMatching(/^(asaas|z-api)__/),
        server_id: expect.stringMatching(/^(asaas|z-api)$/),
        status: 'success',
        duration_ms: expect.any(Number),
        input: expect.any(Object),
        output: expect.anything(),
        error_code: null,
      });
    }
    const job = await as(liveKey)('GET', `/v1/tenants/${LOJA}/jobs/${jobId}`);
    expect(job.body).toMatchObject({ status: 'succeeded', servers: ['asaas', 'z-api'], metadata: { tenant_id: LOJA } });
    const rows = await stack.db.selectFrom('usage_events').select(['kind', 'session_id']).where('job_id', '=', jobId!).execute();
    expect(rows.length).toBeGreaterThan(sent.body.tool_calls.length);
    for (const r of rows) expect(r.session_id).toBe(session.id);
    expect((await as(liveKey)('GET', `/v1/sessions/${session.id}`)).body.tool_calls_count).toBe(sent.body.tool_calls.length);
  });

  test('SSE: CodeSpar’s events in order, framed as its parsers read them, ending with done', async () => {
    const session = await live.create(LOJA, { servers: ['asaas', 'z-api'] });
    const streamed = await session.sendStream(LOJA_PIX_INPUT);
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const names = streamed.events.map((e) => e.event);
    expect(names[0]).toBe('user_message');
    expect(names.at(-1)).toBe('done');
    expect(names.filter((n) => n === 'done' || n === 'error')).toEqual(['done']);
    for (const e of streamed.events) expect(e.data.type).toBe(e.event);
    expect(streamed.events[0]!.data.content).toBe(LOJA_PIX_INPUT);
    const uses = streamed.events.filter((e) => e.event === 'tool_use');
    const results = streamed.events.filter((e) => e.event === 'tool_result');
    expect(uses.length).toBeGreaterThan(0);
    expect(results).toHaveLength(uses.length);
    results.forEach((r, i) => {
      // The i-th result follows the i-th use, and names the same tool.
      expect(streamed.events.indexOf(uses[i]!)).toBeLessThan(streamed.events.indexOf(r));
      expect(r.data.tool_name).toBe(uses[i]!.data.name);
      const { type: _type, toolCall, ...record } = r.data;
      expect(toolCall).toEqual(record);
    });
    const done = streamed.events.at(-1)!.data;
    expect(done.result).toMatchObject({ job_id: streamed.headers.get('x-job-id'), tool_calls: expect.any(Array) });
    expect(done.tool_calls).toEqual(done.result.tool_calls);
    expect(streamed.events.some((e) => e.event === 'assistant_text')).toBe(true);
    // Raw framing: LF only, an event line in every frame.
    for (const f of streamed.frames) {
      expect(f.raw).not.toMatch(/\r/);
      if (f.comment === undefined) expect(f.event).toBeDefined();
    }
  });

  test('a closed session refuses send with 409; a bad body is 400 before any job exists', async () => {
    const session = await live.create(LOJA, { servers: ['asaas'] });
    const before = await stack.db.selectFrom('jobs').select('id').where('session_id', '=', session.id).execute();
    expect((await as(liveKey)('POST', `/v1/sessions/${session.id}/send`, { message: '' })).status).toBe(400);
    expect((await as(liveKey)('POST', `/v1/sessions/${session.id}/send`, { text: 'hi' })).status).toBe(400);
    expect(await stack.db.selectFrom('jobs').select('id').where('session_id', '=', session.id).execute()).toEqual(before);
    await session.close();
    const r = await as(liveKey)('POST', `/v1/sessions/${session.id}/send`, { message: 'hi' });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('session_closed');
  });
});

describe('CodeSpar’s session contract suite, leg by leg', () => {
  // What packages/types/src/testing/contract-suite.ts of codespar-core does (HEAD ce52103): it opens a
  // session with {"servers": [], "user_id": "contract-suite"} (so that tenant must exist) and accepts
  // only https:// or the host name localhost.
  const SUITE = 'contract-suite';
  let suite: CodesparWire;
  beforeAll(async () => {
    expect((await call('POST', '/v1/admin/tenants', { body: { id: SUITE, servers: ['asaas'] } })).status).toBe(201);
    suite = codesparWire({ baseUrl: stack.api.url.replace('127.0.0.1', 'localhost'), apiKey: liveKey });
  });

  test('execute: codespar_list_tools succeeds with data and error null', async () => {
    const session = await suite.create(SUITE);
    expect(await session.execute('codespar_list_tools', {})).toMatchObject({
      success: true,
      data: expect.anything(),
      error: null,
      duration: expect.any(Number),
      server: expect.any(String),
      tool: expect.any(String),
    });
    await session.close();
  });

  test('send and sendStream: a SendResult, then only the six event types, ending with done', async () => {
    const session = await suite.create(SUITE);
    const sent = await session.send('hello');
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ message: expect.any(String), tool_calls: expect.any(Array), iterations: expect.any(Number) });
    const streamed = await session.sendStream('hello');
    const valid = new Set(['user_message', 'assistant_text', 'tool_use', 'tool_result', 'done', 'error']);
    expect(streamed.events.length).toBeGreaterThan(0);
    for (const e of streamed.events) expect(valid.has(e.event)).toBe(true);
    expect(streamed.events.at(-1)!.event).toBe('done');
  });

  test('connections and close: id and connected on every entry; the session ends closed', async () => {
    const session = await suite.create(SUITE);
    expect(session.created.status).toBe('active');
    const { servers } = await session.connections();
    expect(Array.isArray(servers)).toBe(true);
    await session.close();
    expect((await as(liveKey)('GET', `/v1/sessions/${session.id}`)).body.status).toBe('closed');
  });
});
