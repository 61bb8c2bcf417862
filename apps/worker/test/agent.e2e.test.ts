/**
 * Agent jobs end to end: HTTP API → queue → worker → agent loop → the real `openai` client →
 * the scripted model served over HTTP (the test double at the model boundary) → tools over real
 * MCP to the sandbox → checkpoints + metering → job row. Real Redis, Postgres and sockets.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { requestCancel } from '@agents/db';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import {
  ACME,
  ACME_CARD_INPUT,
  ALL_SECRETS,
  CREDENTIALS,
  LOJA,
  LOJA_PIX_INPUT,
  sandboxObjects,
  seedTenants,
  startTestModel,
  terminalJob,
} from './agent-helpers';
import type { TestModel } from './agent-helpers';

jest.setTimeout(60_000);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let model: TestModel;
let call: ApiCall;
let terminal: ReturnType<typeof terminalJob>;

beforeAll(async () => {
  // Each "slowly" turn takes 300 ms, so a running job can be cancelled or time out between turns.
  model = await startTestModel({ slowMs: 300 });
  stack = await startTestStack(apps, {
    label: 'agent',
    env: { OPENAI_BASE_URL: model.server.url, OPENAI_API_KEY: 'sk-test-dummy-key-for-the-model-sandbox' },
  });
  call = stack.call;
  terminal = terminalJob(call, waitFor);
  await seedTenants(call);
});

afterAll(async () => {
  await stack?.stop();
  await model?.server.close();
});

const submit = async (tenant: string, body: Record<string, unknown>) => {
  const r = await call('POST', `/v1/tenants/${tenant}/jobs`, { body });
  expect(r.status).toBe(202);
  expect(r.body.type).toBe('agent');
  return r.body.id as string;
};
const calls = (job: any) => job.tool_calls.map((c: any) => `${c.server}/${c.tool}`);
const steps = (jobId: string) => stack.db.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).orderBy('seq').execute();
const usage = (jobId: string) => stack.db.selectFrom('usage_events').selectAll().where('job_id', '=', jobId).orderBy('seq').execute();

test('tenant_loja: the Pix charge + WhatsApp scenario succeeds with the expected tool calls', async () => {
  const id = await submit(LOJA, { input: LOJA_PIX_INPUT, metadata: { order_id: 'A-1001' } });
  const job = await terminal(LOJA, id);
  expect(job.status).toBe('succeeded');
  expect(job.error).toBeNull();
  expect(job.attempts).toBe(1);
  expect(calls(job)).toEqual(['asaas/create_customer', 'asaas/create_payment', 'asaas/get_pix_qrcode', 'z-api/send_text']);
  expect(job.tool_calls.every((c: any) => c.success)).toBe(true);
  expect(job.output.message).toMatch(/^Done\. I created the Pix charge pay_\d+ of R\$50\.00 for Maria Silva \(Asaas customer cus_\d+\)/);
  expect(job.output.message).not.toContain('(unknown)');
  expect(job.usage.tool_calls).toBe(4);
  expect(job.usage.input_tokens).toBeGreaterThan(0);
  expect(job.usage.output_tokens).toBeGreaterThan(0);

  // Checkpoints: 5 model turns and 4 tool results at deterministic seqs, each with its usage row.
  const s = await steps(id);
  expect(s.map((x) => `${x.seq}:${x.kind}`)).toEqual([
    '0:model_turn',
    '1:tool_call',
    '2:model_turn',
    '3:tool_call',
    '4:model_turn',
    '5:tool_call',
    '6:model_turn',
    '7:tool_call',
    '8:model_turn',
  ]);
  const u = await usage(id);
  expect(u.map((x) => x.idempotency_key).sort()).toEqual(s.map((x) => `${id}:${x.seq}`).sort());
  const turns = u.filter((x) => x.kind === 'model_turn');
  expect(turns).toHaveLength(5);
  expect(turns.reduce((n, x) => n + x.input_tokens, 0)).toBe(job.usage.input_tokens);
  for (const row of u) expect(row.metadata).toEqual({ order_id: 'A-1001', tenant_id: LOJA });

  // The provider saw each side effect once, keyed <job>:<seq> in MCP _meta.
  const asaas = await sandboxObjects(stack.sandbox.url, 'asaas', CREDENTIALS[LOJA]!.asaas!.api_key!);
  expect(asaas.map((o) => `${o.object}:${o.idempotency_key}`)).toEqual([`customer:${id}:1`, `payment:${id}:3`]);
  const zapi = await sandboxObjects(stack.sandbox.url, 'z-api', CREDENTIALS[LOJA]!['z-api']!.instance_id!);
  expect(zapi.map((o) => o.idempotency_key)).toEqual([`${id}:7`]);
});

test('tenant_acme: the card charge + shipping + NF-e scenario succeeds with the expected tool calls', async () => {
  const id = await submit(ACME, { input: ACME_CARD_INPUT });
  const job = await terminal(ACME, id);
  expect(job.status).toBe('succeeded');
  expect(calls(job)).toEqual([
    'stripe/create_customer',
    'stripe/create_payment_intent',
    'stripe/confirm_payment_intent',
    'correios/calculate_shipping',
    'nuvem-fiscal/create_nfe',
  ]);
  expect(job.tool_calls.every((c: any) => c.success)).toBe(true);
  expect(job.output.message).toMatch(/PaymentIntent pi_\d+, status succeeded/);
  expect(job.output.message).toMatch(/NF-e nfe_\d+/);
});

test('the system prompt carries the tenant instructions, and no credential ever reaches the model', async () => {
  const sent = JSON.stringify(model.requests);
  expect(model.requests.length).toBeGreaterThan(0);
  const system = model.requests[0]!.messages[0]!;
  expect(system.role).toBe('system');
  expect(system.content).toMatch(/You are the commerce assistant of tenant_(loja|acme)\. Be brief\./);
  for (const secret of ALL_SECRETS) expect(sent).not.toContain(secret);
  // Only the session's own tools are offered, under their model-facing names.
  const lojaReq = model.requests.find((r) => JSON.stringify(r.messages).includes('Pix charge'))!;
  const names = (lojaReq.tools ?? []).map((t) => t.function.name);
  expect(names).toContain('asaas__create_payment');
  expect(names.some((n) => n.startsWith('stripe__'))).toBe(false);
});

test('max_iterations stops a looping model with max_iterations', async () => {
  const id = await submit(LOJA, { input: 'Loop forever', max_iterations: 3 });
  const job = await terminal(LOJA, id);
  expect(job.status).toBe('failed');
  expect(job.error.code).toBe('max_iterations');
  // Three model turns; the third still asked for a tool, which is not run.
  expect(calls(job)).toEqual(['asaas/get_balance', 'asaas/get_balance']);
  expect((await steps(id)).filter((s) => s.kind === 'model_turn')).toHaveLength(3);
});

test('the tenant limit applies when the job sets no max_iterations, and caps a job that asks for more', async () => {
  const p = await call('PATCH', `/v1/admin/tenants/${LOJA}`, { body: { limits: { max_iterations: 2 } } });
  try {
    if (p.status !== 200) throw new Error(`PATCH tenant limits: ${p.status} ${p.text}`);
    for (const body of [{ input: 'Loop forever' }, { input: 'Loop forever', max_iterations: 6 }]) {
      const job = await terminal(LOJA, await submit(LOJA, body));
      expect(job.error.code).toBe('max_iterations');
      expect(job.tool_calls).toHaveLength(1);
    }
  } finally {
    await call('PATCH', `/v1/admin/tenants/${LOJA}`, { body: { limits: { max_iterations: 10 } } });
  }
});

test('a tool outside the session is denied, the denial is fed back, and the job still completes', async () => {
  const id = await submit(LOJA, { input: 'Use a tool you do not have' });
  const job = await terminal(LOJA, id);
  expect(job.status).toBe('succeeded');
  expect(job.tool_calls).toHaveLength(1);
  expect(job.tool_calls[0]).toMatchObject({ server: 'stripe', tool: 'create_customer', success: false, error: { code: 'server_not_in_session' } });
  expect(job.output.message).toMatch(/was refused/);
  expect(job.output.message).toMatch(/not part of this session/);
  const [row] = (await usage(id)).filter((u) => u.kind === 'tool_call');
  expect(row!.denied).toBe(true);
  // It never reached a server: tenant_acme's Stripe account (the only one there is) saw nothing from this job.
  const stripe = await sandboxObjects(stack.sandbox.url, 'stripe', CREDENTIALS[ACME]!.stripe!.secret_key!);
  expect(stripe.some((o) => o.idempotency_key?.startsWith(id))).toBe(false);
});

test('a model error that no retry can fix fails the job with model_error at once', async () => {
  model.server.injectFailures([{ status: 400 }]);
  const id = await submit(LOJA, { input: LOJA_PIX_INPUT });
  const job = await terminal(LOJA, id);
  expect(job.status).toBe('failed');
  expect(job.error.code).toBe('model_error');
  expect(job.attempts).toBe(1);
  expect(job.error.message).not.toContain('sk-test-dummy');
});

test('cancelling a running job lands as cancelled', async () => {
  const id = await submit(LOJA, { input: 'Loop forever, slowly', max_iterations: 100 });
  await waitFor(async () => (await steps(id)).some((s) => s.kind === 'tool_call'), { what: 'a first tool call' });
  const r = await call('POST', `/v1/tenants/${LOJA}/jobs/${id}/cancel`);
  expect(r.status).toBe(200);
  const job = await terminal(LOJA, id);
  expect(job.status).toBe('cancelled');
  expect(job.error.code).toBe('cancelled');
  const again = await call('POST', `/v1/tenants/${LOJA}/jobs/${id}/cancel`);
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('job_not_cancellable');
});

test('a running job whose cancel message was missed is stopped by the row backstop', async () => {
  const id = await submit(LOJA, { input: 'Loop forever, slowly', max_iterations: 100 });
  await waitFor(async () => (await steps(id)).some((s) => s.kind === 'tool_call'), { what: 'a first tool call' });
  // The API's cancel is this row write plus a pub/sub message; only the write happens here, as
  // when the message is lost. Unstopped, the job would run ~100 slow turns and fail on max_iterations.
  expect(await requestCancel(stack.db, LOJA, id)).toBeDefined();
  const job = await terminal(LOJA, id);
  expect(job.status).toBe('cancelled');
  expect(job.error.code).toBe('cancelled');
  // Stopped between steps: every recorded tool call has its result checkpoint and one usage row.
  const toolSteps = (await steps(id)).filter((s) => s.kind === 'tool_call');
  const toolRows = (await usage(id)).filter((u) => u.kind === 'tool_call');
  expect(toolRows.length).toBe(toolSteps.length);
  expect(job.tool_calls.length).toBeLessThan(100);
});

test('a job over its wall-clock limit lands as timeout', async () => {
  // A worker with a short per-job limit (JOB_TIMEOUT_MS), against the same queue and database.
  await stack.worker?.close(1000);
  stack.worker = await startWorker({ ...stack.config, jobTimeoutMs: 1500 }, silentLogger());
  const id = await submit(LOJA, { input: 'Loop forever, slowly', max_iterations: 100 });
  const job = await terminal(LOJA, id);
  expect(job.status).toBe('failed');
  expect(job.error.code).toBe('timeout');
  expect(job.tool_calls.length).toBeGreaterThan(0);
});
