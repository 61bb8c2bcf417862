import type { Db } from '../connection';
import type { JobStep, NewUsageEvent } from '../schema';
import { param, prepare } from '../prepared';
import { storableJson, storableText } from '../storable-text';

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
 * that got this far before) changes nothing: both inserts are keyed (a usage row whose
 * idempotency key is already claimed is dropped by usage_events' trigger, migration 0015; a
 * partitioned table has no unique key for an ON CONFLICT to name). One statement (the step
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
    const { step, usage } = checkpointInserts(db, v);
    return usage
      ? db
          .with('step', () => step)
          .insertInto('usage_events')
          .values(usage)
      : step;
  },
  (v) => Object.keys(v).join(','),
);

/**
 * A checkpoint's two inserts, built from the placeholders of checkpointValues (the usage insert
 * as its rows, or undefined with none), for the statements that write one: checkpointQuery, and
 * finishJob's, which writes the last step with the job's terminal state.
 */
export function checkpointInserts(db: Db, v: Record<string, unknown>) {
  const step = db
    .insertInto('job_steps')
    .values({ job_id: param('job_id'), seq: param('seq'), kind: param('kind'), payload: param('payload') })
    .onConflict((oc) => oc.columns(['job_id', 'seq']).doNothing());
  const rows: Record<string, unknown>[] = [];
  for (const key of Object.keys(v)) {
    const m = /^u(\d+)\.(.+)$/.exec(key);
    if (m) (rows[Number(m[1])] ??= {})[m[2]!] = param(key);
  }
  return { step, usage: rows.length ? (rows as unknown as NewUsageEvent[]) : undefined };
}

/**
 * The values of a checkpoint's placeholders (see checkpointInserts); their keys are its shape.
 * A step's payload is whatever a model or provider sent, and a usage row names the tool the model
 * asked for: text Postgres cannot store (U+0000, lone surrogates) is replaced here, the one place
 * every checkpoint passes, so a hostile reply can neither fail the write nor leave a call unmetered.
 */
export function checkpointValues(c: Checkpoint): Record<string, unknown> {
  const values: Record<string, unknown> = { job_id: c.jobId, seq: c.seq, kind: c.kind, payload: JSON.stringify(storableJson(c.payload)) };
  c.usage.forEach((row, i) => {
    for (const [col, value] of Object.entries(storableRow(row))) if (value !== undefined) values[`u${i}.${col}`] = value;
  });
  return values;
}

export function storableRow(row: NewUsageEvent): NewUsageEvent {
  const out: Record<string, unknown> = {};
  for (const [col, value] of Object.entries(row)) out[col] = typeof value === 'string' ? storableText(value) : value;
  return out as NewUsageEvent;
}

/**
 * Meters a step's usage rows alone, for a step whose checkpoint could not be stored: the call
 * happened and is billed once (rows are keyed), whatever became of its result.
 */
export async function writeUsageRows(db: Db, rows: NewUsageEvent[]): Promise<void> {
  if (!rows.length) return;
  await db.insertInto('usage_events').values(rows.map(storableRow)).execute();
}

export async function writeCheckpoint(db: Db, c: Checkpoint): Promise<void> {
  await checkpointQuery.execute(db, checkpointValues(c));
}

export async function listSteps(db: Db, jobId: string): Promise<JobStep[]> {
  return db.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).orderBy('seq').execute();
}
