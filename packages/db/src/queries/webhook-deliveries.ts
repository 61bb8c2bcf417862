import { sql } from 'kysely';
import type { Db } from '../connection';
import { notifyDeliveryDue } from '../delivery-notifications';
import { newId } from '../ids';
import { newestFirstPage } from './page';
import { renderJobEvent } from './job-event';
import type { DeliveryStatus, Environment, WebhookDeliveriesTable } from '../schema';
import type { Selectable } from 'kysely';

export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;

export interface WebhookAttempt {
  n: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  attempted_at: Date;
}

/** A delivery plus what the sender needs: the event's body (see renderJobEvent). */
export interface DeliveryToSend {
  delivery: WebhookDelivery;
  payload: unknown;
}

export interface ListDeliveriesQuery {
  tenantId: string;
  /** A tenant key sees only its own environment; undefined = both (operator). */
  environment?: Environment;
  jobId?: string;
  limit: number;
  startingAfter?: string;
}

/** Newest first (ids sort by creation time); limit+1 rows fetched to compute has_more. */
export async function listDeliveries(db: Db, q: ListDeliveriesQuery): Promise<{ data: WebhookDelivery[]; hasMore: boolean }> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', q.tenantId);
  if (q.environment) query = query.where('environment', '=', q.environment);
  if (q.jobId) query = query.where('job_id', '=', q.jobId);
  return newestFirstPage(query, 'webhook_deliveries', q);
}

export async function getDelivery(db: Db, tenantId: string, id: string): Promise<WebhookDelivery | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/** The attempt log of one delivery, oldest first. */
export async function listDeliveryAttempts(db: Db, deliveryId: string): Promise<WebhookAttempt[]> {
  return db
    .selectFrom('webhook_attempts')
    .select(['n', 'status_code', 'error', 'duration_ms', 'attempted_at'])
    .where('delivery_id', '=', deliveryId)
    .orderBy('n')
    .execute();
}

export async function getDeliveryToSend(db: Db, id: string): Promise<DeliveryToSend | undefined> {
  const delivery = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  if (!delivery) return undefined;
  const payload = await renderJobEvent(db, delivery.event_id);
  if (!payload) return undefined;
  return { delivery, payload };
}

/** Pending deliveries whose next attempt has no queue entry yet (new, rescheduled, or redelivered). */
export async function listUnqueuedDeliveries(db: Db, limit: number): Promise<WebhookDelivery[]> {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('enqueued_at', 'is', null)
    .where('status', '=', 'pending')
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/**
 * Records that the queue entry for the delivery's next attempt exists. Guarded by the attempt
 * count, so a slow relay cannot mark a newer, still unqueued attempt.
 */
export async function markDeliveryEnqueued(db: Db, id: string, attempts: number): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ enqueued_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('attempts', '=', attempts)
    .where('status', '=', 'pending')
    .where('enqueued_at', 'is', null)
    .execute();
}

/**
 * Pending deliveries whose next attempt was due more than `overdueMs` ago although a queue entry
 * was recorded: the entry was lost (Redis data loss, a job that exhausted its infrastructure
 * retries). Clearing enqueued_at hands them back to the relay. Returns how many.
 */
export async function requeueOverdueDeliveries(db: Db, overdueMs: number): Promise<number> {
  const r = await db
    .updateTable('webhook_deliveries')
    .set({ enqueued_at: null })
    .where('status', '=', 'pending')
    .where('enqueued_at', 'is not', null)
    .where('next_attempt_at', '<', sql<Date>`now() - make_interval(secs => ${overdueMs / 1000})`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export interface AttemptOutcome {
  deliveryId: string;
  /** 1-based attempt number; must be the delivery's attempts + 1. */
  n: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The delivery's status after this attempt. */
  status: DeliveryStatus;
  /** When status stays pending: delay until the next attempt, ms. */
  nextDelayMs: number | null;
}

/**
 * Writes one attempt to the log and the delivery row, in one transaction. Returns false when the
 * attempt was already recorded (a duplicate run of the same queue entry), leaving everything as is.
 * A rescheduled delivery gets enqueued_at = null so the relay (or the caller) queues attempt n+1.
 */
export async function recordDeliveryAttempt(db: Db, o: AttemptOutcome): Promise<WebhookDelivery | undefined> {
  return db.transaction().execute(async (trx) => {
    const logged = await trx
      .insertInto('webhook_attempts')
      .values({ delivery_id: o.deliveryId, n: o.n, status_code: o.statusCode, error: o.error, duration_ms: o.durationMs })
      .onConflict((oc) => oc.columns(['delivery_id', 'n']).doNothing())
      .returning('n')
      .executeTakeFirst();
    if (!logged) return undefined;
    return trx
      .updateTable('webhook_deliveries')
      .set({
        status: o.status,
        attempts: o.n,
        last_status_code: o.statusCode,
        last_error: o.error,
        next_attempt_at: o.status === 'pending' && o.nextDelayMs !== null ? sql<Date>`now() + make_interval(secs => ${o.nextDelayMs / 1000})` : null,
        enqueued_at: null,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', o.deliveryId)
      .where('attempts', '=', o.n - 1)
      .returningAll()
      .executeTakeFirst();
  });
}

/**
 * Manual redelivery: a new delivery of the same event (its own id, attempt log and retry
 * schedule), due now; the relay picks it up. While a delivery of the event to the same URL is
 * still pending, that one is returned instead: a redeliver button pressed (or a script looping)
 * any number of times keeps at most one delivery of an event per URL in flight.
 */
export async function createRedelivery(db: Db, original: WebhookDelivery, url: string): Promise<WebhookDelivery> {
  return db.transaction().execute(async (trx) => {
    // Serialises redeliveries of one event, so two concurrent presses cannot both insert.
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${original.event_id}, 0))`.execute(trx);
    const pending = await trx
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('event_id', '=', original.event_id)
      .where('url', '=', url)
      .where('status', '=', 'pending')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (pending) return pending;
    const row = await trx
      .insertInto('webhook_deliveries')
      .values({
        id: newId('whd'),
        event_id: original.event_id,
        tenant_id: original.tenant_id,
        environment: original.environment,
        job_id: original.job_id,
        event_type: original.event_type,
        url,
        status: 'pending',
        next_attempt_at: sql<Date>`now()`,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await notifyDeliveryDue(trx);
    return row;
  });
}
