import { sql } from 'kysely';
import { usagePartitionName } from '@agents/db';
import type { Db } from '@agents/db';
import { PERIOD_RE, periodBounds, periodOf } from './period';
import { ROLLUP_LOCK_KEY } from './rollup';

/** Why a month's usage may not be detached yet; `code` is stable (the ops CLI prints it). */
export class UsageRetentionError extends Error {
  constructor(
    readonly code: 'invalid_period' | 'period_open' | 'period_not_settled' | 'invoices_not_final' | 'events_not_rolled_up' | 'no_partition',
    message: string,
  ) {
    super(message);
    this.name = 'UsageRetentionError';
  }
}

export interface DetachUsageMonthOptions {
  /** The month, "YYYY-MM" (UTC). */
  period: string;
  now?: Date;
  /** The same settle time the billing cycle finalises with (the worker passes JOB_TIMEOUT_MS); default 5 min. */
  settleMs?: number;
  /** DETACH takes ACCESS EXCLUSIVE on usage_events for a moment; give up after this wait (ms, default 5000). */
  lockTimeoutMs?: number;
}

export interface DetachUsageMonthResult {
  period: string;
  /** The detached table: still in the database, outside usage_events, until an operator drops it. */
  partition: string;
  /** true: it was detached before (a re-run finishing an interrupted retention). */
  alreadyDetached: boolean;
  /** Idempotency keys of the month released from usage_event_keys. */
  keysReleased: number;
}

/**
 * Retention: takes one month's raw usage rows out of usage_events once billing is done with them.
 * Refused (UsageRetentionError) unless the month is over, the rollup horizon (usage_through) has
 * passed its end by `settleMs`, no invoice of it or an earlier month is still a draft, and no row
 * of it lies past the rollup watermark. Rollups and invoices are untouched: every figure the API
 * serves for that month comes from usage_rollups, and final invoices are never recomputed. Only
 * the raw tool-call log of the month (`GET /v1/admin/tool-calls`, `GET /v1/usage` pages) is gone
 * from the API.
 *
 * The checks and the DETACH run in one transaction under the rollup's advisory lock, so no
 * billing run interleaves. The month's keys are released afterwards in their own statement (a
 * month of keys is large; deleting them must not hold usage_events' lock), except those of rows
 * in the default partition. From then on a row for that month (a step re-run long after, with a
 * clock that far off) lands in the default partition and is rolled up into its hour like any late
 * event; its final invoice does not change. A key released is one whose row left the table: a
 * step re-run after that (a failed job retried by an operator months later, whose step had been
 * metered without its checkpoint) would be metered again, in the current month.
 * Re-running after an interruption finishes the job (alreadyDetached).
 */
export async function detachUsageMonth(db: Db, opts: DetachUsageMonthOptions): Promise<DetachUsageMonthResult> {
  if (!PERIOD_RE.test(opts.period)) throw new UsageRetentionError('invalid_period', `not a period (YYYY-MM): ${JSON.stringify(opts.period)}`);
  const now = opts.now ?? new Date();
  const { start, end } = periodBounds(opts.period);
  if (opts.period >= periodOf(now)) throw new UsageRetentionError('period_open', `${opts.period} is not over yet`);
  const partition = usagePartitionName(opts.period);
  const settleMs = opts.settleMs ?? 300_000;
  const lockTimeout = Math.max(1, Math.trunc(opts.lockTimeoutMs ?? 5000));

  const alreadyDetached = await db.transaction().execute(async (trx) => {
    await sql.raw(`SET LOCAL lock_timeout = ${lockTimeout}`).execute(trx);
    await sql`SELECT pg_advisory_xact_lock(${sql.lit(ROLLUP_LOCK_KEY)})`.execute(trx);
    const part = await sql<{ attached: boolean }>`
      SELECT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid AND i.inhparent = 'usage_events'::regclass) AS attached
        FROM pg_class c WHERE c.oid = to_regclass(${partition})`.execute(trx);
    if (!part.rows.length) throw new UsageRetentionError('no_partition', `${opts.period} has no partition (${partition})`);
    if (!part.rows[0]!.attached) return true;

    const state = await sql<{ watermark: string; usage_through: Date | null }>`
      SELECT watermark::text AS watermark, usage_through FROM rollup_state WHERE id = 1`.execute(trx);
    const through = state.rows[0]!.usage_through;
    if (!through || through.getTime() < end.getTime() + settleMs) {
      throw new UsageRetentionError(
        'period_not_settled',
        `usage of ${opts.period} is not settled: rolled up through ${through?.toISOString() ?? 'never'}, needs ${new Date(end.getTime() + settleMs).toISOString()}`,
      );
    }
    const drafts = await sql<{ n: string }>`SELECT count(*) AS n FROM invoices WHERE period <= ${opts.period} AND status = 'draft'`.execute(trx);
    if (Number(drafts.rows[0]!.n) > 0) {
      throw new UsageRetentionError('invoices_not_final', `${drafts.rows[0]!.n} invoice(s) of ${opts.period} or earlier are still drafts`);
    }
    const pending = await sql<{ pending: boolean }>`
      SELECT EXISTS (SELECT 1 FROM ${sql.table(partition)} WHERE txid >= ${state.rows[0]!.watermark}::xid8) AS pending`.execute(trx);
    if (pending.rows[0]!.pending) throw new UsageRetentionError('events_not_rolled_up', `${partition} has events the rollup has not taken yet`);
    await sql`ALTER TABLE usage_events DETACH PARTITION ${sql.table(partition)}`.execute(trx);
    return false;
  });

  // A key of the month whose row lives on in the default partition (written after the detach) stays claimed.
  const released = await sql`
    DELETE FROM usage_event_keys k
     WHERE k.month = ${start.toISOString().slice(0, 10)}::date
       AND NOT EXISTS (SELECT 1 FROM usage_events_default d WHERE d.idempotency_key = k.idempotency_key)`.execute(db);
  return { period: opts.period, partition, alreadyDetached, keysReleased: Number(released.numAffectedRows ?? 0) };
}
