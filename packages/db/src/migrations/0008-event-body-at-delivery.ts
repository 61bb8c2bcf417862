import type { Migration } from '../migrator';

/**
 * A job event's body is rendered from the job view by its first delivery (renderJobEvent), not
 * built in SQL by the finishing statement: the public job object has one implementation. Events
 * stored before keep their body; new ones start without it.
 */
export const m0008EventBodyAtDelivery: Migration = {
  id: '0008-event-body-at-delivery',
  sql: `ALTER TABLE webhook_events ALTER COLUMN payload DROP NOT NULL;`,
};
