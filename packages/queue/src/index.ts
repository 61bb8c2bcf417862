export {
  TENANT_QUEUE_PREFIX,
  WEBHOOK_QUEUE,
  BILLING_QUEUE,
  tenantQueueName,
  tenantFromQueueName,
  tenantBullPrefix,
  systemBullPrefix,
  coordinationKeys,
} from './names';
export { jobCatalog, jobOptions, parsePayload, systemQueueOf } from './catalog';
export type { JobName, JobPayload, SystemJobName, TenantJobName } from './catalog';
export { processorOf, runHandlerOf } from './handlers';
export type { Handler, HandlerContexts, JobHandlers } from './handlers';
export { createSystemQueues } from './system-queues';
export type { SystemQueues } from './system-queues';
export { createProducer } from './producer';
export type { Producer, ProducerOptions } from './producer';
export { createDispatcher, LockLost, ShutdownAbort } from './dispatcher';
export type { Dispatcher, DispatcherOptions, DispatcherStats, RunContext, RunHandler, DispatchObserver, AttemptEnd } from './dispatcher';
export { createSlotPolicy, defaultReservedSlots, DEFAULT_RESERVE_WINDOW_MS } from './slot-policy';
export type { SlotPolicy, SlotPolicyOptions } from './slot-policy';
export { createRedis, defineScript } from './redis';
export type { RedisConnection } from './redis';
export { pipelineByNode } from './pipeline-by-node';
export type { PipelineReply } from './pipeline-by-node';
export { RedisUnavailableError, isRedisUnavailable } from './redis-unavailable';
export { createMicroBatcher } from './micro-batch';
export type { MicroBatchOptions } from './micro-batch';
export { reconcileUnqueued, startReconciler } from './reconciler';
export { reviveStrandedEntries } from './revive-stranded';
export type { ReviveStrandedOptions, ReviveStrandedResult } from './revive-stranded';
export { createToolCallQuota, QuotaExceededError, monthOf } from './tool-call-quota';
export type { ToolCallQuota, ToolCallQuotaOptions, QuotaEnvironment } from './tool-call-quota';
export { createModelBudget } from './model-budget';
export type { ModelBudget, ModelBudgetOptions, ModelBudgetStats } from './model-budget';
export type { ReconcilerOptions } from './reconciler';
