import type { Db } from '../connection';
import { getJobById } from './jobs';
import { loadJobView } from './job-view';
import type { JobEventPayload, JobEventType } from './webhook-outbox';

/**
 * The event's body, `{ id, type, created_at, data: job view }`. Rendered once, by the event's first
 * delivery, from the job as finished (a terminal row no longer changes), and stored: every
 * delivery and redelivery of the event sends the same bytes. Concurrent first deliveries race on
 * `payload IS NULL`; the loser reads the winner's.
 */
export async function renderJobEvent(db: Db, eventId: string): Promise<JobEventPayload | undefined> {
  const event = await db.selectFrom('webhook_events').select(['id', 'job_id', 'type', 'payload', 'created_at']).where('id', '=', eventId).executeTakeFirst();
  if (!event) return undefined;
  if (event.payload !== null) return event.payload as JobEventPayload;
  const job = event.job_id ? await getJobById(db, event.job_id) : undefined;
  if (!job) return undefined;
  const payload: JobEventPayload = {
    id: event.id,
    type: event.type as JobEventType,
    created_at: event.created_at.toISOString(),
    data: await loadJobView(db, job),
  };
  const stored = await db
    .updateTable('webhook_events')
    .set({ payload: JSON.stringify(payload) })
    .where('id', '=', eventId)
    .where('payload', 'is', null)
    .returning('payload')
    .executeTakeFirst();
  if (stored) return payload;
  const winner = await db.selectFrom('webhook_events').select('payload').where('id', '=', eventId).executeTakeFirstOrThrow();
  return winner.payload as JobEventPayload;
}
