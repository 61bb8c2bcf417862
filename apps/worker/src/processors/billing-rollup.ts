import { Worker } from 'bullmq';
import type { RedisConnection, Handler, JobHandlers, SystemQueues } from '@agents/queue';
import { runBillingCycle } from '@agents/billing';
import type { BillingCycleResult } from '@agents/billing';
import type { Db } from '@agents/db';
import { jobOptions, processorOf, systemBullPrefix, systemQueueOf } from '@agents/queue';
import type { Logger } from '@agents/observability';

export const BILLING_ROLLUP_SCHEDULER_ID = 'billing.rollup';

export interface BillingRollupHandlerDeps {
  db: Db;
  logger: Logger;
  /** A period's invoice is final once the rollup horizon passes its end by this much (ms); the job timeout. */
  settleMs: number;
}

/** What a run returns (shown in Bull Board). */
export type BillingRollupResult = Pick<BillingCycleResult['rollup'], 'events' | 'groups'> & { usage_through: string; invoices_written: number };

/** The `billing.rollup` handler: one billing cycle (usage rolled up, invoices priced). */
export function createBillingRollupHandler(deps: BillingRollupHandlerDeps): Handler<'billing.rollup'> {
  const log = deps.logger.child({ component: 'billing-rollup' });
  return async (): Promise<BillingRollupResult> => {
    const r = await runBillingCycle(deps.db, { settleMs: deps.settleMs });
    const usageThrough = r.rollup.usageThrough.toISOString();
    log.info(
      {
        events: r.rollup.events,
        groups: r.rollup.groups,
        usage_through: usageThrough,
        invoices_written: r.invoices.written,
        invoices_finalized: r.invoices.finalized,
      },
      'billing rollup ran',
    );
    return { events: r.rollup.events, groups: r.rollup.groups, usage_through: usageThrough, invoices_written: r.invoices.written };
  };
}

export interface BillingRollupOptions {
  redis: RedisConnection;
  redisPrefix: string;
  queues: SystemQueues;
  handlers: Pick<JobHandlers, 'billing.rollup'>;
  logger: Logger;
  /** BILLING_ROLLUP_EVERY_MS: how often the scheduler produces a run (ms). */
  everyMs: number;
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
  await opts.queues
    .queueOf('billing.rollup')
    .upsertJobScheduler(BILLING_ROLLUP_SCHEDULER_ID, { every: opts.everyMs }, { name: 'billing.rollup', data: {}, opts: jobOptions('billing.rollup') });
  const worker = new Worker(systemQueueOf('billing.rollup'), processorOf('billing.rollup', opts.handlers), {
    connection: opts.redis,
    prefix: systemBullPrefix(opts.redisPrefix),
    concurrency: 1,
  });
  worker.on('error', () => undefined);
  worker.on('failed', (_job, err) =>
    opts.logger.warn({ component: 'billing-rollup', err: { message: err.message } }, 'billing rollup failed; the next run retries'),
  );
  return {
    async close() {
      await worker.close();
    },
  };
}
