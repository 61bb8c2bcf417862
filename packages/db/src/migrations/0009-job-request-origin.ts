import type { Migration } from '../migrator';

/**
 * Where a job came from, for its logs (issue 20, "Conventions"): the `request_id` of the API
 * request that created it and, when that request carried a valid W3C `traceparent`, its trace id
 * and the caller's span id. Every worker log line of the job's attempts carries them, so one grep
 * (or one trace) joins the request and the work it caused. Kept on the row, never in Redis
 * payloads (those carry ids only). Nullable columns without defaults: no table rewrite.
 */
export const m0009JobRequestOrigin: Migration = {
  id: '0009-job-request-origin',
  sql: `
ALTER TABLE jobs ADD COLUMN request_id text;
ALTER TABLE jobs ADD COLUMN trace_id text;
ALTER TABLE jobs ADD COLUMN parent_span_id text;
`,
};
