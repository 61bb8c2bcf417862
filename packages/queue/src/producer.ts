import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { RedisConnection } from './redis';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from './names';
import { jobOptions } from './catalog';
import type { JobPayload } from './catalog';
import { queueClient, sendAddJob } from './bullmq-internals';

export interface ProducerOptions {
  redis: RedisConnection;
  redisPrefix: string;
  /** BullMQ attempts for a job run (JOB_ATTEMPTS; the catalog holds the backoff and retention). */
  attempts: number;
}

export interface Producer {
  /** Adds the job to its tenant's queue with BullMQ jobId = our job id (so re-adding is a no-op) and announces the tenant. */
  enqueueRun(payload: JobPayload<'job.run'>): Promise<void>;
  /**
   * The same for many jobs at once, in ONE write on the shared connection: every job's BullMQ
   * add (whatever its tenant queue), then the activation (SADD of the tenants, a PUBLISH each).
   * Resolves with the ids that are in their queue and announced; a tenant with a failed add is
   * left out (the reconciler retries it); a failed activation rejects (nothing counts as announced).
   */
  enqueueRuns(payloads: JobPayload<'job.run'>[]): Promise<string[]>;
  tenantQueue(tenantId: string): Queue;
  /**
   * Puts tenants back in the dispatchers' active set and announces those that were missing;
   * resolves with those. One pipelined round trip, and one more only when some were missing.
   */
  reannounce(tenantIds: string[]): Promise<string[]>;
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

  const jobOpts = (jobId: string) => jobOptions('job.run', { jobId, attempts: opts.attempts });

  /** Announces tenants that got work to every dispatcher: one MULTI however many tenants. */
  async function activate(tenantIds: string[]): Promise<void> {
    const m = opts.redis.multi().sadd(keys.activeTenants, ...tenantIds);
    for (const t of tenantIds) m.publish(keys.activationChannel, t);
    const res = await m.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('activation transaction aborted');
  }

  /** The Cluster path: a pipelined addBulk per tenant queue, then one activation of the tenants whose adds succeeded. */
  async function enqueuePerTenant(byTenant: Map<string, JobPayload<'job.run'>[]>): Promise<string[]> {
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
      if (!byTenant.size) return [];
      // On Redis Cluster a pipeline must stay within one slot and each tenant has its own hash tag:
      // one addBulk per tenant queue, then the activation.
      if (opts.redis.isCluster) return enqueuePerTenant(byTenant);
      const tenants = [...byTenant.keys()];
      const queues = tenants.map(tenantQueue);
      // Resolved at once after the first use: the queues share opts.redis, on which BullMQ's
      // scripts are defined once.
      await Promise.all(queues.map((q) => q.waitUntilReady()));
      // BullMQ's own add of each job (sendAddJob), then the
      // activation, all issued in this tick on the shared connection with its socket corked: one
      // write for the batch instead of a pipeline per tenant queue plus a MULTI. No ioredis
      // pipeline either: making one copies every script command of the connection (BullMQ's ~64),
      // which cost more than the adds themselves.
      const client = await queueClient(queues[0]!);
      const socket = opts.redis instanceof Redis && opts.redis.status === 'ready' ? opts.redis.stream : undefined;
      socket?.cork();
      const added: Promise<unknown>[] = [];
      let activation: Promise<unknown>;
      try {
        tenants.forEach((tid, i) => {
          const q = queues[i]!;
          // Each add sends its command synchronously; the promise settles with the reply.
          const adds = byTenant.get(tid)!.map((p) => sendAddJob(q, client, 'job.run', p, jobOpts(p.job_id), p.job_id));
          added.push(Promise.all(adds));
        });
        // Announced after the adds on the same connection, so a dispatcher that hears of a tenant
        // finds its jobs (Redis runs one connection's commands in order). A tenant whose add failed
        // is announced anyway: a dispatcher finds its queue empty and retires it, as for any stale wake-up.
        activation = Promise.all([opts.redis.sadd(keys.activeTenants, ...tenants), ...tenants.map((t) => opts.redis.publish(keys.activationChannel, t))]);
      } finally {
        socket?.uncork();
      }
      const [outcomes, announced] = await Promise.all([
        Promise.allSettled(added),
        activation.then(
          () => undefined,
          (err: unknown) => ({ err }),
        ),
      ]);
      if (announced) throw announced.err;
      const ids: string[] = [];
      outcomes.forEach((o, i) => {
        if (o.status === 'fulfilled') for (const p of byTenant.get(tenants[i]!)!) ids.push(p.job_id);
      });
      return ids;
    },
    async reannounce(tenantIds) {
      if (!tenantIds.length) return [];
      // A SADD per tenant (one key, so one slot on Cluster too): each reply says whether it was missing.
      const pipeline = opts.redis.pipeline();
      for (const t of tenantIds) pipeline.sadd(keys.activeTenants, t);
      const replies = (await pipeline.exec()) ?? [];
      const missing = tenantIds.filter((_, i) => {
        const [err, added] = replies[i] ?? [new Error('no reply from Redis')];
        if (err) throw err;
        return added === 1;
      });
      if (missing.length) await activate(missing);
      return missing;
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
