/**
 * A checkpoint Postgres still refuses after the storable-text pass (here: U+0000 nested deeper than
 * that pass descends) ends the job instead of failing the attempt, and the step's usage is kept:
 * the provider call happened and is billed once. Real Postgres.
 */
import { insertTenant, newId } from '@agents/db';
import type { Checkpoint, NewUsageEvent } from '@agents/db';
import { silentLogger } from '@agents/observability';
import { createTestDatabase, jobRow } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { createStepStore } from '../src/attempt/step-store';
import { EndJob } from '../src/attempt/attempt-errors';

const TENANT = 'tenant_steps';
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase('stepstore');
  const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
  const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };
  await insertTenant(tdb.db, { id: TENANT, name: TENANT, servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
});
afterAll(async () => tdb?.close());

/** A provider result with U+0000 at depth 600. */
function deepHostile(): unknown {
  let v: unknown = { name: 'x\u0000y' };
  for (let i = 0; i < 600; i++) v = { nested: v };
  return v;
}

async function runningJob(): Promise<string> {
  const row = jobRow(TENANT, { status: 'running' });
  await tdb.db.insertInto('jobs').values(row).execute();
  return row.id;
}

function checkpoint(jobId: string, seq: number): Checkpoint {
  const usage = {
    id: newId('tc'),
    idempotency_key: `${jobId}:${seq}`,
    tenant_id: TENANT,
    environment: 'live',
    job_id: jobId,
    kind: 'tool_call',
    server: 'asaas',
    tool: 'get_customer',
    success: true,
    denied: false,
    error_code: null,
    duration_ms: 3,
    metadata: '{}',
  } as NewUsageEvent;
  return { jobId, seq, kind: 'workflow_step', payload: { tool: 'asaas/get_customer', success: true, data: deepHostile(), error: null }, usage: [usage] };
}

const usageOf = (jobId: string) => tdb.db.selectFrom('usage_events').select(['idempotency_key', 'kind']).where('job_id', '=', jobId).execute();
const stepsOf = (jobId: string) => tdb.db.selectFrom('job_steps').select('seq').where('job_id', '=', jobId).execute();

test('a refused checkpoint meters the step alone and ends the job', async () => {
  const id = await runningJob();
  const store = createStepStore(tdb.db, id, silentLogger(), { deliverTo: async () => null });
  const err = await store.write(checkpoint(id, 0)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EndJob);
  expect((err as EndJob).jobError.code).toBe('internal');
  expect(await usageOf(id)).toEqual([{ idempotency_key: `${id}:0`, kind: 'tool_call' }]);
  expect(await stepsOf(id)).toEqual([]);
  // Written again by a later attempt: still one usage row.
  await expect(store.write(checkpoint(id, 0))).rejects.toBeInstanceOf(EndJob);
  expect(await usageOf(id)).toHaveLength(1);
});

test('a refused last step held for the finish still ends the job as failed, its usage kept', async () => {
  const id = await runningJob();
  const store = createStepStore(tdb.db, id, silentLogger(), { deliverTo: async () => 'https://hooks.example.com/owed' });
  store.hold(checkpoint(id, 0));
  const finished = await store.finish({ status: 'succeeded', output: { steps: [] } });
  expect(finished).toMatchObject({ status: 'failed', error: { code: 'internal' } });
  expect(await usageOf(id)).toEqual([{ idempotency_key: `${id}:0`, kind: 'tool_call' }]);
  // The failure it records is still owed to the job's callback target.
  const owed = await tdb.db.selectFrom('webhook_deliveries').select(['url', 'event_type']).where('job_id', '=', id).execute();
  expect(owed).toEqual([{ url: 'https://hooks.example.com/owed', event_type: 'job.failed' }]);
});
