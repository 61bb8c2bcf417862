import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { RedisConnection } from './redis';
import { jobOptions, systemQueueOf } from './catalog';
import type { JobPayload, SystemJobName } from './catalog';
import { systemBullPrefix } from './names';

export interface SystemQueues {
  /** Adds a job of a system kind with the catalog's options, `perJob` (jobId, delay) on top. */
  add<N extends SystemJobName>(name: N, payload: JobPayload<N>, perJob?: JobsOptions): Promise<void>;
  /** The BullMQ queue a system kind goes to (job schedulers, Bull Board). */
  queueOf(name: SystemJobName): Queue;
  close(): Promise<void>;
}

/** The system queues (one per system kind in the catalog) on one shared connection, opened on first use. */
export function createSystemQueues(opts: { redis: RedisConnection; redisPrefix: string }): SystemQueues {
  const queues = new Map<string, Queue>();
  function queueOf(name: SystemJobName): Queue {
    const queueName = systemQueueOf(name);
    let q = queues.get(queueName);
    if (!q) {
      q = new Queue(queueName, { connection: opts.redis, prefix: systemBullPrefix(opts.redisPrefix) });
      // A Queue re-emits connection errors; the shared client's own listener reports them.
      q.on('error', () => undefined);
      queues.set(queueName, q);
    }
    return q;
  }
  return {
    queueOf,
    async add(name, payload, perJob) {
      await queueOf(name).add(name, payload, jobOptions(name, perJob));
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
