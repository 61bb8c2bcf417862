import type { Db } from '../connection';
import type { Job, NewJob } from '../schema';
import { IDEMPOTENCY_WINDOW_MS, insertJob } from './jobs';
import type { InsertJobResult } from './jobs';

/** One outcome per submitted job, in order: its result, or the error that left it unwritten. */
export type InsertJobsOutcome = InsertJobResult | { kind: 'error'; error: unknown };

const keyOf = (j: { tenant_id: string; environment: string; idempotency_key?: string | null }) => `${j.tenant_id}\u0000${j.environment}\u0000${j.idempotency_key}`;

/** What a request holding this hash gets when `row` owns its Idempotency-Key. */
function against(row: Job, hash: string | null | undefined): InsertJobResult {
  return row.request_hash === hash ? { kind: 'replayed', job: row } : { kind: 'key_reused', job: row };
}

/**
 * `insertJob` for many jobs at once (the API batches concurrent submissions): ONE multi-row INSERT
 * for the whole batch, with exactly `insertJob`'s Idempotency-Key semantics per job — also between
 * jobs of the same batch, where the first one holding a key is the one inserted and the others
 * get it replayed (same request hash) or refused (another hash).
 *
 * Throws when the INSERT itself fails: it is one statement, so then nothing of the batch was
 * written. After it, a job whose key belongs to an existing row needs one more SELECT; should that
 * fail, only those jobs come back as `{ kind: 'error' }` (they wrote nothing) while the rows the
 * INSERT created stay `created`. Rare cases (a key whose 24 h window is over, a holder that
 * vanished between the statements) fall back to `insertJob` one job at a time.
 */
export async function insertJobs(db: Db, jobs: NewJob[]): Promise<InsertJobsOutcome[]> {
  if (!jobs.length) return [];
  // The first job holding a key leads; later ones in the batch follow its outcome.
  const leaderOf = new Map<string, number>();
  const leaders: number[] = [];
  const follows = new Map<number, number>();
  jobs.forEach((job, i) => {
    if (job.idempotency_key == null) return void leaders.push(i);
    const k = keyOf(job);
    const lead = leaderOf.get(k);
    if (lead === undefined) {
      leaderOf.set(k, i);
      leaders.push(i);
    } else follows.set(i, lead);
  });

  const created = await db
    .insertInto('jobs')
    .values(leaders.map((i) => jobs[i]!))
    .onConflict((oc) => oc.columns(['tenant_id', 'environment', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing())
    .returningAll()
    .execute();
  const createdById = new Map(created.map((row) => [row.id, row]));

  const out: InsertJobsOutcome[] = new Array(jobs.length);
  const conflicted: number[] = [];
  for (const i of leaders) {
    const row = createdById.get(jobs[i]!.id);
    if (row) out[i] = { kind: 'created', job: row };
    else conflicted.push(i);
  }

  if (conflicted.length) {
    let holders: Map<string, Job> | undefined;
    let lookupError: unknown;
    try {
      const rows = await db
        .selectFrom('jobs')
        .selectAll()
        .where(({ eb, refTuple, tuple }) =>
          eb(
            refTuple('tenant_id', 'environment', 'idempotency_key'),
            'in',
            conflicted.map((i) => tuple(jobs[i]!.tenant_id, jobs[i]!.environment, jobs[i]!.idempotency_key as string)),
          ),
        )
        .execute();
      holders = new Map(rows.map((row) => [keyOf(row), row]));
    } catch (err) {
      lookupError = err;
    }
    await Promise.all(
      conflicted.map(async (i) => {
        const job = jobs[i]!;
        if (!holders) return void (out[i] = { kind: 'error', error: lookupError });
        const holder = holders.get(keyOf(job));
        if (holder && Date.now() - holder.created_at.getTime() <= IDEMPOTENCY_WINDOW_MS) return void (out[i] = against(holder, job.request_hash));
        // Expired key or a holder gone since the INSERT: the one-job path releases and retries.
        try {
          out[i] = await insertJob(db, job);
        } catch (err) {
          out[i] = { kind: 'error', error: err };
        }
      }),
    );
  }

  for (const [i, lead] of follows) {
    const led = out[lead]!;
    out[i] = led.kind === 'error' ? led : against(led.job, jobs[i]!.request_hash);
  }
  return out;
}
