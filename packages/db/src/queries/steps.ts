import type { Db } from '../connection';
import type { JobStep, NewUsageEvent } from '../schema';

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
export async function writeCheckpoint(db: Db, c: Checkpoint): Promise<void> {
  const step = db
    .insertInto('job_steps')
    .values({ job_id: c.jobId, seq: c.seq, kind: c.kind, payload: JSON.stringify(c.payload) })
    .onConflict((oc) => oc.columns(['job_id', 'seq']).doNothing());
  if (!c.usage.length) {
    await step.execute();
    return;
  }
  await db
    .with('step', () => step)
    .insertInto('usage_events')
    .values(c.usage)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .execute();
}

export async function listSteps(db: Db, jobId: string): Promise<JobStep[]> {
  return db.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).orderBy('seq').execute();
}
