import type { Migration } from '../migrator';

/**
 * An operator's retry of a failed job (issue 20, item 2).
 *
 * - `jobs.retries`: explicit retries so far. Each one is a new generation of the job: its terminal
 *   state gets its own webhook event (the outbox's unique key includes it, below), and a workflow
 *   re-runs the step that failed under a fresh sequence number (a new MCP idempotency key and usage
 *   row: it is a new call, billed as one).
 * - `jobs.failed_queue_attempt`: the BullMQ `attemptsMade` of the queue run that last moved the
 *   job's entry to the failed set. A later run of that entry with a higher `attemptsMade` can only
 *   mean the entry was brought back from a finished set (Bull Board's Retry, `job.retry`): an
 *   explicit retry. A run with the same count is the same queue attempt again (a stalled or stale
 *   entry) and must never resurrect the job. Null when no queue run reported the failure.
 * - `webhook_events.job_retry`: the generation an event belongs to; one event per (job, type,
 *   generation) instead of per (job, type).
 */
export const m0010JobRetry: Migration = {
  id: '0010-job-retry',
  sql: `
ALTER TABLE jobs ADD COLUMN retries integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN failed_queue_attempt integer;
ALTER TABLE webhook_events ADD COLUMN job_retry integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX webhook_events_job_type_retry ON webhook_events (job_id, type, job_retry) WHERE job_id IS NOT NULL;
DROP INDEX webhook_events_job_type;
`,
};
