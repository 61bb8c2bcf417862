import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { runBillingCycle } from '@agents/billing';
import type { BillingCycleResult } from '@agents/billing';
import type { Db } from '@agents/db';
import { BILLING_QUEUE, parsePayload, systemBullPrefix } from '@agents/queue';
import type { Logger } from '@agents/observability';

export const BILLING_ROLLUP_SCHEDULER_ID = 'billing.rollup';

export interface BillingRollupOptions {
  db: Db;
  redis: Redis;
  redisPrefix: string;
  logger: Logger;
  /** BILLING_ROLLUP_EVERY_MS: how often the scheduler produces a run (ms). */
  everyMs: number;
  /** A period's invoice is final once the rollup horizon passes its end by this much (ms); the job timeout. */
  settleMs: number;
}

export interface BillingRollup {
  close(): Promise<void>;
}

/**
 * The billing rollup as a BullMQ job scheduler on the system queue. Every worker process upserts
 * the same scheduler id (idempotent: one schedule however many processes) and runs a Worker with
 * concurrency 1; the runs themselves serialise on a Postgres advisory lock, so even two runs at
 * once (a stalled job retried, an operator's manual run) cannot double count.
 */
export async function startBillingRollup(opts: BillingRollupOptions): Promise<BillingRollup> {
  const prefix = systemBullPrefix(opts.redisPrefix);
  const queue = new Queue(BILLING_QUEUE, { connection: opts.redis, prefix });
  queue.on('error', () => undefined);
  await queue.upsertJobScheduler(
    BILLING_ROLLUP_SCHEDULER_ID,
    { every: opts.everyMs },
    { name: 'billing.rollup', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } } },
  );
  const log = opts.logger.child({ component: 'billing-rollup' });
  const worker = new Worker(
    BILLING_QUEUE,
    async (job): Promise<Pick<BillingCycleResult['rollup'], 'events' | 'groups'> & { usage_through: string; invoices_written: number }> => {
      parsePayload('billing.rollup', job.data);
      const r = await runBillingCycle(opts.db, { settleMs: opts.settleMs });
      log.info(
        { events: r.rollup.events, groups: r.rollup.groups, usage_through: r.rollup.usageThrough.toISOString(), invoices_written: r.invoices.written, invoices_finalized: r.invoices.finalized },
        'billing rollup ran',
      );
      return { events: r.rollup.events, groups: r.rollup.groups, usage_through: r.rollup.usageThrough.toISOString(), invoices_written: r.invoices.written };
    },
    { connection: opts.redis, prefix, concurrency: 1 },
  );
  worker.on('error', () => undefined);
  worker.on('failed', (_job, err) => log.warn({ err: { message: err.message } }, 'billing rollup failed; the next run retries'));
  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
