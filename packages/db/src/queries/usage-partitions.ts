import { sql } from 'kysely';
import type { Db } from '../connection';

/**
 * The month partitions of usage_events (migration 0015): `usage_events_YYYY_MM` holds the rows
 * whose occurred_at lies in that UTC month, `usage_events_default` any other.
 */
export interface UsagePartition {
  name: string;
  /** "YYYY-MM"; null for the default partition. */
  month: string | null;
  /** false: detached by retention (the table is kept until an operator archives and drops it). */
  attached: boolean;
  /** The planner's row estimate (pg_class.reltuples; -1 before the first ANALYZE). */
  estimatedRows: number;
}

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;
const DEFAULT_PARTITION = 'usage_events_default';

/** The table of one "YYYY-MM" month; throws on anything else (the name is built into DDL). */
export function usagePartitionName(month: string): string {
  const m = MONTH_RE.exec(month);
  if (!m) throw Object.assign(new Error(`not a month (YYYY-MM): ${JSON.stringify(month)}`), { code: 'invalid_month' });
  return `usage_events_${m[1]}_${m[2]}`;
}

/** The UTC month of `at` and the `count - 1` after it, as "YYYY-MM". */
function monthsFrom(at: Date, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + i, 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  });
}

export interface EnsureUsagePartitionsOptions {
  now?: Date;
  /**
   * Months created beyond the current one (default 2). The billing cycle runs every minute, so a
   * month's partition exists about two months before its first row; a stopped scheduler has that
   * long before rows fall into the default partition (which keeps them, see ensure's move).
   */
  monthsAhead?: number;
  /**
   * Attaching a partition takes a brief SHARE UPDATE EXCLUSIVE lock on usage_events and a SHARE
   * ROW EXCLUSIVE lock on jobs (the job_id foreign key). Waiting longer than this (ms, default
   * 2000) behind a long statement gives up (SQLSTATE 55P03) rather than queueing every writer
   * behind the wait; the next run tries again.
   */
  lockTimeoutMs?: number;
}

/**
 * Creates the partitions of the current UTC month and `monthsAhead` after it that do not exist
 * yet; returns the names created (usually none: one cheap catalog lookup per month). Rows of such
 * a month already in the default partition move into the new partition unchanged.
 */
export async function ensureUsagePartitions(db: Db, opts: EnsureUsagePartitionsOptions = {}): Promise<string[]> {
  const months = monthsFrom(opts.now ?? new Date(), 1 + Math.max(0, Math.trunc(opts.monthsAhead ?? 2)));
  const missing = await sql<{ month: string }>`
    SELECT m AS month FROM unnest(${months}::text[]) m WHERE to_regclass('usage_events_' || replace(m, '-', '_')) IS NULL`.execute(db);
  if (!missing.rows.length) return [];
  const lockTimeout = Math.max(1, Math.trunc(opts.lockTimeoutMs ?? 2000));
  return db.transaction().execute(async (trx) => {
    await sql.raw(`SET LOCAL lock_timeout = ${lockTimeout}`).execute(trx);
    const created: string[] = [];
    for (const { month } of missing.rows) {
      const r = await sql<{ name: string | null }>`SELECT usage_events_ensure_partition(${`${month}-01`}::date) AS name`.execute(trx);
      if (r.rows[0]!.name) created.push(r.rows[0]!.name);
    }
    return created;
  });
}

/** Every month table of usage_events, attached or detached, and the default partition; oldest first. */
export async function listUsagePartitions(db: Db): Promise<UsagePartition[]> {
  const r = await sql<{ name: string; attached: boolean; estimated_rows: number }>`
    SELECT c.relname AS name,
           EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid AND i.inhparent = 'usage_events'::regclass) AS attached,
           c.reltuples::float8 AS estimated_rows
      FROM pg_class c
     WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
       AND (c.relname ~ '^usage_events_[0-9]{4}_[0-9]{2}$' OR c.relname = ${DEFAULT_PARTITION})
     ORDER BY c.relname = ${DEFAULT_PARTITION}, c.relname`.execute(db);
  return r.rows.map((p) => ({
    name: p.name,
    month: p.name === DEFAULT_PARTITION ? null : p.name.slice('usage_events_'.length).replace('_', '-'),
    attached: p.attached,
    estimatedRows: Number(p.estimated_rows),
  }));
}

/** Rows in the default partition: rows whose month has no partition (0 while the scheduler runs). */
export async function countDefaultPartitionRows(db: Db): Promise<number> {
  const r = await sql<{ n: string }>`SELECT count(*) AS n FROM usage_events_default`.execute(db);
  return Number(r.rows[0]!.n);
}
