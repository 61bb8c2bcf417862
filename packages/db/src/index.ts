export { createDb } from './connection';
export type { Db, DbOptions } from './connection';
export { migrate, ensureDatabase } from './migrator';
export type { Migration } from './migrator';
export { MIGRATIONS } from './migrations';
export { newId, TENANT_ID } from './ids';
export * from './schema';
export { environmentScope, mayActAsTenant } from './principal';
export type { Principal } from './principal';
export { insertTenant, getTenant, listTenants, updateTenant, listTenantsPage } from './queries/tenants';
export type { NewTenantInput, TenantPatch } from './queries/tenants';
export { getAutomations, setAutomations, listAutomationsByEnvironment } from './queries/automations';
export { insertApiKey, listApiKeys, findApiKeyByHash, revokeApiKey, touchApiKey } from './queries/api-keys';
export type { ApiKey, NewApiKey } from './queries/api-keys';
export { insertPlatformKey, listPlatformKeys, findPlatformKeyByHash, revokePlatformKey, touchPlatformKey } from './queries/platform-keys';
export type { PlatformKey, NewPlatformKey } from './queries/platform-keys';
export { createInvalidationBus } from './cache/invalidation-bus';
export type { InvalidationBus, InvalidationBusOptions, InvalidationListener, BusPublisher, BusSubscriber } from './cache/invalidation-bus';
export { createSharedCache } from './cache/shared-cache';
export type { SharedCache, SharedCacheOptions } from './cache/shared-cache';
export { createTenantCache, TENANT_CACHE_TTL_MS } from './cache/tenant-cache';
export type { TenantCache } from './cache/tenant-cache';
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
export { reportQueueFailure, retryFailedJob } from './queries/job-retry';
export type { RetryFailedJob, RetryFailedJobResult } from './queries/job-retry';
export { insertJobs } from './queries/insert-jobs';
export type { InsertJobsOutcome } from './queries/insert-jobs';
export { writeCheckpoint, writeUsageRows, listSteps } from './queries/steps';
export type { Checkpoint } from './queries/steps';
export { listJobToolCalls, jobUsageTotals } from './queries/usage';
export type { JobUsageTotals } from './queries/usage';
export { countExecutedToolCalls } from './queries/tool-call-count';
export { ensureUsagePartitions, listUsagePartitions, countDefaultPartitionRows, usagePartitionName } from './queries/usage-partitions';
export type { UsagePartition, EnsureUsagePartitionsOptions } from './queries/usage-partitions';
export { presentJob, loadJobView, toolCallView } from './queries/job-view';
export type { JobView } from './queries/job-view';
export { loadJobEventLog } from './queries/job-event-log';
export type { JobEventLog, JobLogEvent, JobLogEventType } from './queries/job-event-log';
export { createCredentialStore } from './credential-store';
export type { CredentialStore, CredentialSummary } from './credential-store';
export { createWebhookSecretStore, WEBHOOK_SECRET_OVERLAP_MS } from './webhook-secret-store';
export type { WebhookSecretStore } from './webhook-secret-store';
export { DELIVERY_CHANNEL, notifyDeliveryDue, listenForDeliveries } from './delivery-notifications';
export type { DeliveryListener, DeliveryListenerOptions } from './delivery-notifications';
export type { JobEventType, JobEventPayload } from './queries/webhook-outbox';
export {
  listDeliveries,
  getDelivery,
  listDeliveryAttempts,
  getDeliveryToSend,
  listUnqueuedDeliveries,
  markDeliveryEnqueued,
  requeueOverdueDeliveries,
  recordDeliveryAttempt,
  createRedelivery,
} from './queries/webhook-deliveries';
export type { WebhookDelivery, WebhookAttempt, DeliveryToSend, ListDeliveriesQuery, AttemptOutcome } from './queries/webhook-deliveries';
export { tenantDataKey } from './tenant-data-key';
export { recordProviderEvent, listProviderEvents } from './queries/provider-events';
export type { ProviderEventInput, RecordProviderEventResult, ProviderEventRow } from './queries/provider-events';
export { prepare, param } from './prepared';
export type { PreparedQuery } from './prepared';
export { storableText, storableJson, isStorableText } from './storable-text';
export { isDataError } from './data-errors';
export { DatabaseUnavailableError } from './database-unavailable';
export {
  insertSession,
  getSession,
  touchSession,
  closeSession,
  countSessionToolCalls,
  insertSessionCall,
  getSessionCall,
  deleteUnfinishedSessionCall,
  finishSessionCall,
} from './queries/sessions';
export type { NewSession, NewSessionCall } from './queries/sessions';
