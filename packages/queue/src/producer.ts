import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from './names';
import type { JobPayload } from './catalog';

export interface ProducerOptions {
  redis: Redis;
  redisPrefix: string;
  /** BullMQ attempts for a job run (transient failures retry with exponential backoff). */
  attempts: number;
  backoffMs?: number;
}

export interface Producer {
  /** Adds the job to its tenant's queue with BullMQ jobId = our job id (so re-adding is a no-op) and announces the tenant. */
  enqueueRun(payload: JobPayload<'job.run'>): Promise<void>;
  tenantQueue(tenantId: string): Queue;
  /** Puts a tenant back in the dispatchers' active set and, if it was missing, announces it; true when it was missing. */
  reannounce(tenantId: string): Promise<boolean>;
  /** Publishes a cancellation to every worker process. */
  publishCancel(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export function createProducer(opts: ProducerOptions): Producer {
  const queues = new Map<string, Queue>();
  const keys = coordinationKeys(opts.redisPrefix);

  function tenantQueue(tenantId: string): Queue {
    let q = queues.get(tenantId);
    if (!q) {
      q = new Queue(tenantQueueName(tenantId), { connection: opts.redis, prefix: tenantBullPrefix(opts.redisPrefix, tenantId) });
      // A Queue re-emits connection errors; the shared client's own listener reports them.
      q.on('error', () => undefined);
      queues.set(tenantId, q);
    }
    return q;
  }

  return {
    tenantQueue,
    async enqueueRun(payload) {
      await tenantQueue(payload.tenant_id).add('job.run', payload, {
        jobId: payload.job_id,
        attempts: opts.attempts,
        backoff: { type: 'exponential', delay: opts.backoffMs ?? 1000 },
        // The job row keeps the history; Redis keeps only what ops need to look at.
        removeOnComplete: { age: 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
      });
      await opts.redis.multi().sadd(keys.activeTenants, payload.tenant_id).publish(keys.activationChannel, payload.tenant_id).exec();
    },
    async reannounce(tenantId) {
      if ((await opts.redis.sadd(keys.activeTenants, tenantId)) === 0) return false;
      await opts.redis.publish(keys.activationChannel, tenantId);
      return true;
    },
    async publishCancel(jobId) {
      await opts.redis.publish(keys.cancelChannel, jobId);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
