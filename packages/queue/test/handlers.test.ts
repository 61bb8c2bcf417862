import type { Job as BullJob } from 'bullmq';
import { jobCatalog, jobOptions, processorOf, runHandlerOf } from '@agents/queue';
import type { JobHandlers, JobPayload, RunContext } from '@agents/queue';

// A catalog kind without its handler must not compile (tsc runs over the tests in `npm test`).
// @ts-expect-error 'billing.rollup' is missing
const incomplete: JobHandlers = { 'job.run': async () => undefined, 'webhook.deliver': async () => undefined };
void incomplete;

const entry = (data: unknown) => ({ data }) as BullJob;

test('a system processor parses the payload before its handler runs, and refuses a malformed one', async () => {
  const seen: JobPayload<'webhook.deliver'>[] = [];
  const processor = processorOf('webhook.deliver', {
    'webhook.deliver': async (payload) => {
      seen.push(payload);
      return 'done';
    },
  });
  await expect(processor(entry({ delivery_id: 'whd_1', attempt: 2, extra: 'dropped' }), 'tok')).resolves.toBe('done');
  expect(seen).toEqual([{ delivery_id: 'whd_1', attempt: 2 }]);
  await expect(processor(entry({ delivery_id: '' }), 'tok')).rejects.toThrow();
  await expect(processor(entry({ attempt: 0, delivery_id: 'whd_2' }), 'tok')).rejects.toThrow();
  expect(seen).toHaveLength(1);
});

test('the dispatcher handler picks the handler by the entry name and gives it the parsed payload and the run context', async () => {
  const ctx: RunContext = { signal: new AbortController().signal, tenantId: 'tenant_a', attemptsMade: 1, maxAttempts: 3 };
  const named = (name: string, data: unknown) => ({ name, data }) as BullJob;
  const seen: unknown[] = [];
  const run = runHandlerOf({
    'job.run': async (payload, c) => void seen.push({ kind: 'job.run', payload, attemptsMade: c.attemptsMade, job: c.job }),
    'session.call': async (payload, c) => void seen.push({ kind: 'session.call', payload, job: c.job }),
  });
  const job = named('job.run', { job_id: 'job_1', tenant_id: 'tenant_a' });
  const call = named('session.call', { call_id: 'tc_1', session_id: 'ses_1', tenant_id: 'tenant_a' });
  await run(job, ctx);
  await run(call, ctx);
  expect(seen).toEqual([
    { kind: 'job.run', payload: { job_id: 'job_1', tenant_id: 'tenant_a' }, attemptsMade: 1, job },
    { kind: 'session.call', payload: { call_id: 'tc_1', session_id: 'ses_1', tenant_id: 'tenant_a' }, job: call },
  ]);
  await expect(run(named('job.run', { job_id: 'job_1' }), ctx)).rejects.toThrow();
  // A session call's payload is not a job's: parsed against its own kind's schema.
  await expect(run(named('session.call', { job_id: 'job_1', tenant_id: 'tenant_a' }), ctx)).rejects.toThrow();
  await expect(run(named('webhook.deliver', { delivery_id: 'whd_1' }), ctx)).rejects.toThrow('no handler for the tenant job kind "webhook.deliver"');
  expect(seen).toHaveLength(2);
});

test('each kind carries its own BullMQ options; per-job ones go on top without changing the catalog', () => {
  expect(jobOptions('webhook.deliver', { jobId: 'whd_1-2', delay: 5000 })).toEqual({
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: true,
    jobId: 'whd_1-2',
    delay: 5000,
  });
  expect(jobOptions('job.run', { attempts: 3 }).attempts).toBe(3);
  expect(jobCatalog['job.run'].options).not.toHaveProperty('attempts');
  expect(jobOptions('billing.rollup')).toEqual({ removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } });
});
