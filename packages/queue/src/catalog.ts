import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { BILLING_QUEUE, WEBHOOK_QUEUE } from './names';

/** Where a job kind is queued: each tenant's own queue, or one system queue. */
type CatalogQueue = { perTenant: true } | { name: string };

interface CatalogEntry {
  queue: CatalogQueue;
  schema: z.ZodType;
  /** BullMQ options every producer of this kind uses (ids and delays are per job). */
  options: Readonly<JobsOptions>;
}

/**
 * Typed job catalog shared by producers and consumers: each kind's queue, payload schema and
 * BullMQ options. Payloads carry ids only: the job row in Postgres is the source of truth, and
 * nothing a tenant typed (or any secret) sits in Redis or shows in Bull Board. Keep schemas
 * backward compatible with jobs already queued.
 */
export const jobCatalog = {
  'job.run': {
    queue: { perTenant: true },
    schema: z.object({ job_id: z.string().min(1), tenant_id: z.string().min(1) }),
    // `attempts` is the operator's JOB_ATTEMPTS, given to the producer. Transient failures back off
    // 1 s, 2 s, 4 s…; the job row keeps the history, Redis only what ops look at (a day, a week).
    options: {
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
    },
  },
  'session.call': {
    queue: { perTenant: true },
    // The call's input and answer live in its session_calls row; the entry names it only.
    schema: z.object({ call_id: z.string().min(1), session_id: z.string().min(1), tenant_id: z.string().min(1) }),
    // A run that dies (worker killed, lock lost) or hits an infrastructure error is run again: the
    // call's id is its provider idempotency key and its usage row's key, so a rerun is a no-op at
    // the provider and in billing. The waiting request gives up after about a minute, so do the
    // retries (0.5 s, 1 s).
    options: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 24 * 3600, count: 5000 },
    },
  },
  'webhook.deliver': {
    queue: { name: WEBHOOK_QUEUE },
    // attempt: which attempt of the delivery this entry is (1-based); absent in entries queued before it existed.
    schema: z.object({ delivery_id: z.string().min(1), attempt: z.number().int().min(1).optional() }),
    // BullMQ retries infrastructure errors only (an HTTP outcome never throws); the delivery
    // schedule is ours, in Postgres, which also keeps the attempt log. A failed entry is removed
    // so that the relay can queue it again.
    options: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: true,
    },
  },
  'billing.rollup': {
    queue: { name: BILLING_QUEUE },
    schema: z.object({}).passthrough(),
    // A failed run is not retried by BullMQ: the scheduler's next run (BILLING_ROLLUP_EVERY_MS) does the work.
    options: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  },
} as const satisfies Record<string, CatalogEntry>;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.infer<(typeof jobCatalog)[N]['schema']>;
/** The kinds queued on each tenant's own queue, run by the fair dispatcher. */
export type TenantJobName = { [N in JobName]: (typeof jobCatalog)[N]['queue'] extends { perTenant: true } ? N : never }[JobName];
/** The kinds queued on a system queue (one queue each, not per tenant). */
export type SystemJobName = { [N in JobName]: (typeof jobCatalog)[N]['queue'] extends { name: string } ? N : never }[JobName];

export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  return jobCatalog[name].schema.parse(data) as JobPayload<N>;
}

/** The catalog's BullMQ options for a kind, with the per-job ones (jobId, delay, …) on top. */
export function jobOptions(name: JobName, perJob: JobsOptions = {}): JobsOptions {
  return { ...jobCatalog[name].options, ...perJob };
}

/** The system queue a kind is queued on. */
export function systemQueueOf(name: SystemJobName): string {
  return jobCatalog[name].queue.name;
}
