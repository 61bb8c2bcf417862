export { createDb } from './connection';
export type { Db, DbOptions } from './connection';
export { migrate, ensureDatabase } from './migrator';
export type { Migration } from './migrator';
export { MIGRATIONS } from './migrations';
export { newId } from './ids';
export * from './schema';
export { insertTenant, getTenant, listTenants } from './queries/tenants';
export type { NewTenantInput } from './queries/tenants';
export {
  insertJob,
  getJob,
  getJobById,
  listJobs,
  markEnqueued,
  listUnqueuedJobs,
  startAttempt,
  finishJob,
  requestCancel,
  IDEMPOTENCY_WINDOW_MS,
} from './queries/jobs';
export type { InsertJobResult, ListJobsQuery, FinishJob } from './queries/jobs';
export { writeCheckpoint, listSteps } from './queries/steps';
export type { Checkpoint } from './queries/steps';
export { listJobToolCalls, jobUsageTotals } from './queries/usage';
export type { JobUsageTotals } from './queries/usage';
export { presentJob, loadJobView, toolCallView } from './queries/job-view';
export type { JobView } from './queries/job-view';
export { createCredentialStore } from './credential-store';
export type { CredentialStore, CredentialSummary } from './credential-store';
export { createWebhookSecretStore, WEBHOOK_SECRET_OVERLAP_MS } from './webhook-secret-store';
export type { WebhookSecretStore } from './webhook-secret-store';
export { tenantDataKey } from './tenant-data-key';
