import { sql } from 'kysely';
import { DELIVERY_CHANNEL } from '../delivery-notifications';
import { param } from '../prepared';
import type { JobView } from './job-view';

/** API.md "Outbound webhooks": the event types a terminal job produces. */
export type JobEventType = 'job.succeeded' | 'job.failed' | 'job.cancelled';

/** The body a receiver gets (and the payload stored in the outbox). */
export interface JobEventPayload {
  id: string;
  type: JobEventType;
  created_at: string;
  data: JobView;
}

/**
 * The outbox write, as CTEs of the statement that makes a job terminal (finishJob), so the event
 * (and its pending delivery) exists if and only if the terminal state does. A crash after the
 * commit loses nothing: the worker's relay enqueues every pending, unqueued delivery it finds.
 *
 * Reads `done` (the job row as just made terminal; no row when the transition lost). The event
 * is stored without its body: its first delivery renders it from the job view (renderJobEvent),
 * so the public job object has one implementation (presentJob). The delivery goes to `deliver_to`,
 * which the caller decides with @agents/webhooks' jobEventTarget (the one callback-URL rule); when
 * null, only the event is recorded (redeliverable once a URL is set). One event per terminal state
 * of each generation of the job (`jobs.retries`: an operator's retry of a failed job starts the
 * next one, whose terminal state is a new event and callback). A conflict means this generation's event is already recorded (only
 * one terminal transition can win), and then no delivery is added either. `dlv_notify` wakes the
 * delivery relay at commit (NOTIFY is transactional); the statement must read it.
 * Placeholders: evt_id, whd_id (newId('evt'), newId('whd')), deliver_to (text or null).
 */
export function jobEventOutboxSql() {
  return sql`event AS (
    SELECT d.id AS job_id, d.tenant_id, d.environment, 'job.' || d.status AS type, d.retries AS job_retry, date_trunc('milliseconds', d.finished_at) AS created_at,
      ${param('deliver_to')}::text AS url
    FROM done d
  ), ev AS (
    INSERT INTO webhook_events (id, tenant_id, environment, job_id, type, job_retry, payload, created_at)
    SELECT ${param('evt_id')}, e.tenant_id, e.environment, e.job_id, e.type, e.job_retry, NULL, e.created_at
    FROM event e
    ON CONFLICT (job_id, type, job_retry) WHERE job_id IS NOT NULL DO NOTHING
    RETURNING id
  ), dlv AS (
    INSERT INTO webhook_deliveries (id, event_id, tenant_id, environment, job_id, event_type, url, status, next_attempt_at, created_at)
    SELECT ${param('whd_id')}, ev.id, e.tenant_id, e.environment, e.job_id, e.type, e.url, 'pending', e.created_at, e.created_at
    FROM event e, ev
    WHERE e.url IS NOT NULL
    RETURNING id
  ), dlv_notify AS (
    SELECT count(pg_notify(${sql.lit(DELIVERY_CHANNEL)}, '')) AS n FROM dlv
  )`;
}
