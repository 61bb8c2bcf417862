import { sql } from 'kysely';
import type { Db } from '../connection';
import type { Job, NewJob } from '../schema';
import { IDEMPOTENCY_WINDOW_MS, insertJob } from './jobs';
import type { InsertJobResult } from './jobs';

/** One outcome per submitted job, in order: its result, or the error that left it unwritten. */
export type InsertJobsOutcome = InsertJobResult | { kind: 'error'; error: unknown };

const keyOf = (j: { tenant_id: string; environment: string; idempotency_key?: string | null }) =>
  `${j.tenant_id}\u0000${j.environment}\u0000${j.idempotency_key}`;

/**
 * Columns a job row can be inserted with, and whether Postgres stores them as jsonb (NewJob gives
 * those as JSON text, or as a value for pg to serialise).
 */
const JOB_COLUMNS: Record<string, 'json' | 'plain'> = {
  id: 'plain',
  tenant_id: 'plain',
  environment: 'plain',
  type: 'plain',
  status: 'plain',
  input: 'plain',
  steps: 'json',
  servers: 'plain',
  metadata: 'json',
  callback_url: 'plain',
  max_iterations: 'plain',
  model: 'plain',
  output: 'json',
  error: 'json',
  attempts: 'plain',
  idempotency_key: 'plain',
  request_hash: 'plain',
  enqueued_at: 'plain',
  cancel_requested_at: 'plain',
  created_at: 'plain',
  started_at: 'plain',
  finished_at: 'plain',
  context: 'json',
  request_id: 'plain',
  trace_id: 'plain',
  parent_span_id: 'plain',
  session_id: 'plain',
};

const ON_CONFLICT = 'ON CONFLICT (tenant_id, environment, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *';
/** INSERT text per column list (the intake always sends the same one). */
const statements = new Map<string, string>();

/**
 * A scalar that reaches Postgres through JSON exactly as it would as a parameter: finite numbers,
 * valid Dates, and strings without lone surrogates (as a parameter pg writes those as U+FFFD,
 * while Postgres refuses their JSON escape).
 */
function sameThroughJson(v: unknown): boolean {
  if (v === null || typeof v === 'boolean') return true;
  // String.prototype.isWellFormed: Node ≥ 20 (the lib settings of this repo predate its typing).
  if (typeof v === 'string') return (v as unknown as { isWellFormed(): boolean }).isWellFormed();
  if (typeof v === 'number') return Number.isFinite(v);
  return v instanceof Date && !Number.isNaN(v.getTime());
}

/** A plain column's value (scalars, arrays of them) or a jsonb column's (JSON text, or a plain object/array for pg to serialise). */
function jsonable(v: unknown, kind: 'json' | 'plain'): boolean {
  if (kind === 'json') return typeof v === 'string' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype;
  return Array.isArray(v) ? v.every(sameThroughJson) : sameThroughJson(v);
}

/**
 * The rows as ONE JSON array for `json_populate_recordset(NULL::jobs, $1)`, or undefined when a
 * row does not fit that form (then kysely's multi-row VALUES is used). One constant statement
 * with one parameter instead of a VALUES list of 15 parameters per row: kysely builds and
 * compiles no per-row nodes, pg serialises one string, and Postgres parses the same short text
 * every time. jsonb columns given as JSON text are spliced in as they are (they are JSON already;
 * as a parameter Postgres would have parsed the same text), other values are JSON-encoded.
 */
function asJsonRecords(rows: NewJob[]): { columns: string[]; json: string } | undefined {
  const first = rows[0] as Record<string, unknown>;
  const columns = Object.keys(first).filter((c) => first[c] !== undefined);
  if (!columns.every((c) => c in JOB_COLUMNS)) return undefined;
  const parts: string[] = [];
  for (const row of rows as Record<string, unknown>[]) {
    // Every row must set exactly the same columns (kysely would write DEFAULT for a missing one).
    let defined = 0;
    for (const k in row) if (row[k] !== undefined) defined++;
    if (defined !== columns.length) return undefined;
    const fields: string[] = [];
    for (const c of columns) {
      const v = row[c];
      const kind = JOB_COLUMNS[c]!;
      if (v === undefined || !jsonable(v, kind)) return undefined;
      fields.push(`${JSON.stringify(c)}:${kind === 'json' && typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    parts.push(`{${fields.join(',')}}`);
  }
  return { columns, json: `[${parts.join(',')}]` };
}

/** ONE INSERT of all rows; rows whose Idempotency-Key is taken are skipped (not returned). */
async function insertRows(db: Db, rows: NewJob[]): Promise<Job[]> {
  const records = asJsonRecords(rows);
  if (!records) {
    return db
      .insertInto('jobs')
      .values(rows)
      .onConflict((oc) => oc.columns(['tenant_id', 'environment', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing())
      .returningAll()
      .execute();
  }
  const signature = records.columns.join(',');
  let text = statements.get(signature);
  if (text === undefined) {
    text = `INSERT INTO jobs (${signature}) SELECT ${signature} FROM json_populate_recordset(NULL::jobs, $1::json) ${ON_CONFLICT}`;
    statements.set(signature, text);
  }
  // The text is built from JOB_COLUMNS' names only; the rows travel as the one parameter.
  const { rows: created } = await sql<Job>`${sql.raw(text.slice(0, text.indexOf('$1')))}${records.json}${sql.raw(text.slice(text.indexOf('$1') + 2))}`.execute(
    db,
  );
  return created;
}

/**
 * Postgres refused the data of a row (SQLSTATE class 22, e.g. a NUL character in text, or 23, a
 * constraint): one job's content, not the database, failed the statement.
 */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && (code.startsWith('22') || code.startsWith('23'));
}

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
 * written — unless the data of a row was refused (a data or constraint error): then every job is
 * written on its own and only those that fail come back as `{ kind: 'error' }`. After the INSERT,
 * a job whose key belongs to an existing row needs one more SELECT; should that fail, only those jobs come back as `{ kind: 'error' }` (they wrote nothing) while the rows the
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

  const out: InsertJobsOutcome[] = new Array(jobs.length);
  let created: Job[];
  try {
    created = await insertRows(
      db,
      leaders.map((i) => jobs[i]!),
    );
  } catch (err) {
    // One job's data failing the statement must not fail the others (other tenants' requests that
    // happened to share the batch): each job is then written on its own and only it fails.
    if (!isDataError(err) || leaders.length === 1) throw err;
    await Promise.all(
      leaders.map(async (i) => {
        try {
          out[i] = await insertJob(db, jobs[i]!);
        } catch (e) {
          out[i] = { kind: 'error', error: e };
        }
      }),
    );
    return settleFollowers(jobs, follows, out);
  }
  const createdById = new Map(created.map((row) => [row.id, row]));

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

  return settleFollowers(jobs, follows, out);
}

/** Jobs whose key a leader of the same batch holds get the leader's outcome (replayed or refused). */
function settleFollowers(jobs: NewJob[], follows: Map<number, number>, out: InsertJobsOutcome[]): InsertJobsOutcome[] {
  for (const [i, lead] of follows) {
    const led = out[lead]!;
    out[i] = led.kind === 'error' ? led : against(led.job, jobs[i]!.request_hash);
  }
  return out;
}
