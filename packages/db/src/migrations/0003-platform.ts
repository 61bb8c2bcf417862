import type { Migration } from '../migrator';

/**
 * Tenancy (API keys, webhook signing secrets), outbound webhooks (outbox events, deliveries,
 * attempts) and billing (rollups, watermark, invoices).
 */
export const m0003Platform: Migration = {
  id: '0003-platform',
  sql: `
-- Tenant API keys: only a SHA-256 of the key is stored; prefix is what lists show.
CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants(id),
  environment   text NOT NULL CHECK (environment IN ('test','live')),
  name          text,
  prefix        text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at DESC);

-- Webhook signing secrets (whsec_), sealed with the tenant's data key. After a rotation the old
-- secret keeps signing (beside the new one) until expires_at.
CREATE TABLE webhook_secrets (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants(id),
  sealed      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz
);
CREATE INDEX webhook_secrets_tenant ON webhook_secrets (tenant_id, created_at DESC);

-- Outbox: the event is written in the transaction that makes its job terminal.
CREATE TABLE webhook_events (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants(id),
  environment  text NOT NULL CHECK (environment IN ('test','live')),
  job_id       text REFERENCES jobs(id),
  type         text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhook_events_job_type ON webhook_events (job_id, type) WHERE job_id IS NOT NULL;

CREATE TABLE webhook_deliveries (
  id                text PRIMARY KEY,
  event_id          text NOT NULL REFERENCES webhook_events(id),
  tenant_id         text NOT NULL REFERENCES tenants(id),
  environment       text NOT NULL CHECK (environment IN ('test','live')),
  job_id            text REFERENCES jobs(id),
  event_type        text NOT NULL,
  url               text NOT NULL,
  status            text NOT NULL CHECK (status IN ('pending','delivered','failed')),
  attempts          integer NOT NULL DEFAULT 0,
  last_status_code  integer,
  last_error        text,
  next_attempt_at   timestamptz,
  enqueued_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id);
CREATE INDEX webhook_deliveries_unqueued ON webhook_deliveries (created_at) WHERE enqueued_at IS NULL AND status = 'pending';

CREATE TABLE webhook_attempts (
  delivery_id   text NOT NULL REFERENCES webhook_deliveries(id),
  n             integer NOT NULL,
  status_code   integer,
  error         text,
  duration_ms   integer NOT NULL,
  attempted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (delivery_id, n)
);

-- Billing. usage_events.txid is the inserting transaction's id: a rollup takes every event whose
-- transaction id lies below the oldest still-running transaction (so it is committed and final)
-- and above the last watermark. Late commits are therefore counted exactly once, whatever their
-- occurred_at, and a run reads only new events (index on txid).
ALTER TABLE usage_events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX usage_events_txid ON usage_events (txid);

CREATE TABLE usage_rollups (
  tenant_id      text NOT NULL,
  environment    text NOT NULL,
  hour           timestamptz NOT NULL,
  kind           text NOT NULL,
  server         text NOT NULL DEFAULT '',
  tool           text NOT NULL DEFAULT '',
  events         bigint NOT NULL DEFAULT 0,
  failures       bigint NOT NULL DEFAULT 0,
  denied         bigint NOT NULL DEFAULT 0,
  duration_ms    bigint NOT NULL DEFAULT 0,
  input_tokens   bigint NOT NULL DEFAULT 0,
  output_tokens  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, environment, hour, kind, server, tool)
);

CREATE TABLE rollup_state (
  id             integer PRIMARY KEY CHECK (id = 1),
  watermark      xid8 NOT NULL,
  last_run_at    timestamptz,
  events_total   bigint NOT NULL DEFAULT 0
);
INSERT INTO rollup_state (id, watermark) VALUES (1, '0'::xid8);

CREATE TABLE invoices (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants(id),
  period          text NOT NULL CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
  currency        text NOT NULL,
  status          text NOT NULL CHECK (status IN ('draft','final')),
  lines           jsonb NOT NULL,
  total           numeric(14,2) NOT NULL,
  usage_through   timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, period)
);
`,
};
