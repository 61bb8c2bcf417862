import type { Migration } from '../migrator';

/**
 * The core aggregates. Ids are text with a type prefix (API.md). Every tenant-owned row carries
 * tenant_id and environment so that every query can be scoped by both.
 */
export const m0001Init: Migration = {
  id: '0001-init',
  sql: `
CREATE TABLE tenants (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  servers       text[] NOT NULL,
  limits        jsonb NOT NULL,
  plan          jsonb NOT NULL,
  instructions  text,
  webhook_url   text,
  automations   jsonb NOT NULL DEFAULT '[]',
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants(id),
  environment      text NOT NULL CHECK (environment IN ('test','live')),
  type             text NOT NULL CHECK (type IN ('agent','workflow')),
  status           text NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
  input            text,
  steps            jsonb,
  servers          text[] NOT NULL,
  metadata         jsonb NOT NULL,
  callback_url     text,
  max_iterations   integer,
  model            text,
  output           jsonb,
  error            jsonb,
  attempts         integer NOT NULL DEFAULT 0,
  idempotency_key  text,
  request_hash     text,
  enqueued_at      timestamptz,
  cancel_requested_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, environment, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, environment, created_at DESC, id DESC);
-- The reconciler's work list: committed rows whose queue entry may be missing.
CREATE INDEX jobs_unqueued ON jobs (created_at) WHERE enqueued_at IS NULL AND status = 'queued';

-- One row per checkpointed step of a job: a workflow step, a model turn or a tool result.
CREATE TABLE job_steps (
  job_id      text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq         integer NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('model_turn','tool_call','workflow_step')),
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, seq)
);

-- Metering: one row per tool call (executed or denied) and per model turn. The idempotency key
-- makes a retried checkpoint a no-op, so a row is never counted twice.
CREATE TABLE usage_events (
  seq              bigserial PRIMARY KEY,
  id               text NOT NULL UNIQUE,
  idempotency_key  text NOT NULL UNIQUE,
  tenant_id        text NOT NULL REFERENCES tenants(id),
  environment      text NOT NULL CHECK (environment IN ('test','live')),
  job_id           text REFERENCES jobs(id),
  kind             text NOT NULL CHECK (kind IN ('tool_call','model_turn')),
  server           text,
  tool             text,
  success          boolean NOT NULL,
  denied           boolean NOT NULL DEFAULT false,
  error_code       text,
  duration_ms      integer NOT NULL DEFAULT 0,
  input_tokens     integer NOT NULL DEFAULT 0,
  output_tokens    integer NOT NULL DEFAULT 0,
  metadata         jsonb NOT NULL DEFAULT '{}',
  occurred_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_job ON usage_events (job_id, seq);
CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, occurred_at);
`,
};
