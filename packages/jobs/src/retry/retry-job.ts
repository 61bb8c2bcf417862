import { retryFailedJob } from '@agents/db';
import type { Db, Job } from '@agents/db';
import type { Producer } from '@agents/queue';
import type { Logger } from '@agents/observability';

export interface RetryJobDeps {
  db: Db;
  producer: Pick<Producer, 'tenantQueue' | 'enqueueRun'>;
  logger: Logger;
}

export type RetryJobOutcome = { kind: 'retried'; job: Job } | { kind: 'not_found' } | { kind: 'not_retryable'; job: Job };

/**
 * An operator's retry of a failed job (the API's retry route, the ops CLI): the row moves failed →
 * queued as a new generation (retryFailedJob: one transition wins however many retries race),
 * then its queue entry is brought back. The entry is BullMQ's failed one (retried with its attempt
 * counts reset, so the new generation gets every transient retry again), or a completed one left
 * by older code, or none (removed by retention): then it is added again. An entry already waiting
 * or active (a Bull Board retry a moment earlier) is left alone: one job id, one entry, one run.
 * The run finds the row queued and resumes from its checkpoints. A failure to reach Redis after
 * the commit is logged only: the reconciler's revive pass finds a queued row whose entry is
 * finished or missing and repairs it the same way.
 */
export async function retryJob(deps: RetryJobDeps, q: { tenantId: string; jobId: string }): Promise<RetryJobOutcome> {
  const r = await retryFailedJob(deps.db, { id: q.jobId, tenantId: q.tenantId });
  if (r.kind === 'not_failed') return { kind: 'not_retryable', job: r.job };
  if (r.kind === 'not_found') return r;
  await requeue(deps, r.job).catch((err) =>
    deps.logger.warn(
      { err: { message: (err as Error).message }, job_id: r.job.id, tenant_id: r.job.tenant_id },
      'retried job not requeued; the reconciler will',
    ),
  );
  deps.logger.info({ job_id: r.job.id, tenant_id: r.job.tenant_id, retries: r.job.retries }, 'failed job retried');
  return r;
}

async function requeue(deps: RetryJobDeps, job: Job): Promise<void> {
  const entry = await deps.producer.tenantQueue(job.tenant_id).getJob(job.id);
  if (entry) {
    const state = await entry.getState();
    // Refused (-3) when the entry left that state meanwhile (a board retry): it is on its way anyway.
    if (state === 'failed' || state === 'completed') await entry.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(() => undefined);
  }
  // Adds the entry if it is missing (a no-op for an existing job id) and wakes the dispatchers.
  await deps.producer.enqueueRun({ job_id: job.id, tenant_id: job.tenant_id });
}
