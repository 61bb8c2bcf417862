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
export { jobCatalog, parsePayload } from './catalog';
export type { JobName, JobPayload } from './catalog';
export { createProducer } from './producer';
export type { Producer, ProducerOptions } from './producer';
export { createDispatcher, ShutdownAbort } from './dispatcher';
export type { Dispatcher, DispatcherOptions, DispatcherStats, RunContext, RunHandler } from './dispatcher';
export { createRedis } from './redis';
export { reconcileUnqueued, startReconciler } from './reconciler';
export type { ReconcilerOptions } from './reconciler';
