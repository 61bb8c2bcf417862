/**
 * Queue and key naming. Tenant queues are `tenant.<tid>` (the `.` lets Bull Board group them);
 * each tenant's BullMQ prefix carries a Redis Cluster hash tag so one tenant's keys share a slot
 * while different tenants spread across the cluster.
 */
export const TENANT_QUEUE_PREFIX = 'tenant.';
export const WEBHOOK_QUEUE = 'system.webhooks';
export const BILLING_QUEUE = 'system.billing';

export function tenantQueueName(tenantId: string): string {
  return `${TENANT_QUEUE_PREFIX}${tenantId}`;
}

export function tenantFromQueueName(name: string): string | null {
  return name.startsWith(TENANT_QUEUE_PREFIX) ? name.slice(TENANT_QUEUE_PREFIX.length) : null;
}

export function tenantBullPrefix(redisPrefix: string, tenantId: string): string {
  return `${redisPrefix}:{t.${tenantId}}`;
}

export function systemBullPrefix(redisPrefix: string): string {
  return `${redisPrefix}:{sys}`;
}

/** Our own coordination keys (not BullMQ's). */
export function coordinationKeys(redisPrefix: string) {
  return {
    /** Set of tenant ids that may have waiting jobs; recovered by a dispatcher on start. */
    activeTenants: `${redisPrefix}:active-tenants`,
    /** Pub/sub: a tenant id, published when it gets work (a job enqueued or a slot of its freed). */
    activationChannel: `${redisPrefix}:activations`,
    /** Pub/sub: a job id whose cancellation was requested. */
    cancelChannel: `${redisPrefix}:cancellations`,
  };
}
