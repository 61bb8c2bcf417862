import type { Migration } from '../migrator';

/**
 * Cheaper writes per job (issue 11, pipeline benchmark), with the integrity that matters kept.
 *
 * 1. Tenant FKs that repeat the job's. Every usage_events / webhook_events / webhook_deliveries
 *    row the product writes belongs to a job and copies its tenant_id from that job's row
 *    (writeCheckpoint, finishJob), and `job_id -> jobs` plus `jobs.tenant_id -> tenants`
 *    already pin that tenant. The extra `tenant_id -> tenants` check ran once per row
 *    (3 per two-step job) as `SELECT ... FOR KEY SHARE` on the tenant row, the one row every
 *    concurrent job of the tenant shares, so the locks piled up as MultiXacts. The job_id FKs,
 *    jobs.tenant_id and every other tenant FK stay; tenants are never deleted.
 *
 * 2. HOT updates of the job row. A job row is updated twice by its worker (start, finish); the
 *    reconciler's partial index named `status` in its predicate, and a column in any index
 *    predicate makes every update of it non-HOT: each status change inserted into all four
 *    indexes. The work list now keys on `enqueued_at IS NULL` alone (the rows the API has not yet
 *    marked enqueued: a handful at any time); listUnqueuedJobs still filters `status = 'queued'`
 *    on that small set. Fillfactor 70 leaves room on each page for the new row versions, so the
 *    start and finish updates can stay on the page (the same trade as usage_rollups in 0004).
 */
export const m0006LeanJobWrites: Migration = {
  id: '0006-lean-job-writes',
  sql: `
ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS usage_events_tenant_id_fkey;
ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_tenant_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT IF EXISTS webhook_deliveries_tenant_id_fkey;

CREATE INDEX jobs_unenqueued ON jobs (created_at) WHERE enqueued_at IS NULL;
DROP INDEX jobs_unqueued;
ALTER TABLE jobs SET (fillfactor = 70);
`,
};
