import { sql } from 'kysely';
import type { Db } from '../connection';
import type { Environment, Job, JobError, JobStatus, NewJob } from '../schema';
import { jobEventOutboxSql } from './webhook-outbox';
import { checkpointInserts, checkpointValues } from './steps';
import { storableJson } from '../storable-text';
import type { Checkpoint } from './steps';
import { newId } from '../ids';
import { newestFirstPage } from './page';
import { param, prepare } from '../prepared';

/** How long an Idempotency-Key binds a request to its job (API.md: 24 h). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export type InsertJobResult = { kind: 'created'; job: Job } | { kind: 'replayed'; job: Job } | { kind: 'key_reused'; job: Job };

/**
 * Inserts a job row, honouring the tenant's Idempotency-Key: the same key with the same request
 * hash returns the first job; with another hash it is refused. The unique index decides races
 * between concurrent requests, so two API processes can never create two jobs for one key.
 */
export async function insertJob(db: Db, job: NewJob): Promise<InsertJobResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const created = await db
      .insertInto('jobs')
      .values(job)
      .onConflict((oc) => oc.columns(['tenant_id', 'environment', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (created) return { kind: 'created', job: created };
    const existing = await db
      .selectFrom('jobs')
      .selectAll()
      .where('tenant_id', '=', job.tenant_id)
      .where('environment', '=', job.environment)
      .where('idempotency_key', '=', job.idempotency_key as string)
      .executeTakeFirst();
    if (!existing) continue; // the other holder expired between our two statements
    if (Date.now() - existing.created_at.getTime() > IDEMPOTENCY_WINDOW_MS) {
      // The key's window is over: release it from the old job and try again.
      await db.updateTable('jobs').set({ idempotency_key: null }).where('id', '=', existing.id).execute();
      continue;
    }
    return existing.request_hash === job.request_hash ? { kind: 'replayed', job: existing } : { kind: 'key_reused', job: existing };
  }
  throw new Error('could not settle idempotency key after 3 attempts');
}

export async function getJob(db: Db, tenantId: string, id: string): Promise<Job | undefined> {
  return db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

const jobById = prepare<{ id: string }, Job>('job_by_id', (db) => db.selectFrom('jobs').selectAll().where('id', '=', param('id')));

export async function getJobById(db: Db, id: string): Promise<Job | undefined> {
  return jobById.first(db, { id });
}

export interface ListJobsQuery {
  tenantId: string;
  environment?: Environment;
  status?: JobStatus;
  limit: number;
  startingAfter?: string;
}

/** Newest first; `startingAfter` is the last id of the previous page. Returns limit+1 rows at most to compute has_more. */
export async function listJobs(db: Db, q: ListJobsQuery): Promise<{ data: Job[]; hasMore: boolean }> {
  let query = db.selectFrom('jobs').selectAll().where('tenant_id', '=', q.tenantId);
  if (q.environment) query = query.where('environment', '=', q.environment);
  if (q.status) query = query.where('status', '=', q.status);
  return newestFirstPage(query, 'jobs', q);
}

export async function markEnqueued(db: Db, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await db
    .updateTable('jobs')
    .set({ enqueued_at: sql<Date>`now()` })
    .where('id', 'in', ids)
    .where('enqueued_at', 'is', null)
    .execute();
}

/** Committed, still-queued jobs with no recorded queue entry, older than the grace period. */
export async function listUnqueuedJobs(db: Db, olderThanMs: number, limit: number): Promise<Job[]> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('enqueued_at', 'is', null)
    .where('status', '=', 'queued')
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/**
 * Moves a job into `running` for one more attempt. Returns undefined when the job is already
 * terminal (cancelled while queued, or finished by an earlier attempt): the caller drops it.
 * The same statement records the attempt's start (`job_attempts`, the `job.started` event of the
 * job's log) with the highest step seq stored so far, so the start exists if and only if the
 * transition does, and costs no round trip of its own.
 */
const startAttemptQuery = prepare<{ id: string }, Job>('start_attempt', (db) => {
  const up = db
    .updateTable('jobs')
    .set({
      status: 'running',
      attempts: sql<number>`attempts + 1`,
      started_at: sql<Date>`coalesce(started_at, now())`,
      enqueued_at: sql<Date>`coalesce(enqueued_at, now())`,
    })
    .where('id', '=', param('id'))
    .where('status', 'in', ['queued', 'running'])
    .returningAll();
  const query = sql<Job>`WITH up AS (${up}), started AS (
      INSERT INTO job_attempts (job_id, attempt, job_retry, after_seq)
      SELECT up.id, up.attempts, up.retries, coalesce((SELECT max(s.seq) FROM job_steps s WHERE s.job_id = up.id), -1) FROM up
      ON CONFLICT DO NOTHING
    )
    SELECT up.* FROM up`;
  return { compile: () => query.compile(db) };
});

export async function startAttempt(db: Db, id: string): Promise<Job | undefined> {
  return startAttemptQuery.first(db, { id });
}

export interface FinishJob {
  status: 'succeeded' | 'failed' | 'cancelled';
  output?: unknown;
  error?: JobError | null;
  /**
   * For a failure written by a queue run: that run's BullMQ `attemptsMade`, the attempt at which
   * it moves the entry to the failed set (`failed_queue_attempt`, see retryFailedJob).
   */
  queueAttempt?: number;
  /** Where the terminal event is delivered (@agents/webhooks jobEventTarget); null: recorded only. */
  deliverTo: string | null;
}

/**
 * Terminal transition; only the first one wins (a cancel racing a finish cannot be overwritten).
 * ONE statement (data-modifying CTEs, atomic without a transaction of its own; inside a caller's
 * transaction it joins it): the job's last checkpoint when one is given (stored whether or not
 * the transition wins, as the step did happen), the job row's update, and the outbox (the job's
 * webhook event and pending delivery, see jobEventOutboxSql), so no crash can separate "job
 * finished" from "callback owed". One round trip instead of a transaction's five to seven: a
 * worker's slot waits for it between one job and the next.
 */
const finishJobQuery = prepare<Record<string, unknown>, Job>(
  'finish_job',
  (db, v) => {
    const { step, usage } = checkpointInserts(db, v);
    // A usage row whose key is already claimed is dropped by the table's trigger (migration 0015).
    const fresh = usage && db.insertInto('usage_events').values(usage);
    const done = db
      .updateTable('jobs')
      .set({
        status: param('status'),
        output: param('output'),
        error: param('error'),
        finished_at: sql<Date>`now()`,
        failed_queue_attempt: param('queue_attempt'),
        // A job ended before it reached its queue (cancelled while Redis was down) needs no
        // enqueueing any more: out of the reconciler's work list (`jobs_unenqueued`), as startAttempt
        // does for a started one. Unchanged otherwise, so the update stays HOT.
        enqueued_at: sql<Date>`coalesce(enqueued_at, now())`,
      })
      .where('id', '=', param('id'))
      .where('status', 'in', ['queued', 'running'])
      .returningAll();
    const query = sql<Job>`WITH ${'seq' in v ? sql`step AS (${step}), ` : sql``}${fresh ? sql`fresh AS (${fresh}), ` : sql``}done AS (${done}),
      ${jobEventOutboxSql()}
      SELECT done.* FROM done, dlv_notify`;
    return { compile: () => query.compile(db) };
  },
  (v) => Object.keys(v).join(','),
);

/**
 * `last`, when given, is the attempt's last checkpoint, held back to be written by this statement
 * (its own insert would cost a round trip more).
 */
export async function finishJob(db: Db, id: string, f: FinishJob, last?: Checkpoint): Promise<Job | undefined> {
  if (last && last.jobId !== id) throw new Error(`finishJob: checkpoint of ${last.jobId} given for ${id}`);
  return finishJobQuery.first(db, {
    ...(last ? checkpointValues(last) : {}),
    id,
    status: f.status,
    // Output and error carry model and provider text: made storable like every checkpoint.
    output: f.output === undefined ? null : JSON.stringify(storableJson(f.output)),
    error: f.error ? JSON.stringify(storableJson(f.error)) : null,
    queue_attempt: f.status === 'failed' ? (f.queueAttempt ?? null) : null,
    evt_id: newId('evt'),
    whd_id: newId('whd'),
    deliver_to: f.deliverTo,
  });
}

export async function requestCancel(db: Db, tenantId: string, id: string): Promise<Job | undefined> {
  return db
    .updateTable('jobs')
    .set({ cancel_requested_at: sql<Date>`coalesce(cancel_requested_at, now())` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}
