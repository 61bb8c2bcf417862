import type { Migration } from '../migrator';

/**
 * The session a tool call belongs to (issue 22): a session's `execute` is metered like a job's
 * tool call, with `session_id` set and `job_id` naming the job that ran it, if any. `GET /v1/usage`
 * pages a platform key's environment oldest first by `seq` within a time window, so the index
 * leads with environment and time. Nullable, no default: no table rewrite.
 */
export const m0011UsageSession: Migration = {
  id: '0011-usage-session',
  sql: `
ALTER TABLE usage_events ADD COLUMN session_id text;
CREATE INDEX usage_events_session ON usage_events (session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX usage_events_environment_time ON usage_events (environment, occurred_at, seq) WHERE kind = 'tool_call';
`,
};
