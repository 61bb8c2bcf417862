import { sql } from 'kysely';
import type { Db } from '../connection';
import type { Job } from '../schema';
import { renderJobEvent } from './job-event';

/**
 * A queue run found the job already failed and is about to fail its entry (a stale or stalled
 * entry: not a retry, see retryFailedJob): records the run's `attemptsMade` as the attempt that
 * reported the failure. Undefined when the row is no longer failed (retried meanwhile).
 */
export async function reportQueueFailure(db: Db, id: string, queueAttempt: number): Promise<Job | undefined> {
  return db
    .updateTable('jobs')
    .set({ failed_queue_attempt: queueAttempt })
    .where('id', '=', id)
    .where('status', '=', 'failed')
    .returningAll()
    .executeTakeFirst();
}

export type RetryFailedJobResult = { kind: 'retried'; job: Job } | { kind: 'not_found' } | { kind: 'not_failed'; job: Job };

export interface RetryFailedJob {
  id: string;
  /** Only this tenant's job (the API's path tenant). */
  tenantId?: string;
  /**
   * Only if the row's `failed_queue_attempt` still equals this: the worker's recognition of a
   * Bull Board retry, decided on a read of the row, holds only if no one changed the row since.
   */
  expectQueueAttempt?: number | null;
}

/**
 * The one way a failed job runs again: failed → queued, as a new generation (`retries + 1`). Its
 * checkpoints are kept (the next attempt resumes from them: completed tool calls are not made
 * again); its error, output, timestamps, a stale cancel request and `failed_queue_attempt` are
 * cleared, so the job's timeout counts from the new start. Succeeded, cancelled, queued and
 * running jobs are refused (`not_failed`): cancelled stays final, and a job that is already queued
 * again was retried by someone else.
 *
 * Race-safe by the row lock: the row is read FOR UPDATE, so of two concurrent retries (two API
 * calls, an API call and a Bull Board retry, two board retries in two workers) exactly one sees
 * `failed` and moves it; the other waits for that commit, then sees `queued` and is refused. The
 * job's webhook events still unrendered (a delivery not yet made) are rendered first, in the same
 * transaction, so the `job.failed` callback describes the failed job even if it is sent after the
 * retry began.
 */
export async function retryFailedJob(db: Db, q: RetryFailedJob): Promise<RetryFailedJobResult> {
  return db.transaction().execute(async (trx) => {
    let read = trx.selectFrom('jobs').selectAll().where('id', '=', q.id);
    if (q.tenantId) read = read.where('tenant_id', '=', q.tenantId);
    const job = await read.forUpdate().executeTakeFirst();
    if (!job) return { kind: 'not_found' };
    if (job.status !== 'failed' || (q.expectQueueAttempt !== undefined && job.failed_queue_attempt !== q.expectQueueAttempt))
      return { kind: 'not_failed', job };
    const unrendered = await trx.selectFrom('webhook_events').select('id').where('job_id', '=', job.id).where('payload', 'is', null).execute();
    for (const e of unrendered) await renderJobEvent(trx, e.id);
    const retried = await trx
      .updateTable('jobs')
      .set({
        status: 'queued',
        retries: sql<number>`retries + 1`,
        output: null,
        error: null,
        started_at: null,
        finished_at: null,
        cancel_requested_at: null,
        failed_queue_attempt: null,
      })
      .where('id', '=', job.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { kind: 'retried', job: retried };
  });
}
