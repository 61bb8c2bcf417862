/**
 * A job row naming a model the operator does not allow (written before submission checked it, or
 * by another writer) never reaches the model provider: the worker ends it failed/model_error before
 * any model call. Real API, worker, sandbox, Redis and Postgres; the row is written directly, as an
 * old API would have, and the reconciler enqueues it.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { jobRow, startTestStack, waitFor } from '@agents/testkit';
import type { TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import { LOJA, seedTenants, terminalJob } from './agent-helpers';

jest.setTimeout(60_000);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;

beforeAll(async () => {
  stack = await startTestStack(apps, { label: 'jobmodel', env: { OPENAI_MODEL: 'gpt-4o-mini' } });
  await seedTenants(stack.call);
});

afterAll(async () => {
  await stack?.stop();
});

test('a stored job with a model outside OPENAI_ALLOWED_MODELS fails with model_error and makes no model call', async () => {
  const row = jobRow(LOJA, { type: 'agent', input: 'hello', steps: null, servers: ['asaas'], model: 'o1-pro' });
  await stack.db.insertInto('jobs').values(row).execute();
  const job = await terminalJob(stack.call, waitFor)(LOJA, row.id);
  expect(job.status).toBe('failed');
  expect(job.error).toEqual({ code: 'model_error', message: 'The model "o1-pro" is not allowed on this deployment.' });
  expect(job.usage).toEqual({ tool_calls: 0, input_tokens: 0, output_tokens: 0 });
  const turns = await stack.db.selectFrom('job_steps').select('kind').where('job_id', '=', row.id).execute();
  expect(turns).toEqual([]);
});
