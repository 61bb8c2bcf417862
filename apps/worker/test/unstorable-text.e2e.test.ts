/**
 * Text Postgres cannot store (U+0000, lone UTF-16 surrogates) arriving from the two sources a
 * tenant does not control: a model reply (in its content and in a tool call's arguments) and a
 * provider result (an object planted by that call, read back by a workflow). Each job must finish
 * in one attempt with every model turn and tool call metered once, the text stored as U+FFFD.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { createModelServer } from '@agents/model-sandbox';
import type { ModelServer } from '@agents/model-sandbox';
import type { ModelProvider, ModelTurn } from '@agents/agent';
import { silentLogger } from '@agents/observability';
import { startTestStack, waitFor } from '@agents/testkit';
import type { TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import { CREDENTIALS, LOJA, sandboxObjects, seedTenants, terminalJob } from './agent-helpers';

jest.setTimeout(60_000);

const HOSTILE = 'Ana\u0000 \ud800 Silva \udc00';
const STORED = 'Ana\ufffd \ufffd Silva \ufffd';

/** The model boundary: first turn creates a customer named HOSTILE, second answers with it. */
const hostileModel: ModelProvider = {
  id: 'hostile',
  async complete(req): Promise<ModelTurn> {
    const answered = req.messages.some((m) => m.role === 'tool');
    if (!answered) {
      return {
        message: {
          role: 'assistant',
          content: `Creating ${HOSTILE}`,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'asaas__create_customer', arguments: JSON.stringify({ name: HOSTILE, cpfCnpj: '52998224725' }) },
            },
          ],
        },
        finishReason: 'tool_calls',
        usage: { inputTokens: 100, outputTokens: 10 },
      };
    }
    return { message: { role: 'assistant', content: `Created ${HOSTILE}.` }, finishReason: 'stop', usage: { inputTokens: 200, outputTokens: 20 } };
  },
};

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let model: ModelServer;
let terminal: ReturnType<typeof terminalJob>;

beforeAll(async () => {
  model = await createModelServer({ model: hostileModel, logger: silentLogger() });
  stack = await startTestStack(apps, {
    label: 'unstorable',
    env: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'sk-test-dummy-key-for-the-model-sandbox', JOB_ATTEMPTS: '3' },
  });
  terminal = terminalJob(stack.call, waitFor);
  await seedTenants(stack.call);
});

afterAll(async () => {
  await stack?.stop();
  await model?.close();
});

const usage = (jobId: string) =>
  stack.db.selectFrom('usage_events').select(['kind', 'input_tokens', 'output_tokens', 'tool']).where('job_id', '=', jobId).orderBy('seq').execute();

test('a model reply holding U+0000 and lone surrogates is stored, metered and answered in one attempt', async () => {
  const r = await stack.call('POST', `/v1/tenants/${LOJA}/jobs`, { body: { input: 'Create the customer', servers: ['asaas'] } });
  expect(r.status).toBe(202);
  const job = await terminal(LOJA, r.body.id);
  expect(job.status).toBe('succeeded');
  expect(job.attempts).toBe(1);
  expect(job.output.message).toBe(`Created ${STORED}.`);
  expect(await usage(job.id)).toEqual([
    { kind: 'model_turn', input_tokens: 100, output_tokens: 10, tool: null },
    { kind: 'tool_call', input_tokens: 0, output_tokens: 0, tool: 'create_customer' },
    { kind: 'model_turn', input_tokens: 200, output_tokens: 20, tool: null },
  ]);
  const steps = await stack.db.selectFrom('job_steps').select(['kind', 'payload']).where('job_id', '=', job.id).orderBy('seq').execute();
  expect(JSON.stringify(steps)).toContain(STORED);
});

test('a provider result holding U+0000 and lone surrogates is checkpointed and metered once, never retried', async () => {
  // The customer the agent job planted at the provider, read back by a workflow.
  const customers = (await sandboxObjects(stack.sandbox.url, 'asaas', CREDENTIALS[LOJA]!.asaas!.api_key!)).filter((o) => o.object === 'customer');
  expect(customers.length).toBeGreaterThan(0);
  const r = await stack.call('POST', `/v1/tenants/${LOJA}/jobs`, {
    body: { type: 'workflow', steps: [{ tool: 'asaas/get_customer', args: { id: customers[0]!.id } }] },
  });
  expect(r.status).toBe(202);
  const job = await terminal(LOJA, r.body.id);
  expect(job.status).toBe('succeeded');
  expect(job.attempts).toBe(1);
  expect(job.output.steps[0].data.name).toBe(STORED);
  expect(await usage(job.id)).toEqual([{ kind: 'tool_call', input_tokens: 0, output_tokens: 0, tool: 'get_customer' }]);
});
