import { ensureUsagePartitions } from '@agents/db';
import type { Db } from '@agents/db';
import { refreshInvoices } from './invoices';
import type { RefreshInvoicesResult } from './invoices';
import { rollupInTransaction } from './rollup';
import type { RollupOptions, RollupStats } from './rollup';

export interface BillingCycleOptions extends RollupOptions {
  now?: Date;
  /** See RefreshInvoicesOptions.settleMs. */
  settleMs?: number;
  /** usage_events month partitions kept ahead of the current month (EnsureUsagePartitionsOptions.monthsAhead). */
  partitionMonthsAhead?: number;
}

export interface BillingCycleResult {
  rollup: RollupStats;
  invoices: RefreshInvoicesResult;
  /**
   * usage_events partitions this run created (usually none), and whether creating a missing one
   * was put off because its lock was not granted in time (the next run tries again; until then
   * that month's rows wait in the default partition, counted like any other).
   */
  partitions: { created: string[]; deferred: boolean };
}

/** SQLSTATE lock_not_available: a lock_timeout expired. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * What the `billing.rollup` job does: keep usage_events' month partitions ahead (its own short
 * transaction first, so the DDL's locks are never held through a rollup), then roll up new
 * events and refresh the invoices they touch and finalise the ones whose period is settled — in
 * ONE transaction under the rollup lock, so an invoice always matches the rollups (and
 * usage_through) it was computed from, and racing runs can neither double count nor rewrite a
 * final invoice.
 */
export async function runBillingCycle(db: Db, opts: BillingCycleOptions = {}): Promise<BillingCycleResult> {
  const now = opts.now ?? new Date();
  let partitions: BillingCycleResult['partitions'];
  try {
    partitions = { created: await ensureUsagePartitions(db, { now, monthsAhead: opts.partitionMonthsAhead }), deferred: false };
  } catch (err) {
    if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
    partitions = { created: [], deferred: true };
  }
  return db.transaction().execute(async (trx) => {
    const rollup = await rollupInTransaction(trx, opts);
    const invoices = await refreshInvoices(trx, {
      now,
      usageThrough: rollup.usageThrough,
      settleMs: opts.settleMs,
      touched: rollup.livePeriods,
    });
    return { rollup, invoices, partitions };
  });
}
