import { errorEnvelope, SUBMISSION_ERROR_STATUS } from '@agents/jobs';
import { SESSION_ERROR_STATUS } from '@agents/sessions';
import type { ErrorDetail } from '@agents/jobs';

export type { ErrorDetail };

/**
 * Every error the API returns has a stable code; this table is the one place that maps codes to
 * HTTP statuses (API.md "Conventions"). Job submission's refusals are answered by @agents/jobs
 * with its own entries, taken here as they are.
 */
export const ERROR_STATUS = {
  ...SUBMISSION_ERROR_STATUS,
  ...SESSION_ERROR_STATUS,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  invalid_json: 400,
  payload_too_large: 413,
  // Refused by Node's HTTP parser before routing (apps/api/src/client-error.ts).
  headers_too_large: 431,
  request_timeout: 408,
  unsupported_media_type: 415,
  // An event stream asked for with an Accept that excludes text/event-stream.
  not_acceptable: 406,
  job_not_cancellable: 409,
  job_not_retryable: 409,
  tenant_exists: 409,
  rate_limited: 429,
  service_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

export const errorBody = (err: ApiError) => errorEnvelope(err);
