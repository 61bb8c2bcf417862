import type { Db } from '@agents/db';
import type { Logger } from '@agents/observability';
import type { Producer } from './producer';

export interface ReviveStrandedOptions {
  db: Db;
  producer: Producer;
  logger: Logger;
  /** Only rows at least this old are looked at (ms). */
  graceMs: number;
  batch?: number;
}

export interface ReviveStrandedResult {
  /** `failed` entries of non-terminal rows, retried. */
  retried: number;
  /** Entries missing from Redis altogether, added again. */
  readded: number;
  /** Tenants with waiting/delayed/active entries that were missing from the active-tenant set, announced again. */
  reannounced: number;
}

/**
 * The job row is the truth: a row that is still queued/running must have a queue entry that some
 * dispatcher will run. Looks at the oldest non-terminal rows (those are the ones that can be
 * stuck), `batch` per pass, and repairs their entries:
 * - `failed` while the row is not terminal: the last attempt failed and so did the write marking
 *   the row failed (Postgres outage drill, packages/bench). Retried: the job resumes from its
 *   checkpoints and completed tool calls are not repeated.
 * - no entry at all (Redis lost it): added again (jobId = row id, so a racing add is a no-op).
 * - waiting, delayed or active, but its tenant is missing from the active-tenant set (a worker
 *   killed between removing the tenant and putting it back, see the dispatcher's retireIfDrained):
 *   no dispatcher would fetch it, and for an active entry of a dead worker no stalled check would
 *   run for it, until the tenant's next submission. The tenant is announced again.
 */
export async function reviveStrandedEntries(opts: ReviveStrandedOptions): Promise<ReviveStrandedResult> {
  const rows = await opts.db
    .selectFrom('jobs')
    .select(['id', 'tenant_id'])
    .where('status', 'in', ['queued', 'running'])
    .where('enqueued_at', 'is not', null)
    .where('created_at', '<', new Date(Date.now() - opts.graceMs))
    .orderBy('created_at')
    .limit(opts.batch ?? 200)
    .execute();
  const out: ReviveStrandedResult = { retried: 0, readded: 0, reannounced: 0 };
  const pending = new Set<string>();
  for (const row of rows) {
    const queue = opts.producer.tenantQueue(row.tenant_id);
    const job = await queue.getJob(row.id);
    if (!job) {
      await opts.producer.enqueueRun({ job_id: row.id, tenant_id: row.tenant_id });
      out.readded++;
      continue;
    }
    const state = await job.getState();
    if (state === 'failed') {
      // Its normal attempts again; then announce the tenant as active (enqueueRun: the add is a
      // no-op for an existing job id, the activation is what the fair dispatcher waits for).
      await job.retry('failed', { resetAttemptsMade: true });
      await opts.producer.enqueueRun({ job_id: row.id, tenant_id: row.tenant_id });
      out.retried++;
    } else if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'active') pending.add(row.tenant_id);
  }
  // Only tenants that had fallen out of the set count: the others are rescanned by every dispatcher.
  for (const tenantId of pending) if (await opts.producer.reannounce(tenantId)) out.reannounced++;
  if (out.retried) opts.logger.warn({ count: out.retried }, 'retried queue entries that failed while their job row was not terminal');
  if (out.readded) opts.logger.warn({ count: out.readded }, 're-added queue entries missing from Redis for job rows that are not terminal');
  if (out.reannounced) opts.logger.warn({ count: out.reannounced }, 're-announced tenants whose pending jobs no dispatcher was looking at');
  return out;
}
