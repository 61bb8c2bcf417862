import type { Db } from '../connection';
import type { JobStep, NewUsageEvent } from '../schema';
import { param, prepare } from '../prepared';

export interface Checkpoint {
  jobId: string;
  seq: number;
  kind: JobStep['kind'];
  payload: unknown;
  /** Usage rows caused by this step; written in the same transaction (exactly-once metering). */
  usage: NewUsageEvent[];
}

/**
 * Stores one step and its usage atomically. Re-running the same checkpoint (a retried attempt
 * that got this far before) changes nothing: both inserts are keyed. One statement (the step
 * insert is a data-modifying CTE of the usage insert), so it is atomic without a BEGIN/COMMIT
 * round trip of its own, and inside a caller's transaction it simply joins it.
 */
/**
 * The checkpoint statement, one compiled variant per shape: how many usage rows and which columns
 * each has (`u<i>.<column>` values); with no usage row it is the step insert alone.
 */
const checkpointQuery = prepare<Record<string, unknown>, never>(
  'checkpoint',
  (db, v) => {
    const step = db
      .insertInto('job_steps')
      .values({ job_id: param('job_id'), seq: param('seq'), kind: param('kind'), payload: param('payload') })
      .onConflict((oc) => oc.columns(['job_id', 'seq']).doNothing());
    const rows: Record<string, unknown>[] = [];
    for (const key of Object.keys(v)) {
      const m = /^u(\d+)\.(.+)$/.exec(key);
      if (m) (rows[Number(m[1])] ??= {})[m[2]!] = param(key);
    }
    if (!rows.length) return step;
    return db
      .with('step', () => step)
      .insertInto('usage_events')
      .values(rows as unknown as NewUsageEvent[])
      .onConflict((oc) => oc.column('idempotency_key').doNothing());
  },
  (v) => Object.keys(v).join(','),
);

export async function writeCheckpoint(db: Db, c: Checkpoint): Promise<void> {
  const values: Record<string, unknown> = { job_id: c.jobId, seq: c.seq, kind: c.kind, payload: JSON.stringify(c.payload) };
  c.usage.forEach((row, i) => {
    for (const [col, value] of Object.entries(row)) if (value !== undefined) values[`u${i}.${col}`] = value;
  });
  await checkpointQuery.execute(db, values);
}

export async function listSteps(db: Db, jobId: string): Promise<JobStep[]> {
  return db.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).orderBy('seq').execute();
}
