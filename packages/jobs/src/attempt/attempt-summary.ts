import type { Job } from '@agents/db';

/** Longest error message put on a queue entry (characters); the job row keeps the whole one. */
const MAX_MESSAGE_CHARS = 500;

/**
 * What ops see of a job on its queue entry (Bull Board's Logs and Return value tabs), written when
 * an attempt ends. The entry's payload (`job.data`) stays ids only: it is the catalog's wire format
 * (backward compatible with queued entries) and is copied to every retry, so it is not the place
 * for anything that changes or that a tenant typed. The summary carries only what the platform
 * itself decides: type, servers, the workflow's tool names, attempts, retries, status and the
 * error (codes and our or the provider's message; credentials are never in errors, DESIGN.md 6).
 * The tenant's input and step arguments are not copied, only their size.
 */
export interface AttemptSummary {
  job_id: string;
  status: Job['status'];
  type: Job['type'];
  servers: string[];
  /** A workflow's tools in order (catalog names, no arguments). */
  tools?: string[];
  attempts: number;
  retries: number;
  /** `[redacted: <n> chars]` for an agent's input; null for a workflow. */
  input: string | null;
  error: { code: string; message: string } | null;
}

export function attemptSummary(job: Job): AttemptSummary {
  return {
    job_id: job.id,
    status: job.status,
    type: job.type,
    servers: job.servers,
    ...(job.type === 'workflow' ? { tools: (job.steps ?? []).map((s) => s.tool) } : {}),
    attempts: job.attempts,
    retries: job.retries,
    input: job.input === null ? null : `[redacted: ${job.input.length} chars]`,
    error: job.error ? { code: job.error.code, message: job.error.message.slice(0, MAX_MESSAGE_CHARS) } : null,
  };
}
