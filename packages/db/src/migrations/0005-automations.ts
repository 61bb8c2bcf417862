import type { Migration } from '../migrator';

/**
 * Inbound provider webhooks and the automations they trigger (API.md "Inbound provider webhooks
 * and automations").
 *
 * provider_events is the dedupe ledger, in Postgres so it survives restarts and is shared by every
 * API process: one row per verified provider event, unique per (tenant, server, environment,
 * provider event id) — a redelivery of the same event finds its row and does nothing — and, for
 * payment events, unique per (tenant, environment, normalised type, payment key) — Asaas sends
 * PAYMENT_CONFIRMED then PAYMENT_RECEIVED for one card payment, in either order; only the first
 * claims the payment. The row and the automation jobs it causes commit in one transaction.
 *
 * jobs.context carries what a workflow's `{{event...}}` references read (the normalised event), so
 * a retried or resumed job resolves its templates exactly as the first attempt did.
 */
export const m0005Automations: Migration = {
  id: '0005-automations',
  sql: `
CREATE TABLE provider_events (
  id                   text PRIMARY KEY,
  tenant_id            text NOT NULL REFERENCES tenants(id),
  environment          text NOT NULL CHECK (environment IN ('test','live')),
  server               text NOT NULL,
  provider_event_id    text NOT NULL,
  provider_event_type  text NOT NULL,
  -- The normalised type ("payment.confirmed"), or null for events no automation can react to.
  event_type           text,
  -- "<server>:<payment id>" for payment events: the second dedupe key. Null on rows that lost the claim.
  payment_key          text,
  outcome              text NOT NULL CHECK (outcome IN ('triggered','no_automation','ignored','duplicate_payment')),
  job_ids              text[] NOT NULL DEFAULT '{}',
  received_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX provider_events_event ON provider_events (tenant_id, server, environment, provider_event_id);
CREATE UNIQUE INDEX provider_events_payment ON provider_events (tenant_id, environment, event_type, payment_key) WHERE payment_key IS NOT NULL;
CREATE INDEX provider_events_tenant ON provider_events (tenant_id, received_at DESC);

ALTER TABLE jobs ADD COLUMN context jsonb;
`,
};
