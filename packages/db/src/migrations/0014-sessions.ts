import type { Migration } from '../migrator';

/**
 * CodeSpar-compatible sessions (issue 22). A session row is the isolation boundary a request is
 * checked against (tenant, environment, servers); `expires_at` is the idle deadline, moved on each
 * call but never past `hard_expires_at` (24 h after creation). A `session_calls` row holds one
 * `execute` while a worker runs it: its input stays here (never in Redis), its result is written
 * here by the worker in the same transaction as its usage row, so a request whose notification was
 * lost can still read it.
 */
export const m0014Sessions: Migration = {
  id: '0014-sessions',
  sql: `
CREATE TABLE sessions (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  user_id text NOT NULL,
  servers jsonb NOT NULL,
  metadata jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  hard_expires_at timestamptz NOT NULL,
  closed_at timestamptz
);
CREATE INDEX sessions_tenant ON sessions (tenant_id, created_at);
CREATE TABLE session_calls (
  id text PRIMARY KEY,
  session_id text NOT NULL REFERENCES sessions(id),
  tenant_id text NOT NULL,
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  server text NOT NULL,
  tool text NOT NULL,
  input jsonb NOT NULL,
  result jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX session_calls_session ON session_calls (session_id);
`,
};
