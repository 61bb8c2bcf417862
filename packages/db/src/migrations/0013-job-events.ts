import type { Migration } from '../migrator';

/**
 * The start of each attempt of a job (issue 22, the job's event log: `job.started`). The rest of
 * the log is derived from rows that exist anyway: `job.queued` from the job row, `model.turn` and
 * `tool.call` from `job_steps` (+ their usage rows), the terminal events from `webhook_events`.
 * A start is written by the statement that moves the job to `running` (startAttempt), with the
 * highest step seq it saw (`after_seq`, -1 for none): that places it in the log between the steps
 * of the attempt before and those of its own, and keeps every event's number stable as the log grows.
 */
export const m0013JobEvents: Migration = {
  id: '0013-job-events',
  sql: `
CREATE TABLE job_attempts (
  job_id      text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  job_retry   integer NOT NULL,
  after_seq   integer NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, attempt)
);
`,
};
