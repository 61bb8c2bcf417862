/**
 * Every use of BullMQ internals in this package, in one file, written against bullmq 6.7.0 (pinned
 * exactly in packages/queue/package.json; test/bullmq-internals.test.ts fails when the installed
 * version differs). "Internal" here means what BullMQ does not promise across versions: its Redis
 * key layout, protected methods, the backend factory argument and the backend's script calls.
 * Upgrading BullMQ means re-reading each item below against the new source, then bumping
 * BULLMQ_VERSION with the package.json pin.
 */
import { Job, Worker, createRedisBackend, isRedisVersionLowerThan } from 'bullmq';
import type { DatabaseType, IRedisTransaction, JobJson, JobsOptions, JobState, Queue, RedisClient } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { RedisConnection } from './redis';

/** The bullmq version every item below was checked against. */
export const BULLMQ_VERSION = '6.7.0';

/**
 * A tenant queue's Worker, used only as a fetch/finish handle (the dispatcher runs the jobs). It
 * exposes BullMQ's protected conversion of the next-job reply that `moveToCompleted(…, fetchNext =
 * true)` returns, as BullMQ's own Worker loop does with it.
 */
export class TenantQueueWorker extends Worker {
  jobFromReply(reply: unknown, token: string): Promise<Job | undefined> {
    if (!Array.isArray(reply) || !reply[0]) return Promise.resolve(undefined);
    return this.nextJobFromJobData(reply[0] as JobJson, reply[1] as string, token);
  }
}

export interface TenantWorkerOptions {
  connection: RedisConnection;
  prefix: string;
  lockMs: number;
  stalledCheckMs: number;
  maxStalledCount: number;
}

/**
 * A Worker without its own blocking connection: the constructor's fourth argument (a backend
 * factory) with `withBlockingConnection: false`, so 1,000 tenant Workers share one client instead
 * of opening 1,001 (DESIGN.md decision 1). `autorun: false`: the dispatcher fetches with
 * `getNextJob(token, { block: false })`, renews locks and starts the stalled check itself.
 */
export function createTenantQueueWorker(queueName: string, o: TenantWorkerOptions): TenantQueueWorker {
  return new TenantQueueWorker(
    queueName,
    null,
    {
      connection: o.connection,
      prefix: o.prefix,
      autorun: false,
      lockDuration: o.lockMs,
      stalledInterval: o.stalledCheckMs,
      maxStalledCount: o.maxStalledCount,
    },
    (name, opts, extra) => createRedisBackend(name, opts, { ...extra, withBlockingConnection: false }),
  );
}

/**
 * How many entries of a queue still need a worker: its wait and active lists, its prioritized and
 * delayed sorted sets (BullMQ's key names under `<prefix>:<queue>:`). One MULTI; an unreadable count
 * (error, aborted transaction) counts as one, so a caller keeps the queue rather than forget it.
 */
export async function countPendingEntries(redis: RedisConnection, bullPrefix: string, queueName: string): Promise<number> {
  const q = `${bullPrefix}:${queueName}`;
  const counts = await redis.multi().llen(`${q}:wait`).zcard(`${q}:prioritized`).zcard(`${q}:delayed`).llen(`${q}:active`).exec();
  return counts ? counts.reduce((n, [err, v]) => n + (err ? 1 : Number(v)), 0) : 1;
}

/** The client a queue's backend sends on (the shared connection the queue was made with). */
export async function queueClient(queue: Queue): Promise<RedisClient> {
  return queue.getBackend().client;
}

/**
 * BullMQ's own add of one job (Job → its stored form → the addStandardJob script), sent on `client`
 * at once, without the Queue#add wrapper, so adds to many queues can share one corked write. The
 * promise settles with the reply (a refusal rejects).
 */
export function sendAddJob(queue: Queue, client: RedisClient, name: string, data: unknown, opts: JobsOptions, jobId: string): Promise<string> {
  const job = new Job(queue, name, data, opts, jobId);
  return queue.getBackend().addJobToTransaction(client, job.asJSON(), jobId, { parentKey: undefined, parentDependenciesKey: '' }, queue.keys);
}

/**
 * BullMQ 6.7's RedisQueueBackend.getState keys, in its order. BullMQ has no batched getJob/getState,
 * so they are named here (the stranded-jobs test reads every state the reconciler acts on).
 */
const STATE_KEYS = ['completed', 'failed', 'delayed', 'active', 'wait', 'paused', 'waiting-children', 'prioritized'];

/** A pipeline on a queue's client: ioredis's, with BullMQ's script commands on it. */
export type StatePipeline = IRedisTransaction & Pick<ChainableCommander, 'exists'>;

export interface EntryStateReader {
  client: RedisClient;
  pipeline(): StatePipeline;
  /**
   * Queues two replies for the job: an EXISTS of its hash (what queue.getJob's HGETALL tells apart,
   * without reading it), then BullMQ's state script (getStateV2, or getState below Redis 6.0.6, as
   * BullMQ picks). Read them with `entryState`.
   */
  add(pipeline: StatePipeline, queue: Queue, jobId: string): void;
}

/** For queues that share one connection (the producer's), after `waitUntilReady` on the first. */
export async function entryStateReader(first: Queue): Promise<EntryStateReader> {
  const backend = first.getBackend();
  const client = await backend.client;
  const script = isRedisVersionLowerThan(backend.redisVersion, '6.0.6', backend.databaseType as DatabaseType) ? 'getState' : 'getStateV2';
  return {
    client,
    pipeline: () => client.pipeline() as StatePipeline,
    add(pipeline, queue, jobId) {
      pipeline.exists(queue.toKey(jobId));
      queue.getBackend().execCommand(pipeline, script, [...STATE_KEYS.map((k) => queue.toKey(k)), jobId]);
    },
  };
}

/** The two replies `add` queued, read back: 'missing' when the job hash does not exist, else the script's state. */
export function entryState(exists: unknown, state: unknown): JobState | 'unknown' | 'missing' {
  return Number(exists) === 0 ? 'missing' : (state as JobState | 'unknown');
}
