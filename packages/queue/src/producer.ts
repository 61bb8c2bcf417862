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
  /**
   * The same for many jobs at once: one pipelined `addBulk` per tenant queue, then ONE activation
   * (SADD + PUBLISH per tenant) for all of them. Resolves with the ids that are in their queue and
   * announced; a tenant whose add or activation failed is left out (the reconciler retries it).
   */
  enqueueRuns(payloads: JobPayload<'job.run'>[]): Promise<string[]>;
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

  const jobOpts = (jobId: string) => ({
    jobId,
    attempts: opts.attempts,
    backoff: { type: 'exponential', delay: opts.backoffMs ?? 1000 },
    // The job row keeps the history; Redis keeps only what ops need to look at.
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  });

  /** Announces tenants that got work to every dispatcher: one MULTI however many tenants. */
  async function activate(tenantIds: string[]): Promise<void> {
    const m = opts.redis.multi().sadd(keys.activeTenants, ...tenantIds);
    for (const t of tenantIds) m.publish(keys.activationChannel, t);
    const res = await m.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('activation transaction aborted');
  }

  return {
    tenantQueue,
    async enqueueRun(payload) {
      await tenantQueue(payload.tenant_id).add('job.run', payload, jobOpts(payload.job_id));
      await activate([payload.tenant_id]);
    },
    async enqueueRuns(payloads) {
      const byTenant = new Map<string, JobPayload<'job.run'>[]>();
      for (const p of payloads) {
        const list = byTenant.get(p.tenant_id);
        if (list) list.push(p);
        else byTenant.set(p.tenant_id, [p]);
      }
      const added = await Promise.all(
        [...byTenant].map(([tid, list]) =>
          tenantQueue(tid)
            .addBulk(list.map((p) => ({ name: 'job.run', data: p, opts: jobOpts(p.job_id) })))
            .then(
              () => tid,
              () => undefined,
            ),
        ),
      );
      const ok = added.filter((t): t is string => t !== undefined);
      if (!ok.length) return [];
      await activate(ok);
      return ok.flatMap((tid) => byTenant.get(tid)!.map((p) => p.job_id));
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
