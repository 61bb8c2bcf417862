import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { Database, Db } from '@agents/db';

/** pg_advisory_xact_lock key of the rollup ("bill" in ASCII); all runs on one database serialise on it. */
export const ROLLUP_LOCK_KEY = 0x62696c6c;

export interface RollupOptions {
  /**
   * work_mem for the aggregate (MB). The GROUP BY of a large backlog has up to one hash entry per
   * (tenant, environment, hour, kind, server, tool); 64 MB keeps ~10^5–10^6 groups in memory
   * instead of spilling to disk. Applies to this transaction only.
   */
  workMemMb?: number;
}

export interface RollupStats {
  /** Events aggregated by this run. */
  events: number;
  /** usage_rollups rows inserted or added to. */
  groups: number;
  /** The transaction-id range this run covered: fromTxid <= txid < toTxid (xid8 as text). */
  fromTxid: string;
  toTxid: string;
  /** Every event that occurred before this instant is now in usage_rollups. */
  usageThrough: Date;
  /** (tenant, period) pairs with new live events in this run: the invoices to refresh. */
  livePeriods: { tenant_id: string; period: string }[];
}

/**
 * One rollup run inside the caller's transaction (which must be fresh and READ COMMITTED).
 *
 * Why it counts every event exactly once: under a transaction-level advisory lock (concurrent runs
 * wait, then see the previous run's watermark), it reads X = xmin of a fresh snapshot. Every
 * transaction with an id below X has finished, so the events with watermark <= txid < X are final:
 * none can still appear there later. Those are added into usage_rollups and the watermark moves
 * to X in the same transaction, so a crash either keeps both or neither. An event committed late
 * (long transaction, old occurred_at) has a txid >= X and is taken by a later run, in the hour it
 * occurred. Each run reads only its txid range (index usage_events_txid): cost is proportional to
 * the new events, not to the table.
 */
export async function rollupInTransaction(trx: Transaction<Database>, opts: RollupOptions = {}): Promise<RollupStats> {
  const workMem = Math.max(4, Math.trunc(opts.workMemMb ?? 64));
  await sql.raw(`SET LOCAL work_mem = '${workMem}MB'`).execute(trx);
  await sql`SELECT pg_advisory_xact_lock(${sql.lit(ROLLUP_LOCK_KEY)})`.execute(trx);

  const state = await sql<{ watermark: string; usage_through: Date | null }>`
    SELECT watermark::text AS watermark, usage_through FROM rollup_state WHERE id = 1`.execute(trx);
  const from = state.rows[0]!.watermark;
  const previousThrough = state.rows[0]!.usage_through;

  // Read BEFORE the snapshot below: the statement's start time, and the start of the oldest
  // transaction in flight on this database (its events, once committed, may carry that time).
  const clock = await sql<{ t0: Date; oldest: Date | null }>`
    SELECT statement_timestamp() AS t0,
           (SELECT min(xact_start) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL) AS oldest`.execute(trx);
  const snap = await sql<{ x: string }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x`.execute(trx);
  // xmin never moves backwards, but a watermark must not either, whatever the server says.
  const to = BigInt(snap.rows[0]!.x) > BigInt(from) ? snap.rows[0]!.x : from;

  const agg = await sql<{ events: number | string | null; groups: number | string; live: { tenant_id: string; period: string }[] | null }>`
    WITH agg AS MATERIALIZED (
      SELECT tenant_id, environment, date_trunc('hour', occurred_at, 'UTC') AS hour, kind,
             coalesce(server, '') AS server, coalesce(tool, '') AS tool,
             count(*) AS events,
             count(*) FILTER (WHERE NOT success) AS failures,
             count(*) FILTER (WHERE denied) AS denied,
             coalesce(sum(duration_ms), 0) AS duration_ms,
             coalesce(sum(input_tokens), 0) AS input_tokens,
             coalesce(sum(output_tokens), 0) AS output_tokens
        FROM usage_events
       WHERE txid >= ${from}::xid8 AND txid < ${to}::xid8
       GROUP BY 1, 2, 3, 4, 5, 6
    ), up AS (
      INSERT INTO usage_rollups AS r (tenant_id, environment, hour, kind, server, tool, events, failures, denied, duration_ms, input_tokens, output_tokens)
      SELECT tenant_id, environment, hour, kind, server, tool, events, failures, denied, duration_ms, input_tokens, output_tokens FROM agg
      ON CONFLICT (tenant_id, environment, hour, kind, server, tool) DO UPDATE SET
        events = r.events + EXCLUDED.events,
        failures = r.failures + EXCLUDED.failures,
        denied = r.denied + EXCLUDED.denied,
        duration_ms = r.duration_ms + EXCLUDED.duration_ms,
        input_tokens = r.input_tokens + EXCLUDED.input_tokens,
        output_tokens = r.output_tokens + EXCLUDED.output_tokens
      RETURNING 1
    )
    SELECT (SELECT sum(events) FROM agg) AS events,
           (SELECT count(*) FROM up) AS groups,
           (SELECT json_agg(DISTINCT jsonb_build_object('tenant_id', tenant_id, 'period', to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM')))
              FROM agg WHERE environment = 'live') AS live`.execute(trx);
  const events = Number(agg.rows[0]!.events ?? 0);

  // Events not yet rolled up are: committed with txid >= X (visible now), or in transactions
  // still running (started no earlier than `oldest`), or in ones that start later (after t0).
  const pending = await sql<{ min: Date | null }>`
    SELECT min(occurred_at) AS min FROM usage_events WHERE txid >= ${to}::xid8`.execute(trx);
  let through = clock.rows[0]!.t0;
  for (const t of [clock.rows[0]!.oldest, pending.rows[0]!.min]) if (t && t < through) through = t;
  if (previousThrough && previousThrough > through) through = previousThrough;

  await sql`
    UPDATE rollup_state
       SET watermark = ${to}::xid8, last_run_at = now(), events_total = events_total + ${events}, usage_through = ${through}
     WHERE id = 1`.execute(trx);

  return {
    events,
    groups: Number(agg.rows[0]!.groups),
    fromTxid: from,
    toTxid: to,
    usageThrough: through,
    livePeriods: agg.rows[0]!.live ?? [],
  };
}

/** A rollup run in its own transaction; safe to call from any number of processes at once. */
export async function runRollup(db: Db, opts: RollupOptions = {}): Promise<RollupStats> {
  return db.transaction().execute((trx) => rollupInTransaction(trx, opts));
}
