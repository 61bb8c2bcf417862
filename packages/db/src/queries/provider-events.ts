import type { Db } from '../connection';
import { newId } from '../ids';
import type { Environment, Job, NewJob, ProviderEventOutcome } from '../schema';

export interface ProviderEventInput {
  tenantId: string;
  environment: Environment;
  server: string;
  /** The provider's own event id (Stripe/Asaas `evt_...`, a derived id for Melhor Envio). */
  providerEventId: string;
  providerEventType: string;
  /** Normalised type (`payment.confirmed`), or null when the event triggers nothing. */
  eventType: string | null;
  /** `<server>:<payment id>` for payment events: at most one row per key claims the payment. */
  paymentKey: string | null;
}

export type RecordProviderEventResult =
  | { kind: 'recorded'; id: string; outcome: ProviderEventOutcome; jobs: Job[] }
  /** The same provider event arrived before (a redelivery): nothing was written. */
  | { kind: 'duplicate_event' }
  /** Another event already claimed this payment (e.g. PAYMENT_RECEIVED after PAYMENT_CONFIRMED): recorded, no jobs. */
  | { kind: 'duplicate_payment'; id: string };

/**
 * Records a verified provider event and, in the same transaction, the jobs it triggers. The two
 * unique indexes of provider_events decide every race (two API processes receiving the same
 * redelivery, or CONFIRMED and RECEIVED of one payment at once): exactly one transaction inserts
 * the claiming row and its jobs; the others write no job. A crash before COMMIT leaves nothing, so
 * the provider's retry starts over; after COMMIT the jobs are durable (the reconciler enqueues any
 * the caller could not).
 */
export async function recordProviderEvent(db: Db, input: ProviderEventInput, jobs: readonly NewJob[]): Promise<RecordProviderEventResult> {
  const outcome: ProviderEventOutcome = jobs.length ? 'triggered' : input.eventType ? 'no_automation' : 'ignored';
  return db.transaction().execute(async (trx) => {
    const row = {
      tenant_id: input.tenantId,
      environment: input.environment,
      server: input.server,
      provider_event_id: input.providerEventId,
      provider_event_type: input.providerEventType,
      event_type: input.eventType,
    };
    const claimed = await trx
      .insertInto('provider_events')
      .values({ ...row, id: newId('pev'), payment_key: input.paymentKey, outcome, job_ids: jobs.map((j) => j.id) })
      // No conflict target: either unique index (event id, or payment key) makes this a no-op.
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    if (claimed) {
      const inserted = jobs.length
        ? await trx
            .insertInto('jobs')
            .values([...jobs])
            .returningAll()
            .execute()
        : [];
      return { kind: 'recorded', id: claimed.id, outcome, jobs: inserted };
    }
    const seen = await trx
      .selectFrom('provider_events')
      .select('id')
      .where('tenant_id', '=', input.tenantId)
      .where('server', '=', input.server)
      .where('environment', '=', input.environment)
      .where('provider_event_id', '=', input.providerEventId)
      .executeTakeFirst();
    if (seen || input.paymentKey === null) return { kind: 'duplicate_event' };
    // A new event for a payment already claimed: keep it in the ledger (so its redeliveries are
    // recognised too) without the payment key and without jobs.
    const dup = await trx
      .insertInto('provider_events')
      .values({ ...row, id: newId('pev'), payment_key: null, outcome: 'duplicate_payment' })
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    return dup ? { kind: 'duplicate_payment', id: dup.id } : { kind: 'duplicate_event' };
  });
}

export interface ProviderEventRow {
  id: string;
  server: string;
  environment: Environment;
  provider_event_id: string;
  provider_event_type: string;
  event_type: string | null;
  outcome: ProviderEventOutcome;
  job_ids: string[];
  received_at: Date;
}

/** The tenant's provider events, newest first (operators and tests read the ledger). */
export async function listProviderEvents(db: Db, tenantId: string, limit = 100): Promise<ProviderEventRow[]> {
  return db
    .selectFrom('provider_events')
    .select(['id', 'server', 'environment', 'provider_event_id', 'provider_event_type', 'event_type', 'outcome', 'job_ids', 'received_at'])
    .where('tenant_id', '=', tenantId)
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
