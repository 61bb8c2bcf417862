import type { Migration } from '../migrator';

/**
 * A session's message (`POST /v1/sessions/{id}/send`) runs as an agent job of that session
 * (issue 22): the job names it, and so do the usage rows of its tool calls and model turns, as
 * every tool call of a session must.
 */
export const m0016JobSession: Migration = {
  id: '0016-job-session',
  sql: `
ALTER TABLE jobs ADD COLUMN session_id text REFERENCES sessions(id);
CREATE INDEX jobs_session ON jobs (session_id) WHERE session_id IS NOT NULL;
`,
};
