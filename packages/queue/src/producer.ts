import { Job, Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
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
   * The same for many jobs at once, in ONE pipeline on the shared connection: every job's BullMQ
   * add (whatever its tenant queue), then the activation (SADD of the tenants, a PUBLISH each).
   * Resolves with the ids that are in their queue and announced; a tenant with a failed add is
   * left out (the reconciler retries it); a failed activation rejects (nothing counts as announced).
   */
  enqueueRuns(payloads: JobPayload<'job.run'>[]): Promise<string[]>;
  tenantQueue(tenantId: string): Queue;
  /** Puts a tenant back in the dispatchers' active set and, if it was missing, announces it; true when it was missing. */
  reannounce(tenantId: string): Promise<boolean>;
  /** Publishes a cancellation to every worker process. */
  publishCancel(jobId: string): Promise<void>;
  close(): Promise<void>;
}

/** BullMQ's add scripts answer a negative number for a refused add (e.g. a missing parent); addJobs throws on it. */
const isBullError = (reply: unknown) => typeof reply === 'number' && reply < 0;

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
      // BullMQ's own add of each job (Job → its stored form → the addStandardJob script via
      // `addJobToTransaction`, which BullMQ keeps public to batch adds across queues), queued on
      // one pipeline: one write and one round trip for the batch instead of a pipeline per tenant
      // queue plus a MULTI (an ioredis pipeline also copies every script command of the
      // connection when it is made, which cost more than the adds themselves). BullMQ's client
      // wraps opts.redis and its pipeline is an ioredis pipeline with `runCommand` added.
      const transaction = (await queues[0]!.getBackend().client).pipeline();
      const pipeline = transaction as unknown as ChainableCommander;
      const spans: Array<{ tid: string; from: number; to: number }> = [];
      let n = 0;
      tenants.forEach((tid, i) => {
        const q = queues[i]!;
        const backend = q.getBackend();
        const list = byTenant.get(tid)!;
        spans.push({ tid, from: n, to: n + list.length });
        for (const p of list) {
          const job = new Job(q, 'job.run', p, jobOpts(p.job_id), p.job_id);
          // Queues its command synchronously (the promise only reports a refusal, read from the replies below).
          void backend.addJobToTransaction(transaction, job.asJSON(), p.job_id, { parentKey: undefined, parentDependenciesKey: '' }, q.keys).catch(() => undefined);
          n++;
        }
      });
      // Announced after the adds on the same connection, so a dispatcher that hears of a tenant
      // finds its jobs (Redis runs a pipeline's commands in order). A tenant whose add failed is
      // announced anyway: a dispatcher finds its queue empty and retires it, as for any stale wake-up.
      pipeline.sadd(keys.activeTenants, ...tenants);
      for (const t of tenants) pipeline.publish(keys.activationChannel, t);
      const res = await pipeline.exec();
      if (!res) throw new Error('enqueue pipeline aborted');
      const failedActivation = res.slice(n).find(([err]) => err);
      if (failedActivation) throw failedActivation[0];
      const ids: string[] = [];
      for (const sp of spans) {
        if (res.slice(sp.from, sp.to).some(([err, reply]) => err || isBullError(reply))) continue;
        for (const p of byTenant.get(sp.tid)!) ids.push(p.job_id);
      }
      return ids;
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
