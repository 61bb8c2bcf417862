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
   * add (whatever its tenant queue), then the activation (SADD of the tenants, a PUBLISH each). On
   * a Cluster: one write per master for the adds, then the activation once they answered.
   * Resolves with the ids that are in their queue and announced; a tenant with a failed add is
   * left out (the reconciler retries it); a failed activation rejects (nothing counts as announced).
   */
  enqueueRuns(payloads: JobPayload<'job.run'>[]): Promise<string[]>;
  /** Adds a session's tool call to its tenant's queue (BullMQ jobId = the call id, so re-adding is a no-op) and announces the tenant. */
  enqueueSessionCall(payload: JobPayload<'session.call'>): Promise<void>;
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

  return {
    tenantQueue,
    async enqueueRun(payload) {
      await tenantQueue(payload.tenant_id).add('job.run', payload, jobOpts(payload.job_id));
      await activate([payload.tenant_id]);
    },
    async enqueueSessionCall(payload) {
      await tenantQueue(payload.tenant_id).add('session.call', payload, jobOptions('session.call', { jobId: payload.call_id }));
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
      const tenants = [...byTenant.keys()];
      const queues = tenants.map(tenantQueue);
      // Resolved at once after the first use: the queues share opts.redis, on which BullMQ's
      // scripts are defined once.
      await Promise.all(queues.map((q) => q.waitUntilReady()));
      // BullMQ's own add of each job (sendAddJob), all issued in this tick with the sockets corked:
      // one write for the batch on a single Redis, one per master on a Cluster (each add goes to
      // its tenant's slot), instead of a pipeline or MULTI per tenant queue. No ioredis pipeline
      // either: making one copies every script command of the connection (BullMQ's ~64), which
      // cost more than the adds themselves.
      const client = await queueClient(queues[0]!);
      const single = opts.redis instanceof Redis;
      const added: Promise<unknown>[] = [];
      let activation: Promise<unknown> | undefined;
      withCorkedSockets(opts.redis, () => {
        tenants.forEach((tid, i) => {
          const q = queues[i]!;
          // Each add sends its command synchronously; the promise settles with the reply.
          const adds = byTenant.get(tid)!.map((p) => sendAddJob(q, client, 'job.run', p, jobOpts(p.job_id), p.job_id));
          added.push(Promise.all(adds));
        });
        // On one Redis, announced after the adds in the same write, so a dispatcher that hears of a
        // tenant finds its jobs (Redis runs one connection's commands in order). A tenant whose add
        // failed is announced anyway: a dispatcher finds its queue empty and retires it, as for any
        // stale wake-up.
        if (single)
          activation = Promise.all([opts.redis.sadd(keys.activeTenants, ...tenants), ...tenants.map((t) => opts.redis.publish(keys.activationChannel, t))]);
      });
      const outcomes = await Promise.allSettled(added);
      const ok = tenants.filter((_, i) => outcomes[i]!.status === 'fulfilled');
      // On a Cluster the adds and the set live on different nodes, which keep no order between
      // them: the tenants whose adds were stored are announced once the adds answered.
      if (activation) await activation;
      else if (ok.length) await activate(ok);
      return ok.flatMap((tid) => byTenant.get(tid)!.map((p) => p.job_id));
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

/**
 * Runs `send` with the connection's sockets corked (the one Redis's, or each connected master's of
 * a Cluster), so the commands it issues synchronously leave in one write per socket. A socket not
 * connected yet is skipped: its commands wait in ioredis's queue and go out when it connects.
 */
function withCorkedSockets(redis: RedisConnection, send: () => void): void {
  const nodes = redis instanceof Redis ? [redis] : redis.nodes('master');
  const sockets = nodes.filter((n) => n.status === 'ready').map((n) => n.stream);
  for (const socket of sockets) socket.cork();
  try {
    send();
  } finally {
    for (const socket of sockets) socket.uncork();
  }
}
