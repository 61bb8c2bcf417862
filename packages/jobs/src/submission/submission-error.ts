/**
 * The refusals of a job submission: stable codes (API.md error table) and their HTTP statuses.
 * apps/api's ERROR_STATUS takes these entries as they are, so each code has one status.
 */
export const SUBMISSION_ERROR_STATUS = {
  tenant_not_found: 404,
  validation_failed: 400,
  model_not_allowed: 400,
  /** A workflow step names a server the catalog does not have, or a tool its server does not have. */
  unknown_tool: 400,
  server_not_allowed: 422,
  idempotency_key_reused: 422,
  quota_exceeded: 429,
} as const;

export type SubmissionErrorCode = keyof typeof SUBMISSION_ERROR_STATUS;

export interface ErrorDetail {
  path: string;
  message: string;
}

/** A refused submission (nothing was written); submitJob answers it, it never escapes. */
export class SubmissionError extends Error {
  readonly status: number;
  constructor(
    readonly code: SubmissionErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'SubmissionError';
    this.status = SUBMISSION_ERROR_STATUS[code];
  }
}

/** API.md's error envelope; the API writes every other error with this too. */
export function errorEnvelope(err: { code: string; message: string; details?: ErrorDetail[] }) {
  // API.md: the code and message also stand at the top level, for clients that read them there.
  return { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }, code: err.code, message: err.message };
}
