import type { Db } from '@agents/db';
import { refreshInvoices } from './invoices';
import type { RefreshInvoicesResult } from './invoices';
import { rollupInTransaction } from './rollup';
import type { RollupOptions, RollupStats } from './rollup';

export interface BillingCycleOptions extends RollupOptions {
  now?: Date;
  /** See RefreshInvoicesOptions.settleMs. */
  settleMs?: number;
}

export interface BillingCycleResult {
  rollup: RollupStats;
  invoices: RefreshInvoicesResult;
}

/**
 * What the `billing.rollup` job does: roll up new events, then refresh the invoices they touch
 * and finalise the ones whose period is settled — in ONE transaction under the rollup lock, so an
 * invoice always matches the rollups (and usage_through) it was computed from, and racing runs
 * can neither double count nor rewrite a final invoice.
 */
export async function runBillingCycle(db: Db, opts: BillingCycleOptions = {}): Promise<BillingCycleResult> {
  return db.transaction().execute(async (trx) => {
    const rollup = await rollupInTransaction(trx, opts);
    const invoices = await refreshInvoices(trx, {
      now: opts.now ?? new Date(),
      usageThrough: rollup.usageThrough,
      settleMs: opts.settleMs,
      touched: rollup.livePeriods,
    });
    return { rollup, invoices };
  });
}
