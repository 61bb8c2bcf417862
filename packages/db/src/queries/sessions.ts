import { sql } from 'kysely';
import type { QueryCreator } from 'kysely';
import type { Db } from '../connection';
import type { Database, Environment, NewUsageEvent, SessionCall, SessionCallResult, SessionRow } from '../schema';
import { storableJson } from '../storable-text';
import { storableRow } from './steps';

export interface NewSession {
  id: string;
  tenant_id: string;
  environment: Environment;
  user_id: string;
  servers: string[];
  metadata: Record<string, string>;
  /** The clock the deadlines were computed from, so that they are exact offsets of it. */
  created_at: Date;
  expires_at: Date;
  hard_expires_at: Date;
}

export async function insertSession(db: Db, s: NewSession): Promise<SessionRow> {
  return db
    .insertInto('sessions')
    .values({ ...s, last_used_at: s.created_at, servers: JSON.stringify(s.servers), metadata: JSON.stringify(s.metadata) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getSession(db: Db, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Marks a call on an active session: `last_used_at` = now, the idle deadline moved to now +
 * idleMs but never past the hard limit. Undefined when the session is closed or already expired
 * (the row is left as it is: expiry is read from the deadlines, not written by a sweeper).
 */
export async function touchSession(db: Db, id: string, idleMs: number): Promise<SessionRow | undefined> {
  return db
    .updateTable('sessions')
    .set({
      last_used_at: sql<Date>`now()`,
      expires_at: sql<Date>`least(now() + make_interval(secs => ${idleMs / 1000}), hard_expires_at)`,
    })
    .where('id', '=', id)
    .where('closed_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}

/** Closes the session (idempotent: a closed session keeps its first closed_at). */
export async function closeSession(db: Db, id: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ closed_at: sql<Date>`least(now(), expires_at)` })
    .where('id', '=', id)
    .where('closed_at', 'is', null)
    .execute();
}

/** Tool calls metered for the session (executed and denied). */
export async function countSessionToolCalls(db: Db, sessionId: string): Promise<number> {
  const row = await db
    .selectFrom('usage_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('session_id', '=', sessionId)
    .where('kind', '=', 'tool_call')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface NewSessionCall {
  id: string;
  session_id: string;
  tenant_id: string;
  environment: Environment;
  server: string;
  tool: string;
  input: Record<string, unknown>;
}

export async function insertSessionCall(db: Db, c: NewSessionCall): Promise<void> {
  await db
    .insertInto('session_calls')
    .values({ ...c, input: JSON.stringify(c.input) })
    .execute();
}

/** Drops a call that could not be queued, so that a late run of it finds nothing to do. */
export async function deleteUnfinishedSessionCall(db: Db, id: string): Promise<void> {
  await db.deleteFrom('session_calls').where('id', '=', id).where('result', 'is', null).execute();
}

export async function getSessionCall(db: Db, id: string): Promise<SessionCall | undefined> {
  return db.selectFrom('session_calls').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Stores a call's answer and its usage row in ONE statement (one round trip, atomic); a second
 * finish (a retried worker run) changes neither: the first answer stays and the usage row's key
 * makes its insert a no-op. Resolves with the stored answer.
 */
export async function finishSessionCall(db: Db, id: string, result: SessionCallResult, usage: NewUsageEvent | undefined): Promise<SessionCallResult> {
  const answer = (qb: QueryCreator<Database>) =>
    qb
      .updateTable('session_calls')
      .set({ result: JSON.stringify(storableJson(result)), finished_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('result', 'is', null)
      .returning('result');
  // A data-modifying CTE's rows are invisible to the rest of the statement's snapshot: the stored
  // answer is the new one when this statement wrote it, else the one already there.
  const stored = sql<SessionCallResult>`coalesce((select result from answered), (select result from session_calls where id = ${id}))`.as('result');
  const answering = db.with('answered', answer);
  const row = usage
    ? await answering
        .with('metered', (qb) =>
          qb
            // A key already claimed drops the row (usage_events' trigger, migration 0015).
            .insertInto('usage_events')
            .values(storableRow(usage))
            .returning('id'),
        )
        .selectNoFrom([stored])
        .executeTakeFirstOrThrow()
    : await answering.selectNoFrom([stored]).executeTakeFirstOrThrow();
  return row.result ?? result;
}
