import type { Db } from '@agents/db';
import type { Logger } from '@agents/observability';
import type { Producer } from './producer';

export interface ReviveFailedOptions {
  db: Db;
  producer: Producer;
  logger: Logger;
  /** Only rows at least this old are looked at (ms). */
  graceMs: number;
  batch?: number;
}

/**
 * A job whose queue entry is `failed` while its row is still queued/running lost the write of its
 * terminal state: its last attempt failed because Postgres was unreachable, and marking the row
 * failed failed for the same reason (found by the Postgres outage drill, packages/bench). The row
 * is the truth and says the job never finished, so the entry is retried: the job resumes from its
 * checkpoints and completed tool calls are not repeated. Looks at the oldest non-terminal rows
 * only (those are the ones that can be stuck), `batch` per pass.
 */
export async function reviveFailedEntries(opts: ReviveFailedOptions): Promise<number> {
  const rows = await opts.db
    .selectFrom('jobs')
    .select(['id', 'tenant_id'])
    .where('status', 'in', ['queued', 'running'])
    .where('enqueued_at', 'is not', null)
    .where('created_at', '<', new Date(Date.now() - opts.graceMs))
    .orderBy('created_at')
    .limit(opts.batch ?? 200)
    .execute();
  let revived = 0;
  for (const row of rows) {
    const job = await opts.producer.tenantQueue(row.tenant_id).getJob(row.id);
    if (!job || (await job.getState()) !== 'failed') continue;
    // Its normal attempts again; then announce the tenant as active (enqueueRun: the add is a
    // no-op for an existing job id, the activation is what the fair dispatcher waits for).
    await job.retry('failed', { resetAttemptsMade: true });
    await opts.producer.enqueueRun({ job_id: row.id, tenant_id: row.tenant_id });
    revived++;
  }
  if (revived) opts.logger.warn({ count: revived }, 'retried queue entries that failed while their job row was not terminal');
  return revived;
}
