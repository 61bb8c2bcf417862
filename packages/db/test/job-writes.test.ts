/**
 * Migration 0006 (cheaper writes per job): a job row's start and finish updates are HOT (no index
 * entry of their own), the reconciler's work list still finds exactly the committed, unmarked,
 * still-queued jobs, and the job FKs that protect integrity still refuse orphans.
 */
import { sql } from 'kysely';
import { finishJob, getJobById, insertJob, insertTenant, listUnqueuedJobs, markEnqueued, startAttempt, writeCheckpoint } from '@agents/db';
import type { NewJob } from '@agents/db';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };

const job = (id: string): NewJob => ({
  id,
  tenant_id: 'tenant_a',
  environment: 'test',
  type: 'workflow',
  status: 'queued',
  input: null,
  steps: JSON.stringify([{ tool: 'asaas/create_customer', args: { name: 'x' } }]),
  servers: ['asaas'],
  metadata: JSON.stringify({ order: '1' }),
  callback_url: null,
  max_iterations: null,
  model: null,
  idempotency_key: null,
  request_hash: null,
});

beforeAll(async () => {
  tdb = await createTestDatabase('jobwrites');
  await insertTenant(tdb.db, { id: 'tenant_a', name: 'A', servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
});
afterAll(() => tdb.close());

test('a job row is started and finished with HOT updates (no index touched)', async () => {
  await insertJob(tdb.db, job('job_hot'));
  await markEnqueued(tdb.db, ['job_hot']);
  // pg_stat_xact_user_tables counts this backend's not-yet-flushed row changes, exactly and at
  // once (earlier statements on the same connection may still be in it: hence the difference).
  const counts = await tdb.db.transaction().execute(async (trx) => {
    const read = async () =>
      (await sql<{ upd: string; hot: string }>`SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'jobs'`.execute(trx))
        .rows[0]!;
    const before = await read();
    expect(await startAttempt(trx, 'job_hot')).toBeDefined();
    await writeCheckpoint(trx, { jobId: 'job_hot', seq: 0, kind: 'workflow_step', payload: { ok: true }, usage: [] });
    expect(await finishJob(trx, 'job_hot', { status: 'succeeded', output: { customer: 'cus_1', note: 'x'.repeat(300) }, deliverTo: null })).toBeDefined();
    const after = await read();
    return { upd: Number(after.upd) - Number(before.upd), hot: Number(after.hot) - Number(before.hot) };
  });
  expect(counts).toEqual({ upd: 2, hot: 2 });
});

test('the reconciler lists committed, unmarked, still-queued jobs only, and through its partial index', async () => {
  await insertJob(tdb.db, job('job_unq'));
  await insertJob(tdb.db, job('job_marked'));
  await markEnqueued(tdb.db, ['job_marked']);
  await insertJob(tdb.db, job('job_started'));
  await startAttempt(tdb.db, 'job_started'); // a worker got it before the API marked it: enqueued_at set
  await insertJob(tdb.db, job('job_gone'));
  await tdb.db.updateTable('jobs').set({ status: 'cancelled' }).where('id', '=', 'job_gone').execute();
  await new Promise((r) => setTimeout(r, 20));
  const ids = (await listUnqueuedJobs(tdb.db, 10, 100)).map((j) => j.id);
  expect(ids).toContain('job_unq');
  expect(ids).not.toContain('job_marked');
  expect(ids).not.toContain('job_started');
  expect(ids).not.toContain('job_gone');

  const plan = await tdb.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    const r = await sql<{
      'QUERY PLAN': string;
    }>`EXPLAIN SELECT * FROM jobs WHERE enqueued_at IS NULL AND status = 'queued' AND created_at < now() ORDER BY created_at LIMIT 100`.execute(trx);
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  });
  expect(plan).toContain('jobs_unenqueued');
});

test("a job that ends before it reached its queue (cancelled) leaves the reconciler's index instead of staying in it for good", async () => {
  await insertJob(tdb.db, job('job_cancelled_early'));
  const inIndex = async () =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM jobs WHERE enqueued_at IS NULL AND id = 'job_cancelled_early'`.execute(tdb.db)).rows[0]!.n);
  expect(await inIndex()).toBe(1);
  const done = await finishJob(tdb.db, 'job_cancelled_early', {
    status: 'cancelled',
    error: { code: 'cancelled', message: 'Cancelled before it started.' },
    deliverTo: null,
  });
  expect(done?.status).toBe('cancelled');
  expect(await inIndex()).toBe(0);
  // An enqueued job's finish keeps its enqueued_at.
  await insertJob(tdb.db, job('job_keeps'));
  await markEnqueued(tdb.db, ['job_keeps']);
  const marked = (await getJobById(tdb.db, 'job_keeps'))!.enqueued_at;
  await finishJob(tdb.db, 'job_keeps', { status: 'cancelled', error: { code: 'cancelled', message: 'x' }, deliverTo: null });
  expect((await getJobById(tdb.db, 'job_keeps'))!.enqueued_at).toEqual(marked);
});

test('steps, usage and events of a job that does not exist are still refused', async () => {
  const orphan = { jobId: 'job_nope', seq: 0, kind: 'workflow_step' as const, payload: {}, usage: [] };
  await expect(writeCheckpoint(tdb.db, orphan)).rejects.toMatchObject({ code: '23503' });
  await expect(
    tdb.db
      .insertInto('usage_events')
      .values({ id: 'use_x', idempotency_key: 'k_x', tenant_id: 'tenant_a', environment: 'test', job_id: 'job_nope', kind: 'tool_call', success: true })
      .execute(),
  ).rejects.toMatchObject({ code: '23503' });
  // A job must still belong to an existing tenant: that FK is what pins every child row's tenant.
  await expect(insertJob(tdb.db, { ...job('job_t'), tenant_id: 'tenant_nope' })).rejects.toMatchObject({ code: '23503' });
});
