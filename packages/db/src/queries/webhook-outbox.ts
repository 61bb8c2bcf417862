import type { Db } from '../connection';
import { notifyDeliveryDue } from '../delivery-notifications';
import { newId } from '../ids';
import type { Job } from '../schema';
import { loadJobView } from './job-view';
import type { UsageViewRow } from './job-view';
import { param, prepare } from '../prepared';
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

export interface WrittenJobEvent {
  eventId: string;
  /** The pending delivery row created with the event, when the job or tenant has a URL. */
  deliveryId: string | null;
}

/**
 * The outbox write: called inside the transaction that makes `job` terminal, so the event (and
 * its pending delivery) exists if and only if the terminal state does. A crash after the commit
 * loses nothing: the worker's relay enqueues every pending, unqueued delivery it finds.
 * The delivery goes to the job's callback_url, else the tenant's webhook_url (read now, so a URL
 * changed later does not redirect an event that already happened); with neither, only the event
 * is recorded (redeliverable once a URL is set). `tenantWebhookUrl`, when given, is that URL as
 * read in this transaction by the caller (finishJob reads it with its update), saving a read;
 * `usageRows` likewise the job's usage rows for the event's job view.
 */
const insertJobEvent = prepare<{ id: string; tenant_id: string; environment: Job['environment']; job_id: string; type: JobEventType; payload: string; created_at: Date }, { id: string }>(
  'insert_job_event',
  (db) =>
    db
      .insertInto('webhook_events')
      .values({
        id: param('id'),
        tenant_id: param('tenant_id'),
        environment: param('environment'),
        job_id: param('job_id'),
        type: param('type'),
        payload: param('payload'),
        created_at: param('created_at'),
      })
      .onConflict((oc) => oc.columns(['job_id', 'type']).where('job_id', 'is not', null).doNothing())
      .returning('id'),
);

export async function writeJobEvent(trx: Db, job: Job, tenantWebhookUrl?: string | null, usageRows?: UsageViewRow[]): Promise<WrittenJobEvent | undefined> {
  if (job.status !== 'succeeded' && job.status !== 'failed' && job.status !== 'cancelled') return undefined;
  const type: JobEventType = `job.${job.status}`;
  const createdAt = job.finished_at ?? new Date();
  const eventId = newId('evt', createdAt.getTime());
  const payload: JobEventPayload = { id: eventId, type, created_at: createdAt.toISOString(), data: await loadJobView(trx, job, usageRows) };
  const inserted = await insertJobEvent.first(trx, {
    id: eventId,
    tenant_id: job.tenant_id,
    environment: job.environment,
    job_id: job.id,
    type,
    payload: JSON.stringify(payload),
    created_at: createdAt,
  });
  // Only one terminal transition can win, so a conflict means this event is already recorded.
  if (!inserted) return undefined;

  let url = job.callback_url ?? tenantWebhookUrl ?? null;
  if (!url && tenantWebhookUrl === undefined) {
    const tenant = await trx.selectFrom('tenants').select('webhook_url').where('id', '=', job.tenant_id).executeTakeFirst();
    url = tenant?.webhook_url ?? null;
  }
  if (!url) return { eventId, deliveryId: null };
  const deliveryId = newId('whd', createdAt.getTime());
  await trx
    .insertInto('webhook_deliveries')
    .values({
      id: deliveryId,
      event_id: eventId,
      tenant_id: job.tenant_id,
      environment: job.environment,
      job_id: job.id,
      event_type: type,
      url,
      status: 'pending',
      next_attempt_at: createdAt,
      created_at: createdAt,
    })
    .execute();
  await notifyDeliveryDue(trx);
  return { eventId, deliveryId };
}
